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

/** The SaaS app's usage reports, unique per (customer, idempotency key): the ledger's audit trail and replay memory. */
export class UsageEventRepository {
  /** The stored reports of these customers under these keys, keyed `customerId\u0000idempotencyKey`. */
  async findByKeys(tx: Tx, customerIds: ReadonlySet<string>, keys: readonly string[]): Promise<Map<string, StoredUsage>> {
    const out = new Map<string, StoredUsage>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await tx
        .selectFrom('usage_events')
        .select(['customer_id', 'idempotency_key', 'fingerprint', 'bucket_hour', 'rolled_forward'])
        .where('customer_id', 'in', [...customerIds]) // leads the unique index (customer_id, idempotency_key)
        .where('idempotency_key', 'in', unique.slice(i, i + CHUNK))
        .execute();
      for (const r of rows) {
        if (customerIds.has(r.customer_id))
          out.set(`${r.customer_id}\u0000${r.idempotency_key}`, {
            fingerprint: r.fingerprint,
            hour: fromDbTime(r.bucket_hour).toISOString(),
            rolledForward: r.rolled_forward === 1,
          });
      }
    }
    return out;
  }

  /** Inserts the reports, many per statement, in the caller's transaction. */
  async insertMany(tx: Tx, rows: readonly UsageEventsTable[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await tx
        .insertInto('usage_events')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }
}
