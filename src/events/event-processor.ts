import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Customer, Entitlement } from '../customers/customer';
import type { CustomerRepository } from '../customers/customer.repository';
import type { EntitlementReader } from '../customers/ports';
import { applyTransition, type DomainEffect, type StatusTransition } from '../customers/subscription-state';
import type { Clock } from '../platform/clock';
import type { DomainEvent, DomainEventBus } from '../platform/domain-events';
import { hasContract, type ProductCatalog } from '../products/product-config';
import type { Database } from '../store/schema';
import type { EventOutcome, EventRepository } from './event.repository';
import type { MarketplaceEvent, ParseResult } from './marketplace-event';
import { entitlementsEmptyTransition, toStatusTransition } from './status-transition';

export interface ProcessResult {
  readonly outcome: EventOutcome;
  readonly customerId?: string;
  readonly reason?: string;
}

export interface EventProcessorDeps {
  readonly db: Kysely<Database>;
  readonly customers: CustomerRepository;
  readonly events: EventRepository;
  readonly entitlements: EntitlementReader;
  readonly catalog: ProductCatalog;
  readonly bus: DomainEventBus;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Applies one Marketplace notification to the store, whatever envelope carried it. Everything a
 * notification changes is committed in one transaction together with its row in `events`, whose
 * unique key makes a second delivery a no-op. I/O to AWS (GetEntitlements) happens before that
 * transaction; if it fails the error propagates and the message is not acknowledged.
 */
export class EventProcessor {
  constructor(private readonly deps: EventProcessorDeps) {}

  /** Handles a parse result: garbage is recorded as rejected (and is then safe to acknowledge). */
  async handle(parsed: ParseResult, raw: { dedupeKey: string; channel: string; body: unknown }): Promise<ProcessResult> {
    if (!parsed.ok) return this.reject(parsed.dedupeKey ?? raw.dedupeKey, raw.channel, parsed.reason, raw.body);
    return this.process(parsed.event);
  }

  async process(event: MarketplaceEvent): Promise<ProcessResult> {
    const { events, catalog, clock } = this.deps;
    const product = event.productCode ? catalog.find(event.productCode) : undefined;
    if (event.productCode && !product) {
      return this.reject(event.dedupeKey, event.channel, `product ${event.productCode} is not configured in this service`, event.payload, event);
    }
    if (!event.productCode && !event.agreementId) {
      return this.reject(event.dedupeKey, event.channel, 'the notification names neither a product nor an agreement', event.payload, event);
    }
    // Read the contract first, outside the transaction (facts §5.3: the notification says only that it changed).
    const needsEntitlements = product !== undefined && hasContract(product.pricingModel) && (event.kind === 'entitlement-updated' || event.kind === 'license-updated');
    // The message id's uniqueness in `events` catches redeliveries inside the transaction; this
    // early look also catches the Manufacturer/Proposer copies of one EventBridge event (their ids
    // differ, their request id does not) and keeps a redelivered copy from spending GetEntitlements quota.
    if ((needsEntitlements || event.secondaryDedupeKey) && (await events.isRecorded(event.dedupeKey, event.secondaryDedupeKey))) return { outcome: 'duplicate' };
    let entitlements: Entitlement[] | undefined;
    if (needsEntitlements && product) {
      entitlements = await this.deps.entitlements.readEntitlements(product.code, event);
    }
    const effects: DomainEvent[] = [];
    const result = await this.deps.db.transaction().execute(async (tx) => {
      const now = clock.now();
      const recorded = await events.record(
        { dedupeKey: event.dedupeKey, secondaryKey: event.secondaryDedupeKey, channel: event.channel, kind: event.kind, eventTime: event.eventTime, agreementId: event.agreementId, outcome: 'applied', payload: event.payload },
        now,
        tx,
      );
      if (!recorded) return { outcome: 'duplicate' } as ProcessResult;
      const found = await this.customerFor(tx, event, now);
      if (!found) {
        const reason = 'waiting for the customer of this agreement (agreement events carry no product or licence)';
        await events.setOutcome(event.dedupeKey, 'unmatched', reason, null, tx);
        return { outcome: 'unmatched', reason } as ProcessResult;
      }
      const customer = await this.deps.customers.lock(tx, found);
      let transition = toStatusTransition(event);
      if (entitlements) {
        await this.deps.customers.replaceEntitlements(customer.id, entitlements, now, tx);
        effects.push({ type: 'entitlements-changed', customerId: customer.id });
        if (event.kind === 'entitlement-updated' && !entitlements.some((e) => !e.expirationDate || e.expirationDate > now)) {
          // An empty (or wholly expired) contract has ended: the final-metering window opens (seed 6930-6939).
          transition = entitlementsEmptyTransition(event);
        }
      }
      const applied = transition ? await this.applyTo(tx, customer, transition, now, effects) : { outcome: 'applied' as const };
      await events.setOutcome(event.dedupeKey, applied.outcome, applied.reason ?? null, customer.id, tx);
      // Only an event naming an agreement can be the one its waiting agreement events need.
      if (event.agreementId) await this.replayUnmatched(tx, customer, now, effects);
      return { outcome: applied.outcome, customerId: customer.id, reason: applied.reason };
    });
    for (const e of effects) await this.deps.bus.publish(e);
    this.deps.logger.info({ kind: event.kind, channel: event.channel, outcome: result.outcome, customerId: result.customerId, reason: result.reason }, 'marketplace notification');
    return result;
  }

  /** Records a notification that can never be applied, so that acknowledging it loses nothing. */
  async reject(dedupeKey: string, channel: string, reason: string, payload: unknown, event?: MarketplaceEvent): Promise<ProcessResult> {
    const recorded = await this.deps.events.record(
      { dedupeKey, channel, kind: event?.kind, eventTime: event?.eventTime, agreementId: event?.agreementId, outcome: 'rejected', reason, payload },
      this.deps.clock.now(),
    );
    if (recorded) this.deps.logger.warn({ channel, reason, dedupeKey }, 'marketplace notification rejected');
    return { outcome: recorded ? 'rejected' : 'duplicate', reason };
  }

  private async customerFor(tx: Transaction<Database>, event: MarketplaceEvent, now: Date): Promise<Customer | undefined> {
    if (!event.productCode) {
      // Agreement events: only a customer already known by this agreement can take them.
      const known = await this.deps.customers.findByIdentity({ agreementId: event.agreementId }, tx);
      if (!known) return undefined;
      return this.deps.customers.upsertIn(tx, { productCode: known.productCode, agreementId: event.agreementId, offerId: event.offerIdentifier }, now);
    }
    return this.deps.customers.upsertIn(
      tx,
      {
        productCode: event.productCode,
        customerIdentifier: event.customerIdentifier,
        customerAWSAccountId: event.customerAWSAccountId,
        licenseArn: event.licenseArn,
        agreementId: event.agreementId,
        offerId: event.offerIdentifier,
        freeTrial: event.freeTrial,
      },
      now,
    );
  }

  private async applyTo(tx: Transaction<Database>, customer: Customer, t: StatusTransition, now: Date, effects: DomainEvent[]): Promise<{ outcome: EventOutcome; reason?: string }> {
    const result = applyTransition(customer.subscription, t);
    if (result.outcome !== 'applied') return { outcome: result.outcome, reason: result.reason };
    await this.deps.customers.saveSubscriptionState(tx, customer.id, result.state, now);
    for (const effect of result.effects) effects.push(domainEvent(effect, customer.id));
    return { outcome: 'applied', reason: result.note };
  }

  /** Applies agreement events that arrived before their customer was known, in time order. */
  private async replayUnmatched(tx: Transaction<Database>, customer: Customer, now: Date, effects: DomainEvent[]): Promise<void> {
    const fresh = await this.deps.customers.findById(customer.id, tx);
    if (!fresh?.agreementId) return;
    const waiting = await this.deps.events.unmatchedForAgreement(fresh.agreementId, tx);
    let current = fresh;
    for (const stored of waiting) {
      const t: StatusTransition | null = stored.kind === 'agreement-ended' && stored.eventTime ? { kind: 'agreement-ended', eventTime: stored.eventTime } : null;
      const applied = t ? await this.applyTo(tx, current, t, now, effects) : { outcome: 'applied' as const, reason: undefined };
      await this.deps.events.setOutcome(stored.dedupeKey, applied.outcome, applied.reason ?? 'applied once its customer was known', current.id, tx);
      current = (await this.deps.customers.findById(current.id, tx)) ?? current;
    }
  }
}

function domainEvent(effect: DomainEffect, customerId: string): DomainEvent {
  return { type: effect, customerId };
}
