/**
 * AWS Marketplace EventBridge events for sellers (facts §5.4): `source: aws.agreement-marketplace`,
 * detail-types `Purchase Agreement Created|Amended|Ended - Manufacturer|Proposer`,
 * `License Updated|Deprovisioned - Manufacturer` (and `- Proposer`, which the AWS ESC sample matches),
 * and the cancellation-request and billing-adjustment events of facts §5.6 (agreement-request-event.ts).
 */
import { isJsonObject, readDate, readPath, readString, type JsonObject } from './json-fields';
import {
  AGREEMENT_REQUEST_STEMS,
  isAgreementRequestKind,
  parseBillingAdjustment,
  parseCancellationRequest,
  validAgreementId,
} from './agreement-request-event';
import type { MarketplaceEvent, MarketplaceEventChannel, MarketplaceEventKind, ParseResult } from './marketplace-event';

export const EVENTBRIDGE_SOURCE = 'aws.agreement-marketplace';

const STEMS: Readonly<Record<string, MarketplaceEventKind>> = {
  'Purchase Agreement Created': 'agreement-created',
  'Purchase Agreement Amended': 'agreement-amended',
  'Purchase Agreement Ended': 'agreement-ended',
  'License Updated': 'license-updated',
  'License Deprovisioned': 'license-deprovisioned',
  ...AGREEMENT_REQUEST_STEMS,
};

/** True when a parsed body has the shape of an EventBridge event (`source` and `detail-type`). */
export function looksLikeEventBridgeEvent(value: unknown): value is JsonObject {
  return isJsonObject(value) && typeof value['detail-type'] === 'string' && typeof value['source'] === 'string';
}

/**
 * Normalizes one EventBridge event. `channel` is 'eventbridge' whether it came straight from an
 * EventBridge → SQS target or wrapped in an SNS envelope; `topicArn` says the latter.
 */
export function parseEventBridgeEvent(value: unknown, extra: { topicArn?: string } = {}): ParseResult {
  if (!isJsonObject(value)) return { ok: false, reason: 'EventBridge event is not a JSON object' };
  const id = readString(value, ['id']);
  const source = readString(value, ['source']);
  const detailType = readString(value, ['detail-type']);
  if (id === undefined) return { ok: false, reason: 'EventBridge event has no "id"' };
  if (source !== EVENTBRIDGE_SOURCE)
    return { ok: false, reason: `EventBridge source "${String(source).slice(0, 64)}" is not ${EVENTBRIDGE_SOURCE}`, dedupeKey: id };
  const m = detailType === undefined ? null : /^(.+?)\s+-\s+(Manufacturer|Proposer|Acceptor)$/.exec(detailType);
  if (!m || !detailType)
    return { ok: false, reason: `unknown EventBridge detail-type "${String(detailType).slice(0, 80)}"`, dedupeKey: id };
  const stem = m[1]!;
  const role = m[2]!;
  // Acceptor events are the buyer's copy (facts §5.4); a seller's bus should not see them.
  if (role === 'Acceptor') return { ok: false, reason: `buyer-side event "${detailType}" (Acceptor) is not for sellers`, dedupeKey: id };
  const kind = STEMS[stem];
  if (kind === undefined) return { ok: false, reason: `unsupported EventBridge detail-type "${detailType}"`, dedupeKey: id };
  const eventTime = readDate(value, ['time']);
  if (eventTime === undefined) return { ok: false, reason: `EventBridge event ${id} has no valid "time"`, dedupeKey: id };
  const detail = value['detail'];
  if (!isJsonObject(detail)) return { ok: false, reason: `EventBridge event ${id} has no "detail" object`, dedupeKey: id };

  const agreementId = readPath(detail, ['agreement', 'id']);
  const accountId = readPath(detail, ['acceptor', 'accountId']);
  const licenseArn = readPath(detail, ['license', 'arn']);
  if (kind === 'license-updated' || kind === 'license-deprovisioned') {
    // License events identify the customer by account id + LicenseArn (facts §0.5, §5.4).
    if (accountId === undefined || licenseArn === undefined) {
      return { ok: false, reason: `${detailType} ${id} lacks detail.acceptor.accountId or detail.license.arn`, dedupeKey: id };
    }
  } else if (agreementId === undefined) {
    // Agreement events carry no product and no license: correlate on the agreement id (facts §5.4).
    return { ok: false, reason: `${detailType} ${id} lacks detail.agreement.id`, dedupeKey: id };
  }

  const channel: MarketplaceEventChannel = 'eventbridge';
  const event: MarketplaceEvent = { dedupeKey: id, channel, kind, eventTime, detailType, payload: value };
  if (isAgreementRequestKind(kind)) {
    if (agreementId === undefined || !validAgreementId(agreementId))
      return { ok: false, reason: `${detailType} ${id}: detail.agreement.id is malformed`, dedupeKey: id };
    if (kind === 'billing-adjusted') {
      const parsed = parseBillingAdjustment(detail);
      if (!parsed.ok) return { ok: false, reason: `${detailType} ${id}: ${parsed.reason}`, dedupeKey: id };
      event.billingAdjustment = parsed.value;
    } else {
      const parsed = parseCancellationRequest(kind, detail);
      if (!parsed.ok) return { ok: false, reason: `${detailType} ${id}: ${parsed.reason}`, dedupeKey: id };
      event.cancellationRequest = parsed.value;
    }
  }
  const requestId = readString(detail, ['requestId']);
  // The Manufacturer and Proposer copies of one event share requestId (facts §5.4: dedupe on the stem).
  if (requestId !== undefined) event.secondaryDedupeKey = `eb:${stem}:${requestId}`;
  else if (agreementId !== undefined) event.secondaryDedupeKey = `eb:${stem}:${agreementId}:${eventTime.toISOString()}`;
  const productCode = readPath(detail, ['product', 'code']);
  if (productCode !== undefined) event.productCode = productCode;
  if (accountId !== undefined) event.customerAWSAccountId = accountId;
  if (licenseArn !== undefined) event.licenseArn = licenseArn;
  const offerId = readPath(detail, ['offer', 'id']);
  if (offerId !== undefined) event.offerIdentifier = offerId;
  if (agreementId !== undefined) event.agreementId = agreementId;
  const status = readPath(detail, ['agreement', 'status']);
  if (status !== undefined) event.agreementStatus = status;
  const intent = readPath(detail, ['agreement', 'intent']);
  if (intent !== undefined) event.agreementIntent = intent;
  const previousAgreementId = readPath(detail, ['agreement', 'previousAgreementId']);
  if (previousAgreementId !== undefined && validAgreementId(previousAgreementId) && previousAgreementId !== agreementId)
    event.previousAgreementId = previousAgreementId;
  if (extra.topicArn !== undefined) event.topicArn = extra.topicArn;
  return { ok: true, event };
}
