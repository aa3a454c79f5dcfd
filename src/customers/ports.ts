import type { CustomerIdentity, Entitlement } from './customer';

/**
 * What the customer capability needs from AWS Marketplace, in its own words. The SDK adapters
 * in `src/aws/` implement these; the domain never sees an SDK type.
 */

/** What ResolveCustomer answers (facts §1.5). CustomerIdentifier is absent for listings from June 2026. */
export interface ResolvedCustomer {
  readonly productCode: string;
  readonly customerIdentifier?: string;
  readonly customerAWSAccountId?: string;
  readonly licenseArn?: string;
}

export interface CustomerResolver {
  /**
   * Redeems a registration token. Rejects with `AppError` codes `invalid_registration_token`,
   * `expired_registration_token`, or an `AwsCallError` (retryable for throttling and 5xx).
   */
  resolveCustomer(registrationToken: string): Promise<ResolvedCustomer>;
}

export interface EntitlementReader {
  /** Every entitlement of one buyer for one product, all pages read (facts §2.2–§2.5). */
  readEntitlements(productCode: string, identity: CustomerIdentity): Promise<Entitlement[]>;
}

/** What the Agreement API says about one agreement (facts §5.5: DescribeAgreement + GetAgreementTerms). */
export interface AgreementDetails {
  readonly agreementId: string;
  /** `ACTIVE`, `CANCELLED`, `EXPIRED`, `RENEWED`, `REPLACED`, `TERMINATED`, … as AWS gives it. */
  readonly status: string | null;
  readonly startTime: Date | null;
  readonly endTime: Date | null;
  /** `endTimeBehavior.type`: `RENEW`, `REPLACE` or `EXPIRE`; null when AWS gives none. */
  readonly endTimeBehavior: string | null;
  /** True when the accepted terms hold a `freeTrialPricingTerm`: AWS's word, not the buyer's form. */
  readonly freeTrial: boolean;
  /** `estimatedCharges`: the agreement's value as AWS's decimal text, with its currency. */
  readonly estimatedValue: { readonly amount: string; readonly currencyCode: string | null } | null;
}

export interface AgreementReader {
  /**
   * Reads one agreement and all its accepted terms, paced under the Agreement API quotas.
   * Rejects with an `AwsCallError` (retryable for throttling and 5xx).
   */
  readAgreement(agreementId: string): Promise<AgreementDetails>;
}
