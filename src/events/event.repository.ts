import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { fromDbTimeOrNull, toDbTime, toDbTimeOrNull } from '../store/dialect';
import type { Database, EventsTable } from '../store/schema';

type Db = Kysely<Database> | Transaction<Database>;

/** What became of a notification. `unmatched`: kept until its customer is known (agreement events). */
export type EventOutcome = 'applied' | 'stale' | 'duplicate' | 'rejected' | 'ignored' | 'unmatched';

export interface EventRecord {
  readonly dedupeKey: string;
  readonly secondaryKey?: string | null;
  readonly channel: string;
  readonly kind?: string | null;
  readonly eventTime?: Date | null;
  readonly customerId?: string | null;
  readonly agreementId?: string | null;
  readonly outcome: EventOutcome;
  readonly reason?: string | null;
  readonly payload: unknown;
}

/** An outcome to write over an event's row. */
export interface EventOutcomeWrite {
  readonly dedupeKey: string;
  readonly outcome: EventOutcome;
  readonly reason: string | null;
  readonly customerId: string | null;
}

export interface StoredEvent extends EventRecord {
  readonly id: number;
  readonly receivedAt: Date;
}

/** The log of every notification received, unique by message id (design §2 `events`). */
export class EventRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** True when a notification with this key (or secondary key) was already recorded. */
  async isRecorded(dedupeKey: string, secondaryKey: string | undefined, db: Db = this.db): Promise<boolean> {
    let q = db.selectFrom('events').select('id').where('dedupe_key', '=', dedupeKey);
    if (secondaryKey)
      q = db
        .selectFrom('events')
        .select('id')
        .where((eb) => eb.or([eb('dedupe_key', '=', dedupeKey), eb('secondary_key', '=', secondaryKey)]));
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }

  /**
   * Records a notification. Returns false when its key is already recorded (a duplicate
   * delivery racing this one): the caller's transaction must then be abandoned. A conflict is
   * skipped by the statement itself (ON CONFLICT DO NOTHING), never raised: on PostgreSQL a raised
   * one would abort the caller's whole transaction, and with it the other notifications it holds.
   */
  async record(e: EventRecord, receivedAt: Date, db: Db = this.db): Promise<boolean> {
    return (await this.recordAll([e], receivedAt, db)).length > 0;
  }

  /**
   * Records several notifications in one statement, skipping each whose key is already recorded or
   * comes earlier in `records`. Returns the dedupe keys of the rows inserted.
   */
  async recordAll(records: readonly EventRecord[], receivedAt: Date, db: Db = this.db): Promise<string[]> {
    if (records.length === 0) return [];
    const rows = await db
      .insertInto('events')
      .values(
        records.map((e) => ({
          dedupe_key: e.dedupeKey,
          secondary_key: e.secondaryKey ?? null,
          channel: e.channel,
          kind: e.kind ?? null,
          event_time: toDbTimeOrNull(e.eventTime),
          received_at: toDbTime(receivedAt),
          customer_id: e.customerId ?? null,
          agreement_id: e.agreementId ?? null,
          outcome: e.outcome,
          reason: e.reason ?? null,
          payload: safeJson(e.payload),
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .returning('dedupe_key')
      .execute();
    return rows.map((r) => r.dedupe_key);
  }

  /** Writes several events' outcomes in one statement. */
  async setOutcomes(writes: readonly EventOutcomeWrite[], db: Db = this.db): Promise<void> {
    if (writes.length === 0) return;
    if (writes.length === 1) {
      const [w] = writes as [EventOutcomeWrite];
      return this.setOutcome(w.dedupeKey, w.outcome, w.reason, w.customerId, db);
    }
    const byKey = (value: (w: EventOutcomeWrite) => string | null) =>
      sql<string>`case dedupe_key ${sql.join(
        writes.map((w) => sql`when ${w.dedupeKey} then ${value(w)}`),
        sql` `,
      )} end`;
    await db
      .updateTable('events')
      .set({ outcome: byKey((w) => w.outcome), reason: byKey((w) => w.reason), customer_id: byKey((w) => w.customerId) })
      .where(
        'dedupe_key',
        'in',
        writes.map((w) => w.dedupeKey),
      )
      .execute();
  }

  async setOutcome(
    dedupeKey: string,
    outcome: EventOutcome,
    reason: string | null,
    customerId: string | null,
    db: Db = this.db,
  ): Promise<void> {
    await db.updateTable('events').set({ outcome, reason, customer_id: customerId }).where('dedupe_key', '=', dedupeKey).execute();
  }

  /** Agreement events waiting for their customer, oldest first. */
  async unmatchedForAgreement(agreementId: string, db: Db = this.db): Promise<StoredEvent[]> {
    const rows = await db
      .selectFrom('events')
      .selectAll()
      .where('agreement_id', '=', agreementId)
      .where('outcome', '=', 'unmatched')
      .orderBy('event_time')
      .orderBy('id')
      .execute();
    return rows.map(toStoredEvent);
  }

  /** Counts per outcome (for metrics and the admin view). */
  async countByOutcome(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('events')
      .select(['outcome'])
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .groupBy('outcome')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.outcome, Number(r.n)]));
  }

  async list(filter: { customerId?: string; outcome?: EventOutcome; limit?: number } = {}): Promise<StoredEvent[]> {
    let q = this.db.selectFrom('events').selectAll();
    if (filter.customerId) q = q.where('customer_id', '=', filter.customerId);
    if (filter.outcome) q = q.where('outcome', '=', filter.outcome);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 100)
      .execute();
    return rows.map(toStoredEvent);
  }
}

function toStoredEvent(r: Selectable<EventsTable>): StoredEvent {
  return {
    id: Number(r.id),
    dedupeKey: r.dedupe_key,
    secondaryKey: r.secondary_key,
    channel: r.channel,
    kind: r.kind,
    eventTime: fromDbTimeOrNull(r.event_time),
    customerId: r.customer_id,
    agreementId: r.agreement_id,
    outcome: r.outcome as EventOutcome,
    reason: r.reason,
    payload: JSON.parse(r.payload) as unknown,
    receivedAt: fromDbTimeOrNull(r.received_at) ?? new Date(0),
  };
}

/** Payloads are kept for audit, bounded so one garbage message cannot bloat the table. */
function safeJson(payload: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(payload ?? null) ?? 'null';
  } catch {
    text = JSON.stringify(String(payload));
  }
  return text.length > 64_000 ? JSON.stringify({ truncated: true, head: text.slice(0, 64_000) }) : text;
}
