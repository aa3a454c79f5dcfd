import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DialectName } from '../store/dialect';
import { fromDbTime, fromDbTimeOrNull, toDbTime } from '../store/dialect';
import type { Database, MeterBucketsTable } from '../store/schema';
import { emptyAggregate, parseBucketAggregate, type AggregationMode, type BucketAggregate, type OverageBasis } from './aggregation';
import type { UsageAllocationInput } from './allocations';
import type { BucketState, MeterBucket } from './bucket';
import type { RecordIdentity } from './record-batching';

type Db = Kysely<Database> | Transaction<Database>;
export type BucketRow = Selectable<MeterBucketsTable>;

/** What a new bucket is made of. */
export interface NewBucket {
  readonly customerId: string;
  readonly productCode: string;
  readonly dimension: string;
  readonly hour: Date;
  readonly api: 'batch' | 'meter-usage';
  readonly mode: AggregationMode;
  readonly heartbeat?: boolean;
  /** `overage` only: see {@link OverageBasis}. Default `sum`. */
  readonly basis?: OverageBasis | undefined;
}

/** The frozen content of a sealed bucket. */
export interface SealedContent {
  /** Null while the quantity waits for an entitlement (`hold` says so). */
  readonly quantity: number | null;
  readonly allocations: UsageAllocationInput[] | undefined;
  /** Null for MeterUsage (the caller's credentials are the identity, facts §1.7), or while it waits (`hold`). */
  readonly identity: RecordIdentity | null;
  /** The record Timestamp (see {@link MeterBucket.recordTimestamp}). */
  readonly recordTimestamp: Date;
  /** Why the record cannot be sent yet (kept as `last_error`); null when it is complete. */
  readonly hold?: string | null;
}

/** Filter and page of {@link BucketRepository.list}. */
export interface BucketListQuery {
  readonly state?: BucketState;
  readonly customerId?: string;
  readonly from?: Date;
  readonly to?: Date;
  /** Default 100. */
  readonly limit?: number;
  /** `[hour ISO, id]` of the last row of the previous page. */
  readonly after?: readonly [string, string];
}

/**
 * Storage of hour buckets. Every state change is a conditional update on the expected state (and
 * lease owner), so two instances, or a restarted one, can never both move the same bucket.
 */
export class BucketRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /** The bucket of (customer, dimension, hour), created open if absent; locked on PostgreSQL. */
  async lockOrCreate(tx: Db, b: NewBucket, now: Date): Promise<MeterBucket> {
    await this.insertIfAbsent(tx, b, now);
    let q = tx.selectFrom('meter_buckets').selectAll().where('customer_id', '=', b.customerId).where('dimension', '=', b.dimension).where('hour', '=', toDbTime(b.hour));
    if (this.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    // Not inserted and not ours: a MeterUsage slot taken by another customer in a concurrent
    // transaction. Retryable: the caller's check then sees the committed holder.
    if (!row) throw Object.assign(new Error(`the MeterUsage slot of ${b.productCode}/${b.dimension}/${b.hour.toISOString()} is held by another customer`), { code: '40001' });
    return toBucket(row);
  }

  /**
   * Inserts an open bucket unless one exists (heartbeats and first usage race safely). A MeterUsage
   * bucket also takes its product/dimension/hour slot: if another customer holds it, nothing is
   * inserted (MeterUsage carries no customer, so one slot is one record, facts §1.7).
   */
  async insertIfAbsent(db: Db, b: NewBucket, now: Date): Promise<void> {
    const at = toDbTime(now);
    await db
      .insertInto('meter_buckets')
      .values({
        id: randomUUID(),
        customer_id: b.customerId,
        product_code: b.productCode,
        dimension: b.dimension,
        hour: toDbTime(b.hour),
        api: b.api,
        mode: b.mode,
        aggregate: JSON.stringify(emptyAggregate(b.mode, b.basis)),
        usage_count: 0,
        heartbeat: b.heartbeat ? 1 : 0,
        state: 'open',
        quantity: null,
        allocations: null,
        identity_kind: null,
        customer_identifier: null,
        customer_aws_account_id: null,
        license_arn: null,
        attempts: 0,
        first_attempt_at: null,
        last_attempt_at: null,
        next_attempt_at: null,
        lease_owner: null,
        lease_until: null,
        metering_record_id: null,
        last_error: null,
        created_at: at,
        updated_at: at,
        sealed_at: null,
        completed_at: null,
        record_timestamp: null,
        meter_usage_slot: b.api === 'meter-usage' ? meterUsageSlot(b.productCode, b.dimension, b.hour) : null,
      })
      // No conflict target: either unique key (customer/dimension/hour, MeterUsage slot) means "exists".
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** Writes a new aggregate to an open bucket; false when it is no longer open. */
  async updateAggregate(tx: Db, id: string, aggregate: BucketAggregate, added: number, now: Date): Promise<boolean> {
    const r = await tx
      .updateTable('meter_buckets')
      .set((eb) => ({ aggregate: JSON.stringify(aggregate), usage_count: eb('usage_count', '+', added), updated_at: toDbTime(now) }))
      .where('id', '=', id)
      .where('state', '=', 'open')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async findById(id: string, db: Db = this.db): Promise<MeterBucket | undefined> {
    const row = await db.selectFrom('meter_buckets').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toBucket(row) : undefined;
  }

  /** Open buckets whose hour started before `before` (optionally one customer's), oldest first. */
  async listOpen(before: Date, opts: { customerId?: string; limit?: number } = {}): Promise<MeterBucket[]> {
    let q = this.db.selectFrom('meter_buckets').selectAll().where('state', '=', 'open').where('hour', '<', toDbTime(before));
    if (opts.customerId) q = q.where('customer_id', '=', opts.customerId);
    const rows = await q.orderBy('hour').orderBy('id').limit(opts.limit ?? 1000).execute();
    return rows.map(toBucket);
  }

  /** Which of these buckets are still open (the others were sealed meanwhile, by this instance or another). */
  async stillOpen(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('meter_buckets').select('id').where('id', 'in', ids).where('state', '=', 'open').execute();
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Freezes an open bucket (or marks it failed when it cannot be billed). Optimistic: only if it is
   * still open AND no usage was added since it was read (`usage_count` unchanged), so a concurrent
   * write can never be lost by sealing a stale aggregate. False: re-read and try again.
   * A content with a `hold` is sealed all the same (its usage is frozen) and waits for what it lacks.
   */
  async seal(id: string, expectedUsageCount: number, content: SealedContent | { failed: string }, now: Date, db: Db = this.db): Promise<boolean> {
    const at = toDbTime(now);
    const set: Partial<BucketRow> =
      'failed' in content
        ? { state: 'failed', last_error: content.failed, sealed_at: at, completed_at: at, updated_at: at }
        : {
            state: 'sealed',
            quantity: content.quantity,
            allocations: content.allocations ? JSON.stringify(content.allocations) : null,
            identity_kind: content.identity?.kind ?? null,
            customer_identifier: content.identity?.kind === 'customer-identifier' ? content.identity.customerIdentifier : null,
            customer_aws_account_id: content.identity?.kind === 'license' ? content.identity.customerAWSAccountId : null,
            license_arn: content.identity?.kind === 'license' ? content.identity.licenseArn : null,
            record_timestamp: toDbTime(content.recordTimestamp),
            last_error: content.hold ?? null,
            next_attempt_at: at,
            sealed_at: at,
            updated_at: at,
          };
    const r = await db.updateTable('meter_buckets').set(set).where('id', '=', id).where('state', '=', 'open').where('usage_count', '=', expectedUsageCount).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Freezes what a sealed bucket was waiting for (its quantity, its identity), while `owner` holds its
   * claim. Write-once: a value already frozen is never replaced. False: the claim was lost.
   */
  async completeClaimed(
    db: Db,
    id: string,
    owner: string,
    fill: { quantity?: { quantity: number; allocations: UsageAllocationInput[] | undefined }; identity?: RecordIdentity; hold: string | null },
    now: Date,
  ): Promise<boolean> {
    const set: Partial<BucketRow> = { last_error: fill.hold, updated_at: toDbTime(now) };
    let q = db.updateTable('meter_buckets').where('id', '=', id).where('state', '=', 'sending').where('lease_owner', '=', owner);
    if (fill.quantity) {
      Object.assign(set, { quantity: fill.quantity.quantity, allocations: fill.quantity.allocations ? JSON.stringify(fill.quantity.allocations) : null });
      q = q.where('quantity', 'is', null);
    }
    if (fill.identity) {
      const id = fill.identity;
      Object.assign(set, {
        identity_kind: id.kind,
        customer_identifier: id.kind === 'customer-identifier' ? id.customerIdentifier : null,
        customer_aws_account_id: id.kind === 'license' ? id.customerAWSAccountId : null,
        license_arn: id.kind === 'license' ? id.licenseArn : null,
      });
      q = q.where('identity_kind', 'is', null);
    }
    const r = await q.set(set).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Claims up to `limit` due buckets for `owner`, oldest hour first: sealed ones whose next attempt
   * is due, and `sending` ones whose lease expired (an instance died mid-call: resend, facts §1.6).
   * PostgreSQL: `FOR UPDATE SKIP LOCKED`, so instances never claim the same rows. SQLite: one writer.
   */
  async claimDue(owner: string, now: Date, leaseMs: number, limit: number, opts: { productCodes?: readonly string[]; dueBy?: Date } = {}): Promise<MeterBucket[]> {
    const at = toDbTime(now);
    // Sealed buckets due by `dueBy` (the pass's start: a retry scheduled since waits for the next
    // pass); `sending` ones whose lease has expired by now.
    const due = toDbTime(opts.dueBy ?? now);
    // Two candidate lists, each read in (hour, id) order straight off the claim index and cut at
    // `limit`, then merged: a single OR over both would make the engine scan and sort every row.
    const candidates = (tx: Db, state: 'sealed' | 'sending') => {
      let q = tx.selectFrom('meter_buckets').select(['id', 'hour']).where('state', '=', state);
      q = state === 'sealed' ? q.where('next_attempt_at', '<=', due) : q.where('lease_until', '<', at);
      if (opts.productCodes) q = q.where('product_code', 'in', opts.productCodes.length ? [...opts.productCodes] : ['']);
      q = q.orderBy('state').orderBy('hour').orderBy('id').limit(limit);
      return this.dialect === 'postgres' ? q.forUpdate().skipLocked() : q;
    };
    const rows = await this.db.transaction().execute(async (tx) => {
      const picked = [...(await candidates(tx, 'sealed').execute()), ...(await candidates(tx, 'sending').execute())]
        .map((r) => ({ id: r.id, hour: fromDbTime(r.hour).getTime() }))
        .sort((a, b) => a.hour - b.hour || (a.id < b.id ? -1 : 1))
        .slice(0, limit);
      if (picked.length === 0) return [];
      return tx
        .updateTable('meter_buckets')
        .set((eb) => ({
          state: 'sending',
          lease_owner: owner,
          lease_until: toDbTime(new Date(now.getTime() + leaseMs)),
          attempts: eb('attempts', '+', 1),
          first_attempt_at: eb.fn.coalesce('first_attempt_at', eb.val(at)),
          last_attempt_at: at,
          updated_at: at,
        }))
        .where('id', 'in', picked.map((p) => p.id))
        // Still claimable when written: the rows are locked on PostgreSQL, and re-checked here anyway.
        .where((eb) => eb.or([eb.and([eb('state', '=', 'sealed'), eb('next_attempt_at', '<=', due)]), eb.and([eb('state', '=', 'sending'), eb('lease_until', '<', at)])]))
        .returningAll()
        .execute();
    });
    return rows.map(toBucket).sort((a, b) => a.hour.getTime() - b.hour.getTime() || (a.id < b.id ? -1 : 1));
  }

  /**
   * Extends `owner`'s claim on `ids` right before their call and returns the ids it still holds.
   * A claim another instance has taken over (its lease expired while this one waited or hung) is
   * not returned: that instance sends the record now, so this one must not send it as well.
   */
  async renewLeases(ids: readonly string[], owner: string, now: Date, leaseMs: number): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .updateTable('meter_buckets')
      .set({ lease_until: toDbTime(new Date(now.getTime() + leaseMs)), updated_at: toDbTime(now) })
      .where('id', 'in', [...ids])
      .where('state', '=', 'sending')
      .where('lease_owner', '=', owner)
      .returning('id')
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Moves a claimed bucket to its next state; false when the lease was lost (someone else owns it now). */
  async finish(
    id: string,
    owner: string,
    next: { state: BucketState; meteringRecordId?: string | null; lastError?: string | null; nextAttemptAt?: Date | null; resetBudget?: boolean },
    now: Date,
  ): Promise<boolean> {
    const at = toDbTime(now);
    const final = next.state !== 'sealed';
    const r = await this.db
      .updateTable('meter_buckets')
      .set({
        state: next.state,
        lease_owner: null,
        lease_until: null,
        ...(next.meteringRecordId !== undefined ? { metering_record_id: next.meteringRecordId } : {}),
        ...(next.lastError !== undefined ? { last_error: next.lastError } : {}),
        next_attempt_at: next.nextAttemptAt ? toDbTime(next.nextAttemptAt) : null,
        ...(next.resetBudget ? { first_attempt_at: null } : {}),
        ...(final ? { completed_at: at } : {}),
        updated_at: at,
      })
      .where('id', '=', id)
      .where('state', '=', 'sending')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Start-up reconciliation for a single instance (SQLite): every interrupted send is due again. */
  async releaseAllSending(now: Date): Promise<number> {
    const at = toDbTime(now);
    const r = await this.db.updateTable('meter_buckets').set({ state: 'sealed', lease_owner: null, lease_until: null, next_attempt_at: at, updated_at: at }).where('state', '=', 'sending').executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Puts a failed or not-subscribed bucket back in the queue (operator action). */
  async requeue(id: string, from: readonly BucketState[], now: Date): Promise<boolean> {
    const at = toDbTime(now);
    const r = await this.db
      .updateTable('meter_buckets')
      .set({ state: 'sealed', next_attempt_at: at, first_attempt_at: null, completed_at: null, updated_at: at })
      .where('id', '=', id)
      .where('state', 'in', [...from])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async list(query: BucketListQuery): Promise<MeterBucket[]> {
    let q = this.db.selectFrom('meter_buckets').selectAll();
    if (query.state) q = q.where('state', '=', query.state);
    if (query.customerId) q = q.where('customer_id', '=', query.customerId);
    if (query.from) q = q.where('hour', '>=', toDbTime(query.from));
    if (query.to) q = q.where('hour', '<', toDbTime(query.to));
    if (query.after) {
      const [hour, id] = query.after;
      q = q.where((eb) => eb.or([eb('hour', '>', hour), eb.and([eb('hour', '=', hour), eb('id', '>', id)])]));
    }
    const rows = await q.orderBy('hour').orderBy('id').limit(query.limit ?? 100).execute();
    return rows.map(toBucket);
  }

  /** Earliest next attempt among sealed buckets (the scheduler wakes up for it). */
  async nextDueAt(): Promise<Date | null> {
    const row = await this.db.selectFrom('meter_buckets').select((eb) => eb.fn.min('next_attempt_at').as('at')).where('state', '=', 'sealed').executeTakeFirst();
    return row?.at ? fromDbTime(row.at) : null;
  }

  /** Customers with a final flush done that still have open buckets (a crash between the two steps). */
  async flushedWithOpenBuckets(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('meter_buckets')
      .select('customer_id')
      .distinct()
      .where('state', '=', 'open')
      .where('customer_id', 'in', (eb) => eb.selectFrom('metering_final_flushes').select('customer_id'))
      .execute();
    return rows.map((r) => r.customer_id);
  }

  /** Counts per state (for tests, benchmarks and the ops view). */
  async countByState(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('meter_buckets').select(['state', sql<number>`count(*)`.as('n')]).groupBy('state').execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }
}

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
    createdAt: fromDbTime(row.created_at),
    updatedAt: fromDbTime(row.updated_at),
    sealedAt: fromDbTimeOrNull(row.sealed_at),
    completedAt: fromDbTimeOrNull(row.completed_at),
  };
}

/** The unique MeterUsage slot of a bucket: one record per product, dimension and hour (facts §1.7). */
export function meterUsageSlot(productCode: string, dimension: string, hour: Date): string {
  return JSON.stringify([productCode, dimension, toDbTime(hour)]);
}
