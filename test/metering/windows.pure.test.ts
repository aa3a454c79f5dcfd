import fc from 'fast-check';
import { HOUR_MS, hourStart } from '../../src/metering/hours';
import { batchMeterUsageWindow, isWithinWindow, meterUsageWindow, windowDeadline, windowPolicy } from '../../src/metering/windows';

const at = (s: string) => new Date(s);
const plus = (d: Date, ms: number) => new Date(d.getTime() + ms);

describe('windows: BatchMeterUsage (24 h, month-end cut-off at 06:00 UTC on the 1st)', () => {
  const ts = at('2026-03-10T10:00:00Z');

  it('accepts while now - timestamp < 24 h, rejects at exactly 24 h', () => {
    expect(isWithinWindow(ts, ts)).toBe(true);
    expect(isWithinWindow(ts, plus(ts, 24 * HOUR_MS - 1))).toBe(true);
    expect(isWithinWindow(ts, plus(ts, 24 * HOUR_MS))).toBe(false);
    expect(windowDeadline(ts).toISOString()).toBe('2026-03-11T09:59:59.999Z');
  });

  it('rejects future timestamps', () => {
    expect(isWithinWindow(plus(ts, 1), ts)).toBe(false);
  });

  it('previous-month records: 05:59:59.999 on the 1st accepted, 06:00 rejected, even inside 24 h', () => {
    const lastHourOfMarch = at('2026-03-31T23:00:00Z');
    expect(isWithinWindow(lastHourOfMarch, at('2026-04-01T05:59:00Z'))).toBe(true);
    expect(isWithinWindow(lastHourOfMarch, at('2026-04-01T05:59:59.999Z'))).toBe(true);
    expect(isWithinWindow(lastHourOfMarch, at('2026-04-01T06:00:00Z'))).toBe(false);
    expect(isWithinWindow(lastHourOfMarch, at('2026-04-01T12:00:00Z'))).toBe(false);
    expect(windowDeadline(lastHourOfMarch).toISOString()).toBe('2026-04-01T05:59:59.999Z');
    // The grace is a cut-off, not an extension: 30 March 08:00 still ends at its 24 h mark.
    expect(windowDeadline(at('2026-03-30T08:00:00Z')).toISOString()).toBe('2026-03-31T07:59:59.999Z');
    // An April record at 00:00 on the 1st is not affected by March's cut-off.
    expect(windowDeadline(at('2026-04-01T00:00:00Z')).toISOString()).toBe('2026-04-01T23:59:59.999Z');
  });

  it('year end and leap day', () => {
    expect(windowDeadline(at('2026-12-31T22:00:00Z')).toISOString()).toBe('2027-01-01T05:59:59.999Z');
    expect(windowDeadline(at('2028-02-29T20:00:00Z')).toISOString()).toBe('2028-03-01T05:59:59.999Z');
    expect(windowDeadline(at('2027-02-28T20:00:00Z')).toISOString()).toBe('2027-03-01T05:59:59.999Z');
  });

  it('MeterUsage: 6 h, no month rule needed', () => {
    expect(isWithinWindow(ts, plus(ts, 6 * HOUR_MS - 1), meterUsageWindow)).toBe(true);
    expect(isWithinWindow(ts, plus(ts, 6 * HOUR_MS), meterUsageWindow)).toBe(false);
    expect(windowDeadline(at('2026-03-31T23:00:00Z'), meterUsageWindow).toISOString()).toBe('2026-04-01T04:59:59.999Z');
  });

  it('configurable and checked', () => {
    const p = windowPolicy({ maxAgeMs: HOUR_MS });
    expect(p.monthCloseGraceMs).toBe(batchMeterUsageWindow.monthCloseGraceMs);
    expect(isWithinWindow(ts, plus(ts, HOUR_MS), p)).toBe(false);
    expect(() => windowPolicy({ maxAgeMs: 0 })).toThrow(RangeError);
    expect(() => windowPolicy({ maxAgeMs: Number.NaN })).toThrow(RangeError);
    expect(() => windowPolicy({ monthCloseGraceMs: -1 })).toThrow(RangeError);
    expect(() => isWithinWindow(new Date('x'), ts)).toThrow(RangeError);
  });

  it('property: isWithinWindow(t, now) <=> t <= now <= windowDeadline(t)', () => {
    const date = fc.date({ min: at('2020-01-01T00:00:00Z'), max: at('2035-01-01T00:00:00Z'), noInvalidDate: true });
    fc.assert(
      fc.property(date, fc.integer({ min: -2 * HOUR_MS, max: 30 * HOUR_MS }), fc.boolean(), (d, delta, legacy) => {
        const policy = legacy ? meterUsageWindow : batchMeterUsageWindow;
        const t = hourStart(d);
        const now = plus(t, delta);
        const expected = delta >= 0 && now.getTime() <= windowDeadline(t, policy).getTime();
        expect(isWithinWindow(t, now, policy)).toBe(expected);
        // Never longer than the max age; month cut-off only ever shortens it.
        expect(windowDeadline(t, policy).getTime() - t.getTime()).toBeLessThan(policy.maxAgeMs);
        if (expected)
          expect(new Date(now).getUTCMonth() === t.getUTCMonth() || now.getUTCHours() < 6 || policy === meterUsageWindow).toBe(true);
      }),
    );
  });
});
