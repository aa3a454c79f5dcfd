/**
 * Access decisions (pure: no I/O, no clock): may this customer use `quantity` of `dimension` now?
 *
 * AWS rules served (facts §5.2, §5.3, §5.4, §1.7; seed "Surveiller les modifications apportées aux
 * abonnements"):
 * - access starts with `subscribe-success` / `License Updated`: "wait for the subscribe-success
 *   message before allowing consumption"; a buyer who reached the registration page is not yet a
 *   paying one (`subscribe-fail` may follow);
 * - `unsubscribe-pending`, `Purchase Agreement Ended` and an empty or expired contract open the
 *   final-metering window: the buyer has cancelled, so no new access; usage already under way is
 *   still accepted and billed by the metering API until the window closes;
 * - contracts grant what GetEntitlements lists, until each entitlement's expiration; for
 *   contracts with consumption, usage above the entitled quantity of a metered dimension is
 *   allowed and billed as overage;
 * - MeterUsage products: after repeated metering failures with the fail-closed policy, access is
 *   refused until metering works again.
 */
import type { Customer, Entitlement } from '../customers/customer';
import type { ProductConfig } from '../products/product-config';

/** Why access was granted or refused. Stable codes: part of the public API. */
export type AccessReason =
  // allowed
  | 'subscribed'
  | 'within_entitlement'
  | 'billed_as_overage'
  | 'billed_per_use'
  | 'feature_enabled'
  // refused
  | 'awaiting_confirmation'
  | 'subscription_failed'
  | 'subscription_ending'
  | 'subscription_ended'
  | 'entitlements_unknown'
  | 'contract_ended'
  | 'not_entitled'
  | 'exceeds_entitlement'
  | 'feature_disabled'
  | 'metering_unavailable';

export interface AccessRequest {
  /** A dimension of the customer's product; absent: may the customer use the product at all? */
  readonly dimension?: string;
  /** The quantity in use the customer wants to reach (seats, hosts…); default 1. */
  readonly quantity?: number;
}

/** What the entitlement for the asked dimension grants, when the product is a contract. */
export interface EntitledAmount {
  readonly valueType: Entitlement['value']['type'];
  /** The entitled quantity (integer or double entitlements), else null. */
  readonly quantity: number | null;
  readonly expirationDate: Date | null;
}

export interface AccessDecision {
  readonly allowed: boolean;
  readonly reason: AccessReason;
  /** A sentence the seller's product may show or log. */
  readonly message: string;
  /** The entitlement compared with, for contract products (null: none applies). */
  readonly entitled: EntitledAmount | null;
  /** The part of `quantity` above the entitled quantity that metering will bill (0 if none). */
  readonly overage: number;
}

/** The state of MeterUsage metering for the product (see MeteringEmitter.meteringAccess). */
export interface MeteringHealth {
  /** False when metering has failed past the limit and the policy is fail-closed. */
  readonly allowed: boolean;
}

export interface AccessFacts {
  readonly customer: Customer;
  readonly product: ProductConfig;
  /** The stored GetEntitlements snapshot (contracts); ignored for subscriptions. */
  readonly entitlements: readonly Entitlement[];
  readonly metering: MeteringHealth;
  readonly now: Date;
}

const isContract = (p: ProductConfig): boolean => p.pricingModel !== 'subscription';

export function decideAccess(facts: AccessFacts, request: AccessRequest): AccessDecision {
  const { customer, product, now } = facts;
  const quantity = request.quantity ?? 1;
  const refuse = (reason: AccessReason, message: string, entitled: EntitledAmount | null = null): AccessDecision => ({
    allowed: false,
    reason,
    message,
    entitled,
    overage: 0,
  });

  const status = customer.subscription.status;
  if (status === 'pending')
    return refuse(
      'awaiting_confirmation',
      'AWS Marketplace has not confirmed the subscription yet (subscribe-success or License Updated); try again shortly',
    );
  if (status === 'failed')
    return refuse(
      'subscription_failed',
      'AWS Marketplace reported that the subscription failed (subscribe-fail); the buyer must subscribe again',
    );
  if (status === 'unsubscribe_pending')
    return refuse('subscription_ending', 'the buyer cancelled: the subscription is in its final metering window');
  if (status === 'unsubscribed') return refuse('subscription_ended', 'the subscription has ended');
  if (product.meteringApi === 'meter-usage' && !facts.metering.allowed) {
    return refuse(
      'metering_unavailable',
      'usage cannot be metered with AWS Marketplace for now and the product is configured to fail closed',
    );
  }

  if (!isContract(product)) {
    if (request.dimension === undefined) return allow('subscribed', 'the subscription is active');
    return allow('billed_per_use', `usage of ${request.dimension} is billed per use`);
  }

  if (customer.entitlementsFetchedAt === null) {
    return refuse('entitlements_unknown', 'the contract has not been read from AWS Marketplace yet (GetEntitlements); try again shortly');
  }
  const current = facts.entitlements.filter((e) => e.expirationDate === null || e.expirationDate.getTime() > now.getTime());
  if (current.length === 0) return refuse('contract_ended', 'the contract grants nothing now: no entitlement, or every one has expired');
  if (request.dimension === undefined) return allow('subscribed', 'the contract is in force');

  const dimension = product.dimensions.find((d) => d.name === request.dimension);
  const billedAboveEntitlement = product.pricingModel === 'contract-with-consumption' && dimension?.metered === true;
  const entitlement = current.find((e) => e.dimension === request.dimension);
  if (!entitlement) {
    if (billedAboveEntitlement)
      return allow('billed_as_overage', `the contract includes no ${request.dimension}: all of it is billed as usage`, null, quantity);
    const lapsed = facts.entitlements.some((e) => e.dimension === request.dimension);
    return refuse(
      'not_entitled',
      lapsed ? `the entitlement to ${request.dimension} has expired` : `the contract does not include ${request.dimension}`,
    );
  }
  const entitled = amountOf(entitlement);
  switch (entitlement.value.type) {
    case 'boolean':
      return entitlement.value.value
        ? allow('feature_enabled', `${request.dimension} is enabled`, entitled)
        : refuse('feature_disabled', `${request.dimension} is not enabled by the contract`, entitled);
    case 'string':
    case 'none':
      return allow('within_entitlement', `the contract includes ${request.dimension}`, entitled);
    case 'integer':
    case 'double': {
      const limit = entitlement.value.value;
      if (quantity <= limit) return allow('within_entitlement', `${quantity} of ${limit} ${request.dimension} entitled`, entitled);
      if (billedAboveEntitlement)
        return allow(
          'billed_as_overage',
          `${quantity - limit} ${request.dimension} above the ${limit} entitled are billed as usage`,
          entitled,
          quantity - limit,
        );
      return refuse('exceeds_entitlement', `${quantity} ${request.dimension} asked, the contract entitles ${limit}`, entitled);
    }
  }
}

function allow(reason: AccessReason, message: string, entitled: EntitledAmount | null = null, overage = 0): AccessDecision {
  return { allowed: true, reason, message, entitled, overage };
}

function amountOf(e: Entitlement): EntitledAmount {
  const quantity = e.value.type === 'integer' || e.value.type === 'double' ? e.value.value : null;
  return { valueType: e.value.type, quantity, expirationDate: e.expirationDate };
}
