import fc from 'fast-check';
import {
  AGGREGATION_MODES,
  addUsage,
  allocationParts,
  billedAllocations,
  billedQuantity,
  emptyAggregate,
  parseBucketAggregate,
  usageRejection,
  type AggregationMode,
  type BucketAggregate,
  type UsageInput,
} from '../../src/metering/aggregation';
import { MAX_QUANTITY, allocatedTotal, allocationKey, validateUsageAllocations } from '../../src/metering/allocations';

const T0 = Date.parse('2026-05-01T10:00:00Z');
const u = (quantity: number, minute: number, key: string, extra: Partial<UsageInput> = {}): UsageInput => ({
  quantity,
  timestamp: new Date(T0 + minute * 60_000),
  idempotencyKey: key,
  ...extra,
});
const fold = (mode: AggregationMode, list: UsageInput[]): BucketAggregate =>
  list.reduce((a, x) => addUsage(a, mode, x), emptyAggregate(mode));

const tagsArb = fc.option(fc.constantFrom<Record<string, string>>({ team: 'a' }, { team: 'b' }, { team: 'b', env: 'prod' }, {}), {
  nil: undefined,
});
const usageArb: fc.Arbitrary<UsageInput> = fc.record({
  quantity: fc.integer({ min: 0, max: 1_000_000 }),
  timestamp: fc.integer({ min: 0, max: 3_599_999 }).map((ms) => new Date(T0 + ms)),
  idempotencyKey: fc.string({ minLength: 1, maxLength: 6 }),
  distinctId: fc.constantFrom<string>('u1', 'u2', 'u3', 'h-4', '__proto__', 'constructor'),
  tags: tagsArb,
});
// Unique idempotency keys, as the ledger guarantees.
const usagesArb = fc.uniqueArray(usageArb, { selector: (x) => x.idempotencyKey, maxLength: 25 });

describe('aggregation: examples', () => {
  it('empty aggregates bill 0 and have no allocations', () => {
    for (const mode of AGGREGATION_MODES) {
      const a = emptyAggregate(mode);
      expect(billedQuantity(a, mode, { entitled: 0 })).toBe(0);
      expect(billedAllocations(a, mode, { entitled: 0 })).toBeUndefined();
      expect(JSON.parse(JSON.stringify(a))).toEqual(a);
    }
    expect(() => emptyAggregate('avg' as AggregationMode)).toThrow(RangeError);
  });

  it('sum, max, latest, distinct, overage', () => {
    const list = [u(5, 1, 'k1', { distinctId: 'a' }), u(9, 2, 'k2', { distinctId: 'b' }), u(3, 59, 'k3', { distinctId: 'a' })];
    expect(billedQuantity(fold('sum', list), 'sum')).toBe(17);
    expect(billedQuantity(fold('max', list), 'max')).toBe(9);
    expect(billedQuantity(fold('latest', list), 'latest')).toBe(3);
    expect(billedQuantity(fold('distinct', list), 'distinct')).toBe(2);
    expect(billedQuantity(fold('overage', list), 'overage', { entitled: 10 })).toBe(7);
    expect(billedQuantity(fold('overage', list), 'overage', { entitled: 100 })).toBe(0);
    expect(billedQuantity(fold('overage', list), 'overage', { entitled: Infinity })).toBe(0);
  });

  it('latest: same timestamp → greatest idempotency key wins', () => {
    expect(billedQuantity(fold('latest', [u(1, 5, 'b'), u(2, 5, 'a')]), 'latest')).toBe(1);
    expect(billedQuantity(fold('latest', [u(2, 5, 'a'), u(1, 5, 'b')]), 'latest')).toBe(1);
  });

  it('overage needs a valid entitled quantity', () => {
    const a = fold('overage', [u(5, 1, 'k')]);
    expect(() => billedQuantity(a, 'overage')).toThrow(/entitled/);
    for (const bad of [-1, 1.5, Number.NaN]) expect(() => billedQuantity(a, 'overage', { entitled: bad })).toThrow(/entitled/);
  });

  it('overage on a peak basis bills the peak (or latest) value of the hour above the entitlement, allocated to its tag set', () => {
    const A = { team: 'a' };
    const list = [u(12, 1, 'k1', { tags: A }), u(8, 2, 'k2'), u(9, 3, 'k3')];
    const peak = list.reduce<BucketAggregate>((a, x) => addUsage(a, 'overage', x), emptyAggregate('overage', 'max'));
    expect(parseBucketAggregate(JSON.parse(JSON.stringify(peak)), 'overage')).toEqual(peak);
    expect(billedQuantity(peak, 'overage', { entitled: 10 })).toBe(2);
    expect(billedQuantity(peak, 'overage', { entitled: 20 })).toBe(0);
    expect(allocationParts(peak, 'overage', { entitled: 10 })).toEqual(new Map([[allocationKey(A), 2]]));
    const latest = list.reduce<BucketAggregate>((a, x) => addUsage(a, 'overage', x), emptyAggregate('overage', 'latest'));
    expect(billedQuantity(latest, 'overage', { entitled: 5 })).toBe(4);
    expect(() => billedQuantity(peak, 'overage')).toThrow(/entitled/);
    // Stored cumulative aggregates (no basis) keep their meaning.
    expect(parseBucketAggregate({ mode: 'overage', total: 7, parts: { '': 7 } }, 'overage')).toEqual({
      mode: 'overage',
      total: 7,
      parts: { '': 7 },
    });
  });

  it('rejects garbage usage with a reason, never half-adds', () => {
    const s = emptyAggregate('sum');
    for (const q of [-1, 1.5, Number.NaN, Infinity, MAX_QUANTITY + 1]) {
      expect(usageRejection(s, 'sum', u(q, 0, 'k'))).toMatch(/quantity/);
      expect(() => addUsage(s, 'sum', u(q, 0, 'k'))).toThrow(RangeError);
    }
    expect(usageRejection(s, 'sum', u(MAX_QUANTITY, 0, 'k'))).toBeNull();
    expect(usageRejection(addUsage(s, 'sum', u(MAX_QUANTITY, 0, 'k')), 'sum', u(1, 0, 'k2'))).toMatch(/exceed 2147483647/);
    expect(usageRejection(s, 'sum', { ...u(1, 0, 'k'), timestamp: new Date('x') })).toMatch(/timestamp/);
    expect(usageRejection(s, 'sum', u(1, 0, ''))).toMatch(/idempotencyKey/);
    expect(usageRejection(s, 'sum', u(1, 0, 'k', { tags: { 'bad!': 'x' } }))).toMatch(/tag key/);
    expect(usageRejection(emptyAggregate('distinct'), 'distinct', u(1, 0, 'k'))).toMatch(/distinctId/);
    expect(() => addUsage(s, 'max', u(1, 0, 'k'))).toThrow(/mode sum/);
    expect(() => billedQuantity(s, 'overage', { entitled: 0 })).toThrow(/mode sum/);
  });

  it('allocation rules per mode', () => {
    const A = { team: 'a' };
    const B = { team: 'b' };
    const list = [
      u(6, 1, 'k1', { tags: A, distinctId: 'x' }),
      u(4, 2, 'k2', { tags: B, distinctId: 'y' }),
      u(2, 3, 'k3', { distinctId: 'x' }),
    ];
    expect(billedAllocations(fold('sum', list), 'sum')).toEqual([
      { AllocatedUsageQuantity: 6, Tags: [{ Key: 'team', Value: 'a' }] },
      { AllocatedUsageQuantity: 4, Tags: [{ Key: 'team', Value: 'b' }] },
      { AllocatedUsageQuantity: 2 },
    ]);
    // max: the peak usage's tags take it all.
    expect(billedAllocations(fold('max', list), 'max')).toEqual([{ AllocatedUsageQuantity: 6, Tags: [{ Key: 'team', Value: 'a' }] }]);
    // latest: the latest usage (untagged here) → no UsageAllocations at all.
    expect(billedAllocations(fold('latest', list), 'latest')).toBeUndefined();
    // distinct: x first seen under A, y under B.
    expect(allocationParts(fold('distinct', list), 'distinct')).toEqual(
      new Map([
        [allocationKey(A), 1],
        [allocationKey(B), 1],
      ]),
    );
    // overage: 12 total, 6 entitled → 6 billed split 6:4:2 → 3:2:1.
    expect(allocationParts(fold('overage', list), 'overage', { entitled: 6 })).toEqual(
      new Map([
        ['', 1],
        [allocationKey(A), 3],
        [allocationKey(B), 2],
      ]),
    );
  });

  it('parseBucketAggregate accepts stored JSON and rejects garbage', () => {
    const a = fold('distinct', [u(1, 0, 'k', { distinctId: 'x' })]);
    expect(parseBucketAggregate(JSON.parse(JSON.stringify(a)), 'distinct')).toEqual(a);
    expect(() => parseBucketAggregate(a, 'sum')).toThrow(RangeError);
    expect(() => parseBucketAggregate({ mode: 'sum', total: -1, parts: {} }, 'sum')).toThrow(/malformed/);
    expect(() => parseBucketAggregate('{}', 'sum')).toThrow(/malformed/);
    expect(() => parseBucketAggregate(null, 'sum')).toThrow(/malformed/);
  });
});

describe('aggregation: properties', () => {
  const orderFree: AggregationMode[] = ['sum', 'max', 'latest', 'distinct'];

  it('any permutation of the same usage set gives the same aggregate (even as JSON text)', () => {
    fc.assert(
      fc.property(usagesArb, fc.constantFrom(...orderFree), fc.func(fc.integer()), (list, mode, key) => {
        const shuffled = [...list].sort((a, b) => key(a.idempotencyKey) - key(b.idempotencyKey));
        expect(JSON.stringify(fold(mode, shuffled))).toBe(JSON.stringify(fold(mode, list)));
      }),
    );
  });

  it('billed quantity matches a direct computation', () => {
    fc.assert(
      fc.property(usagesArb, fc.integer({ min: 0, max: 3_000_000 }), (list, entitled) => {
        const total = list.reduce((s, x) => s + x.quantity, 0);
        expect(billedQuantity(fold('sum', list), 'sum')).toBe(total);
        expect(billedQuantity(fold('max', list), 'max')).toBe(list.length ? Math.max(...list.map((x) => x.quantity)) : 0);
        expect(billedQuantity(fold('distinct', list), 'distinct')).toBe(new Set(list.map((x) => x.distinctId)).size);
        expect(billedQuantity(fold('overage', list), 'overage', { entitled })).toBe(Math.max(0, total - entitled));
        const latestAt = Math.max(...list.map((x) => x.timestamp.getTime()));
        const atLatest = list
          .filter((x) => x.timestamp.getTime() === latestAt)
          .sort((a, b) => (a.idempotencyKey < b.idempotencyKey ? 1 : -1));
        expect(billedQuantity(fold('latest', list), 'latest')).toBe(atLatest[0]?.quantity ?? 0);
      }),
    );
  });

  it('sum(allocations) == billed quantity, allocations valid for AWS, in every mode', () => {
    fc.assert(
      fc.property(usagesArb, fc.constantFrom(...AGGREGATION_MODES), fc.integer({ min: 0, max: 3_000_000 }), (list, mode, entitled) => {
        const agg = fold(mode, list);
        const billed = billedQuantity(agg, mode, { entitled });
        const parts = allocationParts(agg, mode, { entitled });
        expect([...parts.values()].reduce((s, v) => s + v, 0)).toBe(billed);
        const allocations = billedAllocations(agg, mode, { entitled });
        if (allocations !== undefined) {
          expect(allocatedTotal(allocations)).toBe(billed);
          expect(validateUsageAllocations(allocations, billed)).toEqual([]);
          expect(allocations.some((a) => a.Tags !== undefined)).toBe(true);
        }
        expect(parseBucketAggregate(JSON.parse(JSON.stringify(agg)), mode)).toEqual(agg);
      }),
    );
  });

  it('addUsage never mutates its input', () => {
    fc.assert(
      fc.property(usagesArb, fc.constantFrom(...AGGREGATION_MODES), (list, mode) => {
        let a = emptyAggregate(mode);
        for (const x of list) {
          const before = JSON.stringify(a);
          const next = addUsage(a, mode, x);
          expect(JSON.stringify(a)).toBe(before);
          a = next;
        }
      }),
    );
  });
});
