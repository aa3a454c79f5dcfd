import type { ManualClock } from '../../src/platform/clock';
import type { MeterBucket } from '../../src/metering/bucket';
import { BucketRepository } from '../../src/metering/bucket.repository';
import { BucketTransitions } from '../../src/metering/bucket-transitions.repository';
import { CustomerRepository } from '../../src/customers/customer.repository';
import { BucketSealer } from '../../src/metering/emitter-sealer';
import { batchMeterUsageWindow, windowPolicy } from '../../src/metering/windows';
import type { Harness } from '../support/harness';
import { describeDialects } from '../support/stores';
import { activeCustomer, meteringHarness, sumProduct } from './metering-support';

/**
 * Sealing freezes many buckets per transaction. A bucket that changes between the read and the
 * seal (usage arriving, another instance sealing it) must never be sealed with the aggregate read
 * before the change, and must not be counted twice.
 */
describeDialects('sealing in chunks, with writes racing it (%s)', (dialect) => {
  let h: Harness & { clock: ManualClock };
  beforeEach(async () => {
    h = await meteringHarness({ dialect, start: '2026-03-10T09:20:00Z' });
  });
  afterEach(async () => h.close());

  /** A sealer whose bucket listing runs `meanwhile` once, right after reading the open buckets. */
  function sealerWith(meanwhile: (listed: MeterBucket[]) => Promise<void>): BucketSealer {
    const store = h.db.store;
    let ran = false;
    const buckets = new (class extends BucketRepository {
      override async listInState(...args: Parameters<BucketRepository['listInState']>): Promise<MeterBucket[]> {
        const listed = await super.listInState(...args);
        if (!ran && args[0] === 'open' && listed.length > 0) {
          ran = true;
          await meanwhile(listed);
        }
        return listed;
      }
    })(store.db, store.dialect);
    return new BucketSealer({
      db: store.db,
      buckets,
      transitions: new BucketTransitions(store.db, store.dialect),
      customers: new CustomerRepository(store.db),
      catalog: h.container.catalog,
      logger: h.logger,
      batchWindow: batchMeterUsageWindow,
      meterUsageWindow: windowPolicy({ maxAgeMs: 6 * 3_600_000 }),
    });
  }

  async function usageFor(count: number) {
    const customers = [];
    for (let i = 0; i < count; i++) customers.push(await activeCustomer(h, sumProduct));
    const results = await h.container.ledger.record(
      customers.map((c, i) => ({
        customer: c.id,
        dimension: 'api_calls',
        quantity: i + 1,
        timestamp: '2026-03-10T09:21:00Z',
        idempotencyKey: `first-${i}`,
      })),
    );
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    return customers;
  }

  it('usage that lands between the read and the seal is in the sealed quantity', async () => {
    const customers = await usageFor(150); // more than one chunk
    const late = [customers[3]!, customers[120]!];
    const sealer = sealerWith(async () => {
      const r = await h.container.ledger.record(
        late.map((c, i) => ({
          customer: c.id,
          dimension: 'api_calls',
          quantity: 1000,
          timestamp: '2026-03-10T09:50:00Z',
          idempotencyKey: `late-${i}`,
        })),
      );
      expect(r.map((x) => (x as { rolledForward?: boolean }).rolledForward)).toEqual([false, false]);
    });
    const now = new Date('2026-03-10T10:05:00Z');
    h.clock.set(now);
    expect(await sealer.sealBefore(new Date('2026-03-10T10:00:00Z'), now)).toBe(150);
    const sealed = await h.container.meterBuckets.list({ state: 'sealed', limit: 1000 });
    expect(sealed).toHaveLength(150);
    const byCustomer = new Map(sealed.map((b) => [b.customerId, b]));
    customers.forEach((c, i) => expect({ i, q: byCustomer.get(c.id)!.quantity }).toEqual({ i, q: i + 1 + (late.includes(c) ? 1000 : 0) }));
    expect(sealed.every((b) => b.usageCount === (late.some((c) => c.id === b.customerId) ? 2 : 1))).toBe(true);
  });

  it('buckets another instance sealed meanwhile are left as it sealed them and not counted here', async () => {
    const customers = await usageFor(120);
    const other = new BucketTransitions(h.db.store.db, h.db.store.dialect);
    const now = new Date('2026-03-10T10:05:00Z');
    h.clock.set(now);
    const sealer = sealerWith(async (listed) => {
      // The other instance freezes the first 30 with a quantity of its own choosing (a marker).
      for (const b of listed.slice(0, 30))
        expect(
          await other.sealOrHold(
            h.db.store.db,
            b,
            { quantity: { quantity: 777, allocations: undefined }, identity: null, recordTimestamp: b.hour },
            null,
            now,
          ),
        ).toBe(true);
    });
    expect(await sealer.sealBefore(new Date('2026-03-10T10:00:00Z'), now)).toBe(90);
    const sealed = await h.container.meterBuckets.list({ state: 'sealed', limit: 1000 });
    expect(sealed).toHaveLength(customers.length);
    expect(sealed.filter((b) => b.quantity === 777)).toHaveLength(30);
  });

  it('a store failure in the middle of a chunk leaves the whole chunk open, and the next run seals it', async () => {
    await usageFor(60);
    const now = new Date('2026-03-10T10:05:00Z');
    h.clock.set(now);
    const store = h.db.store;
    let failAt = 37;
    const transitions = new (class extends BucketTransitions {
      override async sealOrHold(...args: Parameters<BucketTransitions['sealOrHold']>): Promise<boolean> {
        if (--failAt === 0) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
        return super.sealOrHold(...args);
      }
    })(store.db, store.dialect);
    const sealer = new BucketSealer({
      db: store.db,
      buckets: new BucketRepository(store.db, store.dialect),
      transitions,
      customers: new CustomerRepository(store.db),
      catalog: h.container.catalog,
      logger: h.logger,
      batchWindow: batchMeterUsageWindow,
      meterUsageWindow: windowPolicy({ maxAgeMs: 6 * 3_600_000 }),
    });
    await expect(sealer.sealBefore(new Date('2026-03-10T10:00:00Z'), now)).rejects.toThrow('disk I/O error');
    expect(await h.container.meterBuckets.list({ state: 'sealed', limit: 1000 })).toHaveLength(0);
    expect(await sealer.sealBefore(new Date('2026-03-10T10:00:00Z'), now)).toBe(60);
  });
});
