import { randomUUID } from 'node:crypto';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { bucketKey, BucketRepository, type NewBucket } from '../../src/metering/bucket.repository';
import { LedgerWrites } from '../../src/metering/ledger-writes.repository';
import { UsageEventRepository } from '../../src/metering/usage-event.repository';
import { toDbTime } from '../../src/store/dialect';
import { describeDialects, openTestStore, type TestStore } from '../support/stores';

const now = new Date('2026-12-01T10:20:00Z');
const hour = (h: number) => new Date(Date.UTC(2026, 11, 1, h));

/** The set-based look-ups a usage batch makes: exact (customer, key) pairs, and many buckets locked at once. */
describeDialects('ledger look-ups on %s', (dialect) => {
  let t: TestStore;
  let customers: string[];
  beforeEach(async () => {
    t = await openTestStore(dialect);
    const repo = new CustomerRepository(t.store.db);
    customers = [];
    for (let i = 0; i < 3; i++) customers.push((await repo.upsert({ productCode: 'p', customerIdentifier: `ci-${i}` }, now)).id);
  });
  afterEach(async () => t.dispose());

  it('finds exactly the (customer, key) pairs asked for, across statement chunks, never a crossed pair', async () => {
    const buckets = new BucketRepository(t.store.db, dialect);
    const b = await t.store.db
      .transaction()
      .execute((tx) =>
        buckets.lockOrCreate(
          tx,
          { customerId: customers[0]!, productCode: 'p', dimension: 'd', hour: hour(9), api: 'batch', mode: 'sum' },
          now,
        ),
      );
    // Customer 0 holds keys k0..k1199, customer 1 holds "x"; customer 2 holds nothing.
    const rows = [
      ...Array.from({ length: 1200 }, (_, i) => ({ customer: customers[0]!, key: `k${i}` })),
      { customer: customers[1]!, key: 'x' },
    ].map(({ customer, key }) => ({
      id: randomUUID(),
      customer_id: customer,
      idempotency_key: key,
      fingerprint: `fp-${customer}-${key}`,
      dimension: 'd',
      quantity: 1,
      distinct_id: null,
      tags: null,
      usage_time: toDbTime(hour(9)),
      bucket_id: b.id,
      bucket_hour: toDbTime(hour(9)),
      rolled_forward: 0,
      received_at: toDbTime(now),
    }));
    const events = new UsageEventRepository();
    await t.store.db.transaction().execute((tx) => new LedgerWrites(dialect).insertUsage(tx, rows));
    const asked = [
      ...Array.from({ length: 1200 }, (_, i) => ({ customerId: customers[0]!, idempotencyKey: `k${i}` })),
      { customerId: customers[0]!, idempotencyKey: 'x' }, // customer 1's key, asked for customer 0
      { customerId: customers[1]!, idempotencyKey: 'k5' }, // customer 0's key, asked for customer 1
      { customerId: customers[1]!, idempotencyKey: 'x' },
      { customerId: customers[2]!, idempotencyKey: 'x' },
      { customerId: customers[0]!, idempotencyKey: 'k5' }, // asked twice
    ];
    const found = await t.store.db.transaction().execute((tx) => events.findByKeys(tx, asked));
    expect(found.size).toBe(1201);
    expect(found.get(`${customers[0]}\u0000k1199`)?.fingerprint).toBe(`fp-${customers[0]}-k1199`);
    expect(found.get(`${customers[1]}\u0000x`)).toMatchObject({
      fingerprint: `fp-${customers[1]}-x`,
      hour: hour(9).toISOString(),
      rolledForward: false,
    });
    for (const crossed of [`${customers[0]}\u0000x`, `${customers[1]}\u0000k5`, `${customers[2]}\u0000x`])
      expect(found.has(crossed)).toBe(false);
    expect((await t.store.db.transaction().execute((tx) => events.findByKeys(tx, []))).size).toBe(0);
  });

  it('creates the missing buckets and returns existing ones as they are, many at once', async () => {
    const buckets = new BucketRepository(t.store.db, dialect);
    const spec = (customer: number, dimension: string, h: number): NewBucket => ({
      customerId: customers[customer]!,
      productCode: 'p',
      dimension,
      hour: hour(h),
      api: 'batch',
      mode: 'sum',
    });
    const existing = await t.store.db.transaction().execute((tx) => buckets.lockOrCreate(tx, spec(0, 'd', 9), now));
    await t.store.db.updateTable('meter_buckets').set({ state: 'sealed', quantity: 4 }).where('id', '=', existing.id).execute();
    // 250 buckets (three statements of reads), one of them existing and sealed, one asked twice.
    const wanted = [spec(0, 'd', 9), ...Array.from({ length: 249 }, (_, i) => spec(i % 3, `dim-${i}`, i % 5)), spec(0, 'd', 9)];
    const got = await t.store.db.transaction().execute((tx) => buckets.lockOrCreateMany(tx, wanted, now));
    expect(got.size).toBe(250);
    expect(got.get(bucketKey(customers[0]!, 'd', hour(9)))).toMatchObject({ id: existing.id, state: 'sealed' });
    for (const w of wanted)
      expect(got.get(bucketKey(w.customerId, w.dimension, w.hour))).toMatchObject({ dimension: w.dimension, customerId: w.customerId });
    const count = await t.store.db
      .selectFrom('meter_buckets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(250);
    // Asked again: nothing new.
    const again = await t.store.db.transaction().execute((tx) => buckets.lockOrCreateMany(tx, wanted, now));
    expect([...again.values()].map((b) => b.id).sort()).toEqual([...got.values()].map((b) => b.id).sort());
  });

  it('leaves out a MeterUsage bucket whose slot another customer holds', async () => {
    const buckets = new BucketRepository(t.store.db, dialect);
    const mu = (customer: number): NewBucket => ({
      customerId: customers[customer]!,
      productCode: 'p',
      dimension: 'd',
      hour: hour(9),
      api: 'meter-usage',
      mode: 'sum',
    });
    await t.store.db.transaction().execute((tx) => buckets.lockOrCreate(tx, mu(0), now));
    const got = await t.store.db.transaction().execute((tx) => buckets.lockOrCreateMany(tx, [mu(0), mu(1)], now));
    expect([...got.values()].map((b) => b.customerId)).toEqual([customers[0]]);
  });
});
