/**
 * Public types of the local AWS Marketplace simulator. Production code never imports these;
 * tests and the standalone entry do. Facts-sheet section numbers (§) refer to
 * `aws-marketplace-facts.md`.
 */

import type {
  AgreementIntent,
  AgreementOperation,
  AgreementStatus,
  CancellationReasonCode,
  ClockAdvance,
  RefundInput,
  RenewInput,
  SimBillingAdjustment,
  SimCancellationRequest,
  SimEntitlement,
  SimulatorClock,
} from './agreement-types';

export type * from './agreement-types';

/** Options for {@link startSimulator}. Every member is optional. */
export interface SimulatorOptions {
  /** Interface to bind. Default `'127.0.0.1'`. */
  host?: string;
  /** Port to bind. Default `0` (a random free port). */
  port?: number;
  /** The seller's AWS account (queue owner, EventBridge `account`). Default `'111122223333'`. */
  sellerAccountId?: string;
  /** Region of every endpoint and ARN. Default `'us-east-1'` (the documented Marketplace region, §1.11, §2.1). */
  region?: string;
  /**
   * Epoch milliseconds. Default `Date.now`. Every AWS time rule uses the simulator clock, which is
   * this plus the time added by {@link Simulator.advanceClock}: usage windows, token expiry, hour
   * keys, activation times, SQS timestamps and visibility. Scheduled steps (confirmation,
   * unsubscribe, auto-approval, refunds) run when the simulator clock reaches them or when their
   * delay has passed in real time, whichever comes first. Fault latency and quotas use real time.
   * Not allowed together with `clock`.
   */
  now?: () => number;
  /**
   * A clock shared with the process that embeds the simulator, so that advancing the simulator's
   * clock (`POST /simulator/api/clock/advance`, the page's "Advance one hour", {@link Simulator.advanceClock})
   * moves the service's time too. The simulator reads `now()` and calls `advance(ms)`; it never sets
   * the time back. Default: none (the simulator keeps its own offset over `now`). Not allowed
   * together with `now`. See docs/simulator.md, "Demo clock".
   */
  clock?: SimulatorClock;
  /** Where the buyer page auto-POSTs the token form. Default `'http://127.0.0.1:3000/marketplace/register'`. */
  registrationUrl?: string;
  /** Delay between subscribe and `subscribe-success` / `License Updated`. Default `2000` ms. */
  confirmDelayMs?: number;
  /** Delay between `unsubscribe-pending` and `unsubscribe-success`. Default `3_600_000` (about one hour, §5.2). */
  unsubscribeDelayMs?: number;
  /** Registration token lifetime. Default `3_600_000` (the shorter of the two documented figures, §1.5). */
  tokenTtlMs?: number;
  /** How long a cancellation request waits for the buyer before it is approved. Default `604_800_000` (7 days, §5.6). */
  cancellationApprovalMs?: number;
  /** Delay between a billing adjustment request and its completion (`PENDING` → `COMPLETED`). Default `2000` ms. */
  billingAdjustmentDelayMs?: number;
  /**
   * Requests per second per operation; `0` disables. Defaults: BatchMeterUsage 10, MeterUsage 10,
   * RegisterUsage 5, GetEntitlements 20 (§6 quotas); Agreement API per operation as
   * `DEFAULT_AGREEMENT_QUOTAS` (exported by index.ts) (a number applies to every Agreement operation, `0` disables them all).
   */
  quotas?: {
    batchMeterUsage?: number;
    meterUsage?: number;
    registerUsage?: number;
    getEntitlements?: number;
    agreement?: number | Partial<Record<AgreementOperation, number>>;
  };
  /**
   * How old a usage record may be. Defaults: BatchMeterUsage `86_400_000` (under 24 h), MeterUsage
   * `21_600_000` (6 h), `monthEndGrace: true` (previous-month records only until 06:00 UTC on the 1st). §1.6, §1.7.
   */
  window?: { batchMeterUsageMaxAgeMs?: number; meterUsageMaxAgeMs?: number; monthEndGrace?: boolean };
  /** Names of the notification queues created at start (each with a `<name>-dlq`). */
  queues?: { subscription?: string; entitlement?: string; eventBridge?: string };
  /** `maxReceiveCount` of the notification queues' redrive policy. Default `5`. */
  maxReceiveCount?: number;
  /** SNS `SignatureVersion` of the Marketplace topics: `'1'` (SHA1withRSA) or `'2'` (SHA256). Default `'1'` (§4.3). */
  signatureVersion?: '1' | '2';
  /** Account that owns the Marketplace SNS topics. Default `'287250355862'` (reported, UNCONFIRMED, §5.1). */
  topicOwnerAccountId?: string;
  /** Wait before each of the 3 retries of a failed HTTP(S) endpoint delivery. Default `20_000` ms (SNS default HTTP policy). */
  httpRetryDelayMs?: number;
  /** Require a SigV4 `Authorization` header on AWS API calls (not verified, only parsed). Default `true`. */
  requireSignature?: boolean;
  /** Log sink, one line per event. Default: silent. */
  logger?: (line: string) => void;
}

export type PricingModel = 'subscription' | 'contract' | 'contract-with-consumption';
export type IdentityStyle = 'customer-identifier' | 'license';
export type NotificationChannel = 'sns' | 'eventbridge' | 'both';
export type DimensionType = 'Integer' | 'Boolean' | 'String' | 'Double';

/** Input of {@link Simulator.createProduct}. */
export interface CreateProductInput {
  productCode: string;
  /** Default `'prod-'` + random. */
  productId?: string;
  pricingModel: PricingModel;
  /** Legacy CustomerIdentifier + ProductCode, or CustomerAWSAccountId + LicenseArn (§1.10, §6). */
  identity: IdentityStyle;
  /** `price`: USD per unit as a decimal string, shown in GetAgreementTerms rate cards. Default `'1.00'`. */
  dimensions: Array<{ name: string; type?: DimensionType; price?: string }>;
  /** Default `'sns'` for customer-identifier products, `'eventbridge'` for license products (§5.4). */
  notifications?: NotificationChannel;
}

/** A product listing known to the simulator. */
export interface SimProduct {
  productCode: string;
  productId: string;
  pricingModel: PricingModel;
  identity: IdentityStyle;
  dimensions: Array<{ name: string; type: DimensionType; price: string }>;
  notifications: NotificationChannel;
  subscriptionTopicArn: string;
  entitlementTopicArn: string;
}

/** Input of {@link Simulator.subscribe}. */
export interface SubscribeInput {
  productCode: string;
  /** Default: random 12 digits. */
  awsAccountId?: string;
  freeTrial?: boolean;
  /** Default `'offer-'` + random. */
  offerId?: string;
  entitlements?: SimEntitlement[];
  /** `'auto'` (default) publishes the activation after `confirmDelayMs`; `'manual'` waits for {@link Simulator.confirm}. */
  confirmation?: 'auto' | 'manual';
  /** Contracts: the buyer's auto-renew choice (RenewalTerm `enableAutoRenew`). Default `true`. */
  autoRenew?: boolean;
}

/**
 * One buyer's subscription status. With concurrent agreements (license products) every agreement is
 * its own subscription: a renewal or replacement ends one and starts another.
 */
export type SubscriptionStatus = 'pending' | 'active' | 'unsubscribe-pending' | 'unsubscribed' | 'failed';

/** Current state of one buyer's subscription (a copy; mutating it changes nothing). */
export interface SimSubscription {
  id: string;
  productCode: string;
  productId: string;
  /** The most recently minted registration token. */
  registrationToken: string;
  /** Only for customer-identifier products. */
  customerIdentifier?: string;
  customerAWSAccountId: string;
  /** Set for every subscription (each agreement has its own licence); ResolveCustomer returns it only for license products. */
  licenseArn: string;
  agreementId: string;
  offerId: string;
  freeTrial: boolean;
  status: SubscriptionStatus;
  /** The Agreement API status of this agreement. */
  agreementStatus: AgreementStatus;
  intent: AgreementIntent;
  /** The first agreement of a renewal/replacement chain (this one's id for a NEW agreement). */
  initialAgreementId: string;
  /** The agreement this one renewed or replaced. */
  previousAgreementId?: string;
  /** Contracts: the buyer's auto-renew choice. */
  autoRenew: boolean;
  /** Epoch ms the agreement was accepted (its startTime). */
  createdAt: number;
  activatedAt?: number;
  /** Epoch ms the agreement ended (Purchase Agreement Ended). */
  agreementEndedAt?: number;
  /** Epoch ms the licence was deprovisioned (unsubscribe-success / License Deprovisioned). */
  endedAt?: number;
  entitlements: SimEntitlement[];
  buyerPageUrl: string;
}

/** One accepted (billed) usage record. */
export interface BilledRecord {
  productCode: string;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  dimension: string;
  /** ISO-8601 of the timestamp floored to the hour. */
  hour: string;
  quantity: number;
  meteringRecordId: string;
  allocations?: Array<{ quantity: number; tags?: Array<{ key: string; value: string }> }>;
  /** Which API accepted it. */
  operation: 'BatchMeterUsage' | 'MeterUsage';
  /** Epoch ms (simulator clock) when it was accepted. */
  at: number;
}

/** One entry of {@link Simulator.meteringLog}. */
export interface MeteringLogEntry {
  at: number;
  operation: string;
  /** e.g. `Success`, `DuplicateRecord`, `CustomerNotSubscribed`, `Unprocessed`, `double-billed`, or an error name. */
  outcome: string;
  detail?: unknown;
}

/** Probabilistic faults for one operation (rates are 0..1). */
export interface OperationFaults {
  /** Answer `ThrottlingException` (SQS: `RequestThrottled`). */
  throttleRate?: number;
  /** Answer `InternalServiceErrorException` with HTTP 500 (SQS: `InternalError`). */
  serverErrorRate?: number;
  /** BatchMeterUsage only: return each record in `UnprocessedRecords` with this probability. */
  unprocessedRate?: number;
  /** Delay before answering, in ms (real time). */
  latencyMs?: number;
  /** Destroy the socket without answering. */
  dropConnectionRate?: number;
}

export type FailNextError = 'ThrottlingException' | 'InternalServiceErrorException' | 'drop' | 'unprocessed';

/** Fault configuration for {@link Simulator.setFaults}; `{}` clears everything. */
export interface FaultConfig {
  /** PRNG seed for every random decision below. Default `1`. */
  seed?: number;
  /** Faults per operation name (`'BatchMeterUsage'`, `'ReceiveMessage'`, …) or `'*'` for all. */
  operations?: Record<string, OperationFaults>;
  /** Deterministic faults, consumed in order: the next `count` calls of `operation` fail with `error`. */
  failNext?: Array<{ operation: string; error: FailNextError; count: number }>;
  /** Deliver each notification twice with this probability (same MessageId, as SNS at-least-once does). */
  duplicateRate?: number;
  /** Hold notifications up to this many ms and deliver them in shuffled order. */
  reorderWindowMs?: number;
}

/** An HTTP(S) endpoint subscribed to one of the Marketplace SNS topics. */
export interface HttpEndpointSubscription {
  subscriptionArn: string;
  topicArn: string;
  url: string;
  confirmed: boolean;
}

/** The running simulator. */
export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:45678`: the endpoint for every SDK client. */
  readonly url: string;
  /** The SQS QueueUrl of a queue name. */
  queueUrl(name: string): string;
  stop(): Promise<void>;
  createProduct(input: CreateProductInput): SimProduct;
  subscribe(input: SubscribeInput): Promise<SimSubscription>;
  confirm(subscriptionId: string): Promise<void>;
  failPayment(subscriptionId: string): Promise<void>;
  cancel(subscriptionId: string, opts?: { endAfterMs?: number }): Promise<void>;
  endNow(subscriptionId: string): Promise<void>;
  setEntitlements(subscriptionId: string, entitlements: SimEntitlement[]): Promise<void>;
  newRegistrationToken(subscriptionId: string): string;
  subscription(subscriptionId: string): SimSubscription;
  subscriptions(): SimSubscription[];
  products(): SimProduct[];
  billed(filter?: { productCode?: string; customer?: string }): BilledRecord[];
  meteringLog(): MeteringLogEntry[];
  setFaults(faults: FaultConfig): void;
  publishRaw(queueName: string, body: string): Promise<void>;
  subscribeHttpEndpoint(
    topic: 'subscription' | 'entitlement',
    url: string,
    opts?: { productCode?: string },
  ): Promise<HttpEndpointSubscription>;
  /** Deliver notifications held back by `reorderWindowMs` now. */
  flushNotifications(): Promise<void>;
  /** PEM of the SNS signing certificate and its URL. */
  readonly signingCert: { url: string; pem: string };

  /** Epoch ms on the simulator clock. */
  now(): number;
  /**
   * Moves the simulator clock (and a shared `clock`) forward by `ms` and runs every step that became
   * due: pending activations, `unsubscribe-success` / `License Deprovisioned`, the 7-day auto-approval,
   * refunds. Rejects a bad amount with a `RangeError` (1 ms … 31 days).
   */
  advanceClock(ms: number): Promise<ClockAdvance>;
  /** Called after every clock advance; returns the unsubscribe function. */
  onClockAdvanced(listener: (advance: ClockAdvance) => void): () => void;

  /**
   * License products: ends the agreement with status RENEWED and starts its renewal (intent RENEW):
   * a new agreement id, LicenseArn and registration token. Resolves to the new subscription.
   */
  renew(subscriptionId: string, input?: RenewInput): Promise<SimSubscription>;
  /** As {@link Simulator.renew} with intent REPLACE and end status REPLACED. */
  replace(subscriptionId: string, input?: RenewInput): Promise<SimSubscription>;

  /** The seller asks to cancel the subscription's agreement (`PENDING_APPROVAL`; auto-approved after `cancellationApprovalMs`). */
  requestCancellation(
    subscriptionId: string,
    input?: { reasonCode?: CancellationReasonCode; description?: string },
  ): Promise<SimCancellationRequest>;
  /** The buyer approves: the agreement ends (CANCELLED) as for any cancellation. */
  approveCancellation(requestId: string): Promise<SimCancellationRequest>;
  /** The buyer rejects. */
  rejectCancellation(requestId: string, reason?: string): Promise<SimCancellationRequest>;
  /** The seller withdraws (status CANCELLED). */
  withdrawCancellation(requestId: string, reason?: string): Promise<SimCancellationRequest>;
  cancellationRequests(filter?: { subscriptionId?: string }): SimCancellationRequest[];
  /** The seller refunds part of an agreement (a billing adjustment; `COMPLETED` after `billingAdjustmentDelayMs`). */
  issueRefund(subscriptionId: string, input: RefundInput): Promise<SimBillingAdjustment>;
  billingAdjustments(filter?: { subscriptionId?: string }): SimBillingAdjustment[];
}
