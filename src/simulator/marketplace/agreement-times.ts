import type { SimProduct } from '../types';
import type { SubscriptionState } from './catalog';

/** `endTime` of an agreement with no end (pay-as-you-go), as in the §5.4 capture. */
export const OPEN_END = Date.UTC(9999, 0, 1);

/** A contract's term (ValidityTerm `agreementDuration`): the simulator sells 12-month contracts. */
export const CONTRACT_DURATION = 'P12M';

/** The free-trial length (FreeTrialPricingTerm `duration`, 5–31 days, §5.5): the simulator uses the longest. */
export const FREE_TRIAL_DURATION = 'P31D';

/**
 * Start and end of an agreement on the simulator clock. A contract runs 12 months from acceptance;
 * a subscription (usage-based) has no end. An agreement that ended (cancelled, renewed, replaced,
 * terminated) ends when it ended.
 */
export function agreementTimes(s: SubscriptionState, product: SimProduct): { startTime: number; endTime: number } {
  const start = s.createdAt;
  if (s.agreementEndedAt !== undefined) return { startTime: start, endTime: s.agreementEndedAt };
  if (product.pricingModel === 'subscription') return { startTime: start, endTime: OPEN_END };
  const d = new Date(start);
  return {
    startTime: start,
    endTime: Date.UTC(
      d.getUTCFullYear() + 1,
      d.getUTCMonth(),
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
    ),
  };
}

/** EventBridge time format: ISO-8601 without milliseconds (§5.4 capture, Seller Guide examples). */
export function ebTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
