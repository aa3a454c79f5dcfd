import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { CustomerRepository } from '../src/customers/customer.repository';
import type { ProductConfig } from '../src/products/product-config';
import { openStore, type Store } from '../src/store/database';

export const benchProduct: ProductConfig = {
  code: 'bench-product',
  name: 'Bench',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [
    { name: 'api_calls', aggregation: 'sum', heartbeat: false, metered: true },
    { name: 'storage', aggregation: 'max', heartbeat: false, metered: true },
  ],
};

/** A fresh, migrated SQLite file store. */
export async function benchStore(): Promise<Store> {
  const store = openStore({ kind: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'mb-bench-')), 'bench.sqlite') });
  await store.migrate();
  return store;
}

/**
 * A fresh, migrated PostgreSQL store in a schema of its own (TEST_DATABASE_URL), or undefined
 * without one; `drop()` closes it and drops the schema, touching nobody else's tables.
 */
export async function benchPostgresStore(): Promise<{ store: Store; drop: () => Promise<void> } | undefined> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return undefined;
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = async (text: string) => {
    const c = new Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  await admin(`create schema ${schema}`);
  const store = openStore({ kind: 'postgres', url, schema });
  await store.migrate();
  return {
    store,
    drop: async () => {
      await store.close();
      await admin(`drop schema ${schema} cascade`);
    },
  };
}

/** `n` active customers with the given CustomerIdentifiers (activated at `at`). */
export async function activeCustomers(store: Store, identifiers: string[], at: Date): Promise<string[]> {
  const repo = new CustomerRepository(store.db);
  const ids: string[] = [];
  for (const customerIdentifier of identifiers) {
    const c = await repo.upsert({ productCode: benchProduct.code, customerIdentifier }, at);
    await store.db
      .transaction()
      .execute((tx) =>
        repo.saveSubscriptionState(
          tx,
          c.id,
          { status: 'active', statusEventTime: at, activatedAt: at, finalWindowOpenedAt: null, endedAt: null },
          at,
        ),
      );
    ids.push(c.id);
  }
  return ids;
}
