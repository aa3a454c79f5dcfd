import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { openStore, type Store } from '../src/store/database';

/** The PostgreSQL a bench uses when told nothing else. */
export const BENCH_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh, migrated store for one bench: a SQLite file in a temporary folder, or a PostgreSQL
 * schema of its own (created here; nobody else's tables are touched). `dispose()` closes it and
 * removes the file or drops the schema.
 */
export async function openBenchStore(
  dialect: 'sqlite' | 'postgres',
  pgUrl = BENCH_POSTGRES_URL,
): Promise<{ store: Store; dispose: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mb-bench-'));
    const store = openStore({ kind: 'sqlite', path: join(dir, 'bench.sqlite') });
    await store.migrate();
    return {
      store,
      dispose: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  await adminQuery(pgUrl, `create schema ${schema}`);
  const store = openStore({ kind: 'postgres', url: pgUrl, schema });
  await store.migrate();
  return {
    store,
    dispose: async () => {
      await store.close();
      await adminQuery(pgUrl, `drop schema ${schema} cascade`);
    },
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}
