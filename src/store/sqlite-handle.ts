import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';

/**
 * Keyed by the Kysely instance's dialect adapter: made once per `new Kysely`, and shared by every
 * handle derived from it (`withPlugin`, `withSchema`, its transactions), unlike the instances.
 */
const handles = new WeakMap<object, BetterSqlite3.Database>();

/** Records the better-sqlite3 connection behind a store's Kysely instance (done by `openStore`). */
export function registerSqliteHandle(db: Pick<Kysely<never>, 'getExecutor'>, handle: BetterSqlite3.Database): void {
  handles.set(db.getExecutor().adapter, handle);
}

/**
 * The one better-sqlite3 connection behind a SQLite store's Kysely instance or transaction, for a
 * repository that runs prepared statements on it directly inside a Kysely transaction (the
 * ledger's bulk writes: Kysely's per-statement work was most of their cost). Such a statement joins
 * the transaction Kysely holds on the same connection and commits or rolls back with it; Kysely
 * plugins do not see it. @throws when `db` was not made by `openStore` for a SQLite file.
 */
export function sqliteHandleOf(db: Pick<Kysely<never>, 'getExecutor'>): BetterSqlite3.Database {
  const handle = handles.get(db.getExecutor().adapter);
  if (!handle) throw new Error('no better-sqlite3 connection is registered for this Kysely instance (open it with openStore)');
  return handle;
}
