import type { SubscriptionState } from './subscription-state';

/**
 * A buyer's subscription to one of the seller's products. Created by whichever comes first,
 * the registration POST or a Marketplace event; later writes merge and never overwrite.
 */
export interface Customer {
  readonly id: string;
  readonly productCode: string;
  /** Legacy identity (listings before June 2026), with the product code. */
  readonly customerIdentifier: string | null;
  /** Current identity (concurrent agreements), with the licence. */
  readonly customerAWSAccountId: string | null;
  readonly licenseArn: string | null;
  readonly offerId: string | null;
  /** The current agreement: the one named by the newest event that grants or changes it (facts §5.4). */
  readonly agreementId: string | null;
  /** That agreement's `status` and `intent` (NEW, RENEW, REPLACE) as its newest event gave them. */
  readonly agreementStatus: string | null;
  readonly agreementIntent: string | null;
  readonly freeTrial: boolean;
  readonly subscription: SubscriptionState;
  readonly onboarding: Onboarding;
  /** The seller app's own tenant id for this customer, unique per product (`PATCH /v1/customers/{id}`). */
  readonly externalId: string | null;
  /** The customer whose agreement this one renewed or replaced (null: none known). */
  readonly previousCustomerId: string | null;
  /** When the buyer's onboarding fields were erased (null: never). Identity and metering are kept: AWS needs them. */
  readonly personalDataErasedAt: Date | null;
  /** When the buyer's browser first came through the registration URL. */
  readonly registeredAt: Date | null;
  readonly entitlementsFetchedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly version: number;
}

export interface Onboarding {
  readonly email: string | null;
  readonly company: string | null;
  readonly contactName: string | null;
  /** When the sign-up form was completed. */
  readonly onboardedAt: Date | null;
}

/** What identifies a buyer in a Marketplace message or API answer; any subset may be present. */
export interface CustomerIdentity {
  readonly productCode?: string | null;
  readonly customerIdentifier?: string | null;
  readonly customerAWSAccountId?: string | null;
  readonly licenseArn?: string | null;
  readonly agreementId?: string | null;
}

/**
 * Agreement facts one event carries, stamped with its event time. Each field is newest-wins on its
 * own, so the stored values do not depend on delivery order.
 */
export interface AgreementFacts {
  /** Absent for events that name no agreement (SNS subscription messages). */
  readonly agreementId?: string;
  readonly offerId?: string;
  readonly status?: string;
  readonly intent?: string;
  /** True for events that make their agreement the customer's current one (Created, Amended, License Updated). */
  readonly makesCurrent: boolean;
  readonly eventTime: Date;
}

/** The identity style a customer is metered with (facts §1.6: never both for one customer-hour). */
export function meteringIdentity(
  customer: Customer,
):
  | { kind: 'license'; customerAWSAccountId: string; licenseArn: string }
  | { kind: 'customer-identifier'; customerIdentifier: string }
  | null {
  if (customer.licenseArn && customer.customerAWSAccountId) {
    return { kind: 'license', customerAWSAccountId: customer.customerAWSAccountId, licenseArn: customer.licenseArn };
  }
  if (customer.customerIdentifier) return { kind: 'customer-identifier', customerIdentifier: customer.customerIdentifier };
  return null;
}

/** One entitlement of a contract, as GetEntitlements returned it (facts §2.3). */
export interface Entitlement {
  readonly dimension: string;
  readonly value:
    | { readonly type: 'integer'; readonly value: number }
    | { readonly type: 'double'; readonly value: number }
    | { readonly type: 'boolean'; readonly value: boolean }
    | { readonly type: 'string'; readonly value: string }
    | { readonly type: 'none' };
  readonly expirationDate: Date | null;
}
