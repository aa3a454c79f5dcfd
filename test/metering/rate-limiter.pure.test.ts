import fc from 'fast-check';
import { TokenBucket } from '../../src/metering/rate-limiter';

describe('TokenBucket', () => {
  it('paces 10 req/s evenly by default', () => {
    const b = new TokenBucket({}, 0);
    const waits = Array.from({ length: 5 }, () => b.take(0));
    expect(waits).toEqual([0, 100, 200, 300, 400]);
    expect(b.take(1000)).toBe(0);
  });

  it('halves on throttling (once per cooldown, floor 1/s) and recovers additively', () => {
    const b = new TokenBucket({ ratePerSecond: 10 }, 0);
    b.onThrottled(0);
    expect(b.rate).toBe(5);
    b.onThrottled(10); // same burst of failures
    expect(b.rate).toBe(5);
    for (let i = 1; i <= 10; i++) b.onThrottled(i * 2000);
    expect(b.rate).toBe(1);
    for (let i = 0; i < 3; i++) b.onSuccess(30_000);
    expect(b.rate).toBe(2.5);
    for (let i = 0; i < 100; i++) b.onSuccess(30_000);
    expect(b.rate).toBe(10);
    expect(() => new TokenBucket({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new TokenBucket({ burst: 0 })).toThrow(RangeError);
  });

  it('property: sends never exceed burst + rate × window in any window, however requests arrive', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        (gaps, rate, burst) => {
          const b = new TokenBucket({ ratePerSecond: rate, burst }, 0);
          let now = 0;
          const sends: number[] = [];
          for (const g of gaps) {
            now += g;
            sends.push(now + b.take(now));
          }
          for (let i = 1; i < sends.length; i++) expect(sends[i]!).toBeGreaterThanOrEqual(sends[i - 1]!);
          for (let i = 0; i < sends.length; i++) {
            for (let j = i; j < sends.length; j++) {
              const window = sends[j]! - sends[i]!;
              expect(j - i + 1).toBeLessThanOrEqual(burst + (window * rate) / 1000 + 1e-9);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
