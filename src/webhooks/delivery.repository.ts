import { randomUUID } from 'node:crypto';
import { sql, type ExpressionBuilder, type Kysely, type Selectable, type Transaction } from 'kysely';
import { AppError, NotFoundError } from '../platform/errors';
import { fromDbTime, fromDbTimeOrNull, toDbTime, type DialectName } from '../store/dialect';
import type { Database, WebhookDeliveriesTable } from '../store/schema';

type Db = Kysely<Database> | Transaction<Database>;

export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A delivery this instance holds the lease of, with what to send. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly endpointId: string;
  readonly orderingKey: string;
  /** This attempt's number (1 for the first). */
  readonly attempt: number;
  readonly createdAt: Date;
  /** The stored JSON body. */
  readonly payload: string;
}

export interface DeliveryAttempt {
  readonly attempt: number;
  readonly startedAt: Date;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  readonly instance: string;
}

export interface DeliveryRecord {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly endpointId: string;
  readonly customerId: string | null;
  readonly status: DeliveryStatus;
  readonly attemptCount: number;
  readonly nextAttemptAt: Date | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly redeliveryOf: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly deliveredAt: Date | null;
  readonly attempts: readonly DeliveryAttempt[];
}

/** What became of one attempt. `retryAt` null: no retry (the deadline passed): the delivery failed. */
export type AttemptOutcome =
  | { readonly ok: true; readonly statusCode: number; readonly latencyMs: number }
  | {
      readonly ok: false;
      readonly statusCode: number | null;
      readonly latencyMs: number;
      readonly error: string;
      readonly retryAt: Date | null;
    };

export interface DeliveryListQuery {
  readonly endpointId?: string;
  readonly status?: DeliveryStatus;
  readonly eventId?: string;
  readonly customerId?: string;
  /** The `seq` of the last row of the previous page (newest first). */
  readonly before?: number;
  readonly limit: number;
}

/**
 * Webhook deliveries: claims with a lease, results, history. Each (endpoint, ordering key) gets its
 * events in sequence order: a delivery is claimable only when no earlier one of its endpoint and key
 * is still pending or being delivered, so at most one per key is ever in flight, on any instance.
 */
export class DeliveryRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  /**
   * Claims up to `limit` due deliveries for `owner` until `now + leaseMs`: pending ones whose time
   * has come and delivering ones whose lease expired (an instance died mid-attempt: at least once),
   * of enabled endpoints, each the head of its endpoint and key. PostgreSQL: `FOR UPDATE SKIP
   * LOCKED`, so instances claim disjoint rows without waiting; the UPDATE re-checks the state anyway,
   * so a row claimed meanwhile (SQLite, another process) is not claimed twice.
   */
  async claim(owner: string, now: Date, leaseMs: number, limit: number): Promise<ClaimedDelivery[]> {
    const at = toDbTime(now);
    const claimable = (eb: ExpressionBuilder<Database, 'webhook_deliveries'>) =>
      eb.or([
        eb.and([eb('status', '=', 'pending'), eb('next_attempt_at', '<=', at)]),
        eb.and([eb('status', '=', 'delivering'), eb('lease_until', '<', at)]),
      ]);
    const rows = await this.db.transaction().execute(async (tx) => {
      let q = tx
        .selectFrom('webhook_deliveries as d')
        .select('d.id')
        .where((eb) =>
          eb.or([
            eb.and([eb('d.status', '=', 'pending'), eb('d.next_attempt_at', '<=', at)]),
            eb.and([eb('d.status', '=', 'delivering'), eb('d.lease_until', '<', at)]),
          ]),
        )
        .where('d.endpoint_id', 'in', (eb) =>
          eb.selectFrom('webhook_endpoints').select('id').where('enabled', '=', 1).where('deleted_at', 'is', null),
        )
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom('webhook_deliveries as p')
                .select('p.id')
                .whereRef('p.endpoint_id', '=', 'd.endpoint_id')
                .whereRef('p.ordering_key', '=', 'd.ordering_key')
                .whereRef('p.event_seq', '<', 'd.event_seq')
                .where('p.status', 'in', ['pending', 'delivering']),
            ),
          ),
        )
        .orderBy('d.event_seq')
        .limit(limit);
      if (this.dialect === 'postgres') q = q.forUpdate().skipLocked();
      const picked = await q.execute();
      if (picked.length === 0) return [];
      return tx
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          status: 'delivering',
          lease_owner: owner,
          lease_until: toDbTime(new Date(now.getTime() + leaseMs)),
          attempts: eb('attempts', '+', 1),
          updated_at: at,
        }))
        .where(
          'id',
          'in',
          picked.map((p) => p.id),
        )
        .where(claimable)
        .returningAll()
        .execute();
    });
    if (rows.length === 0) return [];
    const events = await this.db
      .selectFrom('webhook_events')
      .select(['id', 'type', 'payload'])
      .where(
        'id',
        'in',
        rows.map((r) => r.event_id),
      )
      .execute();
    const byId = new Map(events.map((e) => [e.id, e]));
    return rows
      .map((r) => ({
        id: r.id,
        eventId: r.event_id,
        eventType: byId.get(r.event_id)?.type ?? 'unknown',
        endpointId: r.endpoint_id,
        orderingKey: r.ordering_key,
        attempt: Number(r.attempts),
        createdAt: fromDbTime(r.created_at),
        payload: byId.get(r.event_id)?.payload ?? '{}',
        seq: Number(r.event_seq),
      }))
      .sort((a, b) => a.seq - b.seq)
      .map(({ seq: _seq, ...d }) => d);
  }

  /**
   * Records one attempt and moves the delivery on, in `tx`, while `owner` still holds its lease.
   * The attempt is recorded either way (it happened); false when the lease was lost (another
   * instance took the delivery over after the lease expired), and the delivery is then left alone.
   */
  async complete(
    tx: Db,
    d: ClaimedDelivery,
    owner: string,
    instance: string,
    startedAt: Date,
    outcome: AttemptOutcome,
    now: Date,
  ): Promise<boolean> {
    const at = toDbTime(now);
    await tx
      .insertInto('webhook_attempts')
      .values({
        delivery_id: d.id,
        attempt: d.attempt,
        started_at: toDbTime(startedAt),
        status_code: outcome.statusCode,
        latency_ms: Math.max(0, Math.round(outcome.latencyMs)),
        error: outcome.ok ? null : outcome.error.slice(0, 500),
        instance,
      })
      .onConflict((oc) => oc.columns(['delivery_id', 'attempt']).doNothing())
      .execute();
    const next = outcome.ok
      ? { status: 'succeeded', delivered_at: at, next_attempt_at: at, last_error: null }
      : outcome.retryAt
        ? { status: 'pending', next_attempt_at: toDbTime(outcome.retryAt), last_error: outcome.error.slice(0, 500) }
        : { status: 'failed', next_attempt_at: at, last_error: `gave up: ${outcome.error}`.slice(0, 500) };
    const r = await tx
      .updateTable('webhook_deliveries')
      .set({ ...next, last_status_code: outcome.statusCode, lease_owner: null, lease_until: null, updated_at: at })
      .where('id', '=', d.id)
      .where('status', '=', 'delivering')
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Pending deliveries past the retry window (waiting behind an earlier one, or for a disabled
   * endpoint) fail without an attempt. Returns how many.
   */
  async expireOverdue(now: Date, windowMs: number): Promise<number> {
    const at = toDbTime(now);
    const r = await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', last_error: `not delivered within ${Math.round(windowMs / 3_600_000)} h`, updated_at: at })
      .where('status', '=', 'pending')
      .where('created_at', '<', toDbTime(new Date(now.getTime() - windowMs)))
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Queues the event of a delivery again to its endpoint, on its own (it waits behind nothing and holds nothing up). */
  async redeliver(id: string, now: Date): Promise<DeliveryRecord> {
    const original = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    if (!original) throw new NotFoundError(`No webhook delivery ${id}.`);
    const endpoint = await this.db
      .selectFrom('webhook_endpoints')
      .select(['enabled', 'deleted_at'])
      .where('id', '=', original.endpoint_id)
      .executeTakeFirst();
    if (!endpoint || endpoint.deleted_at !== null) {
      throw new AppError(`The endpoint of delivery ${id} was deleted.`, { code: 'endpoint_deleted', httpStatus: 409 });
    }
    if (endpoint.enabled !== 1) {
      throw new AppError(
        `The endpoint of delivery ${id} is disabled; enable it first (PATCH /v1/webhook-endpoints/${original.endpoint_id}).`,
        {
          code: 'endpoint_disabled',
          httpStatus: 409,
        },
      );
    }
    const newId = `dlv_${randomUUID().replace(/-/g, '')}`;
    const at = toDbTime(now);
    await this.db
      .insertInto('webhook_deliveries')
      .values({
        id: newId,
        event_id: original.event_id,
        event_seq: Number(original.event_seq),
        endpoint_id: original.endpoint_id,
        ordering_key: `redelivery:${newId}`,
        status: 'pending',
        attempts: 0,
        next_attempt_at: at,
        redelivery_of: id,
        created_at: at,
        updated_at: at,
      })
      .execute();
    return (await this.list({ eventId: original.event_id, limit: 100 })).find((d) => d.id === newId)!;
  }

  /** Deliveries newest first, each with its attempts. */
  async list(query: DeliveryListQuery): Promise<DeliveryRecord[]> {
    let q = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select(['e.type as event_type', 'e.customer_id as customer_id']);
    if (query.endpointId) q = q.where('d.endpoint_id', '=', query.endpointId);
    if (query.status) q = q.where('d.status', '=', query.status);
    if (query.eventId) q = q.where('d.event_id', '=', query.eventId);
    if (query.customerId) q = q.where('e.customer_id', '=', query.customerId);
    if (query.before !== undefined) q = q.where('d.seq', '<', query.before);
    const rows = await q.orderBy('d.seq', 'desc').limit(query.limit).execute();
    const attempts = rows.length
      ? await this.db
          .selectFrom('webhook_attempts')
          .selectAll()
          .where(
            'delivery_id',
            'in',
            rows.map((r) => r.id),
          )
          .orderBy('attempt')
          .execute()
      : [];
    return rows.map((r) =>
      toRecord(
        r,
        r.event_type,
        r.customer_id,
        attempts.filter((a) => a.delivery_id === r.id),
      ),
    );
  }

  /** The `seq` of a delivery (the list cursor). */
  async seqOf(id: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('webhook_deliveries').select('seq').where('id', '=', id).executeTakeFirst();
    return row ? Number(row.seq) : undefined;
  }

  /** Counts per status (tests, benchmarks, the console). */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .select(['status', sql<number>`count(*)`.as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }
}

function toRecord(
  r: Selectable<WebhookDeliveriesTable>,
  eventType: string,
  customerId: string | null,
  attempts: ReadonlyArray<{
    attempt: number;
    started_at: string | Date;
    status_code: number | null;
    latency_ms: number;
    error: string | null;
    instance: string;
  }>,
): DeliveryRecord {
  const status = r.status as DeliveryStatus;
  return {
    id: r.id,
    eventId: r.event_id,
    eventType,
    endpointId: r.endpoint_id,
    customerId,
    status,
    attemptCount: Number(r.attempts),
    nextAttemptAt: status === 'pending' ? fromDbTime(r.next_attempt_at) : null,
    lastStatusCode: r.last_status_code === null ? null : Number(r.last_status_code),
    lastError: r.last_error,
    redeliveryOf: r.redelivery_of,
    createdAt: fromDbTime(r.created_at),
    updatedAt: fromDbTime(r.updated_at),
    deliveredAt: fromDbTimeOrNull(r.delivered_at),
    attempts: attempts.map((a) => ({
      attempt: Number(a.attempt),
      startedAt: fromDbTime(a.started_at),
      statusCode: a.status_code === null ? null : Number(a.status_code),
      latencyMs: Number(a.latency_ms),
      error: a.error,
      instance: a.instance,
    })),
  };
}
