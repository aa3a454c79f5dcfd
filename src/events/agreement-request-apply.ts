/**
 * Applies a cancellation-request or billing-adjustment event to its customer (facts §5.6), inside
 * the event's transaction: the record, and its webhook event, through the repository. The
 * subscription side (an approved request takes the Purchase Agreement Ended path) is left to the
 * processor's state machine, which makes the final flush happen once whatever the order.
 */
import type { AgreementRequestRepository } from '../customers/agreement-requests.repository';
import type { EventOutcome } from './event.repository';
import type { MarketplaceEvent } from './marketplace-event';
import type { Tx } from '../store/schema';

export interface RequestApplied {
  readonly outcome: EventOutcome;
  readonly reason?: string;
}

export async function applyAgreementRequest(
  requests: AgreementRequestRepository,
  tx: Tx,
  customerId: string,
  event: MarketplaceEvent,
  now: Date,
): Promise<RequestApplied> {
  const agreementId = event.agreementId ?? '';
  if (event.billingAdjustment) {
    const a = event.billingAdjustment;
    const write = await requests.recordBillingAdjustment(
      tx,
      customerId,
      {
        id: a.id,
        agreementId,
        amount: a.amount,
        currencyCode: a.currencyCode ?? null,
        reasonCode: a.reasonCode ?? null,
        originalInvoiceId: a.originalInvoiceId ?? null,
        completedAt: event.eventTime,
      },
      now,
    );
    return write.changed ? { outcome: 'applied' } : { outcome: 'ignored', reason: `billing adjustment ${a.id} is already recorded` };
  }
  const r = event.cancellationRequest;
  if (!r) return { outcome: 'rejected', reason: 'a cancellation event without its request' };
  const write = await requests.recordCancellation(
    tx,
    customerId,
    {
      id: r.id,
      agreementId,
      status: r.status,
      eventTime: event.eventTime,
      ...(r.reasonCode === undefined ? {} : { reasonCode: r.reasonCode }),
      ...(r.reasonMessage === undefined ? {} : { reasonMessage: r.reasonMessage }),
      ...(r.statusMessage === undefined ? {} : { statusMessage: r.statusMessage }),
      ...(r.createdAt === undefined ? {} : { createdAt: r.createdAt }),
    },
    now,
  );
  if (write.notified) return { outcome: 'applied' };
  if (write.changed) return { outcome: 'applied', reason: `details of cancellation request ${r.id} filled in; its status stays` };
  return { outcome: 'stale', reason: `cancellation request ${r.id} already has a status that this ${r.status} event does not replace` };
}
