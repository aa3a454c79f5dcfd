import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { sql, type Kysely } from 'kysely';
import { applyMigrations } from '../../src/store/migration-runner';
import type { NumberedMigration } from '../../src/store/migrations';
import { openStore, type Store } from '../../src/store/database';
import { announceSkip } from './skip-notice';

export type Dialect = 'sqlite' | 'postgres';

const POSTGRES_SKIPPED = 'PostgreSQL cases did not run: TEST_DATABASE_URL is not set (CI sets it; see README)';

/**
 * True when the PostgreSQL cases can run (TEST_DATABASE_URL is set; CI sets it). When not, the
 * suite's name is recorded, and the run says once, above its closing line, which suites skipped.
 */
export function postgresAvailable(suite: string): boolean {
  if (process.env.TEST_DATABASE_URL) return true;
  announceSkip(POSTGRES_SKIPPED, { group: 'postgres', suite });
  return false;
}

/**
 * A store suite on every dialect: SQLite always; PostgreSQL when TEST_DATABASE_URL is set. Without
 * it the PostgreSQL copy is declared with `describe.skip`, so Jest counts its cases as skipped.
 * `title` may hold `%s` for the dialect's name.
 */
export function describeDialects(title: string, body: (dialect: Dialect) => void): void {
  const name = (d: Dialect) => (title.includes('%s') ? title.replace('%s', d) : `${title} (${d})`);
  describe(name('sqlite'), () => body('sqlite'));
  (postgresAvailable(title.replace(/\s*\(?%s\)?/, '')) ? describe : describe.skip)(name('postgres'), () => body('postgres'));
}

export interface TestStore {
  readonly store: Store;
  /** SQLite: the database file, for a second connection to it (another "instance"). */
  readonly sqlitePath?: string;
  /** PostgreSQL: the schema, for a second pool on it. */
  readonly pgSchema?: string;
  /** A second, independent handle on the same database (another instance, or the same one after a restart). */
  reopen(): Store;
  dispose(): Promise<void>;
}

/**
 * A fresh, migrated database: a new SQLite file, or a new PostgreSQL schema in the test
 * database (dropped afterwards), so suites never see each other's rows.
 */
export async function openTestStore(dialect: Dialect): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mb-store-'));
    const path = join(dir, 'test.sqlite');
    const store = openStore({ kind: 'sqlite', path });
    await store.migrate();
    return {
      store,
      sqlitePath: path,
      reopen: () => openStore({ kind: 'sqlite', path }),
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const store = openStore({ kind: 'postgres', url, schema, poolSize: 5 });
  await store.migrate();
  return {
    store,
    pgSchema: schema,
    reopen: () => openStore({ kind: 'postgres', url, schema, poolSize: 5 }),
    async dispose() {
      await store.close();
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}

/**
 * A fresh store whose schema holds only `chosen` migrations, for a test of a later one on the data
 * an earlier release wrote: {@link openTestStore} migrates fully, so every table is dropped (whatever
 * later migrations added) and the runner applies the chosen ones. `db` is untyped: the schema is
 * not today's.
 */
export async function openTestStoreAt(
  dialect: Dialect,
  chosen: readonly NumberedMigration[],
): Promise<TestStore & { db: Kysely<unknown>; schema: string | undefined }> {
  const t = await openTestStore(dialect);
  const db = t.store.db as unknown as Kysely<unknown>;
  const schema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]!.s : undefined;
  const tables =
    dialect === 'postgres'
      ? (await sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema()`.execute(db)).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(db)).rows;
  if (dialect === 'sqlite') await sql`pragma foreign_keys = off`.execute(db);
  for (const { name } of tables)
    await (
      dialect === 'postgres' ? sql`drop table if exists ${sql.table(name)} cascade` : sql`drop table if exists ${sql.table(name)}`
    ).execute(db);
  if (dialect === 'sqlite') await sql`pragma foreign_keys = on`.execute(db);
  await applyMigrations(db, dialect, schema, chosen);
  return Object.assign(t, { db, schema });
}
