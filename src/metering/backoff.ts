/**
 * Retry timing for metering calls. Pure: time and randomness are passed in.
 *
 * "AWS Marketplace strongly recommends implementing retries for up to 30 minutes, with exponential
 * back off" (facts §6 "Retry policy"; AMI/container pages, applied to SaaS by analogy). Full
 * jitter (delay uniform in [0, min(cap, base·2^(n-1)))) spreads many instances' retries apart.
 *
 * After `'give-up'` the emitter should leave the bucket sealed for the next hourly tick rather than
 * drop it: the hard limit is the record's submission window (`windowDeadline`), after which it is
 * `expired`. Pass that deadline as `notAfter` so no retry is scheduled past it.
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** First delay ceiling in ms. Default 1,000. */
  baseMs?: number;
  /** Largest delay ceiling in ms. Default 120,000 (2 min). */
  capMs?: number;
  /** Total time from the first attempt after which we stop, in ms. Default 1,800,000 (30 min, AWS guidance). */
  budgetMs?: number;
  /** Give up after this many attempts. Default: unlimited (the budget decides). */
  maxAttempts?: number;
  /** Never schedule a retry after this instant (e.g. the record's window deadline). Default: none. */
  notAfter?: Date;
  /** Random source in [0, 1). Default `Math.random`; inject a seeded one for determinism. */
  random?: () => number;
}

export const DEFAULT_BACKOFF = Object.freeze({ baseMs: 1_000, capMs: 120_000, budgetMs: 30 * 60_000 });

/** Ceiling of the delay before retry number `attempt` (1 = the retry after the first failure). */
export function backoffCeiling(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const cap = opts.capMs ?? DEFAULT_BACKOFF.capMs;
  const n = Math.max(1, Math.floor(Number.isFinite(attempt) ? attempt : 1));
  // 2^(n-1) overflows to Infinity for huge n; min() with the cap keeps it finite.
  return Math.min(cap, base * 2 ** Math.min(n - 1, 1024));
}

/** Full-jitter delay before retry number `attempt`. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const r = (opts.random ?? Math.random)();
  const u = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.floor(u * backoffCeiling(attempt, opts));
}

/**
 * When to try again after `attempt` failed attempts (1 after the first failure), or `'give-up'`
 * when the budget (measured from `firstAttemptAt`), the attempt limit or `notAfter` is exhausted.
 * The last retry is clamped to the end of the budget rather than skipped.
 */
export function nextAttemptAt(attempt: number, firstAttemptAt: Date, now: Date, opts: BackoffOptions = {}): Date | 'give-up' {
  const budget = opts.budgetMs ?? DEFAULT_BACKOFF.budgetMs;
  if (opts.maxAttempts !== undefined && attempt >= opts.maxAttempts) return 'give-up';
  const first = firstAttemptAt.getTime();
  const t = now.getTime();
  if (!Number.isFinite(first) || !Number.isFinite(t)) throw new RangeError('nextAttemptAt: invalid date');
  const end = first + budget;
  if (t >= end) return 'give-up';
  const at = Math.min(t + backoffDelay(attempt, opts), end);
  if (opts.notAfter && at > opts.notAfter.getTime()) return 'give-up';
  return new Date(at);
}
