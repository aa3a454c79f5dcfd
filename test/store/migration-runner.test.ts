import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import BetterSqlite3 from 'better-sqlite3';
import { Client, Pool } from 'pg';
import { openStore, type Store, type StoreConfig } from '../../src/store/database';
import { applyMigrations, UnknownMigrationsError } from '../../src/store/migration-runner';
import { migrations, type NumberedMigration } from '../../src/store/migrations';
import { describeDialects, type Dialect } from '../support/stores';

/**
 * The migration runner on a database nobody else migrated, on one that several instances
 * migrate at the same moment, on one an earlier version left as Kysely's migrator does, and on
 * one a newer version migrated.
 */
interface Place {
  config: StoreConfig;
  /** A raw connection for set-up outside the store. */
  raw(): Kysely<unknown>;
  dispose(): Promise<void>;
}

async function freshPlace(dialect: Dialect): Promise<Place> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mb-migrate-'));
    const path = join(dir, 'db.sqlite');
    const opened: Kysely<unknown>[] = [];
    return {
      config: { kind: 'sqlite', path },
      raw() {
        const k = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) });
        opened.push(k);
        return k;
      },
      async dispose() {
        for (const k of opened) await k.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = process.env.TEST_DATABASE_URL!;
  const schema = `m_${randomBytes(6).toString('hex')}`;
  const opened: Kysely<unknown>[] = [];
  return {
    // The schema does not exist yet: the runner creates it.
    config: { kind: 'postgres', url, schema, poolSize: 3 },
    raw() {
      const k = new Kysely<unknown>({
        dialect: new PostgresDialect({ pool: new Pool({ connectionString: url, max: 2, options: `-c search_path=${schema}` }) }),
      });
      opened.push(k);
      return k;
    },
    async dispose() {
      for (const k of opened) await k.destroy();
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

const names = migrations.map((m) => m.name);

describeDialects('migration runner on %s', (dialect) => {
  let place: Place;
  const stores: Store[] = [];
  const open = (): Store => {
    const s = openStore(place.config);
    stores.push(s);
    return s;
  };
  beforeEach(async () => {
    place = await freshPlace(dialect);
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await place.dispose();
  });

  it('applies every migration once, in order, and nothing the second time', async () => {
    const store = open();
    expect(await store.isReady()).toBe(false);
    expect((await store.migrate()).applied).toEqual(names);
    expect(await store.isReady()).toBe(true);
    expect((await store.migrate()).applied).toEqual([]);
    const { rows } = await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name`.execute(
      store.db,
    );
    expect(rows.map((r) => r.name)).toEqual(names);
    for (const r of rows) expect(new Date(r.timestamp).toISOString()).toBe(r.timestamp);
  });

  it('several instances migrating at once apply each migration exactly once', async () => {
    const instances = [open(), open(), open(), open()];
    const results = await Promise.all(instances.map((s) => s.migrate()));
    const appliedEverywhere = results.flatMap((r) => r.applied).sort();
    expect(appliedEverywhere).toEqual([...names].sort());
    for (const s of instances) expect(await s.isReady()).toBe(true);
  });

  it('takes over a database an earlier version migrated with Kysely’s migrator', async () => {
    // What the earlier version left after applying the first three migrations through Kysely's
    // Migrator: its two bookkeeping tables, in the exact shape Kysely 0.28 creates them. (Built
    // here rather than by running that migrator, which reads every schema of the database and
    // fails while other suites create and drop theirs.)
    const raw = place.raw();
    if (place.config.kind === 'postgres') await sql`create schema ${sql.id(place.config.schema!)}`.execute(raw);
    await raw.schema
      .createTable('kysely_migration')
      .addColumn('name', 'varchar(255)', (c) => c.notNull().primaryKey())
      .addColumn('timestamp', 'varchar(255)', (c) => c.notNull())
      .execute();
    await raw.schema
      .createTable('kysely_migration_lock')
      .addColumn('id', 'varchar(255)', (c) => c.notNull().primaryKey())
      .addColumn('is_locked', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`insert into kysely_migration_lock (id, is_locked) values ('migration_lock', 0)`.execute(raw);
    for (const m of migrations.slice(0, 3)) {
      await m.up(raw, dialect);
      await sql`insert into kysely_migration (name, timestamp) values (${m.name}, ${new Date().toISOString()})`.execute(raw);
    }
    const store = open();
    expect((await store.migrate()).applied).toEqual(names.slice(3));
    expect(await store.isReady()).toBe(true);
  });

  it('refuses a database a newer version migrated, naming what it does not know', async () => {
    const store = open();
    await store.migrate();
    await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', ${new Date().toISOString()})`.execute(
      store.db,
    );
    await expect(store.migrate()).rejects.toThrow(UnknownMigrationsError);
    await expect(store.migrate()).rejects.toThrow(/9999-from-the-future/);
  });

  it('a migration that fails leaves nothing of the run behind, and the next run applies it all', async () => {
    const store = open();
    let failing = true;
    const withBroken: NumberedMigration[] = [
      ...migrations,
      {
        name: '9000-breaks-halfway',
        async up(db) {
          await db.schema.createTable('half_made').addColumn('id', 'integer').execute();
          if (failing) throw new Error('disk full');
        },
      },
    ];
    const db = store.db as unknown as Kysely<unknown>;
    const schema = place.config.kind === 'postgres' ? place.config.schema : undefined;
    await expect(applyMigrations(db, dialect, schema, withBroken)).rejects.toThrow('disk full');
    // Nothing was applied: not the good migrations before it, not the table it made.
    expect(await store.isReady()).toBe(false);
    failing = false;
    expect(await applyMigrations(db, dialect, schema, withBroken)).toEqual([...names, '9000-breaks-halfway']);
    await sql`select count(*) from half_made`.execute(db);
  });

  it('needs no contiguous numbers: a migration numbered below one already applied (a branch merged later) is applied next time', async () => {
    const store = open();
    const db = store.db as unknown as Kysely<unknown>;
    const schema = place.config.kind === 'postgres' ? place.config.schema : undefined;
    // A version without 0010 (its branch not merged yet) migrates a database; then 0010 arrives.
    const skipped = names.indexOf('0010-console');
    expect(skipped).toBeGreaterThan(0);
    expect(skipped).toBeLessThan(names.length - 1);
    const without = migrations.filter((_, i) => i !== skipped);
    expect(await applyMigrations(db, dialect, schema, without)).toEqual(names.filter((_, i) => i !== skipped));
    expect(await applyMigrations(db, dialect, schema, migrations)).toEqual(['0010-console']);
    expect(await applyMigrations(db, dialect, schema, migrations)).toEqual([]);
  });
});
