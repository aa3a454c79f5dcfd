import { sql, type Kysely } from 'kysely';
import type { Clock } from '../platform/clock';
import { fromDbTime, toDbTime, type DialectName } from './dialect';
import type { Database } from './schema';

/** A lease as held: by whom, until when, and its fencing number. */
export interface LeaseState {
  readonly holder: string;
  readonly expiresAt: Date;
  readonly fencing: number;
}

/**
 * Named leases in the store, so that one instance at a time runs a given piece of work. Each call
 * is one conditional statement, safe under any interleaving of instances:
 *  - `acquire` takes the lease if it is free or expired, or extends it if the caller holds it;
 *  - `renew` extends it only while the caller still holds it and it has not expired;
 *  - `release` gives it up at once (a stopping instance), so another can take over without
 *    waiting for the expiry.
 * PostgreSQL measures expiry with the database server's clock (`clock_timestamp()`), so clock skew
 * between instances cannot make two of them believe they hold it; SQLite (one instance) uses the
 * given real-time clock.
 */
export class LeaseRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
    /** Real time (not a test's business clock), SQLite only. */
    private readonly realClock: Clock,
  ) {}

  /** Takes or extends the lease for `ttlMs`; true when `holder` holds it afterwards. */
  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.round(ttlMs));
    if (this.dialect === 'postgres') {
      const r = await sql<{ holder: string }>`
        insert into leases (name, holder, expires_at, acquired_at, fencing)
        values (${name}, ${holder}, clock_timestamp() + ${ttl}::integer * interval '1 millisecond', clock_timestamp(), 1)
        on conflict (name) do update set
          holder = excluded.holder,
          expires_at = excluded.expires_at,
          acquired_at = case when leases.holder = excluded.holder then leases.acquired_at else excluded.acquired_at end,
          fencing = case when leases.holder = excluded.holder then leases.fencing else leases.fencing + 1 end
        where leases.holder = excluded.holder or leases.expires_at < clock_timestamp()
        returning holder`.execute(this.db);
      return r.rows.length === 1 && r.rows[0]!.holder === holder;
    }
    const now = this.realClock.now();
    const r = await sql<{ holder: string }>`
      insert into leases (name, holder, expires_at, acquired_at, fencing)
      values (${name}, ${holder}, ${toDbTime(new Date(now.getTime() + ttl))}, ${toDbTime(now)}, 1)
      on conflict (name) do update set
        holder = excluded.holder,
        expires_at = excluded.expires_at,
        acquired_at = case when leases.holder = excluded.holder then leases.acquired_at else excluded.acquired_at end,
        fencing = case when leases.holder = excluded.holder then leases.fencing else leases.fencing + 1 end
      where leases.holder = excluded.holder or leases.expires_at < ${toDbTime(now)}
      returning holder`.execute(this.db);
    return r.rows.length === 1 && r.rows[0]!.holder === holder;
  }

  /** Extends the lease only while `holder` still holds it, unexpired; false when it was lost. */
  async renew(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const ttl = Math.max(1, Math.round(ttlMs));
    if (this.dialect === 'postgres') {
      const r = await sql`
        update leases set expires_at = clock_timestamp() + ${ttl}::integer * interval '1 millisecond'
        where name = ${name} and holder = ${holder} and expires_at >= clock_timestamp()`.execute(this.db);
      return Number(r.numAffectedRows ?? 0) === 1;
    }
    const now = this.realClock.now();
    const r = await this.db
      .updateTable('leases')
      .set({ expires_at: toDbTime(new Date(now.getTime() + ttl)) })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .where('expires_at', '>=', toDbTime(now))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Gives the lease up if `holder` holds it. */
  async release(name: string, holder: string): Promise<void> {
    await this.db
      .updateTable('leases')
      .set({ expires_at: toDbTime(new Date(0)) })
      .where('name', '=', name)
      .where('holder', '=', holder)
      .execute();
  }

  /** Who holds the lease, until when (for status pages and tests); undefined if never taken. */
  async current(name: string): Promise<LeaseState | undefined> {
    const row = await this.db.selectFrom('leases').select(['holder', 'expires_at', 'fencing']).where('name', '=', name).executeTakeFirst();
    return row ? { holder: row.holder, expiresAt: fromDbTime(row.expires_at), fencing: row.fencing } : undefined;
  }
}
