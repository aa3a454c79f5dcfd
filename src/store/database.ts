import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import { Pool, types as pgTypes } from 'pg';
import type { DialectName } from './dialect';
import { appliedMigrationNames, applyMigrations } from './migration-runner';
import { migrations } from './migrations';
import { registerSqliteHandle } from './sqlite-handle';
import type { Database } from './schema';

// bigint (int8) columns hold counts and quantities well inside 2^53: read them as numbers.
pgTypes.setTypeParser(20, (value: string) => Number(value));

export type StoreConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; schema?: string; poolSize?: number };

/** An open database with its dialect. `close()` releases the file or the pool. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Applies pending migrations; safe to call from several instances at once. */
  migrate(): Promise<{ applied: string[] }>;
  /** True when the database answers and every migration is applied. */
  isReady(): Promise<boolean>;
  /**
   * Refreshes the query planner's statistics (SQLite `PRAGMA optimize`, PostgreSQL `ANALYZE` of
   * this store's tables). Without them SQLite ignores the indexes the hot statements were shaped
   * for (the claim, the per-customer listings) and their cost grows with the table.
   */
  refreshPlannerStatistics(): Promise<void>;
  close(): Promise<void>;
}

/** How often a SQLite store refreshes planner statistics while open, as the tables grow. */
const SQLITE_OPTIMIZE_EVERY_MS = 60 * 60 * 1000;

export function openStore(config: StoreConfig): Store {
  if (config.kind === 'sqlite') {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    const database = new BetterSqlite3(config.path);
    // WAL: readers do not block the writer; synchronous=NORMAL is durable across process crashes in WAL mode.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    // 0x10002: analyse every table whose statistics are missing or stale, at open (SQLite's advice).
    database.pragma('optimize = 0x10002');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
    registerSqliteHandle(kysely, database);
    const store = createStore(kysely, 'sqlite', undefined, () => clearInterval(optimizer));
    // Through Kysely, so the refresh waits its turn on the one connection instead of landing
    // inside another statement's transaction.
    const optimizer = setInterval(() => void store.refreshPlannerStatistics().catch(() => undefined), SQLITE_OPTIMIZE_EVERY_MS);
    optimizer.unref();
    return store;
  }
  const pool = new Pool({
    connectionString: config.url,
    max: config.poolSize ?? 10,
    // An unreachable server fails a query (and /readyz) within seconds instead of hanging it.
    connectionTimeoutMillis: 5_000,
    options: config.schema ? `-c search_path=${config.schema}` : undefined,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor may a checked-out one that loses it between two statements (a transaction awaiting other
  // work): pg emits that on the client, where nobody listens. Its next statement fails, the
  // transaction rolls back with it, and the pool discards the broken client on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return createStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres', config.schema);
}

/**
 * Kysely asks better-sqlite3 to prepare every statement it runs, and the service runs the same few
 * hundred SQL texts over and over (a seal, a usage write, a look-up): preparing was about half the
 * cost of a simple write. Prepared statements are kept per SQL text, least recently used dropped.
 * Safe here: Kysely's SQLite driver runs one query at a time on its single connection, and the
 * service never streams results, so a cached statement is never busy when it is handed out again.
 * SQLite re-prepares a statement by itself when a migration changes the schema.
 */
function withStatementCache(database: BetterSqlite3.Database, capacity = 512): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = database.prepare(text);
        if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

function createStore(db: Kysely<Database>, dialect: DialectName, schema: string | undefined, onClose?: () => void): Store {
  // The schema this store writes to: the configured one, else the connection's current schema.
  let tableSchema: string | undefined = schema;
  const resolveTableSchema = async (): Promise<string | undefined> => {
    if (!tableSchema && dialect === 'postgres') {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      tableSchema = rows[0]?.schema;
    }
    return tableSchema;
  };
  const refreshPlannerStatistics = async (): Promise<void> => {
    if (dialect === 'sqlite') {
      // Analyses each table whose row count changed enough since its last analysis.
      await sql`pragma optimize = 0x10002`.execute(db);
      return;
    }
    // Only this store's tables: the database may hold other applications' schemas.
    const { rows } = await sql<{
      name: string;
    }>`select tablename as name from pg_tables where schemaname = ${await resolveTableSchema()}`.execute(db);
    for (const { name } of rows) await sql`analyze ${sql.table(tableSchema ? `${tableSchema}.${name}` : name)}`.execute(db);
  };
  return {
    db,
    dialect,
    async migrate() {
      const applied = await applyMigrations(db as unknown as Kysely<unknown>, dialect, await resolveTableSchema(), migrations);
      // A migration may add indexes the planner can only weigh with fresh statistics.
      if (applied.length > 0) await refreshPlannerStatistics();
      return { applied };
    },
    refreshPlannerStatistics,
    async isReady() {
      // Reads our own bookkeeping table only, never the catalogue of the whole database.
      try {
        const applied = await appliedMigrationNames(db as unknown as Kysely<unknown>, await resolveTableSchema());
        return migrations.every((m) => applied.has(m.name));
      } catch {
        return false;
      }
    },
    async close() {
      onClose?.();
      await db.destroy();
    },
  };
}
