import type { Kysely } from 'kysely';

/**
 * `customers.renews_agreement_id`: the agreement a customer's agreement renews or replaces, as its
 * `Purchase Agreement Created` named it (facts §5.4). A renewal learnt before any event of the
 * agreement it renews cannot be linked to that agreement's customer yet; the link is made when that
 * customer becomes known, found by this column (indexed). Numbers 0012 and 0013 belong to another
 * change; the runner applies by name, not by contiguity.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('customers').addColumn('renews_agreement_id', 'text').execute();
  await db.schema.createIndex('customers_renews_agreement').on('customers').column('renews_agreement_id').execute();
}
