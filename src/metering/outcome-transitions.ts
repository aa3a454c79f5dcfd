/**
 * Which lifecycle move each call outcome makes (design §3.4), with the retry schedule. Pure: the
 * sender writes the returned moves in one statement per call and logs the alerts they carry.
 */
import { nextAttemptAt } from './backoff';
import type { MeterBucket } from './bucket';
import type { ResultWrite } from './bucket-lifecycle';
import type { RecordOutcome } from './result-classification';
import { windowDeadline, type WindowPolicy } from './windows';

/** Retry policy of the sender (defaults in `EmitterSettings`). */
export interface RetryPolicy {
  /** Backoff budget per record (facts §6 "up to 30 minutes"), ms. */
  readonly retryBudgetMs: number;
  /** Longest wait between two attempts, ms. */
  readonly retryCapMs: number;
  readonly batchWindow: WindowPolicy;
  readonly meterUsageWindow: WindowPolicy;
  readonly random?: (() => number) | undefined;
}

/** A move to write, and how to log it. */
export interface PlannedResult {
  readonly write: ResultWrite;
  /** The state the record reaches. */
  readonly to: 'sealed' | 'accepted' | 'duplicate' | 'not_subscribed' | 'expired' | 'failed';
  readonly level: 'info' | 'warn' | 'error';
  readonly message: string;
  /** Set for the outcomes a person must look at. */
  readonly alert?: string;
  readonly reason?: string;
}

/** The move that settles `bucket` after `outcome`, decided at `now`. */
export function planResult(
  bucket: Pick<MeterBucket, 'id' | 'api' | 'hour' | 'attempts' | 'firstAttemptAt'>,
  outcome: RecordOutcome,
  now: Date,
  policy: RetryPolicy,
  awsRequestId?: string | null,
): PlannedResult {
  const base = { id: bucket.id, ...(awsRequestId !== undefined ? { awsRequestId } : {}) };
  switch (outcome.next) {
    case 'accepted':
      return {
        write: { ...base, move: 'accept', meteringRecordId: outcome.meteringRecordId, lastError: null },
        to: 'accepted',
        level: 'info',
        message: 'metering record accepted',
      };
    case 'duplicate':
      return {
        write: {
          ...base,
          move: 'duplicate',
          lastError: 'DuplicateRecord: AWS already holds a different quantity for this customer, dimension and hour; the original stands',
        },
        to: 'duplicate',
        level: 'error',
        alert: 'metering_duplicate',
        message: 'metering record conflicts with one AWS already billed',
      };
    case 'not_subscribed':
      return {
        write: { ...base, move: 'notSubscribed', lastError: 'CustomerNotSubscribed' },
        to: 'not_subscribed',
        level: 'error',
        alert: 'metering_not_subscribed',
        message: 'AWS says the customer is not subscribed; the record was not billed',
      };
    case 'failed':
      return {
        write: { ...base, move: 'fail', lastError: outcome.reason },
        to: 'failed',
        level: 'error',
        alert: 'metering_failed',
        reason: outcome.reason,
        message: 'metering record failed',
      };
    case 'expired':
      return {
        write: { ...base, move: 'expire', lastError: outcome.reason },
        to: 'expired',
        level: 'error',
        alert: 'metering_expired',
        reason: outcome.reason,
        message: 'metering record expired',
      };
    case 'retry':
    case 'isolate':
      return planRetry(bucket, outcome.reason, now, policy, base);
  }
}

function planRetry(
  bucket: Pick<MeterBucket, 'api' | 'hour' | 'attempts' | 'firstAttemptAt'>,
  reason: string,
  now: Date,
  policy: RetryPolicy,
  base: { id: string; awsRequestId?: string | null },
): PlannedResult {
  const window = bucket.api === 'meter-usage' ? policy.meterUsageWindow : policy.batchWindow;
  const deadline = windowDeadline(bucket.hour, window);
  const next = nextAttemptAt(Math.max(1, bucket.attempts), bucket.firstAttemptAt ?? now, now, {
    budgetMs: policy.retryBudgetMs,
    capMs: policy.retryCapMs,
    notAfter: deadline,
    random: policy.random,
  });
  if (next === 'give-up' && now.getTime() > deadline.getTime()) {
    return {
      write: { ...base, move: 'expire', lastError: `past the AWS window after ${bucket.attempts} attempts: ${reason}` },
      to: 'expired',
      level: 'error',
      alert: 'metering_expired',
      reason,
      message: 'metering record expired',
    };
  }
  // Past the 30-minute budget but still inside the window: keep trying, more slowly (the money is real).
  const at =
    next === 'give-up'
      ? new Date(Math.min(now.getTime() + policy.retryCapMs, Math.max(now.getTime() + 1, deadline.getTime() - 60_000)))
      : new Date(Math.max(next.getTime(), now.getTime() + 1));
  return {
    write: { ...base, move: 'retry', lastError: reason, nextAttemptAt: at, resetBudget: next === 'give-up' },
    to: 'sealed',
    level: 'warn',
    reason,
    message: 'metering record will be resent',
  };
}
