import { sql, type RawBuilder, type UpdateObject } from 'kysely';
import type { DialectName } from '../store/dialect';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database, Db, MeterBucketsTable, Tx } from '../store/schema';

type BucketSet = UpdateObject<Database, 'meter_buckets'>;
import type { FrozenQuantity, MeterBucket } from './bucket';
import { TRANSITIONS, type ResultWrite, type TransitionName } from './bucket-lifecycle';
import { identityColumns, toBucket } from './bucket-rows';
import type { RecordIdentity } from './record-batching';
import { appendOutboxEvent } from '../webhooks/outbox.repository';
import { meteringRecordEvent, type MeteringOutcome } from '../webhooks/metering-events';

/** The moves after which the app is told the record was not billed (README "Integrate your app"). */
const UNBILLED_OUTCOME: Partial<Record<TransitionName, MeteringOutcome>> = {
  reject: 'failed',
  failHeld: 'failed',
  fail: 'failed',
  expireHeld: 'expired',
  expire: 'expired',
  duplicate: 'duplicate',
  notSubscribed: 'not_subscribed',
};

/** What a settled bucket's webhook event says, read back by the UPDATE that settled it. */
const EVENT_COLUMNS = ['id', 'customer_id', 'product_code', 'dimension', 'hour', 'quantity', 'last_error'] as const;
type EventRow = Pick<MeterBucketsTable, (typeof EVENT_COLUMNS)[number]>;

/** What a bucket leaving `open` freezes; a part still unknown is null (the bucket is then `held`). */
export interface RecordContent {
  readonly quantity: FrozenQuantity | null;
  /** Null for MeterUsage (the caller's credentials are the identity, facts §1.7), or while unknown. */
  readonly identity: RecordIdentity | null;
  /** The record Timestamp (see `MeterBucket.recordTimestamp`). */
  readonly recordTimestamp: Date;
}

/** What became known for a held bucket. Each part is written once: a part already frozen is never replaced. */
export interface HeldFill {
  readonly quantity?: FrozenQuantity | undefined;
  readonly identity?: RecordIdentity | undefined;
}

/** Sentinel of {@link caseOf}: leave the column as it is for this write. */
const KEEP = Symbol('keep');

/**
 * The bucket lifecycle's moves (`bucket-lifecycle.ts`), one method per transition, each ONE
 * conditional UPDATE on the states the table allows it from (and the lease owner where a claim is
 * involved). A method that returns false (or leaves an id out) changed nothing: the bucket had
 * moved on, by this instance or another.
 */
export class BucketTransitions {
  constructor(
    private readonly db: Db,
    private readonly dialect: DialectName,
  ) {}

  /** The UPDATE of one move: its target state set, its allowed source states required. */
  private move(db: Db | Tx, name: TransitionName, set: BucketSet, ids: readonly string[]) {
    const t = TRANSITIONS[name];
    return db
      .updateTable('meter_buckets')
      .set({ ...set, state: t.to })
      .where('id', 'in', [...ids])
      .where('state', 'in', t.from);
  }

  private async one(q: { executeTakeFirst(): Promise<{ numUpdatedRows: bigint }> }): Promise<boolean> {
    return Number((await q.executeTakeFirst()).numUpdatedRows) === 1;
  }

  /**
   * Runs `work` in `db`'s transaction, or in a new one when `db` is not a transaction: a move that
   * leaves a record unbilled writes its webhook event in the same transaction, so the event exists
   * exactly when the new state does (a crash in between leaves neither).
   */
  private inTransaction<T>(db: Db | Tx, work: (tx: Tx) => Promise<T>): Promise<T> {
    return db.isTransaction ? work(db as Tx) : db.transaction().execute(work);
  }

  /** Appends the `metering.record_*` event of each settled row whose move left it unbilled. */
  private async announce(tx: Tx, rows: readonly EventRow[], move: (id: string) => TransitionName, now: Date): Promise<void> {
    for (const row of rows) {
      const state = UNBILLED_OUTCOME[move(row.id)];
      if (!state) continue;
      await appendOutboxEvent(
        tx,
        meteringRecordEvent(
          {
            id: row.id,
            customerId: row.customer_id,
            productCode: row.product_code,
            dimension: row.dimension,
            hour: fromDbTime(row.hour),
            quantity: row.quantity,
            state,
            reason: row.last_error,
          },
          now,
        ),
      );
    }
  }

  /** One move on one bucket that may leave it unbilled: the UPDATE and its event, in one transaction. */
  private settleOne(
    db: Db | Tx,
    name: 'reject' | 'expireHeld' | 'failHeld',
    set: BucketSet,
    id: string,
    now: Date,
    usageCount?: number,
  ): Promise<boolean> {
    return this.inTransaction(db, async (tx) => {
      let q = this.move(tx, name, set, [id]);
      if (usageCount !== undefined) q = q.where('usage_count', '=', usageCount);
      const rows = await q.returning([...EVENT_COLUMNS]).execute();
      await this.announce(tx, rows, () => name, now);
      return rows.length === 1;
    });
  }

  /**
   * `seal` (open → sealed) when the content is complete, else `hold` (open → held, with `holdReason`):
   * usage is frozen either way. Optimistic: only if no usage was added since the bucket was read
   * (`usage_count` unchanged), so a concurrent write is never lost by sealing a stale aggregate.
   */
  async sealOrHold(
    tx: Db | Tx,
    bucket: Pick<MeterBucket, 'id' | 'usageCount'>,
    content: RecordContent,
    hold: { reason: string; nextCheckAt: Date } | null,
    now: Date,
  ): Promise<boolean> {
    const at = toDbTime(now);
    const set: BucketSet = {
      quantity: content.quantity?.quantity ?? null,
      allocations: content.quantity?.allocations ? JSON.stringify(content.quantity.allocations) : null,
      ...identityColumns(content.identity),
      record_timestamp: toDbTime(content.recordTimestamp),
      hold_reason: hold?.reason ?? null,
      last_error: null,
      next_attempt_at: hold ? toDbTime(hold.nextCheckAt) : at,
      sealed_at: at,
      updated_at: at,
    };
    return this.one(this.move(tx, hold ? 'hold' : 'seal', set, [bucket.id]).where('usage_count', '=', bucket.usageCount));
  }

  /** `reject` (open → failed): the hour can never be billed; says why (and the app is told). */
  async reject(tx: Db | Tx, bucket: Pick<MeterBucket, 'id' | 'usageCount'>, reason: string, now: Date): Promise<boolean> {
    const at = toDbTime(now);
    const set = { last_error: reason, sealed_at: at, completed_at: at, updated_at: at };
    return this.settleOne(tx, 'reject', set, bucket.id, now, bucket.usageCount);
  }

  /**
   * `complete` (held → sealed) when `stillMissing` is null, else `recheck` (held → held with a new
   * reason and check time). Either way the parts in `fill` are frozen, write-once: the update only
   * applies while they are still NULL, so no value already frozen is ever replaced.
   */
  async completeOrRecheck(
    tx: Db | Tx,
    id: string,
    fill: HeldFill,
    stillMissing: { reason: string; nextCheckAt: Date } | null,
    now: Date,
  ): Promise<boolean> {
    const at = toDbTime(now);
    const set: BucketSet = {
      hold_reason: stillMissing?.reason ?? null,
      next_attempt_at: stillMissing ? toDbTime(stillMissing.nextCheckAt) : at,
      updated_at: at,
    };
    if (fill.quantity) {
      set.quantity = fill.quantity.quantity;
      set.allocations = fill.quantity.allocations ? JSON.stringify(fill.quantity.allocations) : null;
    }
    if (fill.identity) Object.assign(set, identityColumns(fill.identity));
    let q = this.move(tx, stillMissing ? 'recheck' : 'complete', set, [id]);
    if (fill.quantity) q = q.where('quantity', 'is', null);
    if (fill.identity) q = q.where('identity_kind', 'is', null);
    return this.one(q);
  }

  /** `expireHeld` (held → expired): the AWS window closed while it waited (the app is told). */
  async expireHeld(id: string, reason: string, now: Date): Promise<boolean> {
    const at = toDbTime(now);
    return this.settleOne(this.db, 'expireHeld', { last_error: reason, completed_at: at, updated_at: at }, id, now);
  }

  /** `failHeld` (held → failed): what it waited for can no longer come (the app is told). */
  async failHeld(id: string, reason: string, now: Date): Promise<boolean> {
    const at = toDbTime(now);
    return this.settleOne(this.db, 'failHeld', { last_error: reason, completed_at: at, updated_at: at }, id, now);
  }

  /**
   * `claim`: takes up to `limit` due buckets for `owner`, oldest hour first: sealed ones whose next
   * attempt is due by `dueBy`, and `sending` ones whose lease expired (an instance died mid-call:
   * resend, facts §1.6). PostgreSQL: `FOR UPDATE SKIP LOCKED`, so instances never claim the same
   * rows. SQLite: one writer.
   */
  async claimDue(
    owner: string,
    now: Date,
    leaseMs: number,
    limit: number,
    opts: { productCodes?: readonly string[]; dueBy?: Date } = {},
  ): Promise<MeterBucket[]> {
    const at = toDbTime(now);
    const due = toDbTime(opts.dueBy ?? now);
    // Two candidate lists, each read in (hour, id) order straight off the claim index and cut at
    // `limit`, then merged: a single OR over both would make the engine scan and sort every row.
    const candidates = (tx: Tx, state: 'sealed' | 'sending') => {
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
      const set = {
        lease_owner: owner,
        lease_until: toDbTime(new Date(now.getTime() + leaseMs)),
        attempts: sql<number>`attempts + 1`,
        first_attempt_at: sql<string>`coalesce(first_attempt_at, ${at})`,
        last_attempt_at: at,
        updated_at: at,
      };
      return (
        this.move(
          tx,
          'claim',
          set,
          picked.map((p) => p.id),
        )
          // Still claimable when written: the rows are locked on PostgreSQL, and re-checked here anyway.
          .where((eb) =>
            eb.or([
              eb.and([eb('state', '=', 'sealed'), eb('next_attempt_at', '<=', due)]),
              eb.and([eb('state', '=', 'sending'), eb('lease_until', '<', at)]),
            ]),
          )
          .returningAll()
          .execute()
      );
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

  /**
   * Settles the records of one call — `retry`, `accept`, `duplicate`, `notSubscribed`, `expire`,
   * `fail`, each from `sending` under `owner`'s lease — in ONE statement: every column is a CASE over
   * the ids. Returns the ids written; one left out had lost its lease (another instance owns it now).
   * The records left unbilled (duplicate, not subscribed, expired, failed) get their webhook event
   * in the same transaction.
   */
  async recordResults(owner: string, writes: readonly ResultWrite[], now: Date): Promise<Set<string>> {
    if (writes.length === 0) return new Set();
    const at = toDbTime(now);
    const final = (w: ResultWrite) => w.move !== 'retry';
    const caseOf = (column: keyof MeterBucketsTable, value: (w: ResultWrite) => unknown): RawBuilder<unknown> => {
      const whens = writes.flatMap((w) => {
        const v = value(w);
        return v === KEEP ? [] : [sql`when id = ${w.id} then ${v}`];
      });
      return whens.length === 0 ? sql.ref(column) : sql`case ${sql.join(whens, sql` `)} else ${sql.ref(column)} end`;
    };
    const moveOf = new Map(writes.map((w) => [w.id, w.move]));
    return this.inTransaction(this.db, async (tx) => {
      const rows = await tx
        .updateTable('meter_buckets')
        .set({
          state: caseOf('state', (w) => TRANSITIONS[w.move].to) as never,
          metering_record_id: caseOf('metering_record_id', (w) => (w.move === 'accept' ? (w.meteringRecordId ?? null) : KEEP)) as never,
          last_error: caseOf('last_error', (w) => w.lastError) as never,
          next_attempt_at: caseOf('next_attempt_at', (w) => (w.nextAttemptAt ? toDbTime(w.nextAttemptAt) : null)) as never,
          first_attempt_at: caseOf('first_attempt_at', (w) => (w.resetBudget ? null : KEEP)) as never,
          completed_at: caseOf('completed_at', (w) => (final(w) ? at : KEEP)) as never,
          aws_request_id: caseOf('aws_request_id', (w) => (w.awsRequestId === undefined ? KEEP : w.awsRequestId)) as never,
          aws_http_status: caseOf('aws_http_status', (w) => (w.failedCall ? w.failedCall.httpStatus : KEEP)) as never,
          aws_operation: caseOf('aws_operation', (w) => (w.failedCall ? w.failedCall.operation : KEEP)) as never,
          last_error_at: caseOf('last_error_at', (w) => (w.failedCall ? toDbTime(w.failedCall.at) : KEEP)) as never,
          lease_owner: null,
          lease_until: null,
          updated_at: at,
        })
        .where(
          'id',
          'in',
          writes.map((w) => w.id),
        )
        .where('state', '=', 'sending')
        .where('lease_owner', '=', owner)
        .returning([...EVENT_COLUMNS])
        .execute();
      await this.announce(tx, rows, (id) => moveOf.get(id)!, now);
      return new Set(rows.map((r) => r.id));
    });
  }

  /** `release` (sending → sealed) for every bucket: start-up on a single instance (SQLite), where every interrupted send is ours. */
  async releaseAllSending(now: Date): Promise<number> {
    const at = toDbTime(now);
    const r = await this.db
      .updateTable('meter_buckets')
      .set({ state: TRANSITIONS.release.to, lease_owner: null, lease_until: null, next_attempt_at: at, updated_at: at })
      .where('state', 'in', TRANSITIONS.release.from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * A new sending instance takes over (the metering sender lease, `emitter.ts`): the records other
   * instances left `sending` go back to `sealed` at once (release), to be resent unchanged, instead
   * of waiting out their claim. Safe: only the lease holder sends, and the previous holder stops
   * before its next call once the lease is no longer its own; a call it already made is resent
   * byte-identically, which AWS de-duplicates (facts §1.6).
   */
  async releaseSendingOfOthers(owner: string, now: Date): Promise<number> {
    const at = toDbTime(now);
    const r = await this.db
      .updateTable('meter_buckets')
      .set({ state: TRANSITIONS.release.to, lease_owner: null, lease_until: null, next_attempt_at: at, updated_at: at })
      .where('state', 'in', TRANSITIONS.release.from)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '!=', owner)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
