import type { Kysely } from 'kysely';
import { CustomerRepository, type CustomerFacts } from '../../src/customers/customer.repository';
import { parseQueueMessage } from '../../src/events/envelope';
import { EventRepository } from '../../src/events/event.repository';
import { EventProcessor, type Delivery } from '../../src/events/event-processor';
import { ManualClock } from '../../src/platform/clock';
import { DomainEventBus, type DomainEvent } from '../../src/platform/domain-events';
import { ProductCatalog } from '../../src/products/product-config';
import type { Database } from '../../src/store/schema';
import { captureLogger } from '../support/log-capture';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';
import { contract, FakeReader, legacy, snsBody } from './processor-support';

/** A customer repository whose upsert fails for one customer identifier (a message that can never be applied). */
class PoisonedCustomers extends CustomerRepository {
  poison: string | undefined;
  /** Fail only this many times (undefined: always). */
  failures: number | undefined;
  override async upsertIn(...args: Parameters<CustomerRepository['upsertIn']>): ReturnType<CustomerRepository['upsertIn']> {
    const facts: CustomerFacts = args[1];
    if (facts.customerIdentifier === this.poison && (this.failures === undefined || this.failures-- > 0)) throw new Error('poison message');
    return super.upsertIn(...args);
  }
}

describeDialects('event processor: one receive committed together (%s)', (dialect) => {
  let t: TestStore;
  let processor: EventProcessor;
  let customers: PoisonedCustomers;
  let published: DomainEvent[];
  let transactions: number;
  const clock = new ManualClock('2026-11-22T12:00:00Z');
  const at = new Date('2026-11-22T11:00:00Z');

  /** The store, counting the transactions the processor opens. */
  function counting(db: Kysely<Database>): Kysely<Database> {
    return new Proxy(db, {
      get(target, prop) {
        if (prop === 'transaction') transactions++;
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  beforeEach(async () => {
    t = await openTestStore(dialect);
    transactions = 0;
    published = [];
    const db = counting(t.store.db);
    const bus = new DomainEventBus();
    bus.subscribe((e) => {
      published.push(e);
    });
    customers = new PoisonedCustomers(db);
    processor = new EventProcessor({
      db,
      customers,
      events: new EventRepository(db),
      entitlements: new FakeReader(),
      catalog: new ProductCatalog([legacy, contract]),
      bus,
      clock,
      logger: captureLogger().logger,
    });
  });
  afterEach(() => t.dispose());

  function delivery(messageId: string, body: string): Delivery {
    return {
      parsed: parseQueueMessage(body, { messageId, sentTimestamp: clock.now() }),
      raw: { dedupeKey: `sqs:${messageId}`, channel: 'sqs:test', body },
    };
  }
  const subscribe = (who: string, id = `m-${who}`) =>
    delivery(id, snsBody(`sns-${id}`, 'subscribe-success', at, { 'customer-identifier': who }));

  /** What the store holds, to compare before and after a redelivery. */
  async function storeContents() {
    const db = t.store.db;
    return {
      customers: await db.selectFrom('customers').selectAll().orderBy('id').execute(),
      events: await db.selectFrom('events').select(['dedupe_key', 'outcome', 'reason', 'customer_id']).orderBy('dedupe_key').execute(),
      changes: await db.selectFrom('customer_changes').select(['customer_id', 'change', 'customer_version']).orderBy('seq').execute(),
      webhooks: await db.selectFrom('webhook_events').select(['type', 'customer_id']).orderBy('seq').execute(),
    };
  }

  async function changesOf(identifier: string): Promise<string[]> {
    const c = await t.store.db.selectFrom('customers').select('id').where('customer_identifier', '=', identifier).executeTakeFirst();
    if (!c) return [];
    const rows = await t.store.db.selectFrom('customer_changes').select('change').where('customer_id', '=', c.id).orderBy('seq').execute();
    return rows.map((r) => r.change);
  }

  it('commits the messages of one receive in one transaction, each with its own outcome', async () => {
    const results = await processor.handleBatch(['CUST-A', 'CUST-B', 'CUST-C', 'CUST-D'].map((who) => subscribe(who)));
    expect(results.map((r) => r.status === 'fulfilled' && r.value.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(transactions).toBe(1);
    const events = await t.store.db.selectFrom('events').select(['dedupe_key', 'outcome', 'customer_id']).orderBy('dedupe_key').execute();
    expect(events.map((e) => e.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(events.every((e) => typeof e.customer_id === 'string')).toBe(true);
    for (const who of ['CUST-A', 'CUST-B', 'CUST-C', 'CUST-D']) {
      expect((await customers.findByIdentity({ productCode: legacy.code, customerIdentifier: who }))?.subscription.status).toBe('active');
      expect(await changesOf(who)).toEqual(['created', 'status_changed']);
    }
    expect(published.filter((e) => e.type === 'customer-activated')).toHaveLength(4);
  });

  it('the same message twice in one receive: applied once, the copy a duplicate, the others unharmed', async () => {
    const results = await processor.handleBatch([subscribe('CUST-A'), subscribe('CUST-B'), subscribe('CUST-A'), subscribe('CUST-C')]);
    expect(results.map((r) => r.status === 'fulfilled' && r.value.outcome)).toEqual(['applied', 'applied', 'duplicate', 'applied']);
    expect(transactions).toBe(1);
    expect(await changesOf('CUST-A')).toEqual(['created', 'status_changed']);
    expect(await t.store.db.selectFrom('events').select('id').execute()).toHaveLength(3);
  });

  it('a poison message halfway through the receive: nothing of it is kept, the others commit once each, only they are answered', async () => {
    customers.poison = 'CUST-P';
    // Applied in customer order: A and B have written inside the shared transaction before P fails.
    const batch = [subscribe('CUST-X'), subscribe('CUST-A'), subscribe('CUST-P'), subscribe('CUST-B'), subscribe('CUST-Y')];
    const results = await processor.handleBatch(batch);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseRejectedResult).reason).toEqual(new Error('poison message'));
    // The shared transaction, then one each.
    expect(transactions).toBe(1 + batch.length);
    expect(await changesOf('CUST-P')).toEqual([]);
    expect(await t.store.db.selectFrom('events').select('dedupe_key').where('dedupe_key', 'like', '%CUST-P%').execute()).toEqual([]);
    for (const who of ['CUST-X', 'CUST-A', 'CUST-B', 'CUST-Y']) expect(await changesOf(who)).toEqual(['created', 'status_changed']);
    const events = await t.store.db.selectFrom('events').select(['outcome']).execute();
    expect(events.map((e) => e.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    // Domain events only for what committed, once each.
    expect(published.filter((e) => e.type === 'customer-activated')).toHaveLength(4);

    // Redelivered (SQS gives the poison back): still failing, still alone; the others were deleted.
    const again = await processor.handleBatch([subscribe('CUST-P')]);
    expect(again[0]!.status).toBe('rejected');
  });

  it('a shared transaction that fails once (a deadlock, a unique race) loses nothing: every message commits on its own', async () => {
    customers.poison = 'CUST-P';
    customers.failures = 1;
    const results = await processor.handleBatch([subscribe('CUST-A'), subscribe('CUST-P'), subscribe('CUST-B')]);
    expect(results.map((r) => r.status === 'fulfilled' && r.value.outcome)).toEqual(['applied', 'applied', 'applied']);
    for (const who of ['CUST-A', 'CUST-P', 'CUST-B']) expect(await changesOf(who)).toEqual(['created', 'status_changed']);
  });

  it('a crash between commit and delete: the receive delivered again changes nothing', async () => {
    const batch = [
      subscribe('CUST-A'),
      delivery(
        'm-a-pending',
        snsBody('sns-a-pending', 'unsubscribe-pending', new Date('2026-11-22T11:30:00Z'), { 'customer-identifier': 'CUST-A' }),
      ),
      subscribe('CUST-B'),
      delivery('m-garbage', 'not json'),
    ];
    const first = await processor.handleBatch(batch);
    expect(first.map((r) => r.status === 'fulfilled' && r.value.outcome)).toEqual(['applied', 'applied', 'applied', 'rejected']);
    const before = await storeContents();
    const activated = published.length;
    const second = await processor.handleBatch(batch);
    expect(second.map((r) => r.status === 'fulfilled' && r.value.outcome)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await storeContents()).toEqual(before);
    expect(published).toHaveLength(activated);
  });

  it('out of order within one receive: the newer event wins whatever the order of receipt', async () => {
    const pending = delivery(
      'm-pending',
      snsBody('sns-pending', 'unsubscribe-pending', new Date('2026-11-22T11:30:00Z'), { 'customer-identifier': 'CUST-A' }),
    );
    const results = await processor.handleBatch([pending, subscribe('CUST-A')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(transactions).toBe(1);
    expect((await customers.findByIdentity({ productCode: legacy.code, customerIdentifier: 'CUST-A' }))?.subscription.status).toBe(
      'unsubscribe_pending',
    );
  });
});
