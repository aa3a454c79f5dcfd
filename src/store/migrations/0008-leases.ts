import type { Kysely } from 'kysely';
import type { DialectName } from '../dialect';
import { timeColumnType } from '../dialect';

/**
 * Named leases: one holder at a time for work that must not run on two instances at once (the
 * metering sender, which spends one AWS quota for the whole account; the entitlement
 * reconciliation). `fencing` grows each time the lease changes hands.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const time = timeColumnType(dialect);
  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('acquired_at', time, (c) => c.notNull())
    .addColumn('fencing', 'integer', (c) => c.notNull())
    .execute();
}
