import { randomUUID } from 'node:crypto';
import { PostgresAdapter, sql, type Kysely, type Transaction } from 'kysely';
import { readCustomerView } from '../customers/customer-snapshot.repository';
import type { CustomerView } from '../customers/customer-view';
import { toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import { endpointWants, type WebhookEventType } from './event-types';

type Db = Kysely<Database> | Transaction<Database>;

/** One event to append to the outbox, in the transaction of the change that causes it. */
export interface OutboxEvent {
  readonly type: WebhookEventType;
  /** When it happened; the payload's `timestamp`. */
  readonly at: Date;
  /**
   * The customer it is about: `data.customer` is the customer as of this transaction (read here,
   * unless `customer` gives it already). Events of one customer are delivered in the order appended.
   */
  readonly customerId?: string;
  readonly customer?: CustomerView;
  /** More fields of `data` (a metering record, an endpoint). */
  readonly data?: Readonly<Record<string, unknown>>;
  /** Delivery order key; default the customer id (required without one). */
  readonly orderingKey?: string;
  /** An endpoint that must not receive this event (a disabled endpoint's own notice). */
  readonly excludeEndpointId?: string;
}

/** The JSON body every endpoint receives (Standard Webhooks' recommended `type`/`timestamp`/`data`). */
export interface WebhookPayload {
  readonly id: string;
  readonly type: WebhookEventType;
  readonly timestamp: string;
  readonly data: Readonly<Record<string, unknown>> & { readonly customer?: CustomerView };
}

/**
 * Appends an event to the outbox and queues one delivery per endpoint that takes its type, all in
 * `tx`: it is sent if and only if the caller's transaction commits. Works on a Kysely transaction of
 * either dialect. Returns the event id (the `webhook-id` header).
 *
 * Order: on PostgreSQL the append takes a transaction-scoped advisory lock on its ordering key
 * before drawing its sequence number, so appends of one key hold sequence numbers in commit order
 * (a sequence alone is not: a transaction may draw a number and commit after a later one). SQLite
 * has one writer at a time. The dispatcher delivers each key's events in sequence order.
 */
export async function appendOutboxEvent(tx: Db, event: OutboxEvent): Promise<string> {
  const orderingKey = event.orderingKey ?? event.customerId ?? event.customer?.id;
  if (!orderingKey) throw new Error(`outbox event ${event.type} needs a customer or an ordering key`);
  if (tx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`webhook-order:${orderingKey}`}, 0))`.execute(tx);
  }
  const customerId = event.customerId ?? event.customer?.id ?? null;
  const customer = event.customer ?? (event.customerId ? await readCustomerView(tx, event.customerId) : undefined);
  const id = `evt_${randomUUID().replace(/-/g, '')}`;
  const at = toDbTime(event.at);
  const payload: WebhookPayload = {
    id,
    type: event.type,
    timestamp: event.at.toISOString(),
    data: { ...(customer ? { customer } : {}), ...(event.data ?? {}) },
  };
  const inserted = await tx
    .insertInto('webhook_events')
    .values({
      id,
      type: event.type,
      ordering_key: orderingKey,
      customer_id: customerId,
      payload: JSON.stringify(payload),
      occurred_at: at,
      created_at: at,
    })
    .returning('seq')
    .executeTakeFirstOrThrow();
  const endpoints = await tx.selectFrom('webhook_endpoints').select(['id', 'event_types']).where('deleted_at', 'is', null).execute();
  const targets = endpoints.filter(
    (e) => e.id !== event.excludeEndpointId && endpointWants(e.event_types ? (JSON.parse(e.event_types) as string[]) : null, event.type),
  );
  if (targets.length > 0) {
    await tx
      .insertInto('webhook_deliveries')
      .values(
        targets.map((e) => ({
          id: `dlv_${randomUUID().replace(/-/g, '')}`,
          event_id: id,
          event_seq: Number(inserted.seq),
          endpoint_id: e.id,
          ordering_key: orderingKey,
          status: 'pending',
          attempts: 0,
          next_attempt_at: at,
          created_at: at,
          updated_at: at,
        })),
      )
      .execute();
  }
  return id;
}

/**
 * Removes a customer's personal data from every stored payload (sent or not), so that nothing sent
 * after an erasure carries it and nothing kept holds it (seed 001: no personal data beyond need).
 */
export async function erasePersonalDataFromOutbox(tx: Db, customerId: string, erase: (view: CustomerView) => CustomerView): Promise<void> {
  const rows = await tx.selectFrom('webhook_events').select(['id', 'payload']).where('customer_id', '=', customerId).execute();
  for (const row of rows) {
    const payload = JSON.parse(row.payload) as WebhookPayload;
    if (!payload.data.customer) continue;
    const scrubbed: WebhookPayload = { ...payload, data: { ...payload.data, customer: erase(payload.data.customer) } };
    await tx
      .updateTable('webhook_events')
      .set({ payload: JSON.stringify(scrubbed) })
      .where('id', '=', row.id)
      .execute();
  }
}
