import type { Logger } from '../platform/logger';
import type { Customer, Entitlement } from '../customers/customer';
import { AgreementRequestRepository } from '../customers/agreement-requests.repository';
import type { CustomerRepository } from '../customers/customer.repository';
import { linkRenewal, linkWaitingRenewals } from '../customers/renewal-link.repository';
import { AgreementDetailsRepository } from '../customers/agreement-details.repository';
import type { AgreementDetails, AgreementReader, EntitlementReader } from '../customers/ports';
import { applyTransition, type DomainEffect, type StatusTransition } from '../customers/subscription-state';
import { storeSnapshot } from '../entitlements/entitlement-snapshot';
import type { Clock } from '../platform/clock';
import { AppError } from '../platform/errors';
import type { DomainEvent, DomainEventBus } from '../platform/domain-events';
import { hasContract, type ProductCatalog } from '../products/product-config';
import { isUniqueViolation } from '../store/dialect';
import type { Db, Tx } from '../store/schema';
import { agreementFactsOf } from './agreement-facts';
import { applyAgreementRequest } from './agreement-request-apply';
import { isAgreementRequestKind } from './agreement-request-event';
import type { EventOutcome, EventOutcomeWrite, EventRecord, EventRepository, StoredEvent } from './event.repository';
import { parseEventBridgeEvent } from './eventbridge-event';
import type { MarketplaceEvent, ParseResult } from './marketplace-event';
import { entitlementsEmptyTransition, toStatusTransition } from './status-transition';

export interface ProcessResult {
  readonly outcome: EventOutcome;
  readonly customerId?: string;
  readonly reason?: string;
}

export interface EventProcessorDeps {
  readonly db: Db;
  readonly customers: CustomerRepository;
  readonly events: EventRepository;
  readonly entitlements: EntitlementReader;
  readonly catalog: ProductCatalog;
  readonly bus: DomainEventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Cancellation requests and billing adjustments; default: over `db`. */
  readonly requests?: AgreementRequestRepository;
  /**
   * The Agreement API (facts §5.5), read on Purchase Agreement Created and Amended for the end
   * time, the end-time behaviour and the free-trial term. Absent: no enrichment.
   */
  readonly agreements?: AgreementReader;
}

type Applied = { outcome: EventOutcome; reason?: string };

/** What a delivery channel saw: the key and channel to record garbage under, and the raw body. */
export interface RawDelivery {
  readonly dedupeKey: string;
  readonly channel: string;
  readonly body: unknown;
}

/** One received notification, parsed, with what its channel saw. */
export interface Delivery {
  readonly parsed: ParseResult;
  readonly raw: RawDelivery;
}

type Snapshot = { entitlements: Entitlement[]; fetchedAt: Date };

/** A notification with its AWS reads done, ready for its transaction. */
interface Prepared {
  readonly event: MarketplaceEvent;
  readonly snapshot: Snapshot | undefined;
  readonly agreement: { details: AgreementDetails; fetchedAt: Date } | undefined;
}

/** Attempts at one event's transaction when a concurrent first write of its customer wins a unique index. */
const UNIQUE_RACE_ATTEMPTS = 3;

/**
 * Applies one Marketplace notification to the store, whatever envelope carried it. Everything a
 * notification changes is committed in one transaction together with its row in `events`, whose
 * unique keys (message id; for EventBridge, the request id shared by the Manufacturer and Proposer
 * copies) make a second delivery, or a second copy handled at the same moment, a no-op. I/O to AWS
 * (GetEntitlements) happens before that transaction; if it fails the error propagates and the
 * message is not acknowledged.
 */
export class EventProcessor {
  private readonly requests: AgreementRequestRepository;
  private readonly details: AgreementDetailsRepository;

  constructor(private readonly deps: EventProcessorDeps) {
    this.requests = deps.requests ?? new AgreementRequestRepository(deps.db);
    this.details = new AgreementDetailsRepository(deps.db);
  }

  /** Handles a parse result: garbage is recorded as rejected (and is then safe to acknowledge). */
  async handle(parsed: ParseResult, raw: RawDelivery): Promise<ProcessResult> {
    const prepared = await this.prepare(parsed, raw);
    return 'outcome' in prepared ? prepared : this.commitOne(prepared);
  }

  /**
   * Handles the notifications of one receive, committing their effects in one transaction (one
   * commit instead of one per message). Each answer is settled on its own: a notification whose
   * AWS reads fail is rejected alone, and when the shared transaction fails (a poison message, a
   * deadlock, a unique race with another consumer) nothing of it is kept and each notification is
   * then committed in a transaction of its own, as {@link handle} does, so one bad message neither
   * loses nor blocks the others. A fulfilled answer means its effects are committed.
   */
  async handleBatch(deliveries: readonly Delivery[]): Promise<Array<PromiseSettledResult<ProcessResult>>> {
    const prepared = await Promise.allSettled(deliveries.map((d) => this.prepare(d.parsed, d.raw)));
    const results: Array<PromiseSettledResult<ProcessResult>> = prepared.map((p) =>
      p.status === 'rejected' || 'outcome' in p.value ? (p as PromiseSettledResult<ProcessResult>) : { status: 'rejected', reason: null },
    );
    let pending = prepared.flatMap((p, index) => (p.status === 'fulfilled' && !('outcome' in p.value) ? [{ index, work: p.value }] : []));
    if (pending.length > 1) {
      try {
        const together = await this.commitTogether(pending.map((p) => p.work));
        together.forEach((value, k) => (results[pending[k]!.index] = { status: 'fulfilled', value }));
        pending = [];
      } catch (error) {
        this.deps.logger.warn(
          { err: error, messages: pending.length },
          'batch transaction rolled back; committing its notifications one by one',
        );
      }
    }
    const single = await Promise.allSettled(pending.map((p) => this.commitOne(p.work)));
    single.forEach((r, k) => (results[pending[k]!.index] = r));
    return results;
  }

  /** Everything before the transaction: rejection of garbage, the early duplicate look, the AWS reads. */
  private async prepare(parsed: ParseResult, raw: RawDelivery): Promise<ProcessResult | Prepared> {
    if (!parsed.ok) return this.reject(parsed.dedupeKey ?? raw.dedupeKey, raw.channel, parsed.reason, raw.body);
    return this.prepareEvent(parsed.event);
  }

  private async prepareEvent(event: MarketplaceEvent): Promise<ProcessResult | Prepared> {
    const { events, catalog, clock } = this.deps;
    const product = event.productCode ? catalog.find(event.productCode) : undefined;
    if (event.productCode && !product) {
      return this.reject(
        event.dedupeKey,
        event.channel,
        `product ${event.productCode} is not configured in this service`,
        event.payload,
        event,
      );
    }
    if (!event.productCode && !event.agreementId) {
      return this.reject(event.dedupeKey, event.channel, 'the notification names neither a product nor an agreement', event.payload, event);
    }
    // Read the contract first, outside the transaction (facts §5.3: the notification says only that it changed).
    const needsEntitlements =
      product !== undefined &&
      hasContract(product.pricingModel) &&
      (event.kind === 'entitlement-updated' || event.kind === 'license-updated');
    // An early look that keeps a redelivered copy from spending GetEntitlements quota. It decides
    // nothing: the unique keys in `events`, inside the transaction, do.
    if ((needsEntitlements || event.secondaryDedupeKey) && (await events.isRecorded(event.dedupeKey, event.secondaryDedupeKey)))
      return { outcome: 'duplicate' };
    let snapshot: Snapshot | undefined;
    if (needsEntitlements && product) {
      // Taken before the read: of two overlapping reads, the later-started one is the newer snapshot.
      const fetchedAt = clock.now();
      snapshot = { entitlements: await this.deps.entitlements.readEntitlements(product.code, event), fetchedAt };
    }
    const agreement = await this.readAgreement(event);
    return { event, snapshot, agreement };
  }

  /** One notification in a transaction of its own, retried when a concurrent first write of its customer wins a unique index. */
  private async commitOne(work: Prepared): Promise<ProcessResult> {
    let effects: DomainEvent[] = [];
    let result: ProcessResult;
    for (let attempt = 1; ; attempt++) {
      effects = [];
      try {
        result = await this.deps.db.transaction().execute((tx) => this.applyPrepared(tx, work, effects));
        break;
      } catch (error) {
        // Two first events of one new customer: the loser's insert hits the unique index; retried, it merges.
        if (attempt < UNIQUE_RACE_ATTEMPTS && isUniqueViolation(error)) continue;
        throw error;
      }
    }
    await this.committed(work.event, result, effects);
    return result;
  }

  /**
   * Several notifications in one transaction, applied one after the other in the order of the
   * customers they name (so that two consumers' transactions lock shared customers in the same
   * order instead of deadlocking); notifications of one customer keep their order of receipt.
   */
  private async commitTogether(works: readonly Prepared[]): Promise<ProcessResult[]> {
    const { events, clock, db } = this.deps;
    const order = works
      .map((_, k) => k)
      .sort((a, b) => lockOrderKey(works[a]!.event).localeCompare(lockOrderKey(works[b]!.event)) || a - b);
    const effects = works.map((): DomainEvent[] => []);
    const results = await db.transaction().execute(async (tx) => {
      const now = clock.now();
      // Every event's row in one statement: the ones already recorded (or twice in this receive) are duplicates.
      const inserted = new Set(
        await events.recordAll(
          works.map((w) => eventRecord(w.event)),
          now,
          tx,
        ),
      );
      const out: ProcessResult[] = new Array<ProcessResult>(works.length);
      const outcomes: EventOutcomeWrite[] = [];
      for (const k of order) {
        const work = works[k]!;
        if (!inserted.delete(work.event.dedupeKey)) {
          out[k] = { outcome: 'duplicate' };
          continue;
        }
        if (work.agreement) await this.details.save(work.agreement.details, work.agreement.fetchedAt, tx);
        const result = await this.applyRecorded(tx, work.event, work.snapshot, effects[k]!, now);
        if (result.outcome !== 'unmatched')
          outcomes.push({
            dedupeKey: work.event.dedupeKey,
            outcome: result.outcome,
            reason: result.reason ?? null,
            customerId: result.customerId ?? null,
          });
        out[k] = result;
      }
      // Written last, together: nothing in this transaction reads an applied event's outcome before.
      await events.setOutcomes(outcomes, tx);
      return out;
    });
    for (let k = 0; k < works.length; k++) await this.committed(works[k]!.event, results[k]!, effects[k]!);
    return results;
  }

  private async applyPrepared(tx: Tx, work: Prepared, effects: DomainEvent[]): Promise<ProcessResult> {
    if (work.agreement) await this.details.save(work.agreement.details, work.agreement.fetchedAt, tx);
    return this.apply(tx, work.event, work.snapshot, effects);
  }

  /** After the commit: the domain events it made and the log line. */
  private async committed(event: MarketplaceEvent, result: ProcessResult, effects: readonly DomainEvent[]): Promise<void> {
    for (const e of effects) await this.deps.bus.publish(e);
    this.deps.logger.info(
      { kind: event.kind, channel: event.channel, outcome: result.outcome, customerId: result.customerId, reason: result.reason },
      'marketplace notification',
    );
  }

  /**
   * DescribeAgreement + GetAgreementTerms for Created and Amended, before the transaction (as for
   * GetEntitlements). A retryable failure propagates (the message is retried); a permanent one
   * (access denied, unknown agreement) is logged and the event applied without the details.
   */
  private async readAgreement(event: MarketplaceEvent): Promise<{ details: AgreementDetails; fetchedAt: Date } | undefined> {
    const reader = this.deps.agreements;
    if (!reader || !event.agreementId || (event.kind !== 'agreement-created' && event.kind !== 'agreement-amended')) return undefined;
    if (await this.deps.events.isRecorded(event.dedupeKey, event.secondaryDedupeKey)) return undefined;
    const fetchedAt = this.deps.clock.now();
    try {
      return { details: await reader.readAgreement(event.agreementId), fetchedAt };
    } catch (error) {
      if (error instanceof AppError && !error.retryable) {
        this.deps.logger.warn(
          { err: error, agreementId: event.agreementId },
          'Agreement API read failed; applying the event without its details',
        );
        return undefined;
      }
      throw error;
    }
  }

  /** Records a notification that can never be applied, so that acknowledging it loses nothing. */
  async reject(dedupeKey: string, channel: string, reason: string, payload: unknown, event?: MarketplaceEvent): Promise<ProcessResult> {
    const recorded = await this.deps.events.record(
      {
        dedupeKey,
        channel,
        kind: event?.kind,
        eventTime: event?.eventTime,
        agreementId: event?.agreementId,
        outcome: 'rejected',
        reason,
        payload,
      },
      this.deps.clock.now(),
    );
    if (recorded) this.deps.logger.warn({ channel, reason, dedupeKey }, 'marketplace notification rejected');
    return { outcome: recorded ? 'rejected' : 'duplicate', reason };
  }

  private async apply(tx: Tx, event: MarketplaceEvent, snapshot: Snapshot | undefined, effects: DomainEvent[]): Promise<ProcessResult> {
    const now = this.deps.clock.now();
    if (!(await this.deps.events.record(eventRecord(event), now, tx))) return { outcome: 'duplicate' };
    const result = await this.applyRecorded(tx, event, snapshot, effects, now);
    if (result.outcome !== 'unmatched')
      await this.deps.events.setOutcome(event.dedupeKey, result.outcome, result.reason ?? null, result.customerId ?? null, tx);
    return result;
  }

  /**
   * Applies an event whose row in `events` this transaction has just inserted. Its final outcome is
   * the caller's to write, except `unmatched`, written here at once: a later event of the same
   * transaction may be the one it waits for, and finds it by that outcome.
   */
  private async applyRecorded(
    tx: Tx,
    event: MarketplaceEvent,
    snapshot: Snapshot | undefined,
    effects: DomainEvent[],
    now: Date,
  ): Promise<ProcessResult> {
    const { events, customers } = this.deps;
    const customer = await this.customerFor(tx, event, now);
    if (!customer) {
      const reason = 'waiting for the customer of this agreement (agreement events carry no product or licence)';
      await events.setOutcome(event.dedupeKey, 'unmatched', reason, null, tx);
      return { outcome: 'unmatched', reason };
    }
    const applied: Applied = await this.applyEvent(tx, customer, event, now, effects);
    if (snapshot) {
      // License Updated is applied first, so that an empty contract then opens the window over it.
      const end = entitlementsEmptyTransition(event);
      const stored = await storeSnapshot({ customers }, tx, customer, snapshot.entitlements, snapshot.fetchedAt, now, end);
      if (stored.changed) effects.push({ type: 'entitlements-changed', customerId: customer.id });
      for (const effect of stored.effects) effects.push(domainEvent(effect, customer.id));
      if (stored.effects.length > 0)
        Object.assign(applied, {
          outcome: 'applied',
          reason: 'the contract has no current entitlement: the final-metering window is open',
        });
    }
    // Only an event naming an agreement can be the one its waiting agreement events need.
    if (event.agreementId) {
      await this.replayUnmatched(tx, customer, event.agreementId, now, effects);
      // A renewal of this agreement learnt before it waits for this customer to be known.
      await linkWaitingRenewals(tx, customer.id, [event.agreementId], now);
    }
    // AWS's free-trial answer, once its agreement is this customer's current one, whichever event
    // made it so: this one or one replayed just now (whose details may have been stored by a
    // transaction that committed while this one ran). A customer without an agreement that no event
    // here can have given one has none to confirm.
    if (customer.agreementId !== null || event.agreementId !== undefined || mayChangeAgreement(event))
      await this.details.confirmFreeTrial(tx, customer.id, now);
    return { outcome: applied.outcome, customerId: customer.id, ...(applied.reason === undefined ? {} : { reason: applied.reason }) };
  }

  /**
   * Agreement facts, then the status transition. An Ended event moves the status by its own time
   * whichever of the customer's agreements it names (deciding by "current agreement" would depend
   * on which events happened to arrive first); a renewal or replacement is not an end.
   */
  private async applyEvent(tx: Tx, customer: Customer, event: MarketplaceEvent, now: Date, effects: DomainEvent[]): Promise<Applied> {
    if (isAgreementRequestKind(event.kind)) return this.applyRequest(tx, customer, event, now, effects);
    const facts = agreementFactsOf(event);
    const merge = facts ? await this.deps.customers.mergeAgreementFacts(tx, customer.id, facts, now) : undefined;
    if (event.kind === 'agreement-created' && event.previousAgreementId) {
      // A renewal or replacement: the new customer follows the previous one (and takes the app's tenant id).
      await linkRenewal(tx, customer.id, event.previousAgreementId, now);
    }
    if (event.kind === 'agreement-created' || event.kind === 'agreement-amended') {
      return merge?.applied
        ? { outcome: 'applied' }
        : {
            outcome: 'stale',
            reason: `newer facts are stored for agreement ${event.agreementId ?? '?'} or the customer's current agreement is ${merge?.currentAgreementId ?? 'another'}`,
          };
    }
    const transition = toStatusTransition(event);
    if (!transition) {
      if (event.kind === 'agreement-ended')
        return {
          outcome: 'ignored',
          reason: `agreement ${event.agreementId ?? '?'} ended as ${event.agreementStatus ?? '?'}: it continues as another agreement`,
        };
      return { outcome: 'applied' };
    }
    // The agreement merge leaves the subscription state alone: `customer` is still current for it.
    return this.applyTo(tx, customer, transition, now, effects);
  }

  /**
   * A cancellation request or refund: recorded (and told to the app) first; an approval then moves
   * the subscription as Purchase Agreement Ended does. Its outcome is the record's: an approval
   * that arrives after the Ended event is still news about the request, though it opens no window.
   */
  private async applyRequest(tx: Tx, customer: Customer, event: MarketplaceEvent, now: Date, effects: DomainEvent[]): Promise<Applied> {
    const recorded = await applyAgreementRequest(this.requests, tx, customer.id, event, now);
    const transition = toStatusTransition(event);
    if (!transition) return recorded;
    const moved = await this.applyTo(tx, customer, transition, now, effects);
    if (moved.outcome === 'applied') return recorded.outcome === 'applied' ? moved : { ...recorded, outcome: 'applied' };
    if (recorded.outcome !== 'applied') return recorded;
    return { outcome: 'applied', reason: `request recorded; the subscription is unchanged (${moved.reason ?? moved.outcome})` };
  }

  /** The notification's customer, locked until the transaction ends (created if its product names it). */
  private async customerFor(tx: Tx, event: MarketplaceEvent, now: Date): Promise<Customer | undefined> {
    if (!event.productCode) {
      // Agreement events: only a customer already known by this agreement can take them.
      const known = await this.deps.customers.findByIdentity({ agreementId: event.agreementId }, tx);
      return known && this.deps.customers.lock(tx, known);
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
        freeTrialAt: event.eventTime,
      },
      now,
      { lock: true },
    );
  }

  private async applyTo(tx: Tx, customer: Customer, t: StatusTransition, now: Date, effects: DomainEvent[]): Promise<Applied> {
    const result = applyTransition(customer.subscription, t);
    if (result.outcome !== 'applied') return { outcome: result.outcome, reason: result.reason };
    await this.deps.customers.saveSubscriptionState(tx, customer.id, result.state, now, customer);
    for (const effect of result.effects) effects.push(domainEvent(effect, customer.id));
    return result.note === undefined ? { outcome: 'applied' } : { outcome: 'applied', reason: result.note };
  }

  /**
   * Applies agreement events that arrived before their customer (or before the customer's move to a
   * renewal or replacement agreement) was known, in time order, with all their data.
   */
  private async replayUnmatched(tx: Tx, customer: Customer, agreementId: string, now: Date, effects: DomainEvent[]): Promise<void> {
    const replayed = new Set<string>();
    for (;;) {
      const fresh = await this.deps.customers.findById(customer.id, tx);
      if (!fresh) return;
      const agreements = [...new Set([agreementId, fresh.agreementId].filter((a): a is string => !!a))];
      const waiting: StoredEvent[] = [];
      for (const a of agreements)
        waiting.push(...(await this.deps.events.unmatchedForAgreement(a, tx)).filter((s) => !replayed.has(s.dedupeKey)));
      if (waiting.length === 0) return;
      waiting.sort((x, y) => (x.eventTime?.getTime() ?? 0) - (y.eventTime?.getTime() ?? 0) || x.id - y.id);
      for (const stored of waiting) {
        replayed.add(stored.dedupeKey);
        const event = storedAgreementEvent(stored);
        const current = (await this.deps.customers.findById(customer.id, tx)) ?? fresh;
        const applied: Applied = event ? await this.applyEvent(tx, current, event, now, effects) : { outcome: 'applied' };
        await this.deps.events.setOutcome(
          stored.dedupeKey,
          applied.outcome,
          applied.reason ?? 'applied once its customer was known',
          current.id,
          tx,
        );
      }
    }
  }
}

/** The stored agreement event as it was parsed (payload kept verbatim), or null if it no longer parses. */
function storedAgreementEvent(stored: StoredEvent): MarketplaceEvent | null {
  const parsed = parseEventBridgeEvent(stored.payload);
  return parsed.ok ? parsed.event : null;
}

/** The event's row in `events`, recorded as applied until its outcome is known. */
function eventRecord(event: MarketplaceEvent): EventRecord {
  return {
    dedupeKey: event.dedupeKey,
    secondaryKey: event.secondaryDedupeKey,
    channel: event.channel,
    kind: event.kind,
    eventTime: event.eventTime,
    agreementId: event.agreementId,
    outcome: 'applied',
    payload: event.payload,
  };
}

/** Whether applying the event may set or change its customer's agreement (and so its free-trial answer). */
function mayChangeAgreement(event: MarketplaceEvent): boolean {
  return agreementFactsOf(event) !== null || event.previousAgreementId !== undefined || isAgreementRequestKind(event.kind);
}

/** The customer a notification names, as far as its fields tell before the store is read. */
function lockOrderKey(event: MarketplaceEvent): string {
  return [event.productCode, event.licenseArn, event.customerIdentifier, event.agreementId].map((v) => v ?? '').join('\u0000');
}

function domainEvent(effect: DomainEffect, customerId: string): DomainEvent {
  return { type: effect, customerId };
}
