import fc from 'fast-check';
import {
  MAX_QUANTITY,
  allocatedTotal,
  allocationKey,
  apportion,
  parseAllocationKey,
  toUsageAllocations,
  validateTags,
  validateUsageAllocations,
} from '../../src/metering/allocations';

const tagChar = fc.constantFrom(...'abcXYZ019+ -=._:/@'.split(''));
const tagString = (max: number) => fc.string({ unit: tagChar, minLength: 1, maxLength: max });
const tagsArb = fc.dictionary(tagString(8), tagString(8), { maxKeys: 5 });

describe('validateTags', () => {
  it('accepts undefined, empty and the safe character set', () => {
    expect(validateTags(undefined)).toEqual([]);
    expect(validateTags({})).toEqual([]);
    expect(validateTags({ 'Dept:Team/1': 'R&D'.replace('&', '+') })).toEqual([]);
    expect(validateTags({ k: 'a b+c-d=e.f_g:h/i@j' })).toEqual([]);
    expect(validateTags(Object.assign(Object.create(null) as object, { a: 'b' }))).toEqual([]);
  });

  it('rejects garbage and boundary violations', () => {
    expect(validateTags(null)).toHaveLength(1);
    expect(validateTags('k=v')).toHaveLength(1);
    expect(validateTags([['k', 'v']])).toHaveLength(1);
    expect(validateTags(new Date())).toHaveLength(1);
    expect(validateTags({ k: 1 })).toEqual(['tag "k" must have a string value']);
    expect(validateTags({ '': 'v' })[0]).toMatch(/1-100/);
    expect(validateTags({ ['k'.repeat(100)]: 'v' })).toEqual([]);
    expect(validateTags({ ['k'.repeat(101)]: 'v' })[0]).toMatch(/1-100/);
    expect(validateTags({ k: 'v'.repeat(256) })).toEqual([]);
    expect(validateTags({ k: 'v'.repeat(257) })[0]).toMatch(/1-256/);
    expect(validateTags({ k: '' })[0]).toMatch(/1-256/);
    // Characters the AWS regex range 0x20-0x3D would admit but the Seller Guide list does not.
    for (const bad of ['!', '"', '#', '$', '%', '&', "'", '(', ')', '*', ',', ';', '<', 'é', '\n', '>', '?']) {
      expect(validateTags({ k: `a${bad}` })).toHaveLength(1);
      expect(validateTags({ [`a${bad}`]: 'v' })).toHaveLength(1);
    }
    expect(validateTags({ a: '1', b: '1', c: '1', d: '1', e: '1' })).toEqual([]);
    expect(validateTags({ a: '1', b: '1', c: '1', d: '1', e: '1', f: '1' })[0]).toMatch(/at most 5/);
  });
});

describe('allocationKey', () => {
  it('is canonical and round-trips, empty means untagged', () => {
    expect(allocationKey(undefined)).toBe('');
    expect(allocationKey({})).toBe('');
    expect(allocationKey({ b: '2', a: '1' })).toBe(allocationKey({ a: '1', b: '2' }));
    expect(allocationKey({ 'a=b': 'c' })).not.toBe(allocationKey({ a: 'b=c' }));
    fc.assert(fc.property(tagsArb, (t) => expect(parseAllocationKey(allocationKey(t)) ?? {}).toEqual(t)));
  });
});

describe('apportion (largest remainder)', () => {
  it('splits exactly', () => {
    expect(
      apportion(
        new Map([
          ['a', 1],
          ['b', 1],
          ['c', 1],
        ]),
        10,
      ),
    ).toEqual(
      new Map([
        ['a', 4],
        ['b', 3],
        ['c', 3],
      ]),
    );
    expect(apportion(new Map([['a', 0]]), 5)).toEqual(new Map([['', 5]]));
    expect(apportion(new Map(), 0)).toEqual(new Map());
    expect(() => apportion(new Map(), 1.5)).toThrow(RangeError);
  });

  it('property: integer parts summing to the total, each within 1 of its exact share, order-independent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string(), fc.integer({ min: 0, max: MAX_QUANTITY })), { maxLength: 30 }),
        fc.integer({ min: 0, max: MAX_QUANTITY }),
        (pairs, total) => {
          const weights = new Map(pairs);
          const out = apportion(weights, total);
          const reversed = apportion(new Map([...weights].reverse()), total);
          expect([...out].sort()).toEqual([...reversed].sort());
          expect([...out.values()].reduce((s, v) => s + v, 0)).toBe(total);
          const sumW = [...weights.values()].reduce((s, v) => s + v, 0);
          for (const [k, v] of out) {
            expect(Number.isInteger(v)).toBe(true);
            if (sumW > 0) expect(Math.abs(v - (total * (weights.get(k) ?? 0)) / sumW)).toBeLessThan(1.0001);
          }
        },
      ),
    );
  });
});

describe('toUsageAllocations', () => {
  it('omits UsageAllocations when only the untagged allocation remains', () => {
    expect(toUsageAllocations(new Map([['', 7]]))).toBeUndefined();
    expect(
      toUsageAllocations(
        new Map([
          ['', 7],
          [allocationKey({ a: 'b' }), 0],
        ]),
      ),
    ).toBeUndefined();
    expect(toUsageAllocations(new Map())).toBeUndefined();
  });

  it('builds the SDK shape, untagged last, no Tags on it', () => {
    const a = toUsageAllocations(
      new Map([
        ['', 2],
        [allocationKey({ z: '1', a: '2' }), 5],
      ]),
    );
    expect(a).toEqual([
      {
        AllocatedUsageQuantity: 5,
        Tags: [
          { Key: 'a', Value: '2' },
          { Key: 'z', Value: '1' },
        ],
      },
      { AllocatedUsageQuantity: 2 },
    ]);
    expect(validateUsageAllocations(a, 7)).toEqual([]);
  });

  it('folds tag sets beyond 2,500 (or the byte budget) into the untagged allocation', () => {
    const parts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) parts.set(allocationKey({ id: String(i) }), i + 1);
    const a = toUsageAllocations(parts)!;
    expect(a).toHaveLength(2500);
    expect(a[a.length - 1]!.Tags).toBeUndefined();
    const total = [...parts.values()].reduce((s, v) => s + v, 0);
    expect(validateUsageAllocations(a, total)).toEqual([]);

    const big = new Map<string, number>();
    const long = (c: string) => c.repeat(256);
    for (let i = 0; i < 2500; i++)
      big.set(allocationKey({ [`k1${i}`.padEnd(100, 'x')]: long('a'), k2: long('b'), k3: long('c'), k4: long('d'), k5: long('e') }), 1);
    const b = toUsageAllocations(big)!;
    expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(900_000);
    expect(validateUsageAllocations(b, 2500)).toEqual([]);
  });

  it('validateUsageAllocations catches what AWS rejects', () => {
    expect(validateUsageAllocations([], 0)[0]).toMatch(/1-2500/);
    expect(validateUsageAllocations([{ AllocatedUsageQuantity: 1 }], 2)[0]).toMatch(/sum to 1/);
    expect(validateUsageAllocations([{ AllocatedUsageQuantity: 1.5 }], 1.5)[0]).toMatch(/integer/);
    expect(validateUsageAllocations([{ AllocatedUsageQuantity: 1 }, { AllocatedUsageQuantity: 1 }], 2)[0]).toMatch(/same tag set/);
    expect(validateUsageAllocations([{ AllocatedUsageQuantity: 1, Tags: [] }], 1)[0]).toMatch(/1-5 tags/);
    expect(allocatedTotal(undefined)).toBe(0);
  });
});
