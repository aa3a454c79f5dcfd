import type { SimClock } from '../clock';
import * as ids from '../ids';
import type { ResolvedOptions } from '../options';
import { requestEvent } from '../notify/marketplace-messages';
import type { Notifier } from '../notify/notifier';
import type { BillingAdjustmentReasonCode, SimBillingAdjustment } from '../types';
import type { Catalog, SubscriptionState } from './catalog';

/** `PositiveAmountUpto8Decimals` of the service model, plus "more than zero". */
export const ADJUSTMENT_AMOUNT = /^[0-9]*(\.[0-9]{0,8})?$/;

/** One entry as BatchCreateBillingAdjustmentRequest takes it (already type-checked). */
export interface AdjustmentEntry {
  originalInvoiceId: string;
  adjustmentAmount: string;
  currencyCode: string;
  adjustmentReasonCode: BillingAdjustmentReasonCode;
  description?: string;
  clientToken: string;
}

/** A refused entry, as `BatchCreateBillingAdjustmentError.code`. */
export class AdjustmentRefused extends Error {
  constructor(
    readonly code: 'VALIDATION_EXCEPTION' | 'CONFLICT_EXCEPTION' | 'RESOURCE_NOT_FOUND_EXCEPTION',
    message: string,
  ) {
    super(message);
  }
}

interface AdjustmentState extends Omit<SimBillingAdjustment, 'subscriptionId'> {
  subscription: SubscriptionState;
}

/**
 * Billing adjustments (refunds) per agreement (§5.6; Seller Guide "Events for billing adjustments").
 * A request is `PENDING`, then `COMPLETED` after `billingAdjustmentDelayMs` on the simulator clock,
 * when `Purchase Agreement Billing Adjustment Completed - Proposer` is published (its
 * `adjustmentAmount` negative, as on the Seller Guide page). The same `clientToken` on the same
 * agreement returns the same request; with different content it is a conflict.
 */
export class BillingAdjustments {
  private readonly byId = new Map<string, AdjustmentState>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly catalog: Catalog,
    private readonly notifier: Notifier,
    private readonly clock: SimClock,
  ) {}

  create(s: SubscriptionState, e: AdjustmentEntry): SimBillingAdjustment {
    const same = [...this.byId.values()].find((a) => a.clientToken === e.clientToken && a.agreementId === s.agreementId);
    if (same) {
      const unchanged =
        same.adjustmentAmount === e.adjustmentAmount &&
        same.currencyCode === e.currencyCode &&
        same.originalInvoiceId === e.originalInvoiceId &&
        same.adjustmentReasonCode === e.adjustmentReasonCode;
      if (!unchanged)
        throw new AdjustmentRefused('CONFLICT_EXCEPTION', `clientToken ${e.clientToken} was already used with other parameters.`);
      return view(same);
    }
    if (!ADJUSTMENT_AMOUNT.test(e.adjustmentAmount) || !(Number(e.adjustmentAmount) > 0))
      throw new AdjustmentRefused(
        'VALIDATION_EXCEPTION',
        `adjustmentAmount ${e.adjustmentAmount} must be a positive amount with at most 8 decimals.`,
      );
    // Every simulated agreement is priced in USD.
    if (e.currencyCode !== 'USD')
      throw new AdjustmentRefused('VALIDATION_EXCEPTION', `currencyCode ${e.currencyCode} does not match the agreement's currency USD.`);
    if (s.status === 'pending' || s.status === 'failed')
      throw new AdjustmentRefused('VALIDATION_EXCEPTION', `Agreement ${s.agreementId} has not been charged; there is nothing to adjust.`);
    const now = this.options.now();
    const a: AdjustmentState = {
      id: `ba-${ids.randomAlnum(20).toLowerCase()}`,
      agreementId: s.agreementId,
      subscription: s,
      originalInvoiceId: e.originalInvoiceId,
      adjustmentAmount: e.adjustmentAmount,
      currencyCode: e.currencyCode,
      adjustmentReasonCode: e.adjustmentReasonCode,
      ...(e.description !== undefined ? { description: e.description } : {}),
      clientToken: e.clientToken,
      status: 'PENDING',
      createdAt: now,
      updatedAt: now,
    };
    this.byId.set(a.id, a);
    this.clock.schedule(this.options.billingAdjustmentDelayMs, `complete ${a.id}`, () => this.complete(a));
    return view(a);
  }

  get(id: string, agreementId?: string): SimBillingAdjustment | undefined {
    const a = this.byId.get(id);
    if (!a || (agreementId !== undefined && a.agreementId !== agreementId)) return undefined;
    return view(a);
  }

  list(
    filter: { subscriptionId?: string; agreementId?: string; status?: string; createdAfter?: number; createdBefore?: number } = {},
  ): SimBillingAdjustment[] {
    return [...this.byId.values()]
      .filter((a) => filter.subscriptionId === undefined || a.subscription.id === filter.subscriptionId)
      .filter((a) => filter.agreementId === undefined || a.agreementId === filter.agreementId)
      .filter((a) => filter.status === undefined || a.status === filter.status)
      .filter((a) => filter.createdAfter === undefined || a.createdAt > filter.createdAfter)
      .filter((a) => filter.createdBefore === undefined || a.createdAt < filter.createdBefore)
      .sort((x, y) => x.createdAt - y.createdAt) // stable: insertion order within a millisecond
      .map(view);
  }

  private complete(a: AdjustmentState): void {
    if (a.status !== 'PENDING') return;
    a.status = 'COMPLETED';
    a.updatedAt = this.options.now();
    const product = this.catalog.product(a.subscription.productCode)!;
    const detail = {
      agreement: { id: a.agreementId },
      billingAdjustmentRequest: {
        id: a.id,
        adjustmentAmount: `-${a.adjustmentAmount}`,
        currencyCode: a.currencyCode,
        adjustmentReasonCode: a.adjustmentReasonCode,
      },
      invoice: { originalInvoiceId: a.originalInvoiceId },
    };
    const ctx = { sellerAccountId: this.options.sellerAccountId, region: this.options.region, now: this.options.now() };
    this.notifier.publishEvent(product, requestEvent('Purchase Agreement Billing Adjustment Completed - Proposer', detail, ctx));
  }
}

function view(a: AdjustmentState): SimBillingAdjustment {
  const { subscription, ...rest } = a;
  return { ...rest, subscriptionId: subscription.id };
}
