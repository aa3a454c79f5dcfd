import { AgreementDetailsRepository } from '../../src/customers/agreement-details.repository';
import { CustomerRepository } from '../../src/customers/customer.repository';
import type { AgreementDetails, AgreementReader } from '../../src/customers/ports';
import { parseQueueMessage } from '../../src/events/envelope';
import { EventRepository } from '../../src/events/event.repository';
import { EventProcessor } from '../../src/events/event-processor';
import { AppError } from '../../src/platform/errors';
import { DomainEventBus } from '../../src/platform/domain-events';
import { ProductCatalog } from '../../src/products/product-config';
import { captureLogger } from '../support/log-capture';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';
import { contract, ebBody, FakeReader, legacy, seats } from './processor-support';
import { ManualClock } from '../../src/platform/clock';

const ACCOUNT = '444455556666';
const at = (m: number) => new Date(Date.parse('2026-11-22T10:00:00Z') + m * 60_000);

class FakeAgreements implements AgreementReader {
  calls = 0;
  fail: Error | undefined;
  freeTrial = true;
  async readAgreement(agreementId: string): Promise<AgreementDetails> {
    this.calls++;
    if (this.fail) throw this.fail;
    return {
      agreementId,
      status: 'ACTIVE',
      startTime: at(0),
      endTime: new Date('2027-11-22T10:00:00Z'),
      endTimeBehavior: 'EXPIRE',
      freeTrial: this.freeTrial,
      estimatedValue: { amount: '120.00', currencyCode: 'USD' },
    };
  }
}

const created = (id: string, agreementId: string) =>
  ebBody(id, 'Purchase Agreement Created - Proposer', at(0), {
    requestId: `req-${id}`,
    acceptor: { accountId: ACCOUNT },
    agreement: { id: agreementId, intent: 'NEW', status: 'ACTIVE' },
  });
const licenseUpdated = (id: string, agreementId: string, licence: string) =>
  ebBody(id, 'License Updated - Manufacturer', at(1), {
    requestId: `req-${id}`,
    product: { id: 'prod-1', code: contract.code },
    license: { arn: `arn:aws:license-manager::${ACCOUNT}:license:${licence}` },
    acceptor: { accountId: ACCOUNT },
    agreement: { id: agreementId },
  });

describeDialects('event processor: Agreement API enrichment on %s', (dialect) => {
  let t: TestStore;
  let agreements: FakeAgreements;
  let processor: EventProcessor;
  let customers: CustomerRepository;

  beforeEach(async () => {
    t = await openTestStore(dialect);
    agreements = new FakeAgreements();
    const reader = new FakeReader();
    reader.answer = [seats(10)];
    customers = new CustomerRepository(t.store.db);
    processor = new EventProcessor({
      db: t.store.db,
      customers,
      events: new EventRepository(t.store.db),
      entitlements: reader,
      catalog: new ProductCatalog([legacy, contract]),
      bus: new DomainEventBus(),
      clock: new ManualClock('2026-11-22T12:00:00Z'),
      logger: captureLogger().logger,
      agreements,
    });
  });
  afterEach(async () => t.dispose());

  const deliver = (body: string, id: string) =>
    processor.handle(parseQueueMessage(body, { messageId: id }), { dedupeKey: `sqs:${id}`, channel: 'test', body });

  it('reads the agreement once per Created event, before its customer is known, and the licence then takes its free-trial term', async () => {
    expect((await deliver(created('c1', 'agmt-1'), 'c1')).outcome).toBe('unmatched');
    expect((await deliver(created('c1', 'agmt-1'), 'c1')).outcome).toBe('duplicate');
    expect(agreements.calls).toBe(1);
    expect(await new AgreementDetailsRepository(t.store.db).find('agmt-1')).toMatchObject({ freeTrial: true, endTimeBehavior: 'EXPIRE' });
    await deliver(licenseUpdated('l1', 'agmt-1', 'l-1'), 'l1');
    expect(agreements.calls).toBe(1);
    const c = await customers.findByIdentity({ agreementId: 'agmt-1' });
    expect(c?.freeTrial).toBe(true);
  });

  it('a retryable Agreement API failure is not acknowledged: nothing is recorded, the retry reads again', async () => {
    agreements.fail = new AppError('throttled', { code: 'marketplace_unavailable', httpStatus: 503, retryable: true });
    await expect(deliver(created('c1', 'agmt-1'), 'c1')).rejects.toThrow('throttled');
    expect(await t.store.db.selectFrom('events').select('id').execute()).toEqual([]);
    agreements.fail = undefined;
    expect((await deliver(created('c1', 'agmt-1'), 'c1')).outcome).toBe('unmatched');
    expect(agreements.calls).toBe(2);
  });

  it('a permanent failure (access denied) applies the event without the details', async () => {
    agreements.fail = new AppError('denied', { code: 'marketplace_error', httpStatus: 502, retryable: false });
    await deliver(licenseUpdated('l1', 'agmt-2', 'l-2'), 'l1');
    expect((await deliver(created('c2', 'agmt-2'), 'c2')).outcome).not.toBe('rejected');
    expect(await new AgreementDetailsRepository(t.store.db).find('agmt-2')).toBeUndefined();
    expect((await customers.findByIdentity({ agreementId: 'agmt-2' }))?.freeTrial).toBe(false);
  });
});
