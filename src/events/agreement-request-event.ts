/**
 * The seller-side cancellation-request and billing-adjustment EventBridge events (facts §5.6; the
 * Seller Guide's "Amazon EventBridge events" page, sections "Events for cancellations" and "Events
 * for billing adjustments", as recorded in docs/simulator.md "Research notes"). Pure.
 *
 *   Agreement Cancellation Request Pending Approval|Approved|Rejected|Cancelled - Proposer
 *     detail { requestId, catalog, agreement { id, acceptorId, productId, offerId },
 *              agreementCancellationRequest { id, reasonCode, reasonMessage, statusCode, statusMessage, createdAt, updatedAt } }
 *   Purchase Agreement Billing Adjustment Completed - Proposer
 *     detail { requestId, catalog, agreement { id },
 *              billingAdjustmentRequest { id, adjustmentAmount: "-100.00", currencyCode, adjustmentReasonCode },
 *              invoice { originalInvoiceId } }
 *
 * Neither carries a product or a licence: they are correlated on `agreement.id`, like the
 * Purchase Agreement events.
 */
import { isJsonObject, readDate, readPath, readString, type JsonObject } from './json-fields';
import type { CancellationStatus } from '../customers/agreement-requests';
import type { BillingAdjustmentFacts, CancellationRequestFacts, MarketplaceEventKind } from './marketplace-event';

/** The detail-type stem of each event, and the request status it reports. */
export const AGREEMENT_REQUEST_STEMS: Readonly<Record<string, MarketplaceEventKind>> = {
  'Agreement Cancellation Request Pending Approval': 'cancellation-requested',
  'Agreement Cancellation Request Approved': 'cancellation-approved',
  'Agreement Cancellation Request Rejected': 'cancellation-rejected',
  'Agreement Cancellation Request Cancelled': 'cancellation-withdrawn',
  'Purchase Agreement Billing Adjustment Completed': 'billing-adjusted',
};

const STATUS_OF: Partial<Record<MarketplaceEventKind, CancellationStatus>> = {
  'cancellation-requested': 'PENDING_APPROVAL',
  'cancellation-approved': 'APPROVED',
  'cancellation-rejected': 'REJECTED',
  'cancellation-withdrawn': 'CANCELLED',
};

/** True for the kinds this file parses. */
export function isAgreementRequestKind(kind: MarketplaceEventKind): boolean {
  return kind === 'billing-adjusted' || STATUS_OF[kind] !== undefined;
}

/** Request ids and agreement ids: the Agreement API's `[A-Za-z0-9_/-]{1,64}` (docs/simulator.md). */
const ID = /^[A-Za-z0-9_/-]{1,64}$/;
/** A decimal amount as text, sign allowed ("-100.00"); never a float. */
const AMOUNT = /^-?\d{1,15}(\.\d{1,6})?$/;
/** Free text is stored, so bound it. */
const TEXT_MAX = 1000;

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** The cancellation request of a cancellation event; garbage is a reason. */
export function parseCancellationRequest(kind: MarketplaceEventKind, detail: JsonObject): Parsed<CancellationRequestFacts> {
  const expected = STATUS_OF[kind];
  if (expected === undefined) return { ok: false, reason: `${kind} is not a cancellation-request event` };
  const request = detail['agreementCancellationRequest'];
  if (!isJsonObject(request)) return { ok: false, reason: 'no detail.agreementCancellationRequest object' };
  const id = readString(request, ['id']);
  if (id === undefined || !ID.test(id)) return { ok: false, reason: 'detail.agreementCancellationRequest.id is missing or malformed' };
  const statusCode = readString(request, ['statusCode']);
  // The detail-type names the status; a body that says otherwise is not trusted either way.
  if (statusCode !== undefined && statusCode.toUpperCase() !== expected)
    return { ok: false, reason: `statusCode "${statusCode.slice(0, 40)}" contradicts the detail-type (${expected})` };
  const out: { -readonly [K in keyof CancellationRequestFacts]: CancellationRequestFacts[K] } = { id, status: expected };
  const reasonCode = readString(request, ['reasonCode']);
  if (reasonCode !== undefined) out.reasonCode = reasonCode.slice(0, 100);
  const reasonMessage = readString(request, ['reasonMessage']);
  if (reasonMessage !== undefined) out.reasonMessage = reasonMessage.slice(0, TEXT_MAX);
  const statusMessage = readString(request, ['statusMessage']);
  if (statusMessage !== undefined) out.statusMessage = statusMessage.slice(0, TEXT_MAX);
  const createdAt = readDate(request, ['createdAt']);
  if (createdAt !== undefined) out.createdAt = createdAt;
  return { ok: true, value: out };
}

/** The refund of a billing-adjustment event; garbage is a reason. */
export function parseBillingAdjustment(detail: JsonObject): Parsed<BillingAdjustmentFacts> {
  const request = detail['billingAdjustmentRequest'];
  if (!isJsonObject(request)) return { ok: false, reason: 'no detail.billingAdjustmentRequest object' };
  const id = readString(request, ['id']);
  if (id === undefined || !ID.test(id)) return { ok: false, reason: 'detail.billingAdjustmentRequest.id is missing or malformed' };
  const rawAmount = request['adjustmentAmount'];
  const amount = typeof rawAmount === 'string' ? rawAmount.trim() : undefined;
  if (amount === undefined || !AMOUNT.test(amount))
    return { ok: false, reason: 'detail.billingAdjustmentRequest.adjustmentAmount is not a decimal amount as text' };
  const out: { -readonly [K in keyof BillingAdjustmentFacts]: BillingAdjustmentFacts[K] } = { id, amount };
  const currencyCode = readString(request, ['currencyCode']);
  if (currencyCode !== undefined) {
    if (!/^[A-Z]{3}$/.test(currencyCode))
      return { ok: false, reason: 'detail.billingAdjustmentRequest.currencyCode is not an ISO 4217 code' };
    out.currencyCode = currencyCode;
  }
  const reasonCode = readString(request, ['adjustmentReasonCode']);
  if (reasonCode !== undefined) out.reasonCode = reasonCode.slice(0, 100);
  const invoice = readPath(detail, ['invoice', 'originalInvoiceId']);
  if (invoice !== undefined) out.originalInvoiceId = invoice.slice(0, 100);
  return { ok: true, value: out };
}

/** The agreement id must be one the Agreement API could have issued (it keys the customer lookup). */
export function validAgreementId(agreementId: string): boolean {
  return ID.test(agreementId);
}
