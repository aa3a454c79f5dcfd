import type { AgreementOperation, SimulatorClock, SimulatorOptions } from './types';

/**
 * Request rates per AWS account from the Seller Guide's "Service quotas for AWS Marketplace Agreement
 * API" (developer guide). GetAgreementTerms is 10/s there and 5/s on the API Reference page: the
 * lower figure is used. See docs/simulator.md.
 */
export const DEFAULT_AGREEMENT_QUOTAS: Readonly<Record<AgreementOperation, number>> = {
  DescribeAgreement: 5,
  GetAgreementTerms: 5,
  SearchAgreements: 5,
  GetAgreementEntitlements: 10,
  SendAgreementCancellationRequest: 2,
  GetAgreementCancellationRequest: 5,
  ListAgreementCancellationRequests: 5,
  CancelAgreementCancellationRequest: 2,
  AcceptAgreementCancellationRequest: 2,
  RejectAgreementCancellationRequest: 2,
  BatchCreateBillingAdjustmentRequest: 2,
  GetBillingAdjustmentRequest: 5,
  ListBillingAdjustmentRequests: 5,
};

/** {@link SimulatorOptions} with every default applied. */
export interface ResolvedOptions {
  host: string;
  port: number;
  sellerAccountId: string;
  region: string;
  /** The simulator clock's now (base + advanced offset, or the shared clock). */
  now: () => number;
  /** Base time source (`now` option or `Date.now`) when no shared clock is given. */
  baseNow: () => number;
  sharedClock: SimulatorClock | undefined;
  registrationUrl: string;
  confirmDelayMs: number;
  unsubscribeDelayMs: number;
  tokenTtlMs: number;
  cancellationApprovalMs: number;
  billingAdjustmentDelayMs: number;
  quotas: { batchMeterUsage: number; meterUsage: number; registerUsage: number; getEntitlements: number };
  agreementQuotas: Record<AgreementOperation, number>;
  window: { batchMeterUsageMaxAgeMs: number; meterUsageMaxAgeMs: number; monthEndGrace: boolean };
  queues: { subscription: string; entitlement: string; eventBridge: string };
  maxReceiveCount: number;
  signatureVersion: '1' | '2';
  topicOwnerAccountId: string;
  httpRetryDelayMs: number;
  requireSignature: boolean;
  logger: (line: string) => void;
}

const HOUR = 3_600_000;

/** Applies the documented defaults (see the TSDoc of {@link SimulatorOptions}). */
export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  if (options.now && options.clock) throw new Error('pass either `now` or `clock` to startSimulator, not both');
  if (options.clock && (typeof options.clock.now !== 'function' || typeof options.clock.advance !== 'function'))
    throw new Error('`clock` needs now() and advance(ms)');
  const agreement = options.quotas?.agreement;
  const agreementQuotas = Object.fromEntries(
    (Object.keys(DEFAULT_AGREEMENT_QUOTAS) as AgreementOperation[]).map((op) => [
      op,
      typeof agreement === 'number' ? agreement : (agreement?.[op] ?? DEFAULT_AGREEMENT_QUOTAS[op]),
    ]),
  ) as Record<AgreementOperation, number>;
  const baseNow = options.now ?? Date.now;
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    sellerAccountId: options.sellerAccountId ?? '111122223333',
    region: options.region ?? 'us-east-1',
    // Replaced by the SimClock's now() in LocalMarketplace.start (base + advanced offset).
    now: baseNow,
    baseNow,
    sharedClock: options.clock,
    registrationUrl: options.registrationUrl ?? 'http://127.0.0.1:3000/marketplace/register',
    confirmDelayMs: options.confirmDelayMs ?? 2000,
    unsubscribeDelayMs: options.unsubscribeDelayMs ?? HOUR,
    tokenTtlMs: options.tokenTtlMs ?? HOUR,
    // §5.6: "you have 7 days to approve or deny"; "auto-approved after 7 days".
    cancellationApprovalMs: options.cancellationApprovalMs ?? 7 * 24 * HOUR,
    billingAdjustmentDelayMs: options.billingAdjustmentDelayMs ?? 2000,
    quotas: {
      // §6: BatchMeterUsage 10/s, MeterUsage 10/s, RegisterUsage 5/s, GetEntitlements 20/s per account per region.
      batchMeterUsage: options.quotas?.batchMeterUsage ?? 10,
      meterUsage: options.quotas?.meterUsage ?? 10,
      registerUsage: options.quotas?.registerUsage ?? 5,
      getEntitlements: options.quotas?.getEntitlements ?? 20,
    },
    agreementQuotas,
    window: {
      // §1.6: "aren't accepted 24 hours or more after an event"; §1.7: MeterUsage 6 hours.
      batchMeterUsageMaxAgeMs: options.window?.batchMeterUsageMaxAgeMs ?? 24 * HOUR,
      meterUsageMaxAgeMs: options.window?.meterUsageMaxAgeMs ?? 6 * HOUR,
      monthEndGrace: options.window?.monthEndGrace ?? true,
    },
    queues: {
      subscription: options.queues?.subscription ?? 'marketplace-subscription',
      entitlement: options.queues?.entitlement ?? 'marketplace-entitlement',
      eventBridge: options.queues?.eventBridge ?? 'marketplace-eventbridge',
    },
    maxReceiveCount: options.maxReceiveCount ?? 5,
    signatureVersion: options.signatureVersion ?? '1',
    topicOwnerAccountId: options.topicOwnerAccountId ?? '287250355862',
    httpRetryDelayMs: options.httpRetryDelayMs ?? 20_000,
    requireSignature: options.requireSignature ?? true,
    logger: options.logger ?? (() => undefined),
  };
}
