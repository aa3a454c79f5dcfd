import type { Kysely } from 'kysely';

/**
 * Indexes for the two lookups that grow with the number of buyers:
 *  - the emitter claims due buckets oldest hour first, a few hundred at a time: with (state, hour,
 *    id) each claim reads only the rows it takes, in order, instead of walking past every bucket
 *    already accepted;
 *  - usage may name its customer by CustomerIdentifier alone (it is per buyer across products,
 *    facts §1.5), which the (product_code, customer_identifier) index cannot serve.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('meter_buckets_claim').on('meter_buckets').columns(['state', 'hour', 'id']).execute();
  await db.schema.createIndex('customers_identifier').on('customers').column('customer_identifier').execute();
}
