import type { Kysely } from 'kysely';
import { CustomerRepository } from '../../src/customers/customer.repository';
import type { CustomerIdentity, Entitlement } from '../../src/customers/customer';
import type { EntitlementReader } from '../../src/customers/ports';
import { parseQueueMessage } from '../../src/events/envelope';
import { EventRepository } from '../../src/events/event.repository';
import { EventProcessor } from '../../src/events/event-processor';
import { ManualClock } from '../../src/platform/clock';
import { DomainEventBus, type DomainEvent } from '../../src/platform/domain-events';
import { ProductCatalog, type ProductConfig } from '../../src/products/product-config';
import type { Database } from '../../src/store/schema';
import { captureLogger } from '../support/log-capture';
import { openTestStore, type Dialect, type TestStore } from '../support/stores';

export const legacy: ProductConfig = {
  code: 'legacy-prod',
  name: 'L',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [],
};
export const contract: ProductConfig = {
  code: 'contract-prod',
  name: 'C',
  pricingModel: 'contract',
  meteringApi: 'batch',
  identity: 'license',
  dimensions: [],
};

export function snsBody(id: string, action: string, at: Date, fields: Record<string, string> = {}): string {
  const message = { action, 'customer-identifier': 'CUST-1', 'product-code': legacy.code, isFreeTrialTermPresent: 'false', ...fields };
  return JSON.stringify({
    Type: 'Notification',
    MessageId: id,
    TopicArn: 'arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-legacy-prod',
    Message: JSON.stringify(message),
    Timestamp: at.toISOString(),
    SignatureVersion: '1',
    Signature: 'x',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
  });
}

export function ebBody(id: string, detailType: string, at: Date, detail: Record<string, unknown>): string {
  return JSON.stringify({
    version: '0',
    id,
    'detail-type': detailType,
    source: 'aws.agreement-marketplace',
    account: '111122223333',
    time: at.toISOString(),
    region: 'us-east-1',
    resources: [],
    detail,
  });
}

/** An SNS entitlement-topic message for a licence customer of the contract product. */
export function entitlementUpdatedBody(id: string, at: Date, who: { account: string; licenseArn: string }): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: id,
    TopicArn: 'arn:aws:sns:us-east-1:1:aws-mp-entitlement-notification-contract-prod',
    Timestamp: at.toISOString(),
    Message: JSON.stringify({
      action: 'entitlement-updated',
      'customer-aws-account-id': who.account,
      'license-arn': who.licenseArn,
      'product-code': contract.code,
    }),
  });
}

/** GetEntitlements stand-in: answers `answer`, or what `next` resolves to when a test holds a read back. */
export class FakeReader implements EntitlementReader {
  answer: Entitlement[] = [];
  failures = 0;
  calls = 0;
  private readonly held: Array<{ resolve: (e: Entitlement[]) => void; identity: CustomerIdentity }> = [];
  holdNext = 0;
  async readEntitlements(_productCode: string, identity: CustomerIdentity): Promise<Entitlement[]> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('throttled'), { retryable: true });
    }
    if (this.holdNext > 0) {
      this.holdNext--;
      return new Promise((resolve) => this.held.push({ resolve, identity }));
    }
    return this.answer;
  }
  /** Reads held back and not yet released. */
  get pending(): number {
    return this.held.length;
  }
  release(answer: Entitlement[]): void {
    this.held.shift()?.resolve(answer);
  }
}

export const seats = (n: number, expirationDate: Date | null = null): Entitlement => ({
  dimension: 'seats',
  value: { type: 'integer', value: n },
  expirationDate,
});

export interface ProcessorRig {
  processor: EventProcessor;
  customers: CustomerRepository;
  events: EventRepository;
  bus: DomainEventBus;
  published: DomainEvent[];
  deliver(body: string, messageId?: string): ReturnType<EventProcessor['handle']>;
}

export function buildProcessor(db: Kysely<Database>, reader: EntitlementReader, clock: ManualClock): ProcessorRig {
  const bus = new DomainEventBus();
  const published: DomainEvent[] = [];
  bus.subscribe((e) => {
    published.push(e);
  });
  const customers = new CustomerRepository(db);
  const events = new EventRepository(db);
  const processor = new EventProcessor({
    db,
    customers,
    events,
    entitlements: reader,
    catalog: new ProductCatalog([legacy, contract]),
    bus,
    clock,
    logger: captureLogger().logger,
  });
  const deliver = (body: string, messageId = 'm') =>
    processor.handle(parseQueueMessage(body, { messageId, sentTimestamp: clock.now() }), {
      dedupeKey: `sqs:${messageId}`,
      channel: 'sqs:test',
      body,
    });
  return { processor, customers, events, bus, published, deliver };
}

/** A fresh store, a reader answering 10 seats, a clock at 2026-11-22 12:00 UTC and a processor over them. */
export async function openProcessorFixture(
  dialect: Dialect,
): Promise<{ t: TestStore; reader: FakeReader; clock: ManualClock; rig: ProcessorRig }> {
  const t = await openTestStore(dialect);
  const reader = new FakeReader();
  reader.answer = [seats(10)];
  const clock = new ManualClock('2026-11-22T12:00:00Z');
  return { t, reader, clock, rig: buildProcessor(t.store.db, reader, clock) };
}

/** Waits until `probe` is true (for reads held back by {@link FakeReader}). */
export async function until(probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
