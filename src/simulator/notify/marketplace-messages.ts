import { uuid } from '../ids';
import { agreementTimes, ebTime } from '../marketplace/agreement-times';
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

/**
 * An EventBridge event for the default bus, `source: aws.agreement-marketplace` (§5.4; shapes from
 * the Seller Guide's "Amazon EventBridge events" page). Agreement events carry no license (correlate
 * on `detail.agreement.id`); License events carry `product` and `license`. A renewal's or
 * replacement's `Purchase Agreement Created` carries `previousAgreementId` and `product`.
 */
export function agreementEvent(
  detailType: AgreementDetailType,
  product: SimProduct,
  s: SubscriptionState,
  ctx: { sellerAccountId: string; region: string; now: number },
): string {
  const base = { requestId: uuid(), catalog: 'AWSMarketplace' };
  const parties = { acceptor: { accountId: s.customerAWSAccountId }, proposer: { accountId: ctx.sellerAccountId } };
  let detail: Record<string, unknown>;
  if (detailType.startsWith('License')) {
    detail = {
      ...base,
      offer: { id: s.offerId },
      license: { arn: s.licenseArn },
      product: { id: product.productId, code: product.productCode },
      ...parties,
      agreement: { id: s.agreementId },
    };
  } else if (detailType === 'Purchase Agreement Ended - Proposer') {
    detail = {
      catalog: base.catalog,
      ...parties,
      agreement: { id: s.agreementId, status: s.agreementStatus },
      requestId: base.requestId,
      resaleAuthorization: { id: null },
      offer: { id: s.offerId },
    };
  } else {
    const { startTime, endTime } = agreementTimes(s, product);
    const amended = detailType.includes('Amended');
    const successor = !amended && s.intent !== 'NEW';
    detail = {
      ...base,
      offer: { id: s.offerId },
      ...parties,
      agreement: {
        id: s.agreementId,
        // Seller Guide: Amended carries intent AMEND; Created carries NEW, RENEW or REPLACE.
        intent: amended ? 'AMEND' : s.intent,
        status: 'ACTIVE',
        startTime: ebTime(startTime),
        endTime: ebTime(endTime),
        acceptanceTime: ebTime(s.createdAt),
        ...(successor && s.previousAgreementId ? { previousAgreementId: s.previousAgreementId } : {}),
      },
      ...(successor ? { product: { id: product.productId, title: product.productCode } } : {}),
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

/** A cancellation-request or billing-adjustment event (`resources` empty, as on the Seller Guide page). */
export function requestEvent(
  detailType: string,
  detail: Record<string, unknown>,
  ctx: { sellerAccountId: string; region: string; now: number },
): string {
  return JSON.stringify({
    version: '0',
    id: uuid(),
    'detail-type': detailType,
    source: 'aws.agreement-marketplace',
    account: ctx.sellerAccountId,
    time: ebTime(ctx.now),
    region: ctx.region,
    resources: [],
    detail: { requestId: uuid(), catalog: 'AWSMarketplace', ...detail },
  });
}
