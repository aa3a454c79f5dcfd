import type BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import type { DialectName } from '../store/dialect';
import { sqliteHandleOf } from '../store/sqlite-handle';
import type { Tx, UsageEventsTable } from '../store/schema';

/** A bucket's new aggregate (JSON) and how many usage rows it gained. */
export interface AggregateWrite {
  readonly bucketId: string;
  readonly aggregate: string;
  readonly added: number;
}

/** One report of a distinct id into a bucket. */
export interface DistinctIdReport {
  readonly bucketId: string;
  readonly distinctId: string;
  /** Usage time, epoch ms. */
  readonly at: number;
  readonly idempotencyKey: string;
  readonly tagKey: string;
}

const USAGE_COLUMNS = [
  'id',
  'customer_id',
  'idempotency_key',
  'fingerprint',
  'dimension',
  'quantity',
  'distinct_id',
  'tags',
  'usage_time',
  'bucket_id',
  'bucket_hour',
  'rolled_forward',
  'received_at',
] as const satisfies ReadonlyArray<keyof UsageEventsTable>;

/** PostgreSQL array type of each usage column, for `unnest`. */
const USAGE_PG_TYPES = [
  'text',
  'text',
  'text',
  'text',
  'text',
  'bigint',
  'text',
  'text',
  'timestamptz',
  'text',
  'timestamptz',
  'int',
  'timestamptz',
];

/** Rows per statement on PostgreSQL (each column is one array parameter, so any size is one statement; this bounds its size). */
const PG_CHUNK = 5000;

/**
 * The ledger's writes of one usage call — usage rows, bucket aggregates, distinct ids — set-based,
 * in the caller's transaction: they commit together with everything else the call did, or not at
 * all. The SQL text never grows with the batch: on SQLite, statements prepared once on the store's
 * connection and run once per row (better-sqlite3 is synchronous: there are no round trips to
 * save, and running a prepared statement costs less than building a many-row one); on PostgreSQL
 * one statement per kind for the whole batch, its rows passed as one array per column (`unnest`),
 * so a batch of 1,000 records costs three round trips, not hundreds.
 */
export class LedgerWrites {
  private sqlite?: {
    insertUsage: BetterSqlite3.Statement;
    updateAggregate: BetterSqlite3.Statement;
    insertDistinct: BetterSqlite3.Statement;
    improveDistinct: BetterSqlite3.Statement;
  };

  constructor(private readonly dialect: DialectName) {}

  /** Inserts usage rows. */
  async insertUsage(tx: Tx, rows: readonly UsageEventsTable[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.dialect === 'sqlite') {
      const s = this.statements(tx);
      for (const r of rows)
        s.insertUsage.run(
          r.id,
          r.customer_id,
          r.idempotency_key,
          r.fingerprint,
          r.dimension,
          r.quantity,
          r.distinct_id,
          r.tags,
          r.usage_time,
          r.bucket_id,
          r.bucket_hour,
          r.rolled_forward,
          r.received_at,
        );
      return;
    }
    for (let i = 0; i < rows.length; i += PG_CHUNK) {
      const chunk = rows.slice(i, i + PG_CHUNK);
      const arrays = USAGE_COLUMNS.map((c, k) => sql`${chunk.map((r) => r[c])}::${sql.raw(USAGE_PG_TYPES[k]!)}[]`);
      await sql`insert into usage_events (${sql.raw(USAGE_COLUMNS.join(', '))}) select * from unnest(${sql.join(arrays)})`.execute(tx);
    }
  }

  /**
   * Writes new aggregates to open buckets, adding `added` to their usage count. Returns how many
   * were written: fewer than asked means a bucket was no longer open (the caller must not commit).
   */
  async updateAggregates(tx: Tx, writes: readonly AggregateWrite[], now: string): Promise<number> {
    if (writes.length === 0) return 0;
    if (this.dialect === 'sqlite') {
      const s = this.statements(tx);
      let changed = 0;
      for (const w of writes) changed += s.updateAggregate.run(w.aggregate, w.added, now, w.bucketId).changes;
      return changed;
    }
    let changed = 0;
    for (let i = 0; i < writes.length; i += PG_CHUNK) {
      const chunk = writes.slice(i, i + PG_CHUNK);
      const r = await sql`
        update meter_buckets as b set aggregate = v.aggregate, usage_count = b.usage_count + v.added, updated_at = ${now}::timestamptz
          from unnest(${chunk.map((w) => w.bucketId)}::text[], ${chunk.map((w) => w.aggregate)}::text[], ${chunk.map((w) => w.added)}::int[])
               as v(id, aggregate, added)
         where b.id = v.id and b.state = 'open'`.execute(tx);
      changed += Number(r.numAffectedRows ?? 0);
    }
    return changed;
  }

  /**
   * Adds distinct ids to their buckets: an id new to its bucket becomes a row; one it already has
   * keeps its first report (earliest time, then smallest idempotency key), so the outcome does not
   * depend on the order reports arrive in. Returns, per bucket, how many ids were new.
   */
  async addDistinctIds(tx: Tx, reports: readonly DistinctIdReport[]): Promise<Map<string, number>> {
    const added = new Map<string, number>();
    if (reports.length === 0) return added;
    // One report per (bucket, id): the first; PostgreSQL cannot touch a row twice in one statement.
    const first = new Map<string, DistinctIdReport>();
    for (const r of reports) {
      const k = `${r.bucketId}\u0000${r.distinctId}`;
      const cur = first.get(k);
      if (!cur || r.at < cur.at || (r.at === cur.at && r.idempotencyKey < cur.idempotencyKey)) first.set(k, r);
    }
    const count = (bucketId: string) => added.set(bucketId, (added.get(bucketId) ?? 0) + 1);
    if (this.dialect === 'sqlite') {
      const s = this.statements(tx);
      for (const r of first.values()) {
        if (s.insertDistinct.run(r.bucketId, r.distinctId, r.at, r.idempotencyKey, r.tagKey).changes === 1) count(r.bucketId);
        else s.improveDistinct.run(r.at, r.idempotencyKey, r.tagKey, r.bucketId, r.distinctId, r.at, r.at, r.idempotencyKey);
      }
      return added;
    }
    const list = [...first.values()];
    for (let i = 0; i < list.length; i += PG_CHUNK) {
      const chunk = list.slice(i, i + PG_CHUNK);
      // `collate "C"`: keys compare by their bytes, as on SQLite, whatever the database's collation.
      const r = await sql<{ bucket_id: string; inserted: boolean }>`
        insert into meter_bucket_distinct_ids as d (bucket_id, distinct_id, first_at, idempotency_key, tag_key)
        select * from unnest(${chunk.map((x) => x.bucketId)}::text[], ${chunk.map((x) => x.distinctId)}::text[],
                             ${chunk.map((x) => x.at)}::bigint[], ${chunk.map((x) => x.idempotencyKey)}::text[],
                             ${chunk.map((x) => x.tagKey)}::text[])
        on conflict (bucket_id, distinct_id) do update
           set first_at = excluded.first_at, idempotency_key = excluded.idempotency_key, tag_key = excluded.tag_key
         where excluded.first_at < d.first_at
            or (excluded.first_at = d.first_at and excluded.idempotency_key collate "C" < d.idempotency_key collate "C")
        returning d.bucket_id, (xmax = 0) as inserted`.execute(tx);
      for (const row of r.rows) if (row.inserted) count(row.bucket_id);
    }
    return added;
  }

  /** The SQLite statements, prepared once; each checks that a transaction is open (they must never commit on their own). */
  private statements(tx: Tx): NonNullable<LedgerWrites['sqlite']> {
    const handle = sqliteHandleOf(tx);
    if (!handle.inTransaction) throw new Error('the ledger writes run inside a transaction');
    this.sqlite ??= {
      insertUsage: handle.prepare(
        `insert into usage_events (${USAGE_COLUMNS.join(', ')}) values (${USAGE_COLUMNS.map(() => '?').join(', ')})`,
      ),
      updateAggregate: handle.prepare(
        `update meter_buckets set aggregate = ?, usage_count = usage_count + ?, updated_at = ? where id = ? and state = 'open'`,
      ),
      insertDistinct: handle.prepare(
        `insert into meter_bucket_distinct_ids (bucket_id, distinct_id, first_at, idempotency_key, tag_key) values (?, ?, ?, ?, ?)
         on conflict (bucket_id, distinct_id) do nothing`,
      ),
      improveDistinct: handle.prepare(
        `update meter_bucket_distinct_ids set first_at = ?, idempotency_key = ?, tag_key = ?
          where bucket_id = ? and distinct_id = ? and (first_at > ? or (first_at = ? and idempotency_key > ?))`,
      ),
    };
    return this.sqlite;
  }
}
