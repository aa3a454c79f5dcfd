/**
 * The Marketplace message inside an SNS notification (or the whole body under raw delivery):
 * `{"action": …, "customer-identifier": …, "product-code": …, "offer-identifier"?: …, "isFreeTrialTermPresent"?: …}`
 * (facts §5.2 subscription topic, §5.3 entitlement topic).
 */
import { isJsonObject, readBooleanish, readString, type JsonObject } from './json-fields';
import type { MarketplaceEventKind } from './marketplace-event';

/** Actions that the SNS topics publish (facts §5.2, §5.3). */
const SNS_ACTIONS: ReadonlySet<string> = new Set([
  'subscribe-success',
  'subscribe-fail',
  'unsubscribe-pending',
  'unsubscribe-success',
  'entitlement-updated',
]);

// Kebab-case first (current docs and the AWS sample), then PascalCase/camelCase variants seen in
// older revisions of saas-notification.md and in the French seed ("CustomerId") (facts §5.2).
export const CUSTOMER_IDENTIFIER_KEYS = ['customer-identifier', 'CustomerIdentifier', 'customerIdentifier', 'CustomerId', 'customerId'];
export const PRODUCT_CODE_KEYS = ['product-code', 'ProductCode', 'productCode'];
export const OFFER_IDENTIFIER_KEYS = ['offer-identifier', 'OfferIdentifier', 'offerIdentifier'];
// Not shown by any official doc for SNS (facts §5.2: UNCONFIRMED); read defensively.
export const CUSTOMER_ACCOUNT_KEYS = [
  'customer-aws-account-id',
  'CustomerAWSAccountId',
  'customerAWSAccountId',
  'CustomerAwsAccountId',
  'customerAwsAccountId',
];
export const LICENSE_ARN_KEYS = ['license-arn', 'LicenseArn', 'licenseArn'];
export const FREE_TRIAL_KEYS = ['isFreeTrialTermPresent', 'is-free-trial-term-present', 'IsFreeTrialTermPresent'];
const ACTION_KEYS = ['action', 'Action'];

/** Fields of a Marketplace SNS message, normalized. */
export interface MarketplaceMessageFields {
  kind: MarketplaceEventKind;
  productCode: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  offerIdentifier?: string;
  freeTrial?: boolean;
}

/** The product code at the end of a Marketplace topic ARN: `arn:aws:sns:us-east-1:<acct>:aws-mp-…-notification-<code>` (facts §5.1). */
export function productCodeFromTopicArn(topicArn: string | undefined): string | undefined {
  const m = topicArn === undefined ? null : /:aws-mp-(?:subscription|entitlement)-notification-([A-Za-z0-9]+)$/.exec(topicArn);
  return m?.[1];
}

/** True when a parsed body looks like a Marketplace SNS message (has an `action`). */
export function looksLikeMarketplaceMessage(value: unknown): value is JsonObject {
  return isJsonObject(value) && readString(value, ACTION_KEYS) !== undefined;
}

/**
 * Reads a Marketplace SNS message. The product code may come from the topic ARN when the body lacks
 * it. Identity is required: a customer identifier, or a customer AWS account id.
 */
export function readMarketplaceMessage(
  value: unknown,
  topicArn?: string,
): { ok: true; fields: MarketplaceMessageFields } | { ok: false; reason: string } {
  if (!isJsonObject(value)) return { ok: false, reason: 'Marketplace message is not a JSON object' };
  const action = readString(value, ACTION_KEYS);
  if (action === undefined) return { ok: false, reason: 'Marketplace message has no "action"' };
  if (!SNS_ACTIONS.has(action)) return { ok: false, reason: `unknown Marketplace action "${action.slice(0, 64)}"` };
  const customerIdentifier = readString(value, CUSTOMER_IDENTIFIER_KEYS);
  const customerAWSAccountId = readString(value, CUSTOMER_ACCOUNT_KEYS);
  if (customerIdentifier === undefined && customerAWSAccountId === undefined) {
    return {
      ok: false,
      reason: `Marketplace message "${action}" has no customer identity (customer-identifier or customer-aws-account-id)`,
    };
  }
  const productCode = readString(value, PRODUCT_CODE_KEYS) ?? productCodeFromTopicArn(topicArn);
  if (productCode === undefined) return { ok: false, reason: `Marketplace message "${action}" has no product-code` };
  const fields: MarketplaceMessageFields = { kind: action as MarketplaceEventKind, productCode };
  if (customerIdentifier !== undefined) fields.customerIdentifier = customerIdentifier;
  if (customerAWSAccountId !== undefined) fields.customerAWSAccountId = customerAWSAccountId;
  const licenseArn = readString(value, LICENSE_ARN_KEYS);
  if (licenseArn !== undefined) fields.licenseArn = licenseArn;
  // offer-identifier is optional: private offers only (SG2023), or new offers since 2024 (facts §5.2).
  const offerIdentifier = readString(value, OFFER_IDENTIFIER_KEYS);
  if (offerIdentifier !== undefined) fields.offerIdentifier = offerIdentifier;
  const freeTrial = readBooleanish(value, FREE_TRIAL_KEYS);
  if (freeTrial !== undefined) fields.freeTrial = freeTrial;
  return { ok: true, fields };
}
