import type { Kysely } from 'kysely';
import { timeColumnType, type DialectName } from '../dialect';

/** Customers (created by registration or by the first event), the event log, entitlement snapshots. */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const time = timeColumnType(dialect);
  await db.schema
    .createTable('customers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('product_code', 'text', (c) => c.notNull())
    .addColumn('customer_identifier', 'text')
    .addColumn('customer_aws_account_id', 'text')
    .addColumn('license_arn', 'text')
    .addColumn('offer_id', 'text')
    .addColumn('agreement_id', 'text')
    .addColumn('free_trial', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_event_time', time)
    .addColumn('status_event_rank', 'integer')
    .addColumn('activated_at', time)
    .addColumn('final_window_opened_at', time)
    .addColumn('ended_at', time)
    .addColumn('email', 'text')
    .addColumn('company', 'text')
    .addColumn('contact_name', 'text')
    .addColumn('registered_at', time)
    .addColumn('onboarded_at', time)
    .addColumn('entitlements_fetched_at', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
  // One legacy customer per product (facts §1.5: the identifier is per buyer, one subscription per product).
  await db.schema
    .createIndex('customers_product_identifier')
    .on('customers')
    .columns(['product_code', 'customer_identifier'])
    .unique()
    .execute();
  // One customer per licence (concurrent agreements: a licence is one agreement's grant).
  await db.schema.createIndex('customers_license').on('customers').column('license_arn').unique().execute();
  await db.schema.createIndex('customers_account').on('customers').columns(['product_code', 'customer_aws_account_id']).execute();
  await db.schema.createIndex('customers_agreement').on('customers').column('agreement_id').execute();

  await db.schema
    .createTable('events')
    .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('dedupe_key', 'text', (c) => c.notNull().unique())
    .addColumn('secondary_key', 'text')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('kind', 'text')
    .addColumn('event_time', time)
    .addColumn('received_at', time, (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.references('customers.id'))
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_customer').on('events').columns(['customer_id', 'event_time']).execute();
  await db.schema.createIndex('events_secondary').on('events').column('secondary_key').execute();
  await db.schema.createIndex('events_outcome').on('events').columns(['outcome', 'received_at']).execute();

  await db.schema
    .createTable('entitlements')
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('value_type', 'text', (c) => c.notNull())
    .addColumn('integer_value', 'bigint')
    .addColumn('double_value', dialect === 'postgres' ? 'double precision' : 'real')
    .addColumn('boolean_value', 'integer')
    .addColumn('string_value', 'text')
    .addColumn('expiration_date', time)
    .addColumn('fetched_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('entitlements_pk', ['customer_id', 'dimension'])
    .execute();
}
