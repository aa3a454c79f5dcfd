import type { BucketAggregate } from './aggregation';
import type { UsageAllocationInput } from './allocations';
import type { RecordIdentity } from './record-batching';

/**
 * Life of a bucket (design §2): `open` (usage may still arrive) → `sealed` (quantity, allocations
 * and identity frozen) → `sending` (claimed; a call may be in flight) → `accepted` | `duplicate` |
 * `not_subscribed` | `expired` | `failed`. `sending` goes back to `sealed` for a retry.
 */
export const BUCKET_STATES = ['open', 'sealed', 'sending', 'accepted', 'duplicate', 'not_subscribed', 'expired', 'failed'] as const;
export type BucketState = (typeof BUCKET_STATES)[number];

/** Final states: nothing more is sent for the bucket. */
export const FINAL_STATES: readonly BucketState[] = ['accepted', 'duplicate', 'not_subscribed', 'expired', 'failed'];

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
   * Frozen at seal; null while open, and while a sealed bucket waits for what its quantity depends on
   * (an overage dimension's entitlement). `lastError` then says what it waits for.
   */
  readonly quantity: number | null;
  readonly allocations: UsageAllocationInput[] | undefined;
  /**
   * Frozen once known (never both styles for one customer-hour, facts §1.6). Null for MeterUsage, and
   * for a sealed BatchMeterUsage bucket whose customer has no identity yet (it waits, see `lastError`).
   */
  readonly identity: RecordIdentity | null;
  readonly attempts: number;
  readonly firstAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  readonly nextAttemptAt: Date | null;
  readonly leaseOwner: string | null;
  readonly leaseUntil: Date | null;
  readonly meteringRecordId: string | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly sealedAt: Date | null;
  readonly completedAt: Date | null;
}
