import type { Kysely, Transaction } from 'kysely';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';

type Db = Kysely<Database> | Transaction<Database>;

/** What an entitlement is counted per: the customer, the dimension and the entitlement period. */
export interface EntitlementPeriodKey {
  readonly customerId: string;
  readonly dimension: string;
  /** The entitlement's expiration date (ISO-8601): a renewal starts a new period. `open-ended` without one. */
  readonly period: string;
}

/**
 * Adds `amount` to the usage counted against an entitlement period and returns what was counted
 * BEFORE it. Call it in the transaction that freezes the bucket's quantity: if that write does not
 * commit, neither does the count, so a crash or a second seal can never count an hour twice.
 * The UPDATE takes the row lock (PostgreSQL), so concurrent seals of one period are serialized.
 */
export async function countAgainstEntitlement(tx: Db, key: EntitlementPeriodKey, amount: number, now: Date): Promise<number> {
  const at = toDbTime(now);
  await tx
    .insertInto('metering_entitlement_usage')
    .values({ customer_id: key.customerId, dimension: key.dimension, period: key.period, used: 0, updated_at: at })
    .onConflict((oc) => oc.columns(['customer_id', 'dimension', 'period']).doNothing())
    .execute();
  const row = await tx
    .updateTable('metering_entitlement_usage')
    .set((eb) => ({ used: eb('used', '+', amount), updated_at: at }))
    .where('customer_id', '=', key.customerId)
    .where('dimension', '=', key.dimension)
    .where('period', '=', key.period)
    .returning('used')
    .executeTakeFirstOrThrow();
  return Number(row.used) - amount;
}

const METER_USAGE_HEALTH = 'meter-usage';

/** When the current run of MeterUsage failures began (null: healthy), as stored. */
export async function readMeterUsageFailingSince(db: Db): Promise<Date | null> {
  const row = await db.selectFrom('metering_health').select('failing_since').where('name', '=', METER_USAGE_HEALTH).executeTakeFirst();
  return row?.failing_since ? fromDbTime(row.failing_since) : null;
}

/** Records a failed MeterUsage call: starts the failure clock unless it is already running. */
export async function markMeterUsageFailing(db: Db, now: Date): Promise<void> {
  const at = toDbTime(now);
  await db
    .insertInto('metering_health')
    .values({ name: METER_USAGE_HEALTH, failing_since: at, updated_at: at })
    .onConflict((oc) =>
      oc.column('name').doUpdateSet((eb) => ({
        failing_since: eb.fn.coalesce('metering_health.failing_since', eb.ref('excluded.failing_since')),
        updated_at: at,
      })),
    )
    .execute();
}

/** Records a successful MeterUsage call: the failure clock stops. */
export async function markMeterUsageHealthy(db: Db, now: Date): Promise<void> {
  await db
    .updateTable('metering_health')
    .set({ failing_since: null, updated_at: toDbTime(now) })
    .where('name', '=', METER_USAGE_HEALTH)
    .execute();
}
