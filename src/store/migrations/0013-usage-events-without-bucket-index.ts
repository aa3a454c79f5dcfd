import type { Kysely } from 'kysely';

/**
 * Drops the index of `usage_events.bucket_id`. No statement reads usage rows by their bucket (the
 * ledger finds them by customer and idempotency key, the audit by customer), and a bucket is never
 * deleted, so the foreign key never looks its rows up either; yet every usage row paid for a
 * random insert into it: about a fifth of a usage row's cost on SQLite (docs/performance.md).
 * Should a query by bucket be needed, it adds the index back in a migration of its own.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_events_bucket').ifExists().execute();
}
