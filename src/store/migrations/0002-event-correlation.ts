import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect';

/**
 * Event correlation: agreement events carry no product and no licence (facts §5.4), so they are
 * kept by agreement id until the customer they belong to is known. The subscription state
 * machine's ordering bookkeeping is stored with the customer so restarts keep order-safety.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('events').addColumn('agreement_id', 'text').execute();
  await db.schema.createIndex('events_agreement').on('events').columns(['agreement_id', 'outcome']).execute();
  await db.schema.alterTable('customers').addColumn('subscription_bookkeeping', 'text').execute();
}
