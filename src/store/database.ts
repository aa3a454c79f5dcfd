import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Pool, types as pgTypes } from 'pg';
import type { DialectName } from './dialect';
import { applyMigrations, MIGRATION_TABLE } from './migration-runner';
import { migrations } from './migrations';
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
  close(): Promise<void>;
}

export function openStore(config: StoreConfig): Store {
  if (config.kind === 'sqlite') {
    if (config.path !== ':memory:') mkdirSync(dirname(config.path), { recursive: true });
    const database = new BetterSqlite3(config.path);
    // WAL: readers do not block the writer; synchronous=NORMAL is durable across process crashes in WAL mode.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    return createStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), 'sqlite', undefined);
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
  return createStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres', config.schema);
}

function createStore(db: Kysely<Database>, dialect: DialectName, schema: string | undefined): Store {
  // The schema this store writes to: the configured one, else the connection's current schema.
  let tableSchema: string | undefined = schema;
  const resolveTableSchema = async (): Promise<string | undefined> => {
    if (!tableSchema && dialect === 'postgres') {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      tableSchema = rows[0]?.schema;
    }
    return tableSchema;
  };
  return {
    db,
    dialect,
    async migrate() {
      const applied = await applyMigrations(db as unknown as Kysely<unknown>, dialect, await resolveTableSchema(), migrations);
      return { applied };
    },
    async isReady() {
      // Reads our own bookkeeping table only, never the catalogue of the whole database.
      try {
        const own = await resolveTableSchema();
        const table = own ? sql.table(`${own}.${MIGRATION_TABLE}`) : sql.table(MIGRATION_TABLE);
        const { rows } = await sql<{ name: string }>`select name from ${table}`.execute(db);
        const applied = new Set(rows.map((r) => r.name));
        return migrations.every((m) => applied.has(m.name));
      } catch {
        return false;
      }
    },
    async close() {
      await db.destroy();
    },
  };
}
