import { sql, type Insertable } from 'kysely';
import { ConcurrentWriteError } from '../platform/errors';
import { timeOrderedId } from '../platform/ids';
import type BetterSqlite3 from 'better-sqlite3';
import type { DialectName } from '../store/dialect';
import { sqliteHandleOf } from '../store/sqlite-handle';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { BucketRow, Db, MeterBucketsTable, Tx } from '../store/schema';
import { emptyAggregate, type AggregationMode, type BucketAggregate, type DistinctEntry, type OverageBasis } from './aggregation';
import type { MeterBucket } from './bucket';
import { TRANSITIONS, type BucketState } from './bucket-lifecycle';
import { meterUsageSlot, toBucket } from './bucket-rows';

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

/** Rows per multi-row INSERT (well under SQLite's bound-parameter limit). */
const INSERT_CHUNK = 200;

/** SQLite: one bucket by its key, as {@link BucketRepository.lockOrCreateMany} reads it (a prepared statement, run per bucket). */
export const SQLITE_BUCKET_BY_KEY = 'select * from meter_buckets where customer_id = ? and dimension = ? and hour = ?';

/** The key of a bucket in the maps {@link BucketRepository.lockOrCreateMany} returns. */
export function bucketKey(customerId: string, dimension: string, hour: Date): string {
  return `${customerId}\u0000${dimension}\u0000${hour.getTime()}`;
}

/** The row of a new open bucket (every column, in one fixed order). */
function newBucketRow(b: NewBucket, now: Date): Insertable<MeterBucketsTable> {
  const at = toDbTime(now);
  return {
    id: timeOrderedId(now),
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
    hold_reason: null,
    aws_request_id: null,
  };
}

/**
 * Hour buckets: creating them, adding usage to open ones, reading them. The emitter's state
 * changes are in `bucket-transitions.repository.ts`; the operator's requeue is here, by the same
 * transition table.
 */
export class BucketRepository {
  private sqlite?: { insert: BetterSqlite3.Statement; byKey: BetterSqlite3.Statement };

  constructor(
    private readonly db: Db,
    private readonly dialect: DialectName,
  ) {}

  /**
   * The bucket of (customer, dimension, hour), created open if absent; locked on PostgreSQL.
   * @throws ConcurrentWriteError when a MeterUsage slot was taken by another customer in a
   *   concurrent transaction: the caller's check, done again, then sees the committed holder.
   */
  async lockOrCreate(tx: Tx, b: NewBucket, now: Date): Promise<MeterBucket> {
    await this.insertMissing([b], now, tx);
    let q = tx
      .selectFrom('meter_buckets')
      .selectAll()
      .where('customer_id', '=', b.customerId)
      .where('dimension', '=', b.dimension)
      .where('hour', '=', toDbTime(b.hour));
    if (this.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row)
      throw new ConcurrentWriteError(
        `the MeterUsage slot of ${b.productCode}/${b.dimension}/${b.hour.toISOString()} is held by another customer`,
      );
    return toBucket(row);
  }

  /**
   * {@link lockOrCreate} for many buckets at once. SQLite: created and read one by one by two
   * prepared statements. PostgreSQL: the missing ones inserted in one statement, then all read and
   * locked in one, in key order, so two writers lock shared buckets in the same order. Keyed by
   * {@link bucketKey}. A MeterUsage bucket whose
   * slot another customer holds is left out: ask {@link lockOrCreate}, which says so.
   */
  async lockOrCreateMany(tx: Tx, buckets: readonly NewBucket[], now: Date): Promise<Map<string, MeterBucket>> {
    const out = new Map<string, MeterBucket>();
    const unique = [...new Map(buckets.map((b) => [bucketKey(b.customerId, b.dimension, b.hour), b])).values()];
    if (unique.length === 0) return out;
    if (this.dialect === 'sqlite') {
      // better-sqlite3 is synchronous: statements prepared once, run per bucket, cost less than
      // building and compiling one statement for many (SQLite has no row locks to take).
      const s = this.sqliteStatements(tx);
      for (const b of unique) {
        s.insert.run(...Object.values(newBucketRow(b, now)));
        const row = s.byKey.get(b.customerId, b.dimension, toDbTime(b.hour)) as BucketRow | undefined;
        if (row) out.set(bucketKey(b.customerId, b.dimension, b.hour), toBucket(row));
      }
      return out;
    }
    await this.insertMissing(unique, now, tx);
    // PostgreSQL: all of them in one statement, the keys passed as one array per column, locked in
    // key order (the lock is taken above the sort), so two writers lock shared buckets in the same order.
    const rows = await tx
      .selectFrom('meter_buckets')
      .selectAll()
      .where(
        sql<boolean>`(customer_id, dimension, hour) in (select * from unnest(${unique.map((b) => b.customerId)}::text[],
          ${unique.map((b) => b.dimension)}::text[], ${unique.map((b) => toDbTime(b.hour))}::timestamptz[]))`,
      )
      .orderBy('customer_id')
      .orderBy('dimension')
      .orderBy('hour')
      .forUpdate()
      .execute();
    for (const row of rows) {
      const bucket = toBucket(row);
      out.set(bucketKey(bucket.customerId, bucket.dimension, bucket.hour), bucket);
    }
    return out;
  }

  /**
   * Inserts open buckets that do not exist yet, many per statement (all in one on PostgreSQL) (heartbeats and first usage race
   * safely); returns how many were created. A MeterUsage bucket also takes its product/dimension/hour
   * slot: if another customer holds it, nothing is inserted (MeterUsage carries no customer, so one
   * slot is one record, facts §1.7).
   */
  async insertMissing(buckets: readonly NewBucket[], now: Date, db: Db | Tx = this.db): Promise<number> {
    let created = 0;
    if (this.dialect === 'postgres') {
      // One statement, whatever the number: each varying column is one array parameter.
      const rows = buckets.map((b) => newBucketRow(b, now));
      const column = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
      const r = await sql`
        insert into meter_buckets (id, customer_id, product_code, dimension, hour, api, mode, aggregate, heartbeat, meter_usage_slot,
                                   state, usage_count, attempts, created_at, updated_at)
        select v.*, 'open', 0, 0, ${toDbTime(now)}::timestamptz, ${toDbTime(now)}::timestamptz
          from unnest(${column('id')}::text[], ${column('customer_id')}::text[], ${column('product_code')}::text[],
                      ${column('dimension')}::text[], ${column('hour')}::timestamptz[], ${column('api')}::text[], ${column('mode')}::text[],
                      ${column('aggregate')}::text[], ${column('heartbeat')}::int[], ${column('meter_usage_slot')}::text[]) as v
        on conflict do nothing`.execute(db);
      return Number(r.numAffectedRows ?? 0);
    }
    for (let i = 0; i < buckets.length; i += INSERT_CHUNK) {
      const rows = buckets.slice(i, i + INSERT_CHUNK).map((b) => newBucketRow(b, now));
      const r = await db
        .insertInto('meter_buckets')
        .values(rows)
        // No conflict target: either unique key (customer/dimension/hour, MeterUsage slot) means "exists".
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      created += Number(r.numInsertedOrUpdatedRows ?? 0);
    }
    return created;
  }

  /** The SQLite statements of {@link lockOrCreateMany}, prepared once; only inside a transaction. */
  private sqliteStatements(tx: Tx): NonNullable<BucketRepository['sqlite']> {
    const handle = sqliteHandleOf(tx);
    if (!handle.inTransaction) throw new Error('buckets are locked inside a transaction');
    if (!this.sqlite) {
      const columns = Object.keys(
        newBucketRow({ customerId: '', productCode: '', dimension: '', hour: new Date(0), api: 'batch', mode: 'sum' }, new Date(0)),
      );
      this.sqlite = {
        // No conflict target: either unique key (customer/dimension/hour, MeterUsage slot) means "exists".
        insert: handle.prepare(
          `insert into meter_buckets (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')}) on conflict do nothing`,
        ),
        byKey: handle.prepare(SQLITE_BUCKET_BY_KEY),
      };
    }
    return this.sqlite;
  }

  /** Writes a new aggregate to an open bucket; false when it is no longer open. */
  async updateAggregate(tx: Tx, id: string, aggregate: BucketAggregate, added: number, now: Date): Promise<boolean> {
    const r = await tx
      .updateTable('meter_buckets')
      .set((eb) => ({ aggregate: JSON.stringify(aggregate), usage_count: eb('usage_count', '+', added), updated_at: toDbTime(now) }))
      .where('id', '=', id)
      .where('state', '=', 'open')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * The customer already metering a MeterUsage product: the owner of its earliest bucket from
   * `from` on, other than `customerId`, or null.
   */
  async meterUsageHolder(tx: Tx, productCode: string, customerId: string, from: Date): Promise<string | null> {
    const row = await tx
      .selectFrom('meter_buckets')
      .select('customer_id')
      .where('product_code', '=', productCode)
      .where('hour', '>=', toDbTime(from))
      .where('customer_id', '!=', customerId)
      .orderBy('hour')
      .orderBy('created_at')
      .limit(1)
      .executeTakeFirst();
    return row?.customer_id ?? null;
  }

  /**
   * The bucket with its distinct ids loaded into its aggregate, as billing needs them (a stored
   * `distinct` aggregate keeps only their count); any other bucket as it is. Read after the
   * bucket: a write in between changes its usage count, and sealing refuses a changed bucket.
   */
  async withDistinctIds(bucket: MeterBucket, db: Db | Tx = this.db): Promise<MeterBucket> {
    if (bucket.aggregate.mode !== 'distinct') return bucket;
    const rows = await db
      .selectFrom('meter_bucket_distinct_ids')
      .select(['distinct_id', 'first_at', 'idempotency_key', 'tag_key'])
      .where('bucket_id', '=', bucket.id)
      .execute();
    const ids: DistinctEntry[] = rows
      .map((r) => ({ id: r.distinct_id, at: Number(r.first_at), idempotencyKey: r.idempotency_key, tagKey: r.tag_key }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { ...bucket, aggregate: { mode: 'distinct', ids, count: ids.length } };
  }

  async findById(id: string, db: Db | Tx = this.db): Promise<MeterBucket | undefined> {
    const row = await db.selectFrom('meter_buckets').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toBucket(row) : undefined;
  }

  /** Buckets in `state` whose hour started before `before` (optionally one customer's), oldest first. */
  async listInState(
    state: 'open' | 'held',
    before: Date,
    opts: { customerId?: string | undefined; limit?: number; dueBy?: Date } = {},
  ): Promise<MeterBucket[]> {
    let q = this.db.selectFrom('meter_buckets').selectAll().where('state', '=', state).where('hour', '<', toDbTime(before));
    if (opts.customerId) q = q.where('customer_id', '=', opts.customerId);
    if (opts.dueBy) q = q.where('next_attempt_at', '<=', toDbTime(opts.dueBy));
    const rows = await q
      .orderBy('hour')
      .orderBy('id')
      .limit(opts.limit ?? 1000)
      .execute();
    return rows.map(toBucket);
  }

  /** Which of these buckets are still open (the others were sealed meanwhile, by this instance or another). */
  async stillOpen(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('meter_buckets').select('id').where('id', 'in', ids).where('state', '=', 'open').execute();
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Operator action: puts a failed or not-subscribed bucket back in the queue, unchanged. One whose
   * record is complete is `sealed` again; one that lacks its quantity or identity (older releases
   * failed such records) goes back to `held`, to be completed first.
   */
  async requeue(id: string, now: Date): Promise<boolean> {
    const at = toDbTime(now);
    const complete = await this.db
      .updateTable('meter_buckets')
      .set({ state: TRANSITIONS.requeue.to, next_attempt_at: at, first_attempt_at: null, completed_at: null, updated_at: at })
      .where('id', '=', id)
      .where('state', 'in', TRANSITIONS.requeue.from)
      .where('quantity', 'is not', null)
      .where((eb) => eb.or([eb('api', '!=', 'batch'), eb('identity_kind', 'is not', null)]))
      .executeTakeFirst();
    if (Number(complete.numUpdatedRows) === 1) return true;
    const incomplete = await this.db
      .updateTable('meter_buckets')
      .set({
        state: TRANSITIONS.requeueIncomplete.to,
        hold_reason: 'requeued by an operator: waiting for what the record lacks (its quantity or its metering identity)',
        next_attempt_at: at,
        first_attempt_at: null,
        completed_at: null,
        updated_at: at,
      })
      .where('id', '=', id)
      .where('state', 'in', TRANSITIONS.requeueIncomplete.from)
      .executeTakeFirst();
    return Number(incomplete.numUpdatedRows) === 1;
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
    const rows = await q
      .orderBy('hour')
      .orderBy('id')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(toBucket);
  }

  /** Earliest next attempt among sealed and held buckets (the scheduler wakes up for it). */
  async nextDueAt(): Promise<Date | null> {
    const row = await this.db
      .selectFrom('meter_buckets')
      .select((eb) => eb.fn.min('next_attempt_at').as('at'))
      .where('state', 'in', ['sealed', 'held'])
      .executeTakeFirst();
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
    const rows = await this.db
      .selectFrom('meter_buckets')
      .select(['state', sql<number>`count(*)`.as('n')])
      .groupBy('state')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }
}
