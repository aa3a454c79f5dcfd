/**
 * When a failed webhook delivery is tried again (pure). Exponential backoff with "equal jitter":
 * attempt n waits between half and all of `min(cap, base × 2^(n-1))`, so retries of many deliveries
 * failing at once spread out instead of arriving together. Defaults: 5 s, doubling, at most 6 h
 * apart; retries stop once the next one would fall after the delivery's deadline (3 days).
 */
export interface RetrySchedule {
  /** First retry delay, ms. Default 5,000. */
  readonly baseMs: number;
  /** Longest delay between two attempts, ms. Default 6 h. */
  readonly capMs: number;
  /** Retries stop after this long from the delivery's creation, ms. Default 72 h. */
  readonly windowMs: number;
}

/**
 * The time of the next attempt after `attempts` failed ones (1 = the first attempt failed), or null
 * when the deadline has passed. `random` is in [0, 1).
 */
export function nextAttemptAt(attempts: number, createdAt: Date, now: Date, schedule: RetrySchedule, random: () => number): Date | null {
  const exponent = Math.min(Math.max(attempts - 1, 0), 40);
  const ceiling = Math.min(schedule.capMs, schedule.baseMs * 2 ** exponent);
  const delay = ceiling / 2 + random() * (ceiling / 2);
  const at = now.getTime() + Math.max(1, Math.round(delay));
  const deadline = createdAt.getTime() + schedule.windowMs;
  if (now.getTime() >= deadline) return null;
  // The last retry lands on the deadline rather than being dropped for overshooting it.
  return new Date(Math.min(at, deadline));
}
