import fc from 'fast-check';
import { HOUR_MS, hourKey, hourStart, hoursBetween, isHourStart, nextHour } from '../../src/metering/hours';

const anyDate = fc.date({ min: new Date('1960-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true });

describe('hours', () => {
  it('floors to the UTC hour', () => {
    expect(hourStart(new Date('2026-03-31T23:59:59.999Z')).toISOString()).toBe('2026-03-31T23:00:00.000Z');
    expect(hourStart(new Date('2026-03-31T23:00:00.000Z')).toISOString()).toBe('2026-03-31T23:00:00.000Z');
    expect(hourStart(new Date('1969-12-31T23:30:00.000Z')).toISOString()).toBe('1969-12-31T23:00:00.000Z');
    expect(hourKey(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:00:00.000Z');
    expect(nextHour(new Date('2026-12-31T23:10:00Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('rejects invalid dates', () => {
    expect(() => hourStart(new Date('garbage'))).toThrow(RangeError);
    expect(() => hourKey(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => hourStart('2026-01-01' as unknown as Date)).toThrow(RangeError);
  });

  it('hoursBetween is half-open: finished hours only', () => {
    expect(hoursBetween(new Date('2026-01-01T10:30:00Z'), new Date('2026-01-01T10:59:00Z'))).toEqual([]);
    expect(hoursBetween(new Date('2026-01-01T10:30:00Z'), new Date('2026-01-01T11:00:00Z')).map((d) => d.toISOString())).toEqual([
      '2026-01-01T10:00:00.000Z',
    ]);
    expect(hoursBetween(new Date('2026-01-01T12:00:00Z'), new Date('2026-01-01T10:00:00Z'))).toEqual([]);
    expect(() => hoursBetween(new Date('2000-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'))).toThrow(/exceeds/);
  });

  it('properties: floor is idempotent, within an hour, and hoursBetween is contiguous', () => {
    fc.assert(
      fc.property(anyDate, (d) => {
        const h = hourStart(d);
        expect(isHourStart(h)).toBe(true);
        expect(hourStart(h).getTime()).toBe(h.getTime());
        expect(d.getTime() - h.getTime()).toBeGreaterThanOrEqual(0);
        expect(d.getTime() - h.getTime()).toBeLessThan(HOUR_MS);
        expect(nextHour(d).getTime() - h.getTime()).toBe(HOUR_MS);
      }),
    );
    fc.assert(
      fc.property(anyDate, fc.integer({ min: 0, max: 100 * HOUR_MS }), (from, span) => {
        const to = new Date(from.getTime() + span);
        const hours = hoursBetween(from, to);
        expect(hours.length).toBe((hourStart(to).getTime() - hourStart(from).getTime()) / HOUR_MS);
        hours.forEach((h, i) => expect(h.getTime()).toBe(hourStart(from).getTime() + i * HOUR_MS));
        for (const h of hours) expect(h.getTime() + HOUR_MS).toBeLessThanOrEqual(to.getTime());
      }),
    );
  });
});
