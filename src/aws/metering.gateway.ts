import { BatchMeterUsageCommand, MeterUsageCommand, type BatchMeterUsageResult, type MarketplaceMeteringClient } from '@aws-sdk/client-marketplace-metering';
import type { MeteringGateway } from '../metering/ports';
import { toBatchMeterUsageInput, type MeteringBatch, type PendingRecord } from '../metering/record-batching';

/**
 * BatchMeterUsage and MeterUsage through the SDK. Errors pass through unchanged: the emitter's
 * classification reads the SDK error's `name`, `$fault` and `$metadata` (facts §1.3, §1.4).
 */
export class SdkMeteringGateway implements MeteringGateway {
  constructor(private readonly client: MarketplaceMeteringClient) {}

  batchMeterUsage(batch: MeteringBatch): Promise<BatchMeterUsageResult> {
    return this.client.send(new BatchMeterUsageCommand(toBatchMeterUsageInput(batch)));
  }

  async meterUsage(record: PendingRecord, opts: { clientToken?: string; dryRun?: boolean }): Promise<{ meteringRecordId: string | null }> {
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
    return { meteringRecordId: out.MeteringRecordId ?? null };
  }
}
