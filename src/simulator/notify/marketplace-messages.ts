import { uuid } from '../ids';
import type { SubscriptionState } from '../marketplace/catalog';
import type { SimProduct } from '../types';

export type SubscriptionAction = 'subscribe-success' | 'subscribe-fail' | 'unsubscribe-pending' | 'unsubscribe-success';

function identity(product: SimProduct, s: SubscriptionState): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.customerIdentifier !== undefined) out['customer-identifier'] = s.customerIdentifier;
  out['product-code'] = product.productCode;
  if (product.identity === 'license') {
    // No AWS source shows these keys in SNS messages (§5.2, UNCONFIRMED); the simulator adds them
    // for license-identity products, which otherwise could not be correlated.
    out['customer-aws-account-id'] = s.customerAWSAccountId;
    out['license-arn'] = s.licenseArn;
  }
  return out;
}

/**
 * The subscription-topic message (§5.2): kebab-case keys, `isFreeTrialTermPresent` as the
 * string "true"/"false". `offer-identifier` only on subscribe-success/subscribe-fail (one doc
 * page says unsubscribe actions omit it; consumers must treat it as optional).
 */
export function subscriptionMessage(action: SubscriptionAction, product: SimProduct, s: SubscriptionState): string {
  const body: Record<string, string> = { action, ...identity(product, s) };
  if (action === 'subscribe-success' || action === 'subscribe-fail') body['offer-identifier'] = s.offerId;
  body.isFreeTrialTermPresent = s.freeTrial ? 'true' : 'false';
  return JSON.stringify(body);
}

/** The entitlement-topic message (§5.3): always `entitlement-updated`; read GetEntitlements for content. */
export function entitlementMessage(product: SimProduct, s: SubscriptionState): string {
  return JSON.stringify({ action: 'entitlement-updated', ...identity(product, s) });
}

export type AgreementDetailType =
  | 'Purchase Agreement Created - Proposer'
  | 'Purchase Agreement Amended - Proposer'
  | 'Purchase Agreement Ended - Proposer'
  | 'License Updated - Manufacturer'
  | 'License Deprovisioned - Manufacturer';

/** EventBridge time format: ISO-8601 without milliseconds (§5.4 capture). */
function ebTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * An EventBridge event for the default bus, `source: aws.agreement-marketplace` (§5.4). Agreement
 * events carry no product and no license (correlate on `detail.agreement.id`); License events
 * carry `product` and `license`.
 */
export function agreementEvent(
  detailType: AgreementDetailType,
  product: SimProduct,
  s: SubscriptionState,
  ctx: { sellerAccountId: string; region: string; now: number; endStatus?: string },
): string {
  const base = { requestId: uuid(), catalog: 'AWSMarketplace' };
  const parties = { acceptor: { accountId: s.customerAWSAccountId }, proposer: { accountId: ctx.sellerAccountId } };
  let detail: Record<string, unknown>;
  if (detailType.startsWith('License')) {
    detail = { ...base, offer: { id: s.offerId }, license: { arn: s.licenseArn }, product: { id: product.productId, code: product.productCode }, ...parties, agreement: { id: s.agreementId } };
  } else if (detailType === 'Purchase Agreement Ended - Proposer') {
    detail = { catalog: base.catalog, ...parties, agreement: { id: s.agreementId, status: ctx.endStatus ?? 'CANCELLED' }, requestId: base.requestId, resaleAuthorization: { id: null } };
  } else {
    const start = ebTime(s.createdAt);
    detail = {
      ...base,
      offer: { id: s.offerId },
      ...parties,
      agreement: {
        id: s.agreementId,
        intent: detailType.includes('Amended') ? 'REPLACE' : 'NEW',
        status: 'ACTIVE',
        startTime: start,
        endTime: '9999-01-01T00:00:00Z',
        acceptanceTime: start,
      },
      resaleAuthorization: { id: null },
    };
  }
  return JSON.stringify({
    version: '0',
    id: uuid(),
    'detail-type': detailType,
    source: 'aws.agreement-marketplace',
    account: ctx.sellerAccountId,
    time: ebTime(ctx.now),
    region: ctx.region,
    resources: [`arn:aws:aws-marketplace::aws:agreement:${s.agreementId}`],
    detail,
  });
}
