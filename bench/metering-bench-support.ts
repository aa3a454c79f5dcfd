import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** Active customers of `product` with the given CustomerIdentifiers (activated at `at`). */
export async function activeCustomers(store: Store, identifiers: string[], at: Date, product = benchProduct): Promise<string[]> {
  const repo = new CustomerRepository(store.db);
  const ids: string[] = [];
  for (const customerIdentifier of identifiers) {
    const c = await repo.upsert({ productCode: product.code, customerIdentifier }, at);
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
