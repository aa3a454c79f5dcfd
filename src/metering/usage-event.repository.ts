import { fromDbTime } from '../store/dialect';
import type { Tx } from '../store/schema';

/** What a stored usage report answered, by (customer, idempotency key). */
export interface StoredUsage {
  readonly fingerprint: string;
  /** ISO start of the hour it was counted in. */
  readonly hour: string;
  readonly rolledForward: boolean;
}

/** Keys per lookup (well under SQLite's bound-parameter limit). */
const CHUNK = 500;

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
      const rows = await tx
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
}
