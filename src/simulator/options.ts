import type { SimulatorOptions } from './types';

/** {@link SimulatorOptions} with every default applied. */
export interface ResolvedOptions {
  host: string;
  port: number;
  sellerAccountId: string;
  region: string;
  now: () => number;
  registrationUrl: string;
  confirmDelayMs: number;
  unsubscribeDelayMs: number;
  tokenTtlMs: number;
  quotas: { batchMeterUsage: number; meterUsage: number; getEntitlements: number };
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
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    sellerAccountId: options.sellerAccountId ?? '111122223333',
    region: options.region ?? 'us-east-1',
    now: options.now ?? Date.now,
    registrationUrl: options.registrationUrl ?? 'http://127.0.0.1:3000/marketplace/register',
    confirmDelayMs: options.confirmDelayMs ?? 2000,
    unsubscribeDelayMs: options.unsubscribeDelayMs ?? HOUR,
    tokenTtlMs: options.tokenTtlMs ?? HOUR,
    quotas: {
      // §6: BatchMeterUsage 10/s, MeterUsage 10/s, GetEntitlements 20/s per account per region.
      batchMeterUsage: options.quotas?.batchMeterUsage ?? 10,
      meterUsage: options.quotas?.meterUsage ?? 10,
      getEntitlements: options.quotas?.getEntitlements ?? 20,
    },
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
