/**
 * Public types of the 2026 agreement model, the demo clock, cancellation requests and billing
 * adjustments (re-exported by `types.ts`). Facts-sheet section numbers (§) refer to
 * `aws-marketplace-facts.md`.
 */
/** Typed entitlement value, as GetEntitlements returns it (§2.3). */
export interface SimEntitlement {
  dimension: string;
  integerValue?: number;
  booleanValue?: boolean;
  stringValue?: string;
  doubleValue?: number;
  expirationDate?: Date;
}

/**
 * A clock the simulator can share with the service that embeds it (option `clock`). Both read
 * `now()`; only the simulator calls `advance(ms)`, when someone asks it to advance time.
 */
export interface SimulatorClock {
  /** Epoch milliseconds. */
  now(): number;
  /** Moves the time forward by `ms` (always a positive whole number). */
  advance(ms: number): void;
}

/** What one clock advance did (returned by {@link Simulator.advanceClock}, passed to `onClockAdvanced` listeners). */
export interface ClockAdvance {
  advancedMs: number;
  /** Epoch ms before the advance. */
  from: number;
  /** Epoch ms after the advance. */
  now: number;
  /** Scheduled steps that became due and ran. */
  fired: number;
}

/** The Agreement API operations the simulator answers (`AWSMPCommerceService_v20200301.<name>`). */
export type AgreementOperation =
  | 'DescribeAgreement'
  | 'GetAgreementTerms'
  | 'SearchAgreements'
  | 'GetAgreementEntitlements'
  | 'SendAgreementCancellationRequest'
  | 'GetAgreementCancellationRequest'
  | 'ListAgreementCancellationRequests'
  | 'CancelAgreementCancellationRequest'
  | 'AcceptAgreementCancellationRequest'
  | 'RejectAgreementCancellationRequest'
  | 'BatchCreateBillingAdjustmentRequest'
  | 'GetBillingAdjustmentRequest'
  | 'ListBillingAdjustmentRequests';

/** Input of {@link Simulator.renew} and {@link Simulator.replace}. */
export interface RenewInput {
  /** The new agreement's entitlements. Default: the old agreement's. */
  entitlements?: SimEntitlement[];
  /** Default: the old agreement's offer for a renewal, a new offer for a replacement. */
  offerId?: string;
  /** Default `'auto'`. */
  confirmation?: 'auto' | 'manual';
}

/** `intent` of `Purchase Agreement Created` (§5.4): a first purchase, a renewal or a replacement. */
export type AgreementIntent = 'NEW' | 'RENEW' | 'REPLACE';

/** Agreement API `status` (§5.5). The simulator uses ACTIVE, CANCELLED, EXPIRED, RENEWED, REPLACED and TERMINATED. */
export type AgreementStatus =
  'ACTIVE' | 'ARCHIVED' | 'CANCELLED' | 'EXPIRED' | 'RENEWED' | 'REPLACED' | 'ROLLED_BACK' | 'SUPERSEDED' | 'TERMINATED';

export type CancellationReasonCode =
  | 'INCORRECT_TERMS_ACCEPTED'
  | 'REPLACING_AGREEMENT'
  | 'TEST_AGREEMENT'
  | 'ALTERNATIVE_PROCUREMENT_CHANNEL'
  | 'PRODUCT_DISCONTINUED'
  | 'UNINTENDED_RENEWAL'
  | 'BUYER_DISSATISFACTION'
  | 'OTHER';

export type CancellationStatus = 'PENDING_APPROVAL' | 'APPROVED' | 'REJECTED' | 'CANCELLED' | 'VALIDATION_FAILED';

/** A seller's request to cancel an agreement (§5.6); a copy. */
export interface SimCancellationRequest {
  /** `acr-…` */
  id: string;
  agreementId: string;
  subscriptionId: string;
  reasonCode: CancellationReasonCode;
  description?: string;
  status: CancellationStatus;
  /** Why it was rejected or withdrawn ('' otherwise), as in the events' `statusMessage`. */
  statusMessage: string;
  createdAt: number;
  updatedAt: number;
  /** When it is approved if the buyer does nothing (createdAt + `cancellationApprovalMs`). */
  autoApproveAt: number;
}

export type BillingAdjustmentReasonCode =
  | 'INCORRECT_TERMS_ACCEPTED'
  | 'INCORRECT_METERING'
  | 'TEST_ENVIRONMENT_CHARGES'
  | 'ALTERNATIVE_PROCUREMENT_CHANNEL'
  | 'UNINTENDED_RENEWAL'
  | 'BUYER_DISSATISFACTION'
  | 'OTHER';

/** A refund on an agreement (§5.6); a copy. */
export interface SimBillingAdjustment {
  /** `ba-…` */
  id: string;
  agreementId: string;
  subscriptionId: string;
  originalInvoiceId: string;
  /** Positive decimal string, as BatchCreateBillingAdjustmentRequest takes it. */
  adjustmentAmount: string;
  currencyCode: string;
  adjustmentReasonCode: BillingAdjustmentReasonCode;
  description?: string;
  clientToken: string;
  status: 'PENDING' | 'COMPLETED' | 'VALIDATION_FAILED';
  createdAt: number;
  updatedAt: number;
}

/** Input of {@link Simulator.issueRefund}. */
export interface RefundInput {
  /** Positive decimal string (up to 8 decimals), e.g. `'25.00'`. */
  amount: string;
  /** Default `'USD'`. */
  currencyCode?: string;
  /** Default `'OTHER'`. */
  reasonCode?: BillingAdjustmentReasonCode;
  description?: string;
  /** Default: a made-up invoice id of the agreement. */
  originalInvoiceId?: string;
  /** Default: random. */
  clientToken?: string;
}
