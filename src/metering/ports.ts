import type { MeteringBatch, PendingRecord } from './record-batching';

/**
 * Why a metering call brought back no per-record results, in the project's words. The AWS
 * adapter decides the kind once, from its one error table (`src/aws/sdk-errors.ts`); the emitter
 * turns it into the next state of each record (`result-classification.ts`).
 */
export interface CallFailure {
  readonly kind:
    | 'throttled'
    | 'transient'
    | 'credentials'
    | 'configuration'
    | 'timestamp'
    | 'duplicate'
    | 'not_entitled'
    | 'dry_run_permitted'
    | 'rejected';
  /** The AWS error code, e.g. `ThrottlingException`. */
  readonly code: string;
  readonly message: string;
  readonly requestId?: string | undefined;
  /** The HTTP status AWS answered, when it answered (absent for a network failure). */
  readonly httpStatus?: number | undefined;
}

/** What AWS said about one record of a BatchMeterUsage call; matched to our records by `key` (see `recordKey`). */
export interface AnsweredRecord {
  readonly key: string;
  /** `Success`, `DuplicateRecord`, `CustomerNotSubscribed`, or whatever else AWS answered. */
  readonly status: string;
  readonly meteringRecordId: string | null;
}

/** The outcome of one BatchMeterUsage call. */
export type BatchCallResult =
  | {
      readonly ok: true;
      readonly requestId: string | null;
      readonly results: readonly AnsweredRecord[];
      /** Keys of `UnprocessedRecords`: resend unchanged. */
      readonly unprocessed: readonly string[];
    }
  | { readonly ok: false; readonly failure: CallFailure };

/** The outcome of one MeterUsage call. */
export type MeterUsageCallResult =
  | { readonly ok: true; readonly requestId: string | null; readonly meteringRecordId: string | null }
  | { readonly ok: false; readonly failure: CallFailure };

/**
 * What the emitter needs from AWS Marketplace Metering, in its own words. The SDK adapter is
 * `src/aws/metering.gateway.ts`; it never throws for an AWS answer or a network failure, it
 * returns them.
 */
export interface MeteringGateway {
  /** One BatchMeterUsage call for one planned batch (≤ 25 records, < 1 MB, one product, facts §1.6). */
  batchMeterUsage(batch: MeteringBatch): Promise<BatchCallResult>;
  /**
   * One MeterUsage call (facts §1.7). `clientToken` makes a resend idempotent (same token, same
   * parameters → same answer). `dryRun` checks permissions only (answers `dry_run_permitted`).
   */
  meterUsage(record: PendingRecord, opts: { clientToken?: string; dryRun?: boolean }): Promise<MeterUsageCallResult>;
}

/**
 * Real time for pacing and waiting, independent of the business clock (a frozen test clock must
 * not stop the rate limiter). Default: `performance.now()` and `setTimeout`.
 */
export interface Pacer {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const realPacer: Pacer = {
  nowMs: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
