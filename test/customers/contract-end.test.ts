import { AgreementDetailsRepository } from '../../src/customers/agreement-details.repository';
import { endingSoonDays, planEndAlerts } from '../../src/customers/contract-end';
import { ContractEndRepository } from '../../src/customers/contract-end.repository';
import { ContractEndWatch } from '../../src/customers/contract-end-watch';
import { captureLogger } from '../support/log-capture';
import { describeDialects, type TestStore } from '../support/stores';
import { contract, ebBody, openProcessorFixture, type ProcessorRig } from '../events/processor-support';
import type { ManualClock } from '../../src/platform/clock';

const DAY = 86_400_000;
const END = new Date('2027-01-31T00:00:00Z');
const daysBefore = (d: number) => new Date(END.getTime() - d * DAY);

describe('contract-ending-soon plan (pure)', () => {
  const plan = (now: Date, behavior: string | null = 'EXPIRE', done: number[] = []) =>
    planEndAlerts({ endTime: END, endTimeBehavior: behavior }, now, [60, 30, 7], new Set(done));

  it('announces each threshold once, as it is reached', () => {
    expect(plan(daysBefore(61))).toEqual({ record: [], announce: null });
    expect(plan(daysBefore(60))).toEqual({ record: [60], announce: 60 });
    expect(plan(daysBefore(45), 'EXPIRE', [60])).toEqual({ record: [], announce: null });
    expect(plan(daysBefore(29), 'EXPIRE', [60])).toEqual({ record: [30], announce: 30 });
    expect(plan(daysBefore(1), 'EXPIRE', [60, 30])).toEqual({ record: [7], announce: 7 });
  });

  it('a contract first seen inside several thresholds gets one message, for the tightest', () => {
    expect(plan(daysBefore(5))).toEqual({ record: [60, 30, 7], announce: 7 });
  });

  it('nothing for a contract that renews by itself, nor after the end', () => {
    expect(plan(daysBefore(5), 'RENEW')).toEqual({ record: [], announce: null });
    expect(plan(new Date(END.getTime() + 1))).toEqual({ record: [], announce: null });
    expect(plan(daysBefore(5), 'REPLACE').announce).toBe(7);
    expect(plan(daysBefore(5), null).announce).toBe(7);
  });
});

describe('the console badge (pure)', () => {
  const badge = (now: Date, behavior: string | null = 'EXPIRE', end: Date | null = END, days = [7, 60, 30]) =>
    endingSoonDays({ endTime: end, endTimeBehavior: behavior }, now, days);

  it('days left, rounded up, inside the widest threshold only', () => {
    expect(badge(daysBefore(60))).toBe(60);
    expect(badge(new Date(daysBefore(60).getTime() - 1))).toBeNull();
    expect(badge(new Date(daysBefore(20).getTime() + 1))).toBe(20);
    expect(badge(daysBefore(20), 'REPLACE')).toBe(20);
    expect(badge(daysBefore(20), null)).toBe(20);
  });

  it('none when it renews by itself, has no end, has ended, or no threshold is configured', () => {
    expect(badge(daysBefore(20), 'RENEW')).toBeNull();
    expect(badge(daysBefore(20), 'renew')).toBeNull();
    expect(badge(daysBefore(20), 'EXPIRE', null)).toBeNull();
    expect(badge(END)).toBeNull();
    expect(badge(daysBefore(20), 'EXPIRE', END, [])).toBeNull();
  });
});

describeDialects('contract-ending-soon alerts on %s', (dialect) => {
  let t: TestStore;
  let rig: ProcessorRig;
  let clock: ManualClock;
  let details: AgreementDetailsRepository;

  beforeEach(async () => {
    ({ t, rig, clock } = await openProcessorFixture(dialect));
    details = new AgreementDetailsRepository(t.store.db);
  });
  afterEach(async () => t.dispose());

  const watch = () =>
    new ContractEndWatch({ contracts: new ContractEndRepository(t.store.db), clock, logger: captureLogger().logger }, [60, 30, 7]);
  const alerts = async () =>
    (
      await t.store.db
        .selectFrom('webhook_events')
        .select(['payload'])
        .where('type', '=', 'customer.contract_ending_soon')
        .orderBy('seq')
        .execute()
    ).map((r) => JSON.parse(r.payload) as { data: { customer: { id: string }; contract: Record<string, unknown> } });

  async function customerWithContract(account: string, agreementId: string, endTimeBehavior: string): Promise<string> {
    clock.set('2026-11-01T00:00:00Z');
    await rig.deliver(
      ebBody(`lu-${agreementId}`, 'License Updated - Manufacturer', clock.now(), {
        requestId: `req-${agreementId}`,
        product: { id: 'prod-1', code: contract.code },
        license: { arn: `arn:aws:license-manager::${account}:license:l-${agreementId}` },
        acceptor: { accountId: account },
        agreement: { id: agreementId },
      }),
      `m-${agreementId}`,
    );
    await details.save(
      {
        agreementId,
        status: 'ACTIVE',
        startTime: new Date('2026-01-31T00:00:00Z'),
        endTime: END,
        endTimeBehavior,
        freeTrial: false,
        estimatedValue: null,
      },
      clock.now(),
    );
    return (await rig.customers.findByIdentity({ agreementId }))!.id;
  }

  it('sends each threshold once per agreement, skips a contract that renews, and never twice across passes or instances', async () => {
    const expiring = await customerWithContract('111111111111', 'agmt-exp', 'EXPIRE');
    await customerWithContract('222222222222', 'agmt-ren', 'RENEW');
    clock.set(daysBefore(61));
    expect(await watch().runOnce()).toBe(0);
    clock.set(daysBefore(59));
    // Two instances at the same moment: one message.
    const sent = await Promise.all([watch().runOnce(), watch().runOnce()]);
    expect(sent.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await watch().runOnce()).toBe(0);
    clock.set(daysBefore(6));
    expect(await watch().runOnce()).toBe(1);
    expect(await watch().runOnce()).toBe(0);
    const all = await alerts();
    expect(all.map((a) => [a.data.customer.id, a.data.contract.daysBefore])).toEqual([
      [expiring, 60],
      [expiring, 7],
    ]);
    expect(all[0]!.data.contract).toEqual({
      agreementId: 'agmt-exp',
      endTime: END.toISOString(),
      daysBefore: 60,
      endTimeBehavior: 'EXPIRE',
    });
    const recorded = await t.store.db
      .selectFrom('contract_end_alerts')
      .select(['agreement_id', 'threshold_days'])
      .orderBy('threshold_days')
      .execute();
    expect(recorded.map((r) => [r.agreement_id, Number(r.threshold_days)])).toEqual([
      ['agmt-exp', 7],
      ['agmt-exp', 30],
      ['agmt-exp', 60],
    ]);
  });

  it('an amendment that moves the end time starts the thresholds afresh', async () => {
    await customerWithContract('444444444444', 'agmt-amd', 'EXPIRE');
    clock.set(daysBefore(6));
    expect(await watch().runOnce()).toBe(1);
    const later = new Date(END.getTime() + 365 * DAY);
    await details.save(
      {
        agreementId: 'agmt-amd',
        status: 'ACTIVE',
        startTime: null,
        endTime: later,
        endTimeBehavior: 'EXPIRE',
        freeTrial: false,
        estimatedValue: null,
      },
      clock.now(),
    );
    expect(await watch().runOnce()).toBe(0);
    clock.set(new Date(later.getTime() - 59 * DAY));
    expect(await watch().runOnce()).toBe(1);
    expect((await alerts()).map((a) => [a.data.contract.endTime, a.data.contract.daysBefore])).toEqual([
      [END.toISOString(), 7],
      [later.toISOString(), 60],
    ]);
  });

  it('says nothing for an ended customer', async () => {
    const id = await customerWithContract('333333333333', 'agmt-end', 'EXPIRE');
    await t.store.db.updateTable('customers').set({ status: 'unsubscribed' }).where('id', '=', id).execute();
    clock.set(daysBefore(5));
    expect(await watch().runOnce()).toBe(0);
  });
});
