import { sql, type Kysely } from 'kysely';

/**
 * `held` becomes a state of its own (src/metering/bucket-lifecycle.ts). Until now a record that
 * could not be sent yet (an overage dimension without a usable entitlement, a customer without a
 * metering identity) was `sealed` with its quantity or identity still NULL and the reason in
 * `last_error`.
 *  - `meter_buckets.hold_reason`: what a held record waits for.
 *  - `meter_buckets.aws_request_id`: AWS's request id of the last call that carried the record.
 *  - Existing rows: a `sealed` row that lacks its quantity, or (BatchMeterUsage) its identity, is
 *    exactly such a record: it becomes `held`, its `last_error` text moves to `hold_reason`. A
 *    `sending` row that lacks them was being completed under a claim when the old release stopped:
 *    it becomes `held` too, its claim dropped (the new emitter completes held records unclaimed).
 *    Nothing else changes: quantities and identities already frozen stay as they are.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('meter_buckets').addColumn('hold_reason', 'text').execute();
  await db.schema.alterTable('meter_buckets').addColumn('aws_request_id', 'text').execute();
  await sql`
    update meter_buckets
       set state = 'held',
           hold_reason = coalesce(last_error, 'waiting for what the record lacks (its quantity or its metering identity)'),
           last_error = null,
           lease_owner = null,
           lease_until = null,
           next_attempt_at = coalesce(next_attempt_at, updated_at)
     where state in ('sealed', 'sending')
       and (quantity is null or (api = 'batch' and identity_kind is null))
  `.execute(db);
}
