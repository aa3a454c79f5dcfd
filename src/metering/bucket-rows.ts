import { fromDbTime, fromDbTimeOrNull, toDbTime } from '../store/dialect';
import type { BucketRow } from '../store/schema';
import { parseBucketAggregate, type AggregationMode } from './aggregation';
import type { UsageAllocationInput } from './allocations';
import type { MeterBucket } from './bucket';
import type { BucketState } from './bucket-lifecycle';
import type { RecordIdentity } from './record-batching';

/** Rows of `meter_buckets` to the domain model and back. Pure. */

export function toBucket(row: BucketRow): MeterBucket {
  const mode = row.mode as AggregationMode;
  let identity: RecordIdentity | null = null;
  if (row.identity_kind === 'license' && row.customer_aws_account_id && row.license_arn) {
    identity = { kind: 'license', customerAWSAccountId: row.customer_aws_account_id, licenseArn: row.license_arn };
  } else if (row.identity_kind === 'customer-identifier' && row.customer_identifier) {
    identity = { kind: 'customer-identifier', customerIdentifier: row.customer_identifier };
  }
  const hour = fromDbTime(row.hour);
  return {
    id: row.id,
    customerId: row.customer_id,
    productCode: row.product_code,
    dimension: row.dimension,
    hour,
    recordTimestamp: row.record_timestamp ? fromDbTime(row.record_timestamp) : hour,
    api: row.api === 'meter-usage' ? 'meter-usage' : 'batch',
    mode,
    aggregate: parseBucketAggregate(JSON.parse(row.aggregate), mode),
    usageCount: Number(row.usage_count),
    heartbeat: row.heartbeat === 1,
    state: row.state as BucketState,
    quantity: row.quantity === null ? null : Number(row.quantity),
    allocations: row.allocations ? (JSON.parse(row.allocations) as UsageAllocationInput[]) : undefined,
    identity,
    attempts: Number(row.attempts),
    firstAttemptAt: fromDbTimeOrNull(row.first_attempt_at),
    lastAttemptAt: fromDbTimeOrNull(row.last_attempt_at),
    nextAttemptAt: fromDbTimeOrNull(row.next_attempt_at),
    leaseOwner: row.lease_owner,
    leaseUntil: fromDbTimeOrNull(row.lease_until),
    meteringRecordId: row.metering_record_id,
    lastError: row.last_error,
    holdReason: row.hold_reason,
    awsRequestId: row.aws_request_id,
    createdAt: fromDbTime(row.created_at),
    updatedAt: fromDbTime(row.updated_at),
    sealedAt: fromDbTimeOrNull(row.sealed_at),
    completedAt: fromDbTimeOrNull(row.completed_at),
  };
}

/** The identity columns of a record identity (all null for none). */
export function identityColumns(
  id: RecordIdentity | null,
): Pick<BucketRow, 'identity_kind' | 'customer_identifier' | 'customer_aws_account_id' | 'license_arn'> {
  return {
    identity_kind: id?.kind ?? null,
    customer_identifier: id?.kind === 'customer-identifier' ? id.customerIdentifier : null,
    customer_aws_account_id: id?.kind === 'license' ? id.customerAWSAccountId : null,
    license_arn: id?.kind === 'license' ? id.licenseArn : null,
  };
}

/** The unique MeterUsage slot of a bucket: one record per product, dimension and hour (facts §1.7). */
export function meterUsageSlot(productCode: string, dimension: string, hour: Date): string {
  return JSON.stringify([productCode, dimension, toDbTime(hour)]);
}
