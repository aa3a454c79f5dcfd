/**
 * Which normalized events move the subscription state machine, and how (facts §5.2, §5.4).
 * `entitlement-updated` needs a GetEntitlements call first (facts §5.3): the caller turns an empty
 * result into {@link entitlementsEmptyTransition}. Agreement Created/Amended change no status by
 * themselves (access comes with License Updated).
 */
import type { StatusTransition } from '../customers/subscription-state';
import type { MarketplaceEvent } from './marketplace-event';

/** Agreement end statuses that mean the agreement lives on as another one. */
const CONTINUING_STATUSES: ReadonlySet<string> = new Set(['RENEWED', 'REPLACED', 'SUPERSEDED']);

/** The status transition an event implies, or null when it implies none by itself. */
export function toStatusTransition(event: MarketplaceEvent): StatusTransition | null {
  switch (event.kind) {
    case 'subscribe-success':
    case 'subscribe-fail':
    case 'unsubscribe-pending':
    case 'unsubscribe-success':
    case 'license-updated':
    case 'license-deprovisioned':
    case 'agreement-ended': {
      // Renewed, replaced or superseded: the buyer continues under the new agreement (facts §5.4,
      // DescribeAgreement statuses), whose own events carry on; only a real end opens the window.
      if (
        event.kind === 'agreement-ended' &&
        event.agreementStatus !== undefined &&
        CONTINUING_STATUSES.has(event.agreementStatus.toUpperCase())
      )
        return null;
      const t: StatusTransition = { kind: event.kind, eventTime: event.eventTime };
      if (event.licenseArn !== undefined) t.licenseArn = event.licenseArn;
      return t;
    }
    case 'cancellation-approved':
      // An approved cancellation request ends the agreement as any cancellation does (facts §5.6):
      // it takes the Purchase Agreement Ended path, at the approval's time. The Ended event that
      // follows is then a later window signal over an open window (no second flush), and an Ended
      // that came first makes this one stale: the final flush happens once whatever the order.
      return { kind: 'agreement-ended', eventTime: event.eventTime };
    case 'entitlement-updated':
    case 'agreement-created':
    case 'agreement-amended':
    case 'cancellation-requested':
    case 'cancellation-rejected':
    case 'cancellation-withdrawn':
    case 'billing-adjusted':
      return null;
  }
}

/** The transition for a GetEntitlements answer with no (or only expired) entitlements, after `event`. */
export function entitlementsEmptyTransition(event: MarketplaceEvent): StatusTransition {
  return { kind: 'entitlements-empty', eventTime: event.eventTime };
}
