import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { openStore, type Store } from '../../src/store/database';
import { announceSkip } from './skip-notice';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The dialects a store suite runs on: SQLite always; PostgreSQL when TEST_DATABASE_URL is set
 * (CI sets it). Without it the PostgreSQL cases are skipped, and the run says so at the end.
 */
export function dialects(suite: string): Dialect[] {
  if (process.env.TEST_DATABASE_URL) return ['sqlite', 'postgres'];
  announceSkip(`PostgreSQL cases of "${suite}" did not run: TEST_DATABASE_URL is not set (CI sets it; see README).`);
  return ['sqlite'];
}

export interface TestStore {
  readonly store: Store;
  dispose(): Promise<void>;
}

/**
 * A fresh, migrated database: a new SQLite file, or a new PostgreSQL schema in the test
 * database (dropped afterwards), so suites never see each other's rows.
 */
export async function openTestStore(dialect: Dialect): Promise<TestStore> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mb-store-'));
    const store = openStore({ kind: 'sqlite', path: join(dir, 'test.sqlite') });
    await store.migrate();
    return {
      store,
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
    async dispose() {
      await store.close();
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}
