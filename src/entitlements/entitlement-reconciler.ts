import { randomUUID } from 'node:crypto';
import type { LeaseStore } from '../platform/leases';
import type { Logger } from '../platform/logger';
import type { Customer } from '../customers/customer';
import type { CustomerRepository } from '../customers/customer.repository';
import type { EntitlementReader } from '../customers/ports';
import type { Clock } from '../platform/clock';
import type { StatusTransition } from '../customers/subscription-state';
import type { DomainEvent, DomainEventBus } from '../platform/domain-events';
import { isAppError } from '../platform/errors';
import { hasContract, type ProductCatalog } from '../products/product-config';
import { storeSnapshot } from './entitlement-snapshot';

export interface ReconcilerOptions {
  /** One full pass every this many ms. */
  readonly intervalMs: number;
  /** GetEntitlements calls per second at most (the quota is 20/s shared with everything else, facts §6). */
  readonly ratePerSecond: number;
  /** Customers read from the store at a time. Default 200. */
  readonly pageSize?: number;
}

/** The lease's name in the store: one reconciling instance per database. */
export const ENTITLEMENT_RECONCILER_LEASE = 'entitlement-reconciler';

/**
 * Periodically re-reads the entitlements of every contract customer, so a missed or
 * dead-lettered `entitlement-updated` cannot leave a stale contract in place. Calls are spread
 * evenly over time to stay well under the GetEntitlements quota.
 *
 * With several instances, one pass per interval runs in all (the quota is per AWS account): a pass
 * takes the reconciler lease for one interval and extends it after each page, so another
 * instance's timer finds it held until an interval after the last page; the holder of a lost lease
 * stops at the next page. Customers are read a page at a time, by id.
 */
export class EntitlementReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private readonly holder = `${process.pid}-${randomUUID()}`;

  constructor(
    private readonly deps: {
      customers: CustomerRepository;
      reader: EntitlementReader;
      catalog: ProductCatalog;
      bus: DomainEventBus;
      clock: Clock;
      logger: Logger;
      /** Named leases in the store: when given, one pass per interval across instances. */
      leases?: LeaseStore | undefined;
    },
    private readonly options: ReconcilerOptions,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  start(): void {
    if (this.options.intervalMs <= 0) return;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'entitlement reconciliation failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(loop, Math.min(this.options.intervalMs, 60_000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    await this.deps.leases
      ?.release(ENTITLEMENT_RECONCILER_LEASE, this.holder)
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'could not release the entitlement reconciler lease'));
  }

  /**
   * One pass over all contract customers that may still hold access. Returns how many were
   * refreshed; `skipped` when another instance holds the reconciler lease.
   */
  async runOnce(): Promise<{ refreshed: number; failed: number; skipped?: true }> {
    const { customers, catalog, logger, leases } = this.deps;
    const ttl = Math.max(this.options.intervalMs, 60_000);
    if (leases && !(await leases.acquire(ENTITLEMENT_RECONCILER_LEASE, this.holder, ttl)))
      return { refreshed: 0, failed: 0, skipped: true };
    const products = catalog.products.filter((p) => hasContract(p.pricingModel)).map((p) => p.code);
    const gapMs = 1000 / this.options.ratePerSecond;
    const pageSize = this.options.pageSize ?? 200;
    let refreshed = 0;
    let failed = 0;
    let after: string | undefined;
    for (;;) {
      const page = await customers.listPageByProducts(products, ['active', 'pending', 'unsubscribe_pending'], after, pageSize);
      for (const customer of page) {
        if (this.stopped) break;
        try {
          if (await this.refresh(customer)) refreshed++;
        } catch (error) {
          failed++;
          logger.warn(
            { customerId: customer.id, err: isAppError(error) ? error.message : String(error) },
            'entitlement reconciliation: read failed; next pass retries',
          );
        }
        await this.sleep(gapMs);
      }
      if (this.stopped || page.length < pageSize) break;
      after = page[page.length - 1]!.id;
      if (leases && !(await leases.renew(ENTITLEMENT_RECONCILER_LEASE, this.holder, ttl))) {
        logger.warn({ refreshed, failed }, 'entitlement reconciler lease lost; another instance goes on');
        break;
      }
    }
    logger.info({ refreshed, failed }, 'entitlement reconciliation pass done');
    return { refreshed, failed };
  }

  /**
   * Reads one customer's contract and stores it under the customer's lock, newest read wins (the
   * time is taken before the read, so an event's later read is never overwritten by this one).
   * An empty contract of an active customer opens the final-metering window at the read time.
   * Returns false when a newer snapshot was already stored.
   */
  private async refresh(customer: Customer): Promise<boolean> {
    const { customers, reader, bus, clock } = this.deps;
    const fetchedAt = clock.now();
    const entitlements = await reader.readEntitlements(customer.productCode, customer);
    const effects: DomainEvent[] = [];
    const stored = await customers.withLocked(customer.id, async (tx, locked) => {
      // A pending customer's contract may simply not be in place yet: only an active one ends here.
      const end: StatusTransition | undefined =
        locked.subscription.status === 'active' ? { kind: 'entitlements-empty', eventTime: fetchedAt } : undefined;
      const result = await storeSnapshot({ customers }, tx, locked, entitlements, fetchedAt, clock.now(), end);
      if (result.changed) effects.push({ type: 'entitlements-changed', customerId: locked.id });
      for (const effect of result.effects) effects.push({ type: effect, customerId: locked.id });
      return result;
    });
    for (const e of effects) await bus.publish(e);
    return stored !== undefined;
  }
}
