import type { BucketAggregate } from './aggregation';
import type { UsageAllocationInput } from './allocations';
import type { BucketState } from './bucket-lifecycle';
import type { RecordIdentity } from './record-batching';

/** A record's quantity and its allocations, frozen together. */
export interface FrozenQuantity {
  readonly quantity: number;
  readonly allocations: UsageAllocationInput[] | undefined;
}

/** One (customer, dimension, hour) bucket: exactly one metering record. */
export interface MeterBucket {
  readonly id: string;
  readonly customerId: string;
  readonly productCode: string;
  readonly dimension: string;
  /** Start of the UTC usage hour (the bucket key). */
  readonly hour: Date;
  /**
   * The record's Timestamp, frozen at seal: the hour start, or in the activation hour the activation
   * time (facts §1.6: "not before the start of the software usage"). The hour start while open.
   */
  readonly recordTimestamp: Date;
  readonly api: 'batch' | 'meter-usage';
  readonly mode: BucketAggregate['mode'];
  readonly aggregate: BucketAggregate;
  readonly usageCount: number;
  /** Created without usage, to send the hourly zero record (facts §6). */
  readonly heartbeat: boolean;
  readonly state: BucketState;
  /**
   * Frozen at seal; null while open, and while a held bucket waits for what its quantity depends on
   * (an overage dimension's entitlement, see `holdReason`).
   */
  readonly quantity: number | null;
  readonly allocations: UsageAllocationInput[] | undefined;
  /**
   * Frozen once known (never both styles for one customer-hour, facts §1.6). Null for MeterUsage, and
   * for a held BatchMeterUsage bucket whose customer has no identity yet (see `holdReason`).
   */
  readonly identity: RecordIdentity | null;
  readonly attempts: number;
  readonly firstAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  readonly nextAttemptAt: Date | null;
  readonly leaseOwner: string | null;
  readonly leaseUntil: Date | null;
  readonly meteringRecordId: string | null;
  /** Why the last attempt did not settle the record (AWS's answer, our backoff), or why it failed. */
  readonly lastError: string | null;
  /** While `held`: what the record waits for, in words a person can act on. Null otherwise. */
  readonly holdReason: string | null;
  /** AWS's request id of the last call that carried the record (for support cases). */
  readonly awsRequestId: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly sealedAt: Date | null;
  readonly completedAt: Date | null;
}
