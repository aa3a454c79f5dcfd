import type { Kysely } from 'kysely';
import { timeColumnType, type DialectName } from '../dialect';

/**
 * What the seller's console needs (README "Console"):
 *  - `meter_buckets.aws_http_status`, `aws_operation`, `last_error_at`: the HTTP status, the
 *    operation (BatchMeterUsage, MeterUsage) and the time of the last call that failed the record,
 *    beside its `aws_request_id` (migration 0007): the support report AWS Seller Operations asks
 *    for (seed 004) names all of them.
 *  - indexes for its pages, so none reads a whole table: customers counted by (product, status);
 *    searched by e-mail, AWS account and external id alone (the existing indexes lead with the
 *    product); the last message per notification channel; units billed per hour, read from the
 *    index alone (state, hour, quantity) for the overview's 48-hour chart.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  await db.schema.alterTable('meter_buckets').addColumn('aws_http_status', 'integer').execute();
  await db.schema.alterTable('meter_buckets').addColumn('aws_operation', 'text').execute();
  await db.schema.alterTable('meter_buckets').addColumn('last_error_at', timeColumnType(dialect)).execute();
  await db.schema.createIndex('customers_product_status').on('customers').columns(['product_code', 'status']).execute();
  await db.schema.createIndex('customers_email').on('customers').column('email').execute();
  await db.schema.createIndex('customers_aws_account').on('customers').column('customer_aws_account_id').execute();
  await db.schema.createIndex('customers_external').on('customers').column('external_id').execute();
  await db.schema.createIndex('meter_buckets_billed').on('meter_buckets').columns(['state', 'hour', 'quantity']).execute();
  await db.schema.createIndex('events_channel_received').on('events').columns(['channel', 'received_at']).execute();
}
