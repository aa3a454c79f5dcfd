/**
 * The agreement facts a notification carries (facts §5.2, §5.4), for the newest-wins merge in the
 * customer store. Created, Amended and License Updated make their agreement the current one;
 * Ended and Deprovisioned only report on theirs (an old agreement's end must not bring it back).
 */
import type { AgreementFacts } from '../customers/customer';
import { isAgreementRequestKind } from './agreement-request-event';
import type { MarketplaceEvent } from './marketplace-event';

/** The facts of `event`, or null when it carries none. */
export function agreementFactsOf(event: MarketplaceEvent): AgreementFacts | null {
  // Cancellation requests and refunds are kept on their own (agreement-requests.repository.ts).
  if (isAgreementRequestKind(event.kind)) return null;
  const makesCurrent = event.kind === 'agreement-created' || event.kind === 'agreement-amended' || event.kind === 'license-updated';
  const facts: { -readonly [K in keyof AgreementFacts]: AgreementFacts[K] } = { makesCurrent, eventTime: event.eventTime };
  if (event.agreementId !== undefined) facts.agreementId = event.agreementId;
  if (event.offerIdentifier !== undefined) facts.offerId = event.offerIdentifier;
  if (event.agreementStatus !== undefined) facts.status = event.agreementStatus;
  if (event.agreementIntent !== undefined) facts.intent = event.agreementIntent;
  if (facts.agreementId === undefined && facts.offerId === undefined) return null;
  return facts;
}
