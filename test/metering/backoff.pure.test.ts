import fc from 'fast-check';
import { backoffCeiling, backoffDelay, nextAttemptAt } from '../../src/metering/backoff';

const t0 = new Date('2026-06-01T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

/** Small seeded PRNG (mulberry32) for deterministic tests. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('backoff', () => {
  it('ceiling doubles from base and is capped; garbage attempts count as 1', () => {
    expect([1, 2, 3, 4].map((n) => backoffCeiling(n))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffCeiling(50)).toBe(120_000);
    expect(backoffCeiling(1e9)).toBe(120_000);
    expect(backoffCeiling(0)).toBe(1000);
    expect(backoffCeiling(-3)).toBe(1000);
    expect(backoffCeiling(Number.NaN)).toBe(1000);
  });

  it('full jitter: delay in [0, ceiling), deterministic for an injected random source', () => {
    expect(backoffDelay(3, { random: () => 0 })).toBe(0);
    expect(backoffDelay(3, { random: () => 0.5 })).toBe(2000);
    expect(backoffDelay(3, { random: () => 0.999999 })).toBeLessThan(4000);
    expect(backoffDelay(3, { random: () => Number.NaN })).toBe(0);
    const a = [1, 2, 3, 4, 5].map((n) => nextAttemptAt(n, t0, t0, { random: seeded(7) }));
    const b = [1, 2, 3, 4, 5].map((n) => nextAttemptAt(n, t0, t0, { random: seeded(7) }));
    expect(a).toEqual(b);
  });

  it('gives up after the 30 min budget; the last retry is clamped to the budget end', () => {
    expect(nextAttemptAt(3, t0, at(30 * 60_000))).toBe('give-up');
    expect(nextAttemptAt(3, t0, at(30 * 60_000 - 1), { random: () => 0.99 })).toEqual(at(30 * 60_000));
    expect(nextAttemptAt(2, t0, at(1000), { maxAttempts: 2 })).toBe('give-up');
    expect(nextAttemptAt(1, t0, t0, { random: () => 0.5, notAfter: at(100) })).toBe('give-up');
    expect(nextAttemptAt(1, t0, t0, { random: () => 0.5, notAfter: at(500) })).toEqual(at(500));
    expect(() => nextAttemptAt(1, new Date('x'), t0)).toThrow(RangeError);
  });

  it('property: a retry is never before now nor after the budget end', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 40 * 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, elapsed, r) => {
          const next = nextAttemptAt(n, t0, at(elapsed), { random: () => r });
          if (elapsed >= 30 * 60_000) expect(next).toBe('give-up');
          else {
            expect(next).not.toBe('give-up');
            const t = (next as Date).getTime();
            expect(t).toBeGreaterThanOrEqual(at(elapsed).getTime());
            expect(t).toBeLessThanOrEqual(at(30 * 60_000).getTime());
            expect(t - at(elapsed).getTime()).toBeLessThanOrEqual(120_000);
          }
        },
      ),
    );
  });
});
