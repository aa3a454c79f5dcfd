import type { Logger } from 'pino';
import type { CustomerRepository } from '../customers/customer.repository';
import type { EntitlementReader } from '../customers/ports';
import type { Clock } from '../platform/clock';
import type { DomainEventBus } from '../platform/domain-events';
import { isAppError } from '../platform/errors';
import { hasContract, type ProductCatalog } from '../products/product-config';

export interface ReconcilerOptions {
  /** One full pass every this many ms. */
  readonly intervalMs: number;
  /** GetEntitlements calls per second at most (the quota is 20/s shared with everything else, facts §6). */
  readonly ratePerSecond: number;
}

/**
 * Periodically re-reads the entitlements of every contract customer, so a missed or
 * dead-lettered `entitlement-updated` cannot leave a stale contract in place. Calls are spread
 * evenly over time to stay well under the GetEntitlements quota.
 */
export class EntitlementReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: { customers: CustomerRepository; reader: EntitlementReader; catalog: ProductCatalog; bus: DomainEventBus; clock: Clock; logger: Logger },
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
  }

  /** One pass over all contract customers that may still hold access. Returns how many were refreshed. */
  async runOnce(): Promise<{ refreshed: number; failed: number }> {
    const { customers, reader, catalog, bus, clock, logger } = this.deps;
    const products = catalog.products.filter((p) => hasContract(p.pricingModel)).map((p) => p.code);
    const list = await customers.listByProducts(products, ['active', 'pending', 'unsubscribe_pending']);
    const gapMs = 1000 / this.options.ratePerSecond;
    let refreshed = 0;
    let failed = 0;
    for (const customer of list) {
      if (this.stopped) break;
      try {
        const entitlements = await reader.readEntitlements(customer.productCode, customer);
        await customers.replaceEntitlements(customer.id, entitlements, clock.now());
        await bus.publish({ type: 'entitlements-changed', customerId: customer.id });
        refreshed++;
      } catch (error) {
        failed++;
        logger.warn({ customerId: customer.id, err: isAppError(error) ? error.message : String(error) }, 'entitlement reconciliation: read failed; next pass retries');
      }
      await this.sleep(gapMs);
    }
    logger.info({ refreshed, failed }, 'entitlement reconciliation pass done');
    return { refreshed, failed };
  }
}
