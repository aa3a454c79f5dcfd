import { sql, type Kysely } from 'kysely';
import { allocationParts, billedQuantity, hourValue } from '../../src/metering/aggregation';
import { BucketRepository } from '../../src/metering/bucket.repository';
import { UsageLedger } from '../../src/metering/ledger';
import { batchMeterUsageWindow, meterUsageWindow } from '../../src/metering/windows';
import { ManualClock } from '../../src/platform/clock';
import { createLogger } from '../../src/platform/logger';
import { ProductCatalog, type ProductConfig } from '../../src/products/product-config';
import type { Store } from '../../src/store/database';
import { migrations } from '../../src/store/migrations';
import { activeCustomers as activeBenchCustomers } from '../../bench/metering-bench-support';
import { describeDialects, openTestStore, openTestStoreAt, type TestStore } from '../support/stores';

const product: ProductConfig = {
  code: 'writes-product',
  name: 'Writes',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [
    { name: 'calls', aggregation: 'sum', heartbeat: false, metered: true },
    { name: 'peak', aggregation: 'max', heartbeat: false, metered: true },
    { name: 'users', aggregation: 'distinct', heartbeat: false, metered: true },
  ],
};

const NOW = '2026-03-10T10:30:00.000Z';
const HOUR = '2026-03-10T10:00:00.000Z';

function ledgerOn(store: Store, clock: ManualClock): UsageLedger {
  return new UsageLedger({
    db: store.db,
    dialect: store.dialect,
    catalog: new ProductCatalog([product]),
    clock,
    logger: createLogger({ level: 'silent' }),
    options: { batchWindow: batchMeterUsageWindow, meterUsageWindow },
  });
}

/** `n` active customers of the test's product (the benches' helper). */
const activeCustomers = (store: Store, n: number, at: Date): Promise<string[]> =>
  activeBenchCustomers(
    store,
    Array.from({ length: n }, (_, i) => `w-${i}`),
    at,
    product,
  );

const count = async (store: Store, table: string): Promise<number> =>
  Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n);

/** The usage rows and the bucket aggregates a call writes: together, once, or not at all. */
describeDialects('ledger writes on %s', (dialect) => {
  let t: TestStore;
  afterEach(async () => t?.dispose());

  it('a batch that fails part-way through its writes leaves nothing; done again it records each record once', async () => {
    t = await openTestStore(dialect);
    const clock = new ManualClock(NOW);
    const customers = await activeCustomers(t.store, 10, new Date('2026-03-10T09:00:00Z'));
    const ledger = ledgerOn(t.store, clock);
    const db = t.store.db as unknown as Kysely<unknown>;
    // The 701st usage row fails to insert: after the buckets were written and 700 rows went in.
    if (dialect === 'sqlite') {
      await sql`create trigger fail_once before insert on usage_events when new.idempotency_key = 'k-700'
                begin select raise(abort, 'injected failure'); end`.execute(db);
    } else {
      await sql`create function fail_once() returns trigger language plpgsql as $$
                begin if new.idempotency_key = 'k-700' then raise exception 'injected failure'; end if; return new; end $$`.execute(db);
      await sql`create trigger fail_once before insert on usage_events for each row execute function fail_once()`.execute(db);
    }
    type Rec = {
      customer: string;
      dimension: string;
      quantity?: number;
      distinctId?: string;
      timestamp: string;
      idempotencyKey: string;
      tags: Record<string, string>;
    };
    const batch = Array.from({ length: 1000 }, (_, i): Rec => {
      const dimension = ['calls', 'peak', 'users'][i % 3]!;
      return {
        customer: customers[i % 10]!,
        dimension,
        ...(dimension === 'users' ? { distinctId: `u-${i % 37}` } : { quantity: i % 7 }),
        timestamp: `2026-03-10T10:${String(i % 30).padStart(2, '0')}:00Z`,
        idempotencyKey: `k-${i}`,
        tags: { team: `t${i % 2}` },
      };
    });
    const failed = await ledger.record(batch).then(
      (results) =>
        new Error(
          `did not fail: ${JSON.stringify(results[700])}, ${JSON.stringify(results.filter((r) => r.status !== 'accepted').slice(0, 2))}`,
        ),
      (error: unknown) => error,
    );
    expect(String(failed)).toMatch(/injected failure/);
    expect(await count(t.store, 'usage_events')).toBe(0);
    expect(await count(t.store, 'meter_buckets')).toBe(0);
    expect(await count(t.store, 'meter_bucket_distinct_ids')).toBe(0);

    await sql`drop trigger fail_once ${sql.raw(dialect === 'postgres' ? 'on usage_events' : '')}`.execute(db);
    const first = await ledger.record(batch);
    expect(first.every((r) => r.status === 'accepted' && !r.replayed)).toBe(true);
    const again = await ledger.record(batch);
    expect(again.every((r) => r.status === 'accepted' && r.replayed)).toBe(true);
    expect(await count(t.store, 'usage_events')).toBe(1000);
    const buckets = await new BucketRepository(t.store.db, dialect).list({ limit: 1000 });
    expect(buckets.reduce((n, b) => n + b.usageCount, 0)).toBe(1000);
    const sums = buckets.filter((b) => b.dimension === 'calls').reduce((n, b) => n + hourValue(b.aggregate), 0);
    expect(sums).toBe(batch.filter((r) => r.dimension === 'calls').reduce((n, r) => n + (r.quantity ?? 0), 0));
    // Each customer saw some of the 37 ids; each id counts once per customer's hour.
    const distinctPairs = new Set(batch.filter((r) => r.dimension === 'users').map((r) => `${r.customer}/${r.distinctId}`));
    const distinctCounted = buckets.filter((b) => b.dimension === 'users').reduce((n, b) => n + hourValue(b.aggregate), 0);
    expect(distinctCounted).toBe(distinctPairs.size);
    expect(await count(t.store, 'meter_bucket_distinct_ids')).toBe(distinctPairs.size);
  });

  it('distinct ids: the earliest report of an id wins whatever the arrival order, one row per id', async () => {
    t = await openTestStore(dialect);
    const clock = new ManualClock(NOW);
    const [c] = await activeCustomers(t.store, 1, new Date('2026-03-10T09:00:00Z'));
    const ledger = ledgerOn(t.store, clock);
    const rec = (key: string, id: string, minute: number, team: string) => ({
      customer: c!,
      dimension: 'users',
      distinctId: id,
      timestamp: `2026-03-10T10:${String(minute).padStart(2, '0')}:00Z`,
      idempotencyKey: key,
      tags: { team },
    });
    await ledger.record([rec('a', 'u1', 20, 'late'), rec('b', 'u2', 5, 'early')]);
    await ledger.record([rec('c', 'u1', 10, 'early'), rec('d', 'u2', 25, 'late'), rec('e', 'u3', 1, 'late')]);
    await ledger.record([rec('f', 'u3', 1, 'early'), rec('g', 'u3', 1, 'late')]); // same time: the smaller key ('e' < 'f') stays
    const buckets = new BucketRepository(t.store.db, dialect);
    const [stored] = await buckets.list({ customerId: c! });
    expect(hourValue(stored!.aggregate)).toBe(3);
    expect(stored!.usageCount).toBe(7);
    const loaded = await buckets.withDistinctIds(stored!);
    expect(billedQuantity(loaded.aggregate, 'distinct')).toBe(3);
    expect(Object.fromEntries(allocationParts(loaded.aggregate, 'distinct'))).toEqual({
      [JSON.stringify([['team', 'early']])]: 2,
      [JSON.stringify([['team', 'late']])]: 1,
    });
  });

  it('migration 0012 moves the ids stored in a distinct bucket into rows: the count stays exact and later writes add to it', async () => {
    // Every migration but the ledger's 0012 and 0013 (a later one of another change may be applied already).
    const before = migrations.filter((m) => !m.name.startsWith('0012') && !m.name.startsWith('0013'));
    expect(before.length).toBe(migrations.length - 2);
    const at0011 = await openTestStoreAt(dialect, before);
    t = at0011;
    const { store, db } = at0011;
    const at = new Date('2026-03-10T09:00:00Z');
    const [c] = await activeCustomers(store, 1, at);
    const ids = Array.from({ length: 2500 }, (_, i) => ({
      id: `old-${String(i).padStart(4, '0')}`,
      at: Date.parse('2026-03-10T10:05:00Z') + i,
      idempotencyKey: `old-key-${i}`,
      tagKey: i % 3 === 0 ? JSON.stringify([['team', 'a']]) : '[]',
    }));
    const aggregate = JSON.stringify({ mode: 'distinct', ids });
    const sealedIds = JSON.stringify({ mode: 'distinct', ids: ids.slice(0, 2) });
    const bucket = (id: string, hour: string, agg: string, state: string, quantity: number | null) => {
      const mode = (JSON.parse(agg) as { mode: string }).mode;
      return sql`insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, usage_count, heartbeat,
                state, quantity, attempts, created_at, updated_at)
              values (${id}, ${c!}, ${product.code}, ${mode === 'distinct' ? 'users' : 'calls'}, ${hour}, 'batch', ${mode}, ${agg}, 0, 0,
                ${state}, ${quantity}, 0, ${NOW}, ${NOW})`.execute(db);
    };
    await bucket('open-distinct', HOUR, aggregate, 'open', null);
    await bucket('sent-distinct', '2026-03-10T08:00:00.000Z', sealedIds, 'accepted', 2);
    await bucket('sum-bucket', HOUR, '{"mode":"sum","total":5,"parts":{"[]":5}}', 'open', null);
    await sql`update meter_buckets set usage_count = 2500 where id = 'open-distinct'`.execute(db);

    await store.migrate();
    const buckets = new BucketRepository(store.db, dialect);
    const open = (await buckets.findById('open-distinct'))!;
    expect(hourValue(open.aggregate)).toBe(2500);
    const loaded = await buckets.withDistinctIds(open);
    expect(loaded.aggregate).toEqual({ mode: 'distinct', ids, count: 2500 });
    expect(hourValue((await buckets.findById('sent-distinct'))!.aggregate)).toBe(2);
    expect((await buckets.findById('sum-bucket'))!.aggregate).toEqual({ mode: 'sum', total: 5, parts: { '[]': 5 } });

    // The app keeps reporting after the upgrade: a known id adds nothing, a new one adds one.
    const ledger = ledgerOn(store, new ManualClock(NOW));
    const out = await ledger.record([
      { customer: c!, dimension: 'users', distinctId: 'old-0007', timestamp: '2026-03-10T10:20:00Z', idempotencyKey: 'n1' },
      { customer: c!, dimension: 'users', distinctId: 'new-1', timestamp: '2026-03-10T10:20:00Z', idempotencyKey: 'n2' },
    ]);
    expect(out.map((r) => r.status)).toEqual(['accepted', 'accepted']);
    const after = (await buckets.findById('open-distinct'))!;
    expect(hourValue(after.aggregate)).toBe(2501);
    expect(after.usageCount).toBe(2502);
    expect(billedQuantity((await buckets.withDistinctIds(after)).aggregate, 'distinct')).toBe(2501);

    // And across a restart: another handle on the same database sees the same count.
    const again = t.reopen();
    try {
      const reread = (await new BucketRepository(again.db, dialect).findById('open-distinct'))!;
      expect(hourValue(reread.aggregate)).toBe(2501);
    } finally {
      await again.close();
    }
  });
});
