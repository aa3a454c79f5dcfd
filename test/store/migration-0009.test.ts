import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { Client } from 'pg';
import { openStore, type Store } from '../../src/store/database';
import { isUniqueViolation } from '../../src/store/dialect';
import { applyMigrations } from '../../src/store/migration-runner';
import { migrations } from '../../src/store/migrations';
import { describeDialects } from '../support/stores';

const at = '2026-12-01T10:00:00.000Z';

/** Migration 0009 on a database that already holds customers, on both engines. */
describeDialects('migration 0009 on %s', (dialect) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let schema: string | undefined;
  beforeEach(async () => {
    if (dialect === 'sqlite') {
      const dir = mkdtempSync(join(tmpdir(), 'mb-0009-'));
      schema = undefined;
      store = openStore({ kind: 'sqlite', path: join(dir, 'db.sqlite') });
      cleanup = async () => rmSync(dir, { recursive: true, force: true });
    } else {
      const url = process.env.TEST_DATABASE_URL!;
      schema = `m9_${randomBytes(5).toString('hex')}`;
      store = openStore({ kind: 'postgres', url, schema, poolSize: 3 });
      cleanup = async () => {
        const c = new Client({ connectionString: url });
        await c.connect();
        await c.query(`drop schema if exists ${schema} cascade`);
        await c.end();
      };
    }
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });

  const customer = (id: string, product: string) =>
    sql`insert into customers (id, product_code, customer_identifier, free_trial, status, created_at, updated_at, version, email)
        values (${id}, ${product}, ${`ci-${id}`}, 0, 'active', ${at}, ${at}, 3, ${`${id}@buyer.example`})`;

  it('keeps existing customers as they were, adds the new tables, and enforces one external id per product', async () => {
    const before = migrations.filter((m) => m.name < '0009');
    await applyMigrations(store.db as never, dialect, schema, before);
    await customer('a', 'p1').execute(store.db);
    await customer('b', 'p1').execute(store.db);
    await customer('c', 'p2').execute(store.db);
    expect(await applyMigrations(store.db as never, dialect, schema, migrations)).toEqual(
      migrations.filter((m) => m.name >= '0009').map((m) => m.name),
    );

    const rows = await store.db.selectFrom('customers').selectAll().orderBy('id').execute();
    expect(rows.map((r) => [r.id, r.email, r.version, r.external_id, r.personal_data_erased_at])).toEqual([
      ['a', 'a@buyer.example', 3, null, null],
      ['b', 'b@buyer.example', 3, null, null],
      ['c', 'c@buyer.example', 3, null, null],
    ]);
    for (const table of [
      'customer_changes',
      'webhook_endpoints',
      'webhook_events',
      'webhook_deliveries',
      'webhook_attempts',
      'handoff_tokens',
    ] as const)
      expect(await store.db.selectFrom(table).selectAll().execute()).toEqual([]);

    await store.db.updateTable('customers').set({ external_id: 't-1' }).where('id', '=', 'a').execute();
    await store.db.updateTable('customers').set({ external_id: 't-1' }).where('id', '=', 'c').execute();
    const clash = await store.db
      .updateTable('customers')
      .set({ external_id: 't-1' })
      .where('id', '=', 'b')
      .execute()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isUniqueViolation(clash)).toBe(true);

    // The feed's cursor: the writing transaction's id on PostgreSQL, 0 on SQLite; seq grows.
    await store.db.transaction().execute(async (tx) => {
      for (const id of ['a', 'b'])
        await tx
          .insertInto('customer_changes')
          .values({ customer_id: id, change: 'updated', deleted: 0, customer_version: 3, customer: '{}', changed_at: at })
          .execute();
    });
    const changes = await store.db.selectFrom('customer_changes').select(['txid', 'seq']).orderBy('seq').execute();
    expect(Number(changes[1]!.seq)).toBeGreaterThan(Number(changes[0]!.seq));
    expect(Number(changes[0]!.txid)).toBe(Number(changes[1]!.txid));
    if (dialect === 'postgres') expect(Number(changes[0]!.txid)).toBeGreaterThan(0);
    else expect(Number(changes[0]!.txid)).toBe(0);
  });
});
