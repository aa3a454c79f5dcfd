import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DEFAULT_MIGRATION_TABLE as MIGRATION_TABLE, Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider } from 'kysely';
import { Pool, types as pgTypes } from 'pg';
import type { DialectName } from './dialect';
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
  const provider: MigrationProvider = {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const m of migrations) out[m.name] = { up: (k: Kysely<unknown>) => m.up(k, dialect) };
      return out;
    },
  };
  // Kysely finds its bookkeeping tables by name across every schema: pin them to the schema this
  // store writes to, or another schema's copy (another application, a test) would be taken for ours.
  let migrator: Migrator | undefined;
  let tableSchema: string | undefined = schema;
  const resolveTableSchema = async (): Promise<string | undefined> => {
    if (!tableSchema && dialect === 'postgres') {
      const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
      tableSchema = rows[0]?.schema;
    }
    return tableSchema;
  };
  const getMigrator = async (): Promise<Migrator> => {
    if (migrator) return migrator;
    const migrationTableSchema = await resolveTableSchema();
    migrator = new Migrator({ db, provider, ...(migrationTableSchema ? { migrationTableSchema } : {}) });
    return migrator;
  };
  return {
    db,
    dialect,
    async migrate() {
      for (let attempt = 1; ; attempt++) {
        // The migrator looks for its tables across every schema of the database; a schema another
        // application drops during that look-up fails it with invalid_schema_name. Nothing was
        // applied then (each migration runs in a transaction): look again.
        const outcome = await (await getMigrator()).migrateToLatest().catch((error: unknown) => ({ error, results: undefined }));
        const { error, results } = outcome;
        if (error && attempt < 10 && (error as { code?: unknown }).code === '3F000') {
          await new Promise((r) => setTimeout(r, 25 * attempt));
          continue;
        }
        if (error) throw error;
        return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
      }
    },
    async isReady() {
      // Reads our own bookkeeping table only: the migrator's own check introspects every column of
      // every schema in the database, which is slow for a probe and fails when another
      // application drops a schema at that moment.
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
