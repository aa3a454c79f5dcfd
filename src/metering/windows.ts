/**
 * How far back AWS accepts a metering record. Pure: `now` is always passed in.
 *
 * BatchMeterUsage (facts §0.4, §1.6, SDK ≥ 3.1089 text): "Usage records aren't accepted 24 hours or
 * more after an event. At the end of each billing cycle, a 6-hour grace period applies. We accept
 * usage records for the previous billing month until 06:00 UTC on the first day of the next month
 * … After 06:00 UTC on April 1, March records are rejected regardless of the normal 24-hour
 * submission window." Read precisely, the month-end rule is a *cut-off*, not an extension: a
 * record dated in month M is accepted only while BOTH hold
 *   - `now - timestamp < 24 h`, and
 *   - `now < 06:00 UTC on the 1st of month M+1`.
 * So a record for 31 March 23:00 can be sent until 1 April 05:59:59.999, not until 23:00.
 * "Until 06:00" is read as exclusive (06:00:00.000 is already rejected), the conservative choice,
 * matching "24 hours or more" being rejected.
 *
 * MeterUsage (facts §1.7): not accepted more than 6 hours after the event; no month rule is
 * documented (with 6 h it could never bind anyway: March's last hour + 6 h < 1 April 06:00).
 *
 * Future timestamps are never inside the window.
 */
import { HOUR_MS } from './hours';

/** A submission window. */
export interface WindowPolicy {
  /** A record is accepted while `now - timestamp < maxAgeMs`. BatchMeterUsage: 24 h; MeterUsage: 6 h. */
  readonly maxAgeMs: number;
  /**
   * Month-end cut-off: records dated in month M (UTC) are rejected from `monthCloseGraceMs` after
   * 00:00 UTC on the 1st of month M+1. BatchMeterUsage: 6 h. `undefined`: no month rule.
   */
  readonly monthCloseGraceMs?: number | undefined;
}

/** BatchMeterUsage, current AWS text: < 24 h, and previous-month records only until 06:00 UTC on the 1st. */
export const batchMeterUsageWindow: WindowPolicy = Object.freeze({ maxAgeMs: 24 * HOUR_MS, monthCloseGraceMs: 6 * HOUR_MS });

/** MeterUsage (AMI/containers) and the older BatchMeterUsage docs (SDK ≤ 3.1075): < 6 h. */
export const meterUsageWindow: WindowPolicy = Object.freeze({ maxAgeMs: 6 * HOUR_MS });

/**
 * Build a policy from the BatchMeterUsage default with overrides, checking the numbers.
 * @throws RangeError when a value is not a positive finite number.
 */
export function windowPolicy(overrides: Partial<WindowPolicy> = {}): WindowPolicy {
  const p: WindowPolicy = { ...batchMeterUsageWindow, ...overrides };
  if (!(Number.isFinite(p.maxAgeMs) && p.maxAgeMs > 0)) throw new RangeError('window maxAgeMs must be a positive number of milliseconds');
  if (p.monthCloseGraceMs !== undefined && !(Number.isFinite(p.monthCloseGraceMs) && p.monthCloseGraceMs >= 0)) {
    throw new RangeError('window monthCloseGraceMs must be a non-negative number of milliseconds');
  }
  return Object.freeze(p);
}

function time(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${what}: invalid date`);
  return t;
}

/** First instant at which AWS rejects a record dated `timestamp` (exclusive end of its window). */
export function windowEnd(timestamp: Date, policy: WindowPolicy = batchMeterUsageWindow): Date {
  const t = time(timestamp, 'windowEnd');
  let end = t + policy.maxAgeMs;
  if (policy.monthCloseGraceMs !== undefined) {
    const d = new Date(t);
    // Date.UTC normalises month 12 to January of the next year.
    const monthClose = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) + policy.monthCloseGraceMs;
    end = Math.min(end, monthClose);
  }
  return new Date(end);
}

/**
 * The last instant (millisecond resolution, inclusive) at which a record dated `timestamp` can
 * still be sent. Our records carry the START of their usage hour, so pass the hour start: the
 * deadline is computed from it, not from when the usage happened inside the hour. The emitter
 * marks a bucket `expired` once `now > windowDeadline(hour)`.
 */
export function windowDeadline(timestamp: Date, policy: WindowPolicy = batchMeterUsageWindow): Date {
  return new Date(windowEnd(timestamp, policy).getTime() - 1);
}

/** True when AWS should accept a record dated `timestamp` if it is sent at `now` (no future timestamps). */
export function isWithinWindow(timestamp: Date, now: Date, policy: WindowPolicy = batchMeterUsageWindow): boolean {
  const t = time(timestamp, 'isWithinWindow');
  const n = time(now, 'isWithinWindow');
  if (t > n) return false;
  return n < windowEnd(timestamp, policy).getTime();
}
