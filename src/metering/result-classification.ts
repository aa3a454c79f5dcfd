/**
 * What happens to each record after a BatchMeterUsage (or MeterUsage) call. Pure: takes the SDK
 * response or the thrown error, returns the next state per bucket. Rules: facts §6 "Handling by
 * outcome", §1.3 (error shape: `name`, `$fault`, `$metadata.httpStatusCode`), §1.4 (transient codes).
 *
 *  - `Status: Success` → accepted (keep `MeteringRecordId`).
 *  - `Status: DuplicateRecord` → duplicate: same customer/dimension/hour already metered with a
 *    different quantity; the original stands; do not retry, alert.
 *  - `Status: CustomerNotSubscribed` → not_subscribed; no retry until a (re)subscribe.
 *  - in `UnprocessedRecords`, or in neither list → retry unchanged (identical resubmission is
 *    idempotent, facts §1.6).
 *  - throttling, 5xx, `InternalServiceErrorException`, network and timeout errors → retry with backoff.
 *  - `TimestampOutOfBoundsException` rejects the whole batch: one record → expired (believe AWS
 *    over our clock); several → isolate (split and resend to find it).
 *  - other record-attributable rejections (`InvalidUsageDimension`, `InvalidTag`,
 *    `InvalidUsageAllocations`, `InvalidCustomerIdentifier`, `InvalidLicense`, unknown 4xx): one
 *    record → failed; several → isolate, so one bad record does not lose the other 24 (design §3.4).
 *  - request-level configuration errors (`DisabledApi`, `InvalidProductCode`, region errors) →
 *    failed for all: config bug, alert, no retry (splitting cannot help).
 *  - credential errors (expired or rejected signing credentials) → retry: they are fixed by
 *    rotating credentials, and the record's window bounds the retries.
 * Results are matched to records by (identity, dimension, hour), never by position.
 */
import type { BatchMeterUsageResult, UsageRecord } from '@aws-sdk/client-marketplace-metering';
import { pendingRecordKey, usageRecordKey, type MeteringBatch, type PendingRecord } from './record-batching';

/** Next state of one record. */
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
  unmatched: UsageRecord[];
}

/** Throttling codes the SDK itself treats as throttling (facts §1.4). */
const THROTTLING = new Set([
  'BandwidthLimitExceeded', 'EC2ThrottledException', 'LimitExceededException', 'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'RequestThrottled', 'RequestThrottledException',
  'SlowDown', 'ThrottledException', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'TransactionInProgressException',
]);
/** Transient codes, statuses and Node network errors (facts §1.4), plus timeouts and aborts of our own. */
const TRANSIENT = new Set([
  'InternalServiceErrorException', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError',
  'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET',
]);
const CREDENTIALS = new Set([
  'ExpiredTokenException', 'UnrecognizedClientException', 'InvalidSignatureException', 'SignatureDoesNotMatch',
  'InvalidClientTokenId', 'MissingAuthenticationToken', 'AccessDeniedException', 'CredentialsProviderError', 'TokenProviderError',
]);
/** Request-level: every record fails the same way, splitting cannot help. */
const CONFIG = new Set([
  'DisabledApiException', 'InvalidProductCodeException', 'InvalidEndpointRegionException', 'InvalidRegionException',
  'PlatformNotSupportedException', 'InvalidPublicKeyVersionException', 'IdempotencyConflictException', 'InvalidTokenException',
]);

interface ErrorFacts {
  name: string;
  code: string | undefined;
  fault: string | undefined;
  status: number | undefined;
  message: string;
}

function facts(err: unknown): ErrorFacts {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const meta = (typeof e.$metadata === 'object' && e.$metadata !== null ? e.$metadata : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    name: str(e.name) ?? (err instanceof Error ? err.name : 'UnknownError'),
    code: str(e.code),
    fault: str(e.$fault),
    status: typeof meta.httpStatusCode === 'number' ? meta.httpStatusCode : undefined,
    message: str(e.message) ?? String(err),
  };
}

/** True for throttling errors (the rate limiter should slow down). */
export function isThrottlingError(err: unknown): boolean {
  const f = facts(err);
  return THROTTLING.has(f.name) || f.status === 429;
}

/**
 * Outcome shared by every record of a call that threw. `recordCount` decides between isolating
 * (several records) and a final verdict (one record).
 */
export function classifyError(err: unknown, recordCount: number): RecordOutcome {
  const f = facts(err);
  const reason = `${f.name}: ${f.message}`.slice(0, 500);
  const many = recordCount > 1;
  if (THROTTLING.has(f.name) || f.status === 429) return { next: 'retry', reason, throttled: true };
  if (TRANSIENT.has(f.name) || (f.code !== undefined && TRANSIENT.has(f.code))) return { next: 'retry', reason };
  if (CREDENTIALS.has(f.name)) return { next: 'retry', reason: `credentials: ${reason}` };
  if (CONFIG.has(f.name)) return { next: 'failed', reason };
  if (f.name === 'TimestampOutOfBoundsException') return many ? { next: 'isolate', reason } : { next: 'expired', reason };
  // MeterUsage errors (facts §1.7); batch calls report these per record instead.
  if (f.name === 'DuplicateRequestException') return many ? { next: 'isolate', reason } : { next: 'duplicate' };
  if (f.name === 'CustomerNotEntitledException') return many ? { next: 'isolate', reason } : { next: 'not_subscribed' };
  if (f.fault === 'server' || (f.status !== undefined && f.status >= 500)) return { next: 'retry', reason };
  if (f.fault === 'client' || (f.status !== undefined && f.status >= 400) || f.name.startsWith('Invalid')) {
    // A 4xx names something in the request; with several records, find which by splitting.
    return many ? { next: 'isolate', reason } : { next: 'failed', reason };
  }
  // No HTTP answer at all (socket, DNS, our own timeout): resending is safe (AWS dedupes).
  return { next: 'retry', reason };
}

/** Every record of `batch` gets the outcome of the thrown error. */
export function classifyBatchError(batch: MeteringBatch, err: unknown): BatchClassification {
  const outcome = classifyError(err, batch.records.length);
  return { outcomes: new Map(batch.records.map((r) => [r.bucketId, outcome])), unmatched: [] };
}

function fromStatus(result: { Status?: string | undefined; MeteringRecordId?: string | undefined }): RecordOutcome {
  switch (result.Status) {
    case 'Success':
      return { next: 'accepted', meteringRecordId: result.MeteringRecordId ?? null };
    case 'DuplicateRecord':
      return { next: 'duplicate' };
    case 'CustomerNotSubscribed':
      return { next: 'not_subscribed' };
    default:
      // Results hold records "either honored or invalid; invalid records should be fixed before
      // being resubmitted" (facts §1.6): an unknown status is not something to resend blindly.
      return { next: 'failed', reason: `unknown result status ${String(result.Status)}` };
  }
}

/** Precedence when one record is reported more than once: a final answer beats a retry. */
function rank(o: RecordOutcome): number {
  return o.next === 'retry' ? 0 : o.next === 'failed' ? 1 : 2;
}

/** Classify a successful BatchMeterUsage response for the records of `batch`. */
export function classifyBatchResponse(batch: MeteringBatch, response: BatchMeterUsageResult | undefined | null): BatchClassification {
  const byKey = new Map<string, PendingRecord>();
  for (const r of batch.records) byKey.set(pendingRecordKey(r), r);
  const outcomes = new Map<string, RecordOutcome>();
  const unmatched: UsageRecord[] = [];
  const put = (u: UsageRecord | undefined, o: RecordOutcome) => {
    const r = u ? byKey.get(usageRecordKey(u)) : undefined;
    if (!r) {
      if (u) unmatched.push(u);
      return;
    }
    const prev = outcomes.get(r.bucketId);
    if (!prev || rank(o) > rank(prev)) outcomes.set(r.bucketId, o);
  };
  for (const res of response?.Results ?? []) put(res.UsageRecord, fromStatus(res));
  for (const u of response?.UnprocessedRecords ?? []) put(u, { next: 'retry', reason: 'UnprocessedRecords: service-side transient failure' });
  for (const r of batch.records) {
    if (!outcomes.has(r.bucketId)) outcomes.set(r.bucketId, { next: 'retry', reason: 'missing from both Results and UnprocessedRecords' });
  }
  return { outcomes, unmatched };
}

/** Classify a MeterUsage response (one record per call, facts §1.7). */
export function classifyMeterUsageResponse(record: PendingRecord, response: { MeteringRecordId?: string | undefined } | undefined | null): Map<string, RecordOutcome> {
  return new Map([[record.bucketId, { next: 'accepted', meteringRecordId: response?.MeteringRecordId ?? null }]]);
}

/** Classify a MeterUsage error: `DuplicateRequestException` → duplicate, `CustomerNotEntitledException` → not_subscribed, etc. */
export function classifyMeterUsageError(record: PendingRecord, err: unknown): Map<string, RecordOutcome> {
  return new Map([[record.bucketId, classifyError(err, 1)]]);
}
