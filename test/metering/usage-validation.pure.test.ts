import fc from 'fast-check';
import { meterUsageWindow } from '../../src/metering/windows';
import { validateUsage, type ProductMeteringConfig } from '../../src/metering/usage-validation';

const product: ProductMeteringConfig = { dimensions: { gb: { mode: 'sum' }, users: { mode: 'distinct' }, peak: { mode: 'max' } } };
const now = new Date('2026-04-01T05:30:00Z');
const good = { customer: 'cust-1', dimension: 'gb', quantity: 5, timestamp: '2026-04-01T05:10:00Z', idempotencyKey: 'k-1' };
const fields = (input: unknown, n = now, opts = {}) => {
  const r = validateUsage(input, product, n, opts);
  return r.ok ? [] : r.errors.map((e) => e.field);
};

describe('validateUsage', () => {
  it('accepts a good report and normalises it', () => {
    const r = validateUsage({ ...good, tags: { team: 'a' }, extra: 'ignored' }, product, now);
    expect(r).toEqual({
      ok: true,
      errors: [],
      usage: {
        customer: 'cust-1',
        dimension: 'gb',
        mode: 'sum',
        quantity: 5,
        timestamp: new Date('2026-04-01T05:10:00Z'),
        hour: new Date('2026-04-01T05:00:00Z'),
        idempotencyKey: 'k-1',
        tags: { team: 'a' },
      },
    });
    expect(validateUsage({ ...good, timestamp: new Date('2026-04-01T05:10:00Z') }, product, now).ok).toBe(true);
    expect(validateUsage({ ...good, timestamp: '2026-04-01T07:10:00+02:00' }, product, now).ok).toBe(true);
  });

  it('garbage input', () => {
    for (const g of [null, undefined, 42, 'usage', [], [good]]) expect(fields(g)).toEqual(['']);
    expect(fields({})).toEqual(['customer', 'idempotencyKey', 'dimension', 'quantity', 'timestamp']);
    expect(fields({ ...good, customer: '   ' })).toEqual(['customer']);
    expect(fields({ ...good, customer: 'x'.repeat(256) })).toEqual(['customer']);
    expect(fields({ ...good, idempotencyKey: 'a\nb' })).toEqual(['idempotencyKey']);
    expect(fields({ ...good, dimension: 'constructor' })).toEqual(['dimension']);
    expect(fields({ ...good, dimension: '__proto__' })).toEqual(['dimension']);
    expect(fields({ ...good, dimension: 'GB' })).toEqual(['dimension']);
  });

  it('quantity boundaries', () => {
    expect(fields({ ...good, quantity: 0 })).toEqual([]);
    expect(fields({ ...good, quantity: 2147483647 })).toEqual([]);
    for (const q of [2147483648, 1.5, -1, Number.NaN, Infinity, '5', null, true, undefined])
      expect(fields({ ...good, quantity: q })).toEqual(['quantity']);
    const r = validateUsage({ ...good, quantity: 1.5 }, product, now);
    expect(r.ok ? '' : r.errors[0]!.message).toMatch(/whole number/);
    const n = validateUsage({ ...good, quantity: -0 }, product, now);
    expect(n.ok && Object.is(n.usage.quantity, 0)).toBe(true);
  });

  it('timestamp: format, future with 5 min skew, window (exactly 24 h, month-end 05:59 / 06:00)', () => {
    for (const t of [
      '2026-04-01',
      '2026-04-01T05:10:00',
      'yesterday',
      1743484200000,
      '2026-02-30T10:00:00Z',
      '2026-04-01T24:00:00Z',
      '2026-04-01T05:10:00.000+25:00',
    ]) {
      expect(fields({ ...good, timestamp: t })).toEqual(['timestamp']);
    }
    expect(fields({ ...good, timestamp: '2026-04-01T05:35:00Z' })).toEqual([]);
    expect(fields({ ...good, timestamp: '2026-04-01T05:35:00.001Z' })).toEqual(['timestamp']);
    expect(fields({ ...good, timestamp: '2026-04-01T05:31:00Z' }, now, { clockSkewMs: 0 })).toEqual(['timestamp']);
    // 24 h measured from the hour start: hour 10:00 is sendable until 09:59:59.999 the next day.
    const mid = new Date('2026-04-15T10:00:00Z');
    expect(fields({ ...good, timestamp: '2026-04-14T10:59:00Z' }, new Date('2026-04-15T09:59:59.999Z'))).toEqual([]);
    expect(fields({ ...good, timestamp: '2026-04-14T10:59:00Z' }, mid)).toEqual(['timestamp']);
    // March usage on 1 April: accepted at 05:59, refused from 06:00 (month-end cut-off).
    const march = { ...good, timestamp: '2026-03-31T23:45:00Z' };
    expect(fields(march, new Date('2026-04-01T05:59:00Z'))).toEqual([]);
    expect(fields(march, new Date('2026-04-01T06:00:00Z'))).toEqual(['timestamp']);
    const r = validateUsage(march, product, new Date('2026-04-01T06:00:00Z'));
    expect(r.ok ? '' : r.errors[0]!.message).toMatch(/until 2026-04-01T05:59:59.999Z/);
    expect(fields({ ...good, timestamp: '2026-04-01T00:10:00Z' }, now, { window: meterUsageWindow })).toEqual([]);
    expect(fields({ ...good, timestamp: '2026-03-31T23:10:00Z' }, now, { window: meterUsageWindow })).toEqual(['timestamp']);
  });

  it('tags and distinctId', () => {
    expect(fields({ ...good, tags: { 'bad!': 'x' } })).toEqual(['tags']);
    expect(fields({ ...good, tags: 'team=a' })).toEqual(['tags']);
    expect(fields({ ...good, tags: { a: '1', b: '1', c: '1', d: '1', e: '1', f: '1' } })).toEqual(['tags']);
    expect(validateUsage({ ...good, tags: {} }, product, now)).toMatchObject({
      ok: true,
      usage: expect.not.objectContaining({ tags: expect.anything() }),
    });
    expect(fields({ ...good, dimension: 'users' })).toEqual(['distinctId']);
    expect(fields({ ...good, dimension: 'users', distinctId: '' })).toEqual(['distinctId']);
    expect(validateUsage({ ...good, dimension: 'users', distinctId: 'u-1', quantity: undefined }, product, now)).toMatchObject({
      ok: true,
      usage: { quantity: 1, distinctId: 'u-1' },
    });
    expect(fields({ ...good, distinctId: 'u-1' })).toEqual(['distinctId']);
  });

  it('property: never throws, and ok ⇔ no errors', () => {
    const anything = fc.oneof(
      fc.anything(),
      fc.record(
        {
          customer: fc.anything(),
          dimension: fc.constantFrom('gb', 'users', 'x', 7),
          quantity: fc.oneof(fc.integer(), fc.double()),
          timestamp: fc.oneof(fc.string(), fc.date()),
          idempotencyKey: fc.string(),
          tags: fc.anything(),
          distinctId: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(anything, (input) => {
        const r = validateUsage(input, product, now);
        expect(r.ok).toBe(r.errors.length === 0);
        for (const e of r.errors) expect(e.message.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
