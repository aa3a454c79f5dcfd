/**
 * The webhook a metering record's unhappy ending sends (pure). The metering code appends it with
 * {@link appendOutboxEvent} in the transaction of the state change itself:
 *
 *   await appendOutboxEvent(tx, meteringRecordEvent({ ...record, state: 'duplicate', reason }, now));
 *
 * so the event exists exactly when the record's new state does.
 */
import type { OutboxEvent } from './outbox.repository';
import type { WebhookEventType } from './event-types';

/** The record states that are worth telling the app about (each is an alert in the logs too). */
export type MeteringOutcome = 'failed' | 'duplicate' | 'expired' | 'not_subscribed';

/** What the event says about the record; plain values, so the metering code can pass its own bucket. */
export interface MeteringRecordFacts {
  readonly id: string;
  readonly customerId: string;
  readonly productCode: string;
  readonly dimension: string;
  readonly hour: Date;
  readonly quantity: number | null;
  readonly state: MeteringOutcome;
  readonly reason: string | null;
}

const TYPES: Record<MeteringOutcome, WebhookEventType> = {
  failed: 'metering.record_failed',
  duplicate: 'metering.record_duplicate',
  expired: 'metering.record_expired',
  not_subscribed: 'metering.record_not_subscribed',
};

export function meteringRecordEvent(record: MeteringRecordFacts, at: Date): OutboxEvent {
  return {
    type: TYPES[record.state],
    at,
    customerId: record.customerId,
    data: {
      meteringRecord: {
        id: record.id,
        productCode: record.productCode,
        dimension: record.dimension,
        hour: record.hour.toISOString(),
        quantity: record.quantity,
        state: record.state,
        reason: record.reason,
      },
    },
  };
}
