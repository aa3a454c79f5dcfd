import type { Kysely, Transaction } from 'kysely';
import { compiledStatement } from '../store/compiled-query';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';

type Db = Kysely<Database> | Transaction<Database>;

/** Name of the hourly emitter's progress row. */
export const EMITTER_PROGRESS = 'hourly-emitter';

/** Read by every usage write: compiled once. */
const lastCompletedHour = compiledStatement((db) =>
  db.selectFrom('metering_progress').select('last_completed_hour').where('name', '=', EMITTER_PROGRESS),
);

/**
 * The last hour the emitter has completed (sealed): every hour at or before it counts as sealed,
 * whether or not a bucket row exists for it (design §2: late usage goes to the current open hour).
 */
export async function readLastCompletedHour(db: Db): Promise<Date | null> {
  const row = (await lastCompletedHour(db)).rows[0];
  return row ? fromDbTime(row.last_completed_hour) : null;
}

export async function saveLastCompletedHour(db: Db, hour: Date, now: Date): Promise<void> {
  await db
    .insertInto('metering_progress')
    .values({ name: EMITTER_PROGRESS, last_completed_hour: toDbTime(hour), updated_at: toDbTime(now) })
    .onConflict((oc) => oc.column('name').doUpdateSet({ last_completed_hour: toDbTime(hour), updated_at: toDbTime(now) }))
    .execute();
}
