/**
 * The sentence a Slack-compatible endpoint gets (an incoming webhook: `{"text": "…"}`), so that an
 * ops channel hears about sign-ups and failures in plain words. Pure. Names the customer by company
 * (when the buyer gave one and it was not erased) or by AWS identity; never an email or a person.
 */
import type { CustomerView } from '../customers/customer-view';
import type { WebhookPayload } from './outbox.repository';

/** The product's display name for a product code (the configured `name`). */
export type ProductNames = (productCode: string) => string | undefined;

export function slackText(payload: WebhookPayload, productName: ProductNames): string {
  const c = payload.data.customer;
  const who = c ? customerLabel(c) : 'a customer';
  const product = c ? (productName(c.productCode) ?? c.productCode) : '';
  const plan = c?.freeTrial ? ' (free trial)' : '';
  const record = payload.data.meteringRecord as { dimension?: string; hour?: string; reason?: string | null } | undefined;
  const what = record ? ` (${record.dimension ?? '?'}, hour ${record.hour ?? '?'}${record.reason ? `: ${record.reason}` : ''})` : '';
  switch (payload.type) {
    case 'customer.registered':
      return `New sign-up: ${who} on ${product}${plan}, waiting for AWS to confirm`;
    case 'customer.onboarded':
      return `${who} completed the sign-up form for ${product}`;
    case 'customer.activated':
      return `New subscriber: ${who} on ${product}${plan}`;
    case 'customer.subscription_failed':
      return `Subscription failed: ${who} on ${product} (AWS Marketplace could not complete it)`;
    case 'customer.ending':
      return `Cancelled: ${who} on ${product}; the final metering hour is open`;
    case 'customer.ended':
      return `Subscription ended: ${who} on ${product}`;
    case 'customer.entitlements_changed':
      return `Contract changed: ${who} on ${product}: ${entitlementsText(c)}`;
    case 'customer.personal_data_erased':
      return `Personal data erased for ${who} on ${product}`;
    case 'customer.contract_ending_soon': {
      const k = payload.data.contract as { endTime?: string; daysBefore?: number } | undefined;
      return `Contract ending in ${k?.daysBefore ?? '?'} days or less: ${who} on ${product} (ends ${k?.endTime ?? '?'}, no automatic renewal)`;
    }
    case 'agreement.cancellation_requested':
      return `Cancellation requested for ${who} on ${product}${requestText(payload)}; the buyer has 7 days to answer`;
    case 'agreement.cancellation_approved':
      return `Cancellation approved for ${who} on ${product}${requestText(payload)}; the agreement ends`;
    case 'agreement.cancellation_rejected':
      return `The buyer rejected the cancellation request for ${who} on ${product}${requestText(payload)}`;
    case 'agreement.cancellation_withdrawn':
      return `Cancellation request withdrawn for ${who} on ${product}${requestText(payload)}`;
    case 'agreement.billing_adjusted': {
      const a = payload.data.billingAdjustment as { amount?: string; currencyCode?: string | null } | undefined;
      return `Refund completed for ${who} on ${product}: ${a?.amount ?? '?'} ${a?.currencyCode ?? ''}`.trimEnd();
    }
    case 'metering.record_failed':
      return `Metering record failed for ${who} on ${product}${what}`;
    case 'metering.record_duplicate':
      return `Metering record refused as a duplicate for ${who} on ${product}${what}`;
    case 'metering.record_expired':
      return `Metering record expired unbilled for ${who} on ${product}${what}`;
    case 'metering.record_not_subscribed':
      return `AWS says ${who} is not subscribed to ${product}; a metering record was not billed${what}`;
    case 'webhook_endpoint.disabled': {
      const e = payload.data.endpoint as { url?: string; reason?: string } | undefined;
      return `Webhook endpoint ${e?.url ?? '?'} was disabled: ${e?.reason ?? 'it kept failing'}`;
    }
  }
}

/** The customer as a channel may see them: company, else AWS account or identifier. */
function customerLabel(c: CustomerView): string {
  return (
    c.onboarding.company ?? (c.customerAWSAccountId ? `AWS account ${c.customerAWSAccountId}` : `customer ${c.customerIdentifier ?? c.id}`)
  );
}

function entitlementsText(c: CustomerView | undefined): string {
  const list = c?.entitlements ?? [];
  if (list.length === 0) return 'no entitlement';
  return list.map((e) => `${e.dimension} ${e.value === null ? 'included' : String(e.value)}`).join(', ');
}

/** Slack's three control characters, escaped as its formatting rules ask. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function requestText(payload: WebhookPayload): string {
  const r = payload.data.cancellationRequest as { id?: string; reasonCode?: string | null } | undefined;
  if (!r?.id) return '';
  return ` (${r.id}${r.reasonCode ? `, ${r.reasonCode}` : ''})`;
}
