import type { BatchMeterUsageResult } from '@aws-sdk/client-marketplace-metering';
import type { MeteringBatch, PendingRecord } from './record-batching';

/**
 * What the emitter needs from AWS Marketplace Metering, in its own words. The SDK adapter is
 * `src/aws/metering.gateway.ts`. Errors are rethrown as the SDK raised them (name, `$fault`,
 * `$metadata`), because `result-classification.ts` decides on exactly those facts (facts §1.3).
 */
export interface MeteringGateway {
  /** One BatchMeterUsage call for one planned batch (≤ 25 records, < 1 MB, one product, facts §1.6). */
  batchMeterUsage(batch: MeteringBatch): Promise<BatchMeterUsageResult>;
  /**
   * One MeterUsage call (facts §1.7). `clientToken` makes a resend idempotent (same token, same
   * parameters → same answer). `dryRun` checks permissions only (expects `DryRunOperation`).
   */
  meterUsage(record: PendingRecord, opts: { clientToken?: string; dryRun?: boolean }): Promise<{ meteringRecordId: string | null }>;
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
