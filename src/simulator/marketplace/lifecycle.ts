import * as ids from '../ids';
import type { ResolvedOptions } from '../options';
import { agreementEvent, entitlementMessage, subscriptionMessage, type AgreementDetailType } from '../notify/marketplace-messages';
import type { Notifier } from '../notify/notifier';
import type { SimEntitlement, SimProduct, SubscribeInput } from '../types';
import type { Catalog, SubscriptionState } from './catalog';

/**
 * The buyer-side subscription lifecycle and the notifications each step publishes (§5.2–§5.4):
 *
 * | step        | status                | SNS subscription topic | SNS entitlement topic | EventBridge                                   |
 * |-------------|-----------------------|------------------------|-----------------------|-----------------------------------------------|
 * | subscribe   | pending               | –                      | –                     | Purchase Agreement Created - Proposer         |
 * | confirm     | active                | subscribe-success      | entitlement-updated¹  | License Updated - Manufacturer                |
 * | failPayment | failed                | subscribe-fail         | –                     | Purchase Agreement Ended - Proposer (TERMINATED)² |
 * | cancel      | unsubscribe-pending   | unsubscribe-pending    | –                     | Purchase Agreement Ended - Proposer (CANCELLED) |
 * | end         | unsubscribed          | unsubscribe-success    | entitlement-updated¹  | License Deprovisioned - Manufacturer          |
 * | entitlements| (unchanged)           | –                      | entitlement-updated   | Purchase Agreement Amended - Proposer¹ + License Updated |
 *
 * ¹ contract pricing models only. ² a guess: no source describes EventBridge on payment failure.
 * Re-subscribing while unsubscribe-pending cancels the pending end: "the final
 * unsubscribe-success message will not be sent and a subscribe-success message will be sent
 * instead" (§5.2).
 */
export class Lifecycle {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly catalog: Catalog,
    private readonly notifier: Notifier,
  ) {}

  private product(s: SubscriptionState): SimProduct {
    return this.catalog.product(s.productCode)!;
  }

  private event(type: AgreementDetailType, s: SubscriptionState, endStatus?: string): void {
    const ctx = { sellerAccountId: this.options.sellerAccountId, region: this.options.region, now: this.options.now(), ...(endStatus ? { endStatus } : {}) };
    this.notifier.publishEvent(this.product(s), agreementEvent(type, this.product(s), s, ctx));
  }

  private schedule(s: SubscriptionState, ms: number, step: () => void): void {
    this.clearTimer(s);
    const t = setTimeout(() => {
      this.timers.delete(t);
      s.timer = undefined;
      step();
    }, ms);
    this.timers.add(t);
    s.timer = t;
  }

  private clearTimer(s: SubscriptionState): void {
    if (s.timer) {
      clearTimeout(s.timer);
      this.timers.delete(s.timer);
      s.timer = undefined;
    }
  }

  subscribe(input: SubscribeInput): SubscriptionState {
    const product = this.catalog.product(input.productCode);
    if (!product) throw new Error(`unknown product ${input.productCode}`);
    const account = input.awsAccountId ?? ids.randomAccountId();
    const now = this.options.now();
    const existing = this.catalog.forAccount(product.productCode, account)[0];
    let s: SubscriptionState;
    if (existing && (existing.status === 'pending' || existing.status === 'active')) {
      throw new Error(`account ${account} is already subscribed to ${product.productCode} (${existing.id})`);
    }
    if (existing && existing.status === 'unsubscribe-pending') {
      this.clearTimer(existing);
      s = existing;
      s.status = 'pending';
      s.agreementId = ids.agreementId();
      s.offerId = input.offerId ?? s.offerId;
      s.freeTrial = input.freeTrial ?? false;
      if (input.entitlements) s.entitlements = input.entitlements.map((e) => ({ ...e }));
    } else {
      s = this.catalog.addSubscription({
        productCode: product.productCode,
        productId: product.productId,
        ...(product.identity === 'customer-identifier' ? { customerIdentifier: this.catalog.customerIdentifierFor(account) } : {}),
        customerAWSAccountId: account,
        licenseArn: ids.licenseArn(account),
        agreementId: ids.agreementId(),
        offerId: input.offerId ?? ids.offerId(),
        freeTrial: input.freeTrial ?? false,
        status: 'pending',
        entitlements: (input.entitlements ?? []).map((e) => ({ ...e })),
        createdAt: now,
      });
    }
    this.catalog.mintToken(s.id, now, this.options.tokenTtlMs);
    this.event('Purchase Agreement Created - Proposer', s);
    if ((input.confirmation ?? 'auto') === 'auto') this.schedule(s, this.options.confirmDelayMs, () => this.confirm(s.id));
    return s;
  }

  confirm(id: string): void {
    const s = this.catalog.get(id);
    if (s.status !== 'pending') throw new Error(`subscription ${id} is ${s.status}, not pending`);
    this.clearTimer(s);
    s.status = 'active';
    s.activatedAt ??= this.options.now();
    s.endedAt = undefined;
    const product = this.product(s);
    this.notifier.publishSns(product, 'subscription', subscriptionMessage('subscribe-success', product, s));
    if (product.pricingModel !== 'subscription') this.notifier.publishSns(product, 'entitlement', entitlementMessage(product, s));
    this.event('License Updated - Manufacturer', s);
  }

  failPayment(id: string): void {
    const s = this.catalog.get(id);
    if (s.status !== 'pending') throw new Error(`subscription ${id} is ${s.status}; only a pending subscription can fail payment`);
    this.clearTimer(s);
    s.status = 'failed';
    const product = this.product(s);
    this.notifier.publishSns(product, 'subscription', subscriptionMessage('subscribe-fail', product, s));
    this.event('Purchase Agreement Ended - Proposer', s, 'TERMINATED');
  }

  cancel(id: string, endAfterMs?: number): void {
    const s = this.catalog.get(id);
    if (s.status !== 'active' && s.status !== 'pending') throw new Error(`subscription ${id} is ${s.status}; only an active subscription can be cancelled`);
    this.clearTimer(s);
    s.status = 'unsubscribe-pending';
    const product = this.product(s);
    this.notifier.publishSns(product, 'subscription', subscriptionMessage('unsubscribe-pending', product, s));
    this.event('Purchase Agreement Ended - Proposer', s, 'CANCELLED');
    this.schedule(s, endAfterMs ?? this.options.unsubscribeDelayMs, () => this.end(s.id));
  }

  end(id: string): void {
    const s = this.catalog.get(id);
    if (s.status === 'active' || s.status === 'pending') {
      s.status = 'unsubscribe-pending';
      this.event('Purchase Agreement Ended - Proposer', s, 'CANCELLED');
    }
    if (s.status !== 'unsubscribe-pending') throw new Error(`subscription ${id} is ${s.status}; nothing to end`);
    this.clearTimer(s);
    s.status = 'unsubscribed';
    s.endedAt = this.options.now();
    const product = this.product(s);
    this.notifier.publishSns(product, 'subscription', subscriptionMessage('unsubscribe-success', product, s));
    if (product.pricingModel !== 'subscription') this.notifier.publishSns(product, 'entitlement', entitlementMessage(product, s));
    this.event('License Deprovisioned - Manufacturer', s);
  }

  setEntitlements(id: string, entitlements: SimEntitlement[]): void {
    const s = this.catalog.get(id);
    s.entitlements = entitlements.map((e) => ({ ...e }));
    const product = this.product(s);
    this.notifier.publishSns(product, 'entitlement', entitlementMessage(product, s));
    if (product.pricingModel !== 'subscription') this.event('Purchase Agreement Amended - Proposer', s);
    this.event('License Updated - Manufacturer', s);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
