import type { Customer } from '../customers/customer';
import type { Logger } from '../platform/logger';
import type { ProductCatalog } from '../products/product-config';
import type { BucketRepository, NewBucket } from './bucket.repository';
import type { BucketSealer } from './emitter-sealer';
import { METERABLE_STATUSES, type FinalFlushRepository } from './final-flush.repository';
import { HOUR_MS, hourStart } from './hours';
import { windowDeadline, type WindowPolicy } from './windows';

/**
 * The hours a catch-up gives heartbeats: every hour after the last completed one (all of them on a
 * first run) up to `cutoff`, that a record can still be sent for at `now` under the widest window.
 * After a long downtime that is the last day (BatchMeterUsage: 24 h, cut at 06:00 UTC on the 1st
 * for the previous month, facts §1.6); the hours before it can no longer be billed at all.
 */
export function catchUpHours(lastCompleted: Date | null, cutoff: Date, now: Date, windows: readonly WindowPolicy[]): Date[] {
  const widest = Math.max(...windows.map((w) => w.maxAgeMs));
  let from = hourStart(new Date(now.getTime() - widest)).getTime();
  if (lastCompleted) from = Math.max(from, lastCompleted.getTime() + HOUR_MS);
  const hours: Date[] = [];
  for (let t = from; t < cutoff.getTime(); t += HOUR_MS) {
    const hour = new Date(t);
    if (windows.some((w) => windowDeadline(hour, w).getTime() > now.getTime())) hours.push(hour);
  }
  return hours;
}

/**
 * Zero-quantity heartbeats (facts §6: "send metering records every hour … with usage of 0") and
 * final flushes (design §3.5).
 */
export class HeartbeatsAndFlushes {
  constructor(
    private readonly deps: {
      buckets: BucketRepository;
      flushes: FinalFlushRepository;
      sealer: BucketSealer;
      catalog: ProductCatalog;
      logger: Logger;
      batchWindow: WindowPolicy;
      meterUsageWindow: WindowPolicy;
      heartbeat: boolean;
    },
  ) {}

  /**
   * Zero-quantity buckets for every hour in `hours` and every meterable customer's heartbeat
   * dimensions, only for hours the customer was active in (from its activation hour, before its
   * end) and that can still be sent. Inserted many per statement; existing buckets are left alone.
   * Returns how many were created.
   */
  async heartbeats(hours: readonly Date[], now: Date, customerId?: string): Promise<number> {
    if (!this.deps.heartbeat || hours.length === 0) return 0;
    const customers = await this.deps.flushes.listMeterable(
      this.deps.catalog.products.map((p) => p.code),
      customerId,
    );
    const wanted: NewBucket[] = customers.flatMap((c) => this.heartbeatsOf(c, hours, now));
    return this.deps.buckets.insertMissing(wanted, now);
  }

  private heartbeatsOf(customer: Customer, hours: readonly Date[], now: Date): NewBucket[] {
    const product = this.deps.catalog.find(customer.productCode);
    const activated = customer.subscription.activatedAt;
    if (!product || !activated || !(METERABLE_STATUSES as readonly string[]).includes(customer.subscription.status)) return [];
    const ended = customer.subscription.endedAt;
    const window = product.meteringApi === 'meter-usage' ? this.deps.meterUsageWindow : this.deps.batchWindow;
    const out: NewBucket[] = [];
    for (const hour of hours) {
      // No record for an hour before the activation hour or from the end on (facts §6).
      if (hour.getTime() < hourStart(activated).getTime()) continue;
      if (ended && hour.getTime() >= ended.getTime()) continue;
      if (windowDeadline(hour, window).getTime() <= now.getTime()) continue;
      for (const d of product.dimensions) {
        if (!d.metered || !d.heartbeat) continue;
        out.push({
          customerId: customer.id,
          productCode: product.code,
          dimension: d.name,
          hour,
          api: product.meteringApi,
          mode: d.aggregation,
          basis: d.overageBasis,
          heartbeat: true,
        });
      }
    }
    return out;
  }

  /** Customers whose final-metering window is open and not yet flushed, with when it opened. */
  pendingFinalWindows(): Promise<Array<{ customerId: string; openedAt: Date }>> {
    return this.deps.flushes.listPendingFinalWindows(this.deps.catalog.products.map((p) => p.code));
  }

  /**
   * Final flush (design §3.5): heartbeats up to the current hour, then the flush mark (from here on
   * the ledger refuses usage), then every open bucket of the customer sealed, the current partial
   * hour included. A crash after the mark is repaired by {@link sealFlushedLeftovers}.
   */
  async finalFlush(customerId: string, openedAt: Date, fromHour: Date, now: Date): Promise<number> {
    const current = hourStart(now);
    const hours: Date[] = [];
    for (let t = fromHour.getTime(); t <= current.getTime(); t += HOUR_MS) hours.push(new Date(t));
    await this.heartbeats(hours, now, customerId);
    await this.deps.flushes.markFlushed(customerId, openedAt, now);
    const sealed = await this.deps.sealer.sealBefore(new Date(current.getTime() + HOUR_MS), now, customerId);
    this.deps.logger.info(
      { event: 'metering.final_flush', customerId, windowOpenedAt: openedAt.toISOString(), sealed },
      'final metering flush: usage is now refused for this customer',
    );
    return sealed;
  }

  /** Seals what a crashed final flush left open. */
  async sealFlushedLeftovers(now: Date): Promise<void> {
    for (const customerId of await this.deps.buckets.flushedWithOpenBuckets()) {
      await this.deps.sealer.sealBefore(new Date(hourStart(now).getTime() + 2 * HOUR_MS), now, customerId);
    }
  }
}
