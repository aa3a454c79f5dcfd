/**
 * What happens to each record after a BatchMeterUsage (or MeterUsage) call. Pure: takes the
 * gateway's answer (the project's own types, see `ports.ts`), returns the next step per bucket.
 * Rules: facts §6 "Handling by outcome"; which AWS error is which kind is decided once, in
 * `src/aws/sdk-errors.ts`.
 *
 *  - `Status: Success` → accepted (keep `MeteringRecordId`).
 *  - `Status: DuplicateRecord` → duplicate: same customer/dimension/hour already metered with a
 *    different quantity; the original stands; do not retry, alert.
 *  - `Status: CustomerNotSubscribed` → not_subscribed; no retry until a (re)subscribe.
 *  - in `UnprocessedRecords`, or in neither list → retry unchanged (identical resubmission is
 *    idempotent, facts §1.6).
 *  - throttled, transient (5xx, network, timeouts) and credential failures → retry with backoff
 *    (credentials are fixed by rotating them, and the record's window bounds the retries).
 *  - `timestamp` rejects the whole batch: one record → expired (believe AWS over our clock);
 *    several → isolate (split and resend to find it).
 *  - other record-attributable rejections (`InvalidUsageDimension`, `InvalidTag`, unknown 4xx):
 *    one record → failed; several → isolate, so one bad record does not lose the other 24.
 *  - request-level `configuration` errors → failed for all: config bug, alert, no retry.
 * Results are matched to records by (identity, dimension, hour), never by position.
 */
import type { AnsweredRecord, BatchCallResult, CallFailure } from './ports';
import { pendingRecordKey, type MeteringBatch, type PendingRecord } from './record-batching';

/** Next step of one record. */
export type RecordOutcome =
  | { next: 'accepted'; meteringRecordId: string | null }
  | { next: 'duplicate' }
  | { next: 'not_subscribed' }
  /** `throttled`: tell the rate limiter (`onThrottled`). */
  | { next: 'retry'; reason: string; throttled?: boolean }
  /** Whole-batch rejection of a multi-record call: split with `splitForIsolation` and resend. */
  | { next: 'isolate'; reason: string }
  /** Configuration or data bug: alert, no retry. */
  | { next: 'failed'; reason: string }
  | { next: 'expired'; reason: string };

/** Per-bucket outcomes, plus results AWS returned that match no record we sent (log them). */
export interface BatchClassification {
  outcomes: Map<string, RecordOutcome>;
  unmatched: AnsweredRecord[];
}

/**
 * Outcome shared by every record of a call that failed. `recordCount` decides between isolating
 * (several records) and a final verdict (one record).
 */
export function classifyFailure(failure: CallFailure, recordCount: number): RecordOutcome {
  const reason = `${failure.code}: ${failure.message}`.slice(0, 500);
  const many = recordCount > 1;
  switch (failure.kind) {
    case 'throttled':
      return { next: 'retry', reason, throttled: true };
    case 'transient':
      return { next: 'retry', reason };
    case 'credentials':
      return { next: 'retry', reason: `credentials: ${reason}` };
    case 'configuration':
      return { next: 'failed', reason };
    case 'timestamp':
      return many ? { next: 'isolate', reason } : { next: 'expired', reason };
    // MeterUsage errors (facts §1.7); batch calls report these per record instead.
    case 'duplicate':
      return many ? { next: 'isolate', reason } : { next: 'duplicate' };
    case 'not_entitled':
      return many ? { next: 'isolate', reason } : { next: 'not_subscribed' };
    case 'dry_run_permitted':
    case 'rejected':
      // A 4xx names something in the request; with several records, find which by splitting.
      return many ? { next: 'isolate', reason } : { next: 'failed', reason };
  }
}

function fromStatus(result: AnsweredRecord): RecordOutcome {
  switch (result.status) {
    case 'Success':
      return { next: 'accepted', meteringRecordId: result.meteringRecordId };
    case 'DuplicateRecord':
      return { next: 'duplicate' };
    case 'CustomerNotSubscribed':
      return { next: 'not_subscribed' };
    default:
      // Results hold records "either honored or invalid; invalid records should be fixed before
      // being resubmitted" (facts §1.6): an unknown status is not something to resend blindly.
      return { next: 'failed', reason: `unknown result status ${result.status}` };
  }
}

/** Precedence when one record is reported more than once: a final answer beats a retry. */
function rank(o: RecordOutcome): number {
  return o.next === 'retry' ? 0 : o.next === 'failed' ? 1 : 2;
}

/** Classify the answer to one BatchMeterUsage call for the records of `batch`. */
export function classifyBatchCall(batch: MeteringBatch, result: BatchCallResult): BatchClassification {
  if (!result.ok) {
    const outcome = classifyFailure(result.failure, batch.records.length);
    return { outcomes: new Map(batch.records.map((r) => [r.bucketId, outcome])), unmatched: [] };
  }
  const byKey = new Map<string, PendingRecord>();
  for (const r of batch.records) byKey.set(pendingRecordKey(r), r);
  const outcomes = new Map<string, RecordOutcome>();
  const unmatched: AnsweredRecord[] = [];
  const put = (key: string, o: RecordOutcome, answered?: AnsweredRecord) => {
    const r = byKey.get(key);
    if (!r) {
      if (answered) unmatched.push(answered);
      return;
    }
    const prev = outcomes.get(r.bucketId);
    if (!prev || rank(o) > rank(prev)) outcomes.set(r.bucketId, o);
  };
  for (const res of result.results) put(res.key, fromStatus(res), res);
  for (const key of result.unprocessed) put(key, { next: 'retry', reason: 'UnprocessedRecords: service-side transient failure' });
  for (const r of batch.records) {
    if (!outcomes.has(r.bucketId)) outcomes.set(r.bucketId, { next: 'retry', reason: 'missing from both Results and UnprocessedRecords' });
  }
  return { outcomes, unmatched };
}
