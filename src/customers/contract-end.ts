/**
 * When to tell the app that a contract ends soon (`customer.contract_ending_soon`). Pure.
 *
 * Thresholds are days before the agreement's end time (CONTRACT_ENDING_SOON_DAYS, e.g. 60, 30, 7).
 * Each is announced once per agreement. A contract first seen inside several thresholds (the
 * service started late, or the contract is short) is announced once, for the tightest one; the
 * wider ones it is already past are recorded as passed without a second message. An agreement
 * whose end-time behaviour is RENEW (facts §5.5 `endTimeBehavior`) renews by itself: no alert.
 */

const DAY_MS = 86_400_000;

/** What is due for one agreement now: the thresholds to record, and the one (if any) to announce. */
export interface EndAlertPlan {
  /** Every threshold already reached and not yet recorded, largest first. */
  readonly record: readonly number[];
  /** The tightest of them: the one the app is told about. */
  readonly announce: number | null;
}

export function planEndAlerts(
  contract: { readonly endTime: Date; readonly endTimeBehavior: string | null },
  now: Date,
  thresholdsDays: readonly number[],
  alreadyRecorded: ReadonlySet<number>,
): EndAlertPlan {
  const none: EndAlertPlan = { record: [], announce: null };
  if ((contract.endTimeBehavior ?? '').toUpperCase() === 'RENEW') return none;
  const left = contract.endTime.getTime() - now.getTime();
  if (left <= 0) return none;
  const reached = [...new Set(thresholdsDays)].filter((d) => left <= d * DAY_MS && !alreadyRecorded.has(d)).sort((a, b) => b - a);
  if (reached.length === 0) return none;
  return { record: reached, announce: reached[reached.length - 1]! };
}

/** The widest threshold, in milliseconds: contracts ending later than this need no look yet. */
export function lookAheadMs(thresholdsDays: readonly number[]): number {
  return Math.max(0, ...thresholdsDays) * DAY_MS;
}

/**
 * The console's "contract ending soon" badge: the agreement ends, without renewing by itself,
 * within the widest threshold from now. Returns the whole days left (rounded up), else null.
 */
export function endingSoonDays(
  contract: { readonly endTime: Date | null; readonly endTimeBehavior: string | null },
  now: Date,
  thresholdsDays: readonly number[],
): number | null {
  if (!contract.endTime || (contract.endTimeBehavior ?? '').toUpperCase() === 'RENEW') return null;
  const left = contract.endTime.getTime() - now.getTime();
  if (left <= 0 || left > lookAheadMs(thresholdsDays)) return null;
  return Math.ceil(left / DAY_MS);
}
