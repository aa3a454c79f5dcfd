import { sql, type Kysely } from 'kysely';
import type { DialectName } from './dialect';
import type { NumberedMigration } from './migrations';

/** The bookkeeping table: one row per applied migration (name, ISO time). Same shape as Kysely's. */
const MIGRATION_TABLE = 'kysely_migration';

/**
 * The PostgreSQL advisory lock every migrating instance takes. It is the key Kysely's own
 * migrator locks, so an instance of an earlier version migrating at the same moment waits for
 * this one (and the other way round) instead of racing it.
 */
const MIGRATION_LOCK_KEY = '3853314791062309107';

/** The database holds migrations this version does not know: a newer version migrated it. */
export class UnknownMigrationsError extends Error {
  constructor(readonly names: readonly string[]) {
    super(
      `the database has migrations this version does not know (${names.join(', ')}): ` +
        'a newer version of the service migrated it; run that version or a newer one',
    );
    this.name = 'UnknownMigrationsError';
  }
}

/**
 * Applies the pending migrations, in order, in one transaction that also holds the migration
 * lock: several instances starting together apply each migration once, and a failure leaves the
 * database as it was. It touches only the tables of the schema the store writes to (`schema`, or
 * the connection's current schema): it never looks across the database's other schemas, which
 * other applications may create and drop meanwhile.
 */
export async function applyMigrations(
  db: Kysely<unknown>,
  dialect: DialectName,
  schema: string | undefined,
  migrations: readonly NumberedMigration[],
): Promise<string[]> {
  return dialect === 'postgres' ? migratePostgres(db, schema, migrations) : migrateSqlite(db, migrations);
}

async function migratePostgres(
  db: Kysely<unknown>,
  schema: string | undefined,
  migrations: readonly NumberedMigration[],
): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)}::bigint)`.execute(trx);
    if (schema) {
      // Checked before creating: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the
      // database even when the schema exists, which a least-privilege role lacks.
      const { rows } = await sql<{ found: number }>`select 1 as found from pg_namespace where nspname = ${schema}`.execute(trx);
      if (rows.length === 0) await sql`create schema ${sql.id(schema)}`.execute(trx);
    }
    return applyPending(trx, 'postgres', schema, migrations);
  });
}

async function migrateSqlite(db: Kysely<unknown>, migrations: readonly NumberedMigration[]): Promise<string[]> {
  // BEGIN IMMEDIATE takes the write lock before reading what is applied: a second migrator of
  // the same file waits rather than applying the same migration.
  return db.connection().execute(async (conn) => {
    await beginImmediate(conn);
    try {
      const applied = await applyPending(conn, 'sqlite', undefined, migrations);
      await sql`commit`.execute(conn);
      return applied;
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw error;
    }
  });
}

/**
 * Waits for the write lock without blocking the event loop: better-sqlite3 waits synchronously
 * (busy_timeout), which would stall a holder in the same process for the whole timeout. The
 * busy timeout is off while trying and restored afterwards.
 */
async function beginImmediate(conn: Kysely<unknown>, giveUpAfterMs = 60_000): Promise<void> {
  const { rows } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(conn);
  const busyTimeout = Number(rows[0]?.timeout ?? 0);
  await sql`pragma busy_timeout = 0`.execute(conn);
  try {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await sql`begin immediate`.execute(conn);
        return;
      } catch (error) {
        const busy = (error as { code?: unknown }).code === 'SQLITE_BUSY';
        if (!busy || Date.now() - started > giveUpAfterMs) throw error;
        await new Promise((r) => setTimeout(r, Math.min(20 * attempt, 250)));
      }
    }
  } finally {
    await sql.raw(`pragma busy_timeout = ${busyTimeout}`).execute(conn);
  }
}

/** The bookkeeping table in `schema` (or the connection's current schema). */
function migrationTable(schema: string | undefined) {
  return schema ? sql.table(`${schema}.${MIGRATION_TABLE}`) : sql.table(MIGRATION_TABLE);
}

/** Names of the migrations applied to `schema`. @throws when the bookkeeping table is missing */
export async function appliedMigrationNames(db: Kysely<unknown>, schema: string | undefined): Promise<Set<string>> {
  const { rows } = await sql<{ name: string }>`select name from ${migrationTable(schema)}`.execute(db);
  return new Set(rows.map((r) => r.name));
}

async function applyPending(
  db: Kysely<unknown>,
  dialect: DialectName,
  schema: string | undefined,
  migrations: readonly NumberedMigration[],
): Promise<string[]> {
  const table = migrationTable(schema);
  await sql`create table if not exists ${table} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(db);
  const done = await appliedMigrationNames(db, schema);
  const known = new Set(migrations.map((m) => m.name));
  const unknown = [...done].filter((name) => !known.has(name)).sort();
  if (unknown.length > 0) throw new UnknownMigrationsError(unknown);
  const applied: string[] = [];
  for (const migration of migrations) {
    if (done.has(migration.name)) continue;
    await migration.up(db, dialect);
    await sql`insert into ${table} (name, timestamp) values (${migration.name}, ${new Date().toISOString()})`.execute(db);
    applied.push(migration.name);
  }
  return applied;
}
