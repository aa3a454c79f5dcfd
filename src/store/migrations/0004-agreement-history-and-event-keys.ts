import { sql, type Kysely } from 'kysely';
import { timeColumnType, type DialectName } from '../dialect';

/**
 * Agreement facts, newest wins (facts §5.4: Created/Amended carry offer, status and intent; a
 * renewal or replacement brings a new agreement id). One row per (customer, agreement), each field
 * stamped with the event time that set it, so that any delivery order yields the same values; the
 * customer's `agreement_id`/`offer_id`/`agreement_status`/`agreement_intent` are derived from them.
 * The licence follows the newest grant; the ones it replaced are kept so that messages naming them still match.
 * The Manufacturer and Proposer copies of one EventBridge event share `secondary_key`: it becomes
 * unique, so two copies handled at once cannot both be applied.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const time = timeColumnType(dialect);
  await db.schema.alterTable('customers').addColumn('agreement_status', 'text').execute();
  await db.schema.alterTable('customers').addColumn('agreement_intent', 'text').execute();
  await db.schema
    .createTable('customer_agreements')
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    // '' holds facts of events that name no agreement (SNS offer-identifier).
    .addColumn('agreement_id', 'text', (c) => c.notNull())
    .addColumn('current_at', time)
    .addColumn('offer_id', 'text')
    .addColumn('offer_at', time)
    .addColumn('status', 'text')
    .addColumn('status_at', time)
    .addColumn('intent', 'text')
    .addColumn('intent_at', time)
    .addPrimaryKeyConstraint('customer_agreements_pk', ['customer_id', 'agreement_id'])
    .execute();
  await db.schema.createIndex('customer_agreements_agreement').on('customer_agreements').column('agreement_id').execute();

  // Every licence a customer has held: a message naming a replaced licence still finds its customer.
  await db.schema
    .createTable('customer_licences')
    .addColumn('license_arn', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .execute();
  await sql`insert into customer_licences (license_arn, customer_id) select license_arn, id from customers where license_arn is not null`.execute(
    db,
  );

  // Copies recorded twice before the key was unique: keep the first, so the unique index can be built.
  await sql`update events set secondary_key = null where secondary_key is not null and id not in (select min(id) from events where secondary_key is not null group by secondary_key)`.execute(
    db,
  );
  await db.schema.dropIndex('events_secondary').execute();
  await db.schema.createIndex('events_secondary_unique').on('events').column('secondary_key').unique().execute();
}
