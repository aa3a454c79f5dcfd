import fc from 'fast-check';
import { TokenBucket } from '../../src/metering/rate-limiter';

/** When a caller arriving at `now` leaves: it asks, sleeps as told, and asks again. */
function leaveAt(b: TokenBucket, now: number): number {
  for (;;) {
    const wait = b.tryAcquire(now);
    if (wait === 0) return now;
    now += wait;
  }
}

describe('TokenBucket', () => {
  it('paces 10 req/s evenly by default', () => {
    const b = new TokenBucket({}, 0);
    const sends = Array.from({ length: 5 }, () => leaveAt(b, 0));
    expect(sends).toEqual([0, 100, 200, 300, 400]);
    expect(b.tryAcquire(1000)).toBe(0);
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
            sends.push(leaveAt(b, Math.max(now, sends[sends.length - 1] ?? 0)));
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

  it('tryAcquire decides when the caller actually sends: a late wake-up cannot bunch two calls', () => {
    // Decided at the moment of sending (not booked ahead, where a caller waking 60 ms late would
    // leave 40 ms before the next one), the next caller waits a full interval after the late one.
    const b = new TokenBucket({}, 0);
    expect(b.tryAcquire(60)).toBe(0);
    expect(b.tryAcquire(100)).toBe(60);
    expect(b.tryAcquire(159)).toBe(1);
    expect(b.tryAcquire(160)).toBe(0);
    expect(b.tryAcquire(200)).toBeGreaterThan(0); // nothing was taken by asking
  });

  it('property: with tryAcquire, concurrent callers that wake late never exceed the rate as calls actually leave', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 50, maxLength: 300 }),
        (workers, rate, lateness) => {
          const b = new TokenBucket({ ratePerSecond: rate }, 0);
          let k = 0;
          const late = () => lateness[k++ % lateness.length]!;
          // Each worker asks, sleeps as told (waking late by an arbitrary amount), asks again; after a
          // send it works for a while before asking for the next slot.
          const wakeAt = Array.from({ length: workers }, () => late());
          const sends: number[] = [];
          while (sends.length < 60) {
            const w = wakeAt.indexOf(Math.min(...wakeAt));
            const now = wakeAt[w]!;
            const wait = b.tryAcquire(now);
            if (wait === 0) {
              sends.push(now);
              wakeAt[w] = now + late();
            } else wakeAt[w] = now + wait + late();
          }
          sends.sort((x, y) => x - y);
          let worst = 0; // calls in a window beyond what the rate allows there
          for (let i = 0; i < sends.length; i++) {
            for (let j = i; j < sends.length; j++) worst = Math.max(worst, j - i + 1 - (1 + ((sends[j]! - sends[i]!) * rate) / 1000 + 1e-9));
          }
          expect(worst).toBeLessThanOrEqual(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('minSpacingMs: a late caller is made up for down to the minimum gap, never below it', () => {
    const b = new TokenBucket({ ratePerSecond: 9.5, minSpacingMs: 101 }, 0);
    expect(b.tryAcquire(0)).toBe(0);
    // Due at 105.3, left 4 ms late: the next may leave 101.5 ms after it, at 210.5 as planned.
    expect(b.tryAcquire(109)).toBe(0);
    expect(b.tryAcquire(209)).toBe(2);
    expect(b.tryAcquire(210)).toBe(1);
    expect(b.tryAcquire(211)).toBe(0);
    // Due at 421, left 29 ms late, more than can be made up: the next leaves the minimum gap after it.
    expect(b.tryAcquire(450)).toBe(0);
    expect(b.tryAcquire(550)).toBe(1);
    expect(b.tryAcquire(551)).toBe(0);
    expect(() => new TokenBucket({ minSpacingMs: -1 })).toThrow(RangeError);
  });

  it('property: with minSpacingMs, calls leave at least that far apart and keep the configured rate on average', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 100, maxLength: 300 }), (lateness) => {
        const b = new TokenBucket({ ratePerSecond: 9.5, minSpacingMs: 101 }, 0);
        let now = 0;
        const sends: number[] = [];
        for (const late of lateness) {
          for (;;) {
            const wait = b.tryAcquire(now);
            if (wait === 0) break;
            now += wait + late;
          }
          sends.push(now);
        }
        for (let i = 1; i < sends.length; i++) expect(sends[i]! - sends[i - 1]!).toBeGreaterThanOrEqual(101);
        // Lateness of up to 8 ms a call is made up: the average stays at the rate's interval (105.3 ms) or near it.
        const mean = (sends[sends.length - 1]! - sends[0]!) / (sends.length - 1);
        expect(mean).toBeLessThan(1000 / 9.5 + 4);
      }),
      { numRuns: 100 },
    );
  });
});
