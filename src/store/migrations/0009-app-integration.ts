import { sql, type CreateTableBuilder, type Kysely } from 'kysely';
import { timeColumnType, type DialectName } from '../dialect';

/**
 * What the seller's own application plugs into (README "Integrate your app"):
 *  - `customers.external_id`: the app's tenant id, unique per product (NULLs repeat freely on both
 *    engines); `customers.personal_data_erased_at`: when the buyer's onboarding fields were erased.
 *  - `customer_changes`: the change feed, one row per customer version with the whole customer as
 *    of that version. Its cursor is (`txid`, `seq`). On PostgreSQL `txid` is the writing
 *    transaction's id (`pg_current_xact_id()`) and readers only return rows of transactions older
 *    than the oldest one still running (`pg_snapshot_xmin`), so a row committed late can never land
 *    behind a cursor already handed out (a sequence alone cannot promise that: sequence order is not
 *    commit order). SQLite has one writer at a time, so `seq` order is commit order and `txid` is 0.
 *  - `webhook_endpoints`, `webhook_events` (the outbox, written in the transaction of the change that
 *    causes the event), `webhook_deliveries` (one per event and endpoint, claimed with a lease),
 *    `webhook_attempts` (each HTTP attempt: status, latency, error).
 *  - `handoff_tokens`: sign-in hand-off tokens by `jti`, so that each is redeemed once.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const time = timeColumnType(dialect);
  const pg = dialect === 'postgres';

  await db.schema.alterTable('customers').addColumn('external_id', 'text').execute();
  await db.schema.alterTable('customers').addColumn('personal_data_erased_at', time).execute();
  await db.schema.createIndex('customers_external_id').on('customers').columns(['product_code', 'external_id']).unique().execute();
  await db.schema.createIndex('customers_created').on('customers').columns(['created_at', 'id']).execute();

  await db.schema
    .createTable('customer_changes')
    .$call(serialKey(pg))
    .addColumn('txid', 'bigint', (c) => (pg ? c.notNull().defaultTo(sql`(pg_current_xact_id()::text::bigint)`) : c.notNull().defaultTo(0)))
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('change', 'text', (c) => c.notNull())
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('customer_version', 'integer', (c) => c.notNull())
    .addColumn('customer', 'text', (c) => c.notNull())
    .addColumn('changed_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('customer_changes_cursor').on('customer_changes').columns(['txid', 'seq']).execute();
  await db.schema.createIndex('customer_changes_customer').on('customer_changes').column('customer_id').execute();

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('event_types', 'text')
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('secret', 'text')
    .addColumn('previous_secret', 'text')
    .addColumn('previous_secret_expires_at', time)
    .addColumn('failing_since', time)
    .addColumn('last_success_at', time)
    .addColumn('disabled_at', time)
    .addColumn('disabled_reason', 'text')
    .addColumn('deleted_at', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('webhook_events')
    .$call(serialKey(pg))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('ordering_key', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('occurred_at', time, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_events_customer').on('webhook_events').column('customer_id').execute();

  await db.schema
    .createTable('webhook_deliveries')
    .$call(serialKey(pg))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('event_id', 'text', (c) => c.notNull().references('webhook_events.id'))
    .addColumn('event_seq', 'bigint', (c) => c.notNull())
    .addColumn('endpoint_id', 'text', (c) => c.notNull().references('webhook_endpoints.id'))
    .addColumn('ordering_key', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', time, (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', time)
    .addColumn('last_status_code', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('redelivery_of', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('delivered_at', time)
    .execute();
  // The claim reads due rows by state; the head-of-line check reads earlier rows of one endpoint and key.
  await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  await db.schema
    .createIndex('webhook_deliveries_order')
    .on('webhook_deliveries')
    .columns(['endpoint_id', 'ordering_key', 'event_seq'])
    .execute();
  await db.schema.createIndex('webhook_deliveries_event').on('webhook_deliveries').column('event_id').execute();

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('started_at', time, (c) => c.notNull())
    .addColumn('status_code', 'integer')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('instance', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
    .execute();

  await db.schema
    .createTable('handoff_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('issued_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('redeemed_at', time)
    .execute();
  await db.schema.createIndex('handoff_tokens_expiry').on('handoff_tokens').column('expires_at').execute();
}

/** An autoincrementing integer primary key `seq` (PostgreSQL `bigserial`, SQLite `integer autoincrement`). */
function serialKey(pg: boolean) {
  return <T extends string>(t: CreateTableBuilder<T, never>) =>
    pg ? t.addColumn('seq', 'bigserial', (c) => c.primaryKey()) : t.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
}
