import {
  BatchMeterUsageCommand,
  MeterUsageCommand,
  type BatchMeterUsageRequest,
  type BatchMeterUsageCommandOutput,
  type MarketplaceMeteringClient,
  type UsageRecord,
} from '@aws-sdk/client-marketplace-metering';
import type { BatchCallResult, CallFailure, MeterUsageCallResult, MeteringGateway } from '../metering/ports';
import { echoedRecordKey, wireRecord, type MeteringBatch, type PendingRecord } from '../metering/record-batching';
import { awsErrorFacts } from './sdk-errors';

/** The BatchMeterUsage input for a batch (ProductCode only for the legacy style, facts §1.6). */
export function toBatchMeterUsageInput(batch: MeteringBatch): BatchMeterUsageRequest {
  const input: BatchMeterUsageRequest = { UsageRecords: batch.records.map(wireRecord) };
  if (batch.style === 'customer-identifier') input.ProductCode = batch.productCode;
  return input;
}

/** The match key of a record AWS echoed in its answer. */
export function usageRecordKey(u: UsageRecord | undefined): string {
  return echoedRecordKey({
    customerIdentifier: u?.CustomerIdentifier,
    customerAWSAccountId: u?.CustomerAWSAccountId,
    licenseArn: u?.LicenseArn,
    dimension: u?.Dimension,
    timestamp: u?.Timestamp,
  });
}

/**
 * A BatchMeterUsage answer in the project's words: each result and each unprocessed record by
 * its match key. A result without an echoed record cannot be matched and is left out (its
 * record then counts as missing, and is resent).
 */
export function toBatchCallResult(response: BatchMeterUsageCommandOutput | undefined | null): BatchCallResult {
  return {
    ok: true,
    requestId: response?.$metadata?.requestId ?? null,
    results: (response?.Results ?? [])
      .filter((r) => r.UsageRecord !== undefined)
      .map((r) => ({ key: usageRecordKey(r.UsageRecord), status: String(r.Status), meteringRecordId: r.MeteringRecordId ?? null })),
    unprocessed: (response?.UnprocessedRecords ?? []).map(usageRecordKey),
  };
}

/** A thrown SDK or network error, decided by the one AWS error table. */
export function toCallFailure(error: unknown): CallFailure {
  const f = awsErrorFacts(error);
  return { kind: f.kind, code: f.code, message: f.message, requestId: f.requestId, httpStatus: f.httpStatus };
}

/**
 * BatchMeterUsage and MeterUsage through the SDK. AWS's answers and failures are returned as the
 * project's own outcome types; nothing SDK-shaped leaves this file.
 */
export class SdkMeteringGateway implements MeteringGateway {
  constructor(private readonly client: MarketplaceMeteringClient) {}

  async batchMeterUsage(batch: MeteringBatch): Promise<BatchCallResult> {
    try {
      return toBatchCallResult(await this.client.send(new BatchMeterUsageCommand(toBatchMeterUsageInput(batch))));
    } catch (error) {
      return { ok: false, failure: toCallFailure(error) };
    }
  }

  async meterUsage(record: PendingRecord, opts: { clientToken?: string; dryRun?: boolean }): Promise<MeterUsageCallResult> {
    try {
      const out = await this.client.send(
        new MeterUsageCommand({
          ProductCode: record.productCode,
          // MeterUsage rounds the Timestamp down to the hour for idempotency (facts §1.7).
          Timestamp: record.hour,
          UsageDimension: record.dimension,
          UsageQuantity: record.quantity,
          ...(record.allocations ? { UsageAllocations: record.allocations } : {}),
          ...(opts.dryRun ? { DryRun: true } : {}),
          ...(opts.clientToken ? { ClientToken: opts.clientToken } : {}),
        }),
      );
      return { ok: true, requestId: out.$metadata?.requestId ?? null, meteringRecordId: out.MeteringRecordId ?? null };
    } catch (error) {
      return { ok: false, failure: toCallFailure(error) };
    }
  }
}
