/**
 * The webhook event types (README "Integrate your app"). Part of the public API: never rename one.
 * Pure.
 */
export const WEBHOOK_EVENT_TYPES = {
  'customer.registered': 'the buyer came through the registration URL for the first time',
  'customer.onboarded': 'the buyer completed the sign-up form (and again each time they change it)',
  'customer.activated': 'AWS confirmed the subscription (subscribe-success, License Updated): give access',
  'customer.subscription_failed': 'AWS could not complete the subscription (subscribe-fail)',
  'customer.ending': 'the buyer cancelled: the final-metering window is open, usage under way is still billed',
  'customer.ended': 'the subscription ended (unsubscribe-success, License Deprovisioned): remove access',
  'customer.entitlements_changed': "the customer's contract (entitlements) changed",
  'customer.personal_data_erased': "the buyer's personal data was erased: drop what you copied of it",
  'customer.contract_ending_soon': "the customer's contract ends within one of CONTRACT_ENDING_SOON_DAYS and does not renew by itself",
  'agreement.cancellation_requested': 'the seller asked AWS to cancel an agreement: the buyer has 7 days to approve or reject',
  'agreement.cancellation_approved': 'the cancellation request was approved (by the buyer, or after 7 days): the agreement ends',
  'agreement.cancellation_rejected': 'the buyer rejected the cancellation request: the agreement continues',
  'agreement.cancellation_withdrawn': 'the seller withdrew the cancellation request: the agreement continues',
  'agreement.billing_adjusted': 'AWS completed a billing adjustment (refund) on an agreement',
  'metering.record_failed': 'a metering record could not be billed (a data or configuration problem)',
  'metering.record_duplicate': 'AWS already holds a different quantity for that customer, dimension and hour',
  'metering.record_expired': 'a metering record was not accepted before the AWS window closed',
  'metering.record_not_subscribed': 'AWS says the customer is not subscribed: the record was not billed',
  'webhook_endpoint.disabled': 'a webhook endpoint failed for too long and was disabled',
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

export const ALL_WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENT_TYPES) as WebhookEventType[];

/** True when an endpoint subscribed to `subscribed` (null: every type) receives `type`. */
export function endpointWants(subscribed: readonly string[] | null, type: string): boolean {
  return subscribed === null || subscribed.length === 0 || subscribed.includes(type);
}
