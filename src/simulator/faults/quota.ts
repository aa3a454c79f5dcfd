/**
 * Per-operation request-rate quotas (§6: BatchMeterUsage 10/s, MeterUsage 10/s,
 * GetEntitlements 20/s per account per Region). A sliding one-second window on the real
 * monotonic clock: a quota is about request rate, not about the simulated business time, so a
 * frozen test clock must not throttle forever. Throttled calls do not count against the window.
 */
export class QuotaLimiter {
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly limits: Record<string, number>,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Returns false when `operation` is over its quota (the call must be throttled). */
  admit(operation: string): boolean {
    const limit = this.limits[operation];
    if (!limit || limit <= 0) return true;
    const now = this.clock();
    const recent = (this.calls.get(operation) ?? []).filter((t) => now - t < 1000);
    if (recent.length >= limit) {
      this.calls.set(operation, recent);
      return false;
    }
    recent.push(now);
    this.calls.set(operation, recent);
    return true;
  }
}
