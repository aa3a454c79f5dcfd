import type { Kysely } from 'kysely';
import { timeColumnType, type DialectName } from '../dialect';

/**
 * Money-path additions (design §2, §3):
 *  - `meter_buckets.record_timestamp`: the record's Timestamp, frozen at seal. The hour start, except
 *    in the activation hour, where it is the activation time (facts §1.6: "Make sure the timestamp
 *    value is not before the start of the software usage").
 *  - `meter_buckets.meter_usage_slot`: `product|dimension|hour` for MeterUsage buckets, unique, so two
 *    records for one product/dimension/hour can never exist (MeterUsage carries no customer, facts §1.7).
 *    Older rows keep NULL, which a unique index allows any number of times.
 *  - `metering_entitlement_usage`: per customer, dimension and entitlement period, how much usage was
 *    already counted against the entitled quantity (cumulative overage bills only what lies above it).
 *  - `metering_health`: when the current run of MeterUsage failures began (the 2-hour fail policy
 *    must survive a restart).
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const time = timeColumnType(dialect);
  await db.schema.alterTable('meter_buckets').addColumn('record_timestamp', time).execute();
  await db.schema.alterTable('meter_buckets').addColumn('meter_usage_slot', 'text').execute();
  await db.schema.createIndex('meter_buckets_meter_usage_slot').on('meter_buckets').column('meter_usage_slot').unique().execute();

  await db.schema
    .createTable('metering_entitlement_usage')
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('dimension', 'text', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('metering_entitlement_usage_pk', ['customer_id', 'dimension', 'period'])
    .execute();

  await db.schema
    .createTable('metering_health')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('failing_since', time)
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();
}
