import type { Kysely } from 'kysely';
import { timeColumnType, type DialectName } from '../dialect';

/**
 * The money path (design §2, §3): the usage ledger, one bucket per (customer, dimension, hour),
 * the emitter's durable progress. Claiming work needs no lease table: every state change is a
 * conditional update, and PostgreSQL claims with `FOR UPDATE SKIP LOCKED` plus an expiring lease column.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const time = timeColumnType(dialect);

  // One row per hour bucket. The quantity, allocations and identity are written once, when the
  // bucket is sealed, and never change afterwards: every resend is byte-identical (facts §1.6).
  await db.schema
    .createTable('meter_buckets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('product_code', 'text', (c) => c.notNull())
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('hour', time, (c) => c.notNull())
    .addColumn('api', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('aggregate', 'text', (c) => c.notNull())
    .addColumn('usage_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('heartbeat', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('quantity', 'bigint')
    .addColumn('allocations', 'text')
    .addColumn('identity_kind', 'text')
    .addColumn('customer_identifier', 'text')
    .addColumn('customer_aws_account_id', 'text')
    .addColumn('license_arn', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('first_attempt_at', time)
    .addColumn('last_attempt_at', time)
    .addColumn('next_attempt_at', time)
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', time)
    .addColumn('metering_record_id', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('sealed_at', time)
    .addColumn('completed_at', time)
    .execute();
  await db.schema.createIndex('meter_buckets_key').on('meter_buckets').columns(['customer_id', 'dimension', 'hour']).unique().execute();
  await db.schema.createIndex('meter_buckets_due').on('meter_buckets').columns(['state', 'next_attempt_at', 'hour']).execute();
  await db.schema.createIndex('meter_buckets_hour').on('meter_buckets').columns(['hour', 'id']).execute();

  // The SaaS app's reports, unique per (customer, idempotency key); kept for audit and replays.
  await db.schema
    .createTable('usage_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('quantity', 'bigint', (c) => c.notNull())
    .addColumn('distinct_id', 'text')
    .addColumn('tags', 'text')
    .addColumn('usage_time', time, (c) => c.notNull())
    .addColumn('bucket_id', 'text', (c) => c.notNull().references('meter_buckets.id'))
    .addColumn('bucket_hour', time, (c) => c.notNull())
    .addColumn('rolled_forward', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('received_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('usage_events_key').on('usage_events').columns(['customer_id', 'idempotency_key']).unique().execute();
  await db.schema.createIndex('usage_events_bucket').on('usage_events').column('bucket_id').execute();

  // Final-metering windows handled by the emitter (design §3.5): once flushed, usage is refused.
  await db.schema
    .createTable('metering_final_flushes')
    .addColumn('customer_id', 'text', (c) => c.primaryKey().references('customers.id'))
    .addColumn('window_opened_at', time, (c) => c.notNull())
    .addColumn('flushed_at', time, (c) => c.notNull())
    .execute();

  // Durable progress of named jobs (the hourly emitter's last completed hour).
  await db.schema
    .createTable('metering_progress')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('last_completed_hour', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();
}
