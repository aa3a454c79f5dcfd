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
  /** From `isFreeTrialTermPresent` ("true"/"false" string, or boolean). Absent when not given. */
  freeTrial?: boolean;
  /** SNS TopicArn, when the event came in an SNS envelope. */
  topicArn?: string;
  /** EventBridge `detail-type` as received (e.g. `License Updated - Manufacturer`). */
  detailType?: string;
  /** The original parsed body (the inner Marketplace JSON or the EventBridge event), kept for audit. */
  payload: unknown;
}

/** Outcome of parsing one message. Never thrown: garbage is a reason, not an exception. */
export type ParseResult = { ok: true; event: MarketplaceEvent } | { ok: false; reason: string; dedupeKey?: string };
