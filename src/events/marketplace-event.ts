import type { CancellationStatus } from '../customers/agreement-requests';

/**
 * One normalized notification, whatever envelope AWS used to deliver it (facts §4.1, §4.2, §5.2-§5.4).
 */

export const MARKETPLACE_EVENT_KINDS = [
  'subscribe-success',
  'subscribe-fail',
  'unsubscribe-pending',
  'unsubscribe-success',
  'entitlement-updated',
  'agreement-created',
  'agreement-amended',
  'agreement-ended',
  'license-updated',
  'license-deprovisioned',
  'cancellation-requested',
  'cancellation-approved',
  'cancellation-rejected',
  'cancellation-withdrawn',
  'billing-adjusted',
] as const;

export type MarketplaceEventKind = (typeof MARKETPLACE_EVENT_KINDS)[number];

/** How the event reached us. */
export type MarketplaceEventChannel = 'sns-sqs' | 'sns-raw' | 'sns-http' | 'eventbridge';

/** A Marketplace notification, normalized. Optional fields are absent when the message lacks them. */
export interface MarketplaceEvent {
  /** SNS MessageId (SNS retries reuse it, facts §4.2); EventBridge `id`; for raw delivery, the SQS MessageId. */
  dedupeKey: string;
  /**
   * EventBridge only: `eb:<detail-type stem>:<detail.requestId>`, shared by the Manufacturer and Proposer
   * copies of one event (facts §5.4). Falls back to the agreement id and time when requestId is absent.
   */
  secondaryDedupeKey?: string;
  channel: MarketplaceEventChannel;
  kind: MarketplaceEventKind;
  /** SNS envelope `Timestamp`; EventBridge `time`; for raw delivery, the caller's fallback (SQS SentTimestamp). */
  eventTime: Date;
  productCode?: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  offerIdentifier?: string;
  agreementId?: string;
  agreementStatus?: string;
  agreementIntent?: string;
  /** `Purchase Agreement Created` of a renewal or replacement: `detail.agreement.previousAgreementId`. */
  previousAgreementId?: string;
  /** From `isFreeTrialTermPresent` ("true"/"false" string, or boolean). Absent when not given. */
  freeTrial?: boolean;
  /** Cancellation-request events only: the request as the event describes it (facts §5.6). */
  cancellationRequest?: CancellationRequestFacts;
  /** `Purchase Agreement Billing Adjustment Completed` only: the refund (facts §5.6). */
  billingAdjustment?: BillingAdjustmentFacts;
  /** SNS TopicArn, when the event came in an SNS envelope. */
  topicArn?: string;
  /** EventBridge `detail-type` as received (e.g. `License Updated - Manufacturer`). */
  detailType?: string;
  /** The original parsed body (the inner Marketplace JSON or the EventBridge event), kept for audit. */
  payload: unknown;
}

/** `detail.agreementCancellationRequest` of a cancellation event (docs/simulator.md "Research notes"). */
export interface CancellationRequestFacts {
  readonly id: string;
  readonly status: CancellationStatus;
  readonly reasonCode?: string;
  readonly reasonMessage?: string;
  readonly statusMessage?: string;
  readonly createdAt?: Date;
}

/** `detail.billingAdjustmentRequest` (and `detail.invoice`) of a billing-adjustment event. */
export interface BillingAdjustmentFacts {
  readonly id: string;
  /** Decimal text as AWS sent it; the event shows a refund as a negative amount ("-100.00"). */
  readonly amount: string;
  readonly currencyCode?: string;
  readonly reasonCode?: string;
  readonly originalInvoiceId?: string;
}

/** Outcome of parsing one message. Never thrown: garbage is a reason, not an exception. */
export type ParseResult = { ok: true; event: MarketplaceEvent } | { ok: false; reason: string; dedupeKey?: string };
