import { compiledRowStatement, compiledStatement } from '../store/compiled-query';
import { fromDbTime } from '../store/dialect';
import type { Tx, UsageEventsTable } from '../store/schema';

/** What a stored usage report answered, by (customer, idempotency key). */
export interface StoredUsage {
  readonly fingerprint: string;
  /** ISO start of the hour it was counted in. */
  readonly hour: string;
  readonly rolledForward: boolean;
}

/** Keys per lookup; rows per INSERT (well under SQLite's bound-parameter limit). */
const CHUNK = 500;
const INSERT_CHUNK = 200;

/** A single-record write's statements, compiled once (see {@link compiledStatement}). */
const findOne = compiledStatement((db, customerId: string, idempotencyKey: string) =>
  db
    .selectFrom('usage_events')
    .select(['customer_id', 'idempotency_key', 'fingerprint', 'bucket_hour', 'rolled_forward'])
    .where('customer_id', '=', customerId)
    .where('idempotency_key', '=', idempotencyKey),
);
const USAGE_EVENT_COLUMNS = [
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
const insertOne = compiledRowStatement<UsageEventsTable, unknown>(USAGE_EVENT_COLUMNS, (db, row) =>
  db.insertInto('usage_events').values(row),
);

/** The SaaS app's usage reports, unique per (customer, idempotency key): the ledger's audit trail and replay memory. */
export class UsageEventRepository {
  /**
   * The stored reports under exactly these (customer, idempotency key) pairs, keyed
   * `customerId\u0000idempotencyKey`: one index probe per pair (each customer's keys in one
   * `customer_id = ? and idempotency_key in (…)` term), never the cross product of the batch's
   * customers and keys.
   */
  async findByKeys(
    tx: Tx,
    pairs: ReadonlyArray<{ readonly customerId: string; readonly idempotencyKey: string }>,
  ): Promise<Map<string, StoredUsage>> {
    const out = new Map<string, StoredUsage>();
    const byCustomer = new Map<string, Set<string>>();
    for (const p of pairs) {
      let keys = byCustomer.get(p.customerId);
      if (!keys) byCustomer.set(p.customerId, (keys = new Set()));
      keys.add(p.idempotencyKey);
    }
    // Terms of at most CHUNK keys, statements of at most CHUNK keys in all.
    const terms: Array<{ customerId: string; keys: string[] }> = [];
    for (const [customerId, keys] of byCustomer) {
      const list = [...keys];
      for (let i = 0; i < list.length; i += CHUNK) terms.push({ customerId, keys: list.slice(i, i + CHUNK) });
    }
    let statement: typeof terms = [];
    let size = 0;
    const run = async () => {
      if (statement.length === 0) return;
      const group = statement;
      statement = [];
      size = 0;
      const only = group.length === 1 && group[0]!.keys.length === 1 ? group[0]! : undefined;
      const rows = only
        ? (await findOne(tx, only.customerId, only.keys[0]!)).rows
        : await tx
            .selectFrom('usage_events')
            .select(['customer_id', 'idempotency_key', 'fingerprint', 'bucket_hour', 'rolled_forward'])
            .where((eb) => eb.or(group.map((t) => eb.and([eb('customer_id', '=', t.customerId), eb('idempotency_key', 'in', t.keys)]))))
            .execute();
      for (const r of rows) {
        out.set(`${r.customer_id}\u0000${r.idempotency_key}`, {
          fingerprint: r.fingerprint,
          hour: fromDbTime(r.bucket_hour).toISOString(),
          rolledForward: r.rolled_forward === 1,
        });
      }
    };
    for (const t of terms) {
      if (size + t.keys.length > CHUNK) await run();
      statement.push(t);
      size += t.keys.length;
    }
    await run();
    return out;
  }

  /** Inserts the reports, many per statement, in the caller's transaction. */
  async insertMany(tx: Tx, rows: readonly UsageEventsTable[]): Promise<void> {
    if (rows.length === 1) {
      await insertOne(tx, rows[0]!);
      return;
    }
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await tx
        .insertInto('usage_events')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }
}
