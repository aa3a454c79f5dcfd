import type { SimClock } from '../clock';
import * as ids from '../ids';
import type { ResolvedOptions } from '../options';
import { agreementEvent, entitlementMessage, subscriptionMessage, type AgreementDetailType } from '../notify/marketplace-messages';
import type { Notifier } from '../notify/notifier';
import type { AgreementStatus, RenewInput, SimEntitlement, SimProduct, SubscribeInput } from '../types';
import type { Catalog, SubscriptionState } from './catalog';

/**
 * The buyer-side subscription (agreement) lifecycle and the notifications each step publishes (§5.2–§5.4):
 *
 * | step         | status              | SNS subscription topic | SNS entitlement topic | EventBridge                                      |
 * |--------------|---------------------|------------------------|-----------------------|--------------------------------------------------|
 * | subscribe    | pending             | –                      | –                     | Purchase Agreement Created - Proposer (NEW)      |
 * | confirm      | active              | subscribe-success      | entitlement-updated¹  | License Updated - Manufacturer                   |
 * | failPayment  | failed              | subscribe-fail         | –                     | Purchase Agreement Ended - Proposer (TERMINATED)² |
 * | cancel       | unsubscribe-pending | unsubscribe-pending    | –                     | Purchase Agreement Ended - Proposer (CANCELLED)  |
 * | end          | unsubscribed        | unsubscribe-success    | entitlement-updated¹  | License Deprovisioned - Manufacturer             |
 * | entitlements | (unchanged)         | –                      | entitlement-updated   | Purchase Agreement Amended - Proposer¹ + License Updated |
 * | renew/replace| new: pending; old: unsubscribe-pending | as subscribe / cancel | –  | Created (RENEW/REPLACE) for the new, Ended (RENEWED/REPLACED) for the old |
 *
 * ¹ contract pricing models only. ² a guess: no source describes EventBridge on payment failure.
 *
 * Legacy (customer-identifier) products hold one subscription per buyer account and product:
 * re-subscribing while unsubscribe-pending cancels the pending end ("the final unsubscribe-success
 * message will not be sent and a subscribe-success message will be sent instead", §5.2). License
 * products (listings since 1 June 2026) allow concurrent agreements: every purchase is a new agreement
 * with its own agreement id, LicenseArn and registration token (§1.6, §6).
 *
 * Delays run on the simulator clock (see `clock.ts`): advancing it runs a due activation or deprovisioning.
 */
export class Lifecycle {
  constructor(
    private readonly options: ResolvedOptions,
    private readonly catalog: Catalog,
    private readonly notifier: Notifier,
    private readonly clock: SimClock,
  ) {}

  private product(s: SubscriptionState): SimProduct {
    return this.catalog.product(s.productCode)!;
  }

  private event(type: AgreementDetailType, s: SubscriptionState): void {
    const ctx = { sellerAccountId: this.options.sellerAccountId, region: this.options.region, now: this.options.now() };
    this.notifier.publishEvent(this.product(s), agreementEvent(type, this.product(s), s, ctx));
  }

  private schedule(s: SubscriptionState, ms: number, label: string, step: () => void): void {
    this.clock.cancel(s.timer);
    s.timer = this.clock.schedule(ms, `${label} ${s.id}`, () => {
      s.timer = undefined;
      step();
    });
  }

  private clearTimer(s: SubscriptionState): void {
    this.clock.cancel(s.timer);
    s.timer = undefined;
  }

  private touch(s: SubscriptionState): void {
    s.updatedAt = this.options.now();
  }

  subscribe(input: SubscribeInput): SubscriptionState {
    const product = this.catalog.product(input.productCode);
    if (!product) throw new Error(`unknown product ${input.productCode}`);
    const account = input.awsAccountId ?? ids.randomAccountId();
    if (!/^[0-9]{12}$/.test(account)) throw new Error(`awsAccountId must be 12 digits, got ${JSON.stringify(account)}`);
    const now = this.options.now();
    let s: SubscriptionState | undefined;
    if (product.identity === 'customer-identifier') {
      // Legacy listings: one subscription per account and product.
      const existing = this.catalog.forAccount(product.productCode, account)[0];
      if (existing && (existing.status === 'pending' || existing.status === 'active')) {
        throw new Error(`account ${account} is already subscribed to ${product.productCode} (${existing.id})`);
      }
      if (existing && existing.status === 'unsubscribe-pending') {
        this.clearTimer(existing);
        s = existing;
        s.status = 'pending';
        s.agreementId = ids.agreementId();
        s.initialAgreementId = s.agreementId;
        s.intent = 'NEW';
        s.agreementStatus = 'ACTIVE';
        s.agreementEndedAt = undefined;
        s.createdAt = now;
        s.offerId = input.offerId ?? s.offerId;
        s.freeTrial = input.freeTrial ?? false;
        s.autoRenew = input.autoRenew ?? true;
        if (input.entitlements) s.entitlements = input.entitlements.map((e) => ({ ...e }));
        this.catalog.indexAgreement(s);
      }
    }
    s ??= this.newAgreement(product, account, {
      intent: 'NEW',
      offerId: input.offerId ?? ids.offerId(),
      freeTrial: input.freeTrial ?? false,
      autoRenew: input.autoRenew ?? true,
      entitlements: input.entitlements ?? [],
    });
    this.touch(s);
    this.catalog.mintToken(s.id, now, this.options.tokenTtlMs);
    this.event('Purchase Agreement Created - Proposer', s);
    if ((input.confirmation ?? 'auto') === 'auto') this.scheduleConfirm(s);
    return s;
  }

  private newAgreement(
    product: SimProduct,
    account: string,
    a: Pick<SubscriptionState, 'intent' | 'offerId' | 'freeTrial' | 'autoRenew' | 'entitlements'> & { previous?: SubscriptionState },
  ): SubscriptionState {
    const now = this.options.now();
    const agreementId = ids.agreementId();
    return this.catalog.addSubscription({
      productCode: product.productCode,
      productId: product.productId,
      ...(product.identity === 'customer-identifier' ? { customerIdentifier: this.catalog.customerIdentifierFor(account) } : {}),
      customerAWSAccountId: account,
      licenseArn: ids.licenseArn(account),
      agreementId,
      initialAgreementId: a.previous?.initialAgreementId ?? agreementId,
      ...(a.previous ? { previousAgreementId: a.previous.agreementId } : {}),
      intent: a.intent,
      agreementStatus: 'ACTIVE',
      offerId: a.offerId,
      freeTrial: a.freeTrial,
      autoRenew: a.autoRenew,
      status: 'pending',
      entitlements: a.entitlements.map((e) => ({ ...e })),
      createdAt: now,
      updatedAt: now,
    });
  }

  private scheduleConfirm(s: SubscriptionState): void {
    this.schedule(s, this.options.confirmDelayMs, 'confirm', () => this.confirm(s.id));
  }

  confirm(id: string): void {
    const s = this.catalog.get(id);
    if (s.status !== 'pending') throw new Error(`subscription ${id} is ${s.status}, not pending`);
    this.clearTimer(s);
    s.status = 'active';
    s.activatedAt ??= this.options.now();
    s.endedAt = undefined;
    this.touch(s);
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
    s.agreementStatus = 'TERMINATED';
    s.agreementEndedAt = this.options.now();
    this.touch(s);
    const product = this.product(s);
    this.notifier.publishSns(product, 'subscription', subscriptionMessage('subscribe-fail', product, s));
    this.event('Purchase Agreement Ended - Proposer', s);
  }

  /** The buyer cancels (or a cancellation request was approved): the agreement ends CANCELLED. */
  cancel(id: string, endAfterMs?: number): void {
    const s = this.catalog.get(id);
    if (s.status !== 'active' && s.status !== 'pending')
      throw new Error(`subscription ${id} is ${s.status}; only an active subscription can be cancelled`);
    this.endAgreement(s, 'CANCELLED', endAfterMs);
  }

  /**
   * Ends the agreement now: Purchase Agreement Ended with `status`, `unsubscribe-pending`, and the
   * licence deprovisioned after the final-metering window (`unsubscribeDelayMs`, about an hour, §5.2, §5.4).
   */
  private endAgreement(s: SubscriptionState, status: AgreementStatus, endAfterMs?: number): void {
    this.clearTimer(s);
    s.status = 'unsubscribe-pending';
    s.agreementStatus = status;
    s.agreementEndedAt = this.options.now();
    this.touch(s);
    const product = this.product(s);
    this.notifier.publishSns(product, 'subscription', subscriptionMessage('unsubscribe-pending', product, s));
    this.event('Purchase Agreement Ended - Proposer', s);
    this.schedule(s, endAfterMs ?? this.options.unsubscribeDelayMs, 'deprovision', () => this.end(s.id));
  }

  end(id: string): void {
    const s = this.catalog.get(id);
    if (s.status === 'active' || s.status === 'pending') {
      s.status = 'unsubscribe-pending';
      s.agreementStatus = 'CANCELLED';
      s.agreementEndedAt = this.options.now();
      this.event('Purchase Agreement Ended - Proposer', s);
    }
    if (s.status !== 'unsubscribe-pending') throw new Error(`subscription ${id} is ${s.status}; nothing to end`);
    this.clearTimer(s);
    s.status = 'unsubscribed';
    s.endedAt = this.options.now();
    this.touch(s);
    const product = this.product(s);
    this.notifier.publishSns(product, 'subscription', subscriptionMessage('unsubscribe-success', product, s));
    if (product.pricingModel !== 'subscription') this.notifier.publishSns(product, 'entitlement', entitlementMessage(product, s));
    this.event('License Deprovisioned - Manufacturer', s);
  }

  setEntitlements(id: string, entitlements: SimEntitlement[]): void {
    const s = this.catalog.get(id);
    s.entitlements = entitlements.map((e) => ({ ...e }));
    this.touch(s);
    const product = this.product(s);
    this.notifier.publishSns(product, 'entitlement', entitlementMessage(product, s));
    if (product.pricingModel !== 'subscription') this.event('Purchase Agreement Amended - Proposer', s);
    this.event('License Updated - Manufacturer', s);
  }

  /**
   * A renewal or replacement (license products, §5.4 `intent` RENEW / REPLACE). In this order:
   * `Purchase Agreement Created - Proposer` for the new agreement (intent, `previousAgreementId`),
   * `Purchase Agreement Ended - Proposer` for the old one (RENEWED / REPLACED); later, `License
   * Updated - Manufacturer` for the new licence after `confirmDelayMs`, and `License Deprovisioned -
   * Manufacturer` for the old licence after the final-metering window (`unsubscribeDelayMs`).
   */
  renewOrReplace(id: string, intent: 'RENEW' | 'REPLACE', input: RenewInput = {}): SubscriptionState {
    const old = this.catalog.get(id);
    const product = this.product(old);
    if (product.identity !== 'license')
      throw new Error(
        `${intent === 'RENEW' ? 'renewal' : 'replacement'} is modelled for license products only; ${product.productCode} is a legacy listing`,
      );
    if (old.status !== 'active')
      throw new Error(`subscription ${id} is ${old.status}; only an active agreement can be renewed or replaced`);
    const next = this.newAgreement(product, old.customerAWSAccountId, {
      intent,
      offerId: input.offerId ?? (intent === 'RENEW' ? old.offerId : ids.offerId()),
      freeTrial: false,
      autoRenew: old.autoRenew,
      entitlements: input.entitlements ?? old.entitlements,
      previous: old,
    });
    this.catalog.mintToken(next.id, this.options.now(), this.options.tokenTtlMs);
    this.event('Purchase Agreement Created - Proposer', next);
    this.endAgreement(old, intent === 'RENEW' ? 'RENEWED' : 'REPLACED');
    if ((input.confirmation ?? 'auto') === 'auto') this.scheduleConfirm(next);
    return next;
  }

  /** Ends an agreement whose cancellation request was approved (§5.6): as a buyer cancellation. */
  endApprovedCancellation(id: string): void {
    const s = this.catalog.get(id);
    if (s.status === 'active' || s.status === 'pending') this.endAgreement(s, 'CANCELLED');
  }
}
