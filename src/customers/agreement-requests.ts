/**
 * Cancellation requests and billing adjustments of a customer's agreements (facts §5.6). Pure.
 *
 * A request is `PENDING_APPROVAL`, then exactly one of `APPROVED` (the buyer accepts, or nobody
 * answers within 7 days), `REJECTED` (the buyer denies) or `CANCELLED` (the seller withdraws); a
 * settled request never changes again (docs/simulator.md). Events arrive out of order and more
 * than once, so the stored status is a function of the set of events received:
 *  - a settled status always beats `PENDING_APPROVAL`, whatever the event times (an approval that
 *    arrives before its request is final; the late request changes nothing);
 *  - between two settled statuses (which AWS should never send) the newer event wins, equal times
 *    settled by the status text, so the answer still does not depend on delivery order.
 */

export type CancellationStatus = 'PENDING_APPROVAL' | 'APPROVED' | 'REJECTED' | 'CANCELLED';

/** A stored cancellation request, as the API shows it. */
export interface CancellationRequest {
  readonly id: string;
  readonly agreementId: string;
  readonly status: CancellationStatus;
  /** Event time of the event that set `status`. */
  readonly statusAt: Date;
  readonly reasonCode: string | null;
  readonly reasonMessage: string | null;
  readonly statusMessage: string | null;
  /** When the request was made (its `createdAt`, or the pending event's time); null while unknown. */
  readonly requestedAt: Date | null;
}

/** A completed billing adjustment (refund). */
export interface BillingAdjustment {
  readonly id: string;
  readonly agreementId: string;
  /** Decimal text as AWS sent it (a refund shows as a negative amount). */
  readonly amount: string;
  readonly currencyCode: string | null;
  readonly reasonCode: string | null;
  readonly originalInvoiceId: string | null;
  /** Event time of the completion. */
  readonly completedAt: Date;
}

/** What one cancellation event says about its request. */
export interface CancellationObservation {
  readonly id: string;
  readonly agreementId: string;
  readonly status: CancellationStatus;
  readonly eventTime: Date;
  readonly reasonCode?: string;
  readonly reasonMessage?: string;
  readonly statusMessage?: string;
  readonly createdAt?: Date;
}

const settled = (s: CancellationStatus): boolean => s !== 'PENDING_APPROVAL';

/** True when the observation's status replaces the stored one. */
export function statusWins(
  stored: Pick<CancellationRequest, 'status' | 'statusAt'>,
  seen: Pick<CancellationObservation, 'status' | 'eventTime'>,
): boolean {
  if (settled(stored.status) !== settled(seen.status)) return settled(seen.status);
  const dt = seen.eventTime.getTime() - stored.statusAt.getTime();
  if (dt !== 0) return dt > 0;
  return seen.status > stored.status;
}

/**
 * The request after one observation, and whether its status moved (that is what the app is told).
 * Descriptive fields are filled in while unknown, and replaced when the winning event carries them.
 */
export function mergeCancellation(
  stored: CancellationRequest | undefined,
  seen: CancellationObservation,
): { request: CancellationRequest; statusChanged: boolean; changed: boolean } {
  const requestedAt = seen.createdAt ?? (seen.status === 'PENDING_APPROVAL' ? seen.eventTime : undefined) ?? null;
  if (!stored) {
    return {
      request: {
        id: seen.id,
        agreementId: seen.agreementId,
        status: seen.status,
        statusAt: seen.eventTime,
        reasonCode: seen.reasonCode ?? null,
        reasonMessage: seen.reasonMessage ?? null,
        statusMessage: seen.statusMessage ?? null,
        requestedAt,
      },
      statusChanged: true,
      changed: true,
    };
  }
  const wins = statusWins(stored, seen);
  const earliest = (a: Date | null, b: Date | null): Date | null => (a === null ? b : b === null ? a : a.getTime() <= b.getTime() ? a : b);
  const next: CancellationRequest = {
    ...stored,
    status: wins ? seen.status : stored.status,
    statusAt: wins ? seen.eventTime : stored.statusAt,
    // The status message belongs to the status that set it; the reason belongs to the request.
    statusMessage: wins ? (seen.statusMessage ?? null) : stored.statusMessage,
    reasonCode: stored.reasonCode ?? seen.reasonCode ?? null,
    reasonMessage: stored.reasonMessage ?? seen.reasonMessage ?? null,
    requestedAt: earliest(stored.requestedAt, requestedAt),
  };
  const changed =
    next.status !== stored.status ||
    next.statusAt.getTime() !== stored.statusAt.getTime() ||
    next.statusMessage !== stored.statusMessage ||
    next.reasonCode !== stored.reasonCode ||
    next.reasonMessage !== stored.reasonMessage ||
    (next.requestedAt?.getTime() ?? null) !== (stored.requestedAt?.getTime() ?? null);
  return { request: next, statusChanged: next.status !== stored.status, changed };
}
