/**
 * Client-side pacing for metering calls. Pure model: the caller passes `nowMs` and sleeps itself.
 *
 * Quota: BatchMeterUsage and MeterUsage 10 requests/second per account per Region (facts §6
 * "Quotas"). Adaptive (design §3.3): on throttling the rate halves (floor 1/s); each success adds
 * a fixed step back toward the configured rate (AIMD). Default burst 1 means evenly spaced calls,
 * so no one-second window ever holds more than about `rate` + 1 requests.
 */

/** Token-bucket settings. */
export interface TokenBucketOptions {
  /** Configured (maximum) rate, requests/second. Default 10 (AWS quota). */
  ratePerSecond?: number;
  /** Lowest adaptive rate, requests/second. Default 1. */
  minRatePerSecond?: number;
  /** Bucket capacity in tokens. Default 1 (no bursts). */
  burst?: number;
  /** Rate added per success while below the configured rate, requests/second. Default 0.5. */
  recoveryStep?: number;
  /** Throttles closer together than this count as one (a burst of in-flight failures). Default 1,000 ms. */
  throttleCooldownMs?: number;
}

/**
 * A token bucket implemented as GCRA (virtual scheduling): it keeps the theoretical arrival time
 * of the next request instead of a fractional token count, so returned send times are whole
 * milliseconds with exact spacing and no floating-point drift. Equivalent to a bucket of `burst`
 * tokens refilled at the current rate.
 */
export class TokenBucket {
  readonly maxRate: number;
  readonly minRate: number;
  readonly capacity: number;
  private readonly step: number;
  private readonly cooldownMs: number;
  private currentRate: number;
  /** Theoretical arrival time of the next request at the current rate (ms). */
  private tat: number;
  private lastThrottleMs = Number.NEGATIVE_INFINITY;

  /** @param startMs the clock reading at creation; the bucket starts full. */
  constructor(opts: TokenBucketOptions = {}, startMs = 0) {
    this.maxRate = opts.ratePerSecond ?? 10;
    this.minRate = Math.min(opts.minRatePerSecond ?? 1, this.maxRate);
    this.capacity = opts.burst ?? 1;
    this.step = opts.recoveryStep ?? 0.5;
    this.cooldownMs = opts.throttleCooldownMs ?? 1_000;
    if (!(
      this.maxRate > 0 &&
      this.minRate > 0 &&
      this.capacity >= 1 &&
      this.step >= 0 &&
      this.cooldownMs >= 0 &&
      Number.isFinite(startMs)
    )) {
      throw new RangeError('TokenBucket: rates must be > 0, burst >= 1, recoveryStep and throttleCooldownMs >= 0');
    }
    this.currentRate = this.maxRate;
    this.tat = startMs;
  }

  /** Current adaptive rate, requests/second. */
  get rate(): number {
    return this.currentRate;
  }

  /**
   * Take a slot only if one is free at `nowMs`: 0 means "send now" (the slot is taken), a positive
   * answer is how long to wait before asking again (nothing is taken). It decides at the moment of
   * sending rather than booking slots ahead, so a caller that wakes late (a busy
   * event loop, a slow store call) cannot end up sent closer to the next caller than the rate
   * allows: no one-second window holds more than `rate` calls as they actually leave.
   */
  tryAcquire(nowMs: number): number {
    const interval = 1000 / this.currentRate;
    const tolerance = (this.capacity - 1) * interval;
    const allowedAt = this.tat - tolerance;
    if (nowMs < allowedAt) return Math.max(1, Math.ceil(allowedAt - nowMs));
    this.tat = Math.max(this.tat, nowMs) + interval;
    return 0;
  }

  /** AWS answered with throttling: halve the rate (not below the floor), once per cooldown. */
  onThrottled(nowMs: number): void {
    if (nowMs - this.lastThrottleMs < this.cooldownMs) return;
    this.lastThrottleMs = nowMs;
    this.currentRate = Math.max(this.minRate, this.currentRate / 2);
  }

  /** A call went through: step back toward the configured rate. */
  onSuccess(_nowMs: number): void {
    this.currentRate = Math.min(this.maxRate, this.currentRate + this.step);
  }
}
