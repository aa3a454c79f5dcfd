import type { Kysely } from 'kysely';
import { meteringIdentity, type Customer } from '../customers/customer';
import { CustomerRepository, toCustomer } from '../customers/customer.repository';
import type { Logger } from '../platform/logger';
import type { ProductCatalog, ProductConfig } from '../products/product-config';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import { billedAllocations, billedQuantity } from './aggregation';
import type { MeterBucket } from './bucket';
import type { BucketRepository, SealedContent } from './bucket.repository';
import { HOUR_MS, hourStart } from './hours';
import type { RecordIdentity } from './record-batching';
import { windowDeadline, type WindowPolicy } from './windows';

/** Statuses that may still be metered (facts §6: after subscribe-success, before unsubscribe-success). */
const METERABLE = ['active', 'unsubscribe_pending'];

/**
 * Sealing (design §3.3): freezes a bucket's quantity, allocations and identity, creates the hourly
 * zero heartbeats, and performs final flushes. Every step is idempotent (unique keys, conditional
 * updates), so a crash anywhere is repaired by running it again.
 */
export class BucketSealer {
  private readonly customers: CustomerRepository;

  constructor(
    private readonly deps: { db: Kysely<Database>; buckets: BucketRepository; catalog: ProductCatalog; logger: Logger; batchWindow: WindowPolicy; meterUsageWindow: WindowPolicy; heartbeat: boolean },
  ) {
    this.customers = new CustomerRepository(deps.db);
  }

  /** Seals every open bucket whose hour starts before `before` (one customer's, when given). */
  async sealBefore(before: Date, now: Date, customerId?: string): Promise<number> {
    let sealed = 0;
    const cache = new Map<string, Customer | undefined>();
    for (let round = 0; round < 10_000; round++) {
      const open = await this.deps.buckets.listOpen(before, { customerId, limit: 500 });
      if (open.length === 0) break;
      for (const bucket of open) {
        if (!cache.has(bucket.customerId)) cache.set(bucket.customerId, await this.customers.findById(bucket.customerId));
        if (await this.sealOne(bucket, cache.get(bucket.customerId), now)) sealed++;
      }
    }
    return sealed;
  }

  private async sealOne(initial: MeterBucket, customer: Customer | undefined, now: Date): Promise<boolean> {
    let bucket: MeterBucket | undefined = initial;
    for (let attempt = 0; attempt < 20 && bucket && bucket.state === 'open'; attempt++) {
      const content = customer ? await this.contentOf(bucket, customer) : { failed: 'customer row missing' };
      if (await this.deps.buckets.seal(bucket.id, bucket.usageCount, content, now)) {
        const failed = 'failed' in content;
        const log = { event: 'metering.state', bucketId: bucket.id, customerId: bucket.customerId, dimension: bucket.dimension, hour: bucket.hour.toISOString(), attempt: 0, from: 'open', to: failed ? 'failed' : 'sealed' };
        if (failed) this.deps.logger.error({ ...log, alert: 'metering_unbillable', reason: content.failed }, 'metering record cannot be billed');
        else this.deps.logger.info({ ...log, quantity: content.quantity, heartbeat: bucket.heartbeat }, 'metering record sealed');
        return true;
      }
      // Usage arrived between the read and the seal: read again (never seal a stale aggregate).
      bucket = await this.deps.buckets.findById(bucket.id);
    }
    return false;
  }

  /** The frozen record content: the product's identity style, the aggregate under its mode. */
  private async contentOf(bucket: MeterBucket, customer: Customer): Promise<SealedContent | { failed: string }> {
    const product = this.deps.catalog.find(bucket.productCode);
    if (!product) return { failed: `product ${bucket.productCode} is no longer configured` };
    let identity: RecordIdentity | null = null;
    if (bucket.api === 'batch') {
      identity = identityFor(customer, product);
      if (!identity) return { failed: `customer ${customer.id} has no ${product.identity} identity to meter with` };
    }
    let entitled: number | undefined;
    if (bucket.mode === 'overage') {
      // Contracts: bill only above the entitled quantity (seed 002 "Mesure de l'utilisation").
      const e = (await this.customers.listEntitlements(customer.id)).find((x) => x.dimension === bucket.dimension);
      entitled = e && e.value.type === 'integer' ? Math.max(0, Math.floor(e.value.value)) : 0;
    }
    try {
      const quantity = billedQuantity(bucket.aggregate, bucket.mode, { entitled });
      const allocations = billedAllocations(bucket.aggregate, bucket.mode, { entitled });
      return { quantity, allocations, identity };
    } catch (error) {
      return { failed: `cannot compute the record: ${(error as Error).message}` };
    }
  }

  /**
   * Zero-quantity buckets for every hour in `hours` and every meterable customer (facts §6: "send
   * metering records every hour … with usage of 0"), only for hours the customer was active in and
   * that can still be sent.
   */
  async heartbeats(hours: readonly Date[], now: Date, customerId?: string): Promise<number> {
    if (!this.deps.heartbeat || hours.length === 0) return 0;
    let q = this.deps.db
      .selectFrom('customers')
      .selectAll()
      .where('status', 'in', METERABLE)
      .where('product_code', 'in', this.deps.catalog.products.map((p) => p.code))
      .where('customers.id', 'not in', (eb) => eb.selectFrom('metering_final_flushes').select('customer_id'));
    if (customerId) q = this.deps.db.selectFrom('customers').selectAll().where('id', '=', customerId);
    const rows = await q.execute();
    let created = 0;
    for (const row of rows) {
      const customer = toCustomer(row);
      const product = this.deps.catalog.find(customer.productCode);
      const activated = customer.subscription.activatedAt;
      if (!product || !activated || !METERABLE.includes(customer.subscription.status)) continue;
      const ended = customer.subscription.endedAt;
      const window = product.meteringApi === 'meter-usage' ? this.deps.meterUsageWindow : this.deps.batchWindow;
      for (const hour of hours) {
        // No record for an hour before the activation hour or from the end on (facts §6).
        if (hour.getTime() < hourStart(activated).getTime()) continue;
        if (ended && hour.getTime() >= ended.getTime()) continue;
        if (windowDeadline(hour, window).getTime() <= now.getTime()) continue;
        for (const d of product.dimensions) {
          if (!d.metered || !d.heartbeat) continue;
          await this.deps.buckets.insertIfAbsent(this.deps.db, { customerId: customer.id, productCode: product.code, dimension: d.name, hour, api: product.meteringApi, mode: d.aggregation, heartbeat: true }, now);
          created++;
        }
      }
    }
    return created;
  }

  /** Customers whose final-metering window is open and not yet flushed, with when it opened. */
  async pendingFinalWindows(): Promise<Array<{ customerId: string; openedAt: Date }>> {
    const rows = await this.deps.db
      .selectFrom('customers')
      .select(['id', 'final_window_opened_at'])
      .where('final_window_opened_at', 'is not', null)
      .where('product_code', 'in', this.deps.catalog.products.map((p) => p.code))
      .where('id', 'not in', (eb) => eb.selectFrom('metering_final_flushes').select('customer_id'))
      .execute();
    return rows.map((r) => ({ customerId: r.id, openedAt: fromDbTime(r.final_window_opened_at!) }));
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
    await this.deps.db
      .insertInto('metering_final_flushes')
      .values({ customer_id: customerId, window_opened_at: toDbTime(openedAt), flushed_at: toDbTime(now) })
      .onConflict((oc) => oc.column('customer_id').doNothing())
      .execute();
    const sealed = await this.sealBefore(new Date(current.getTime() + HOUR_MS), now, customerId);
    this.deps.logger.info({ event: 'metering.final_flush', customerId, windowOpenedAt: openedAt.toISOString(), sealed }, 'final metering flush: usage is now refused for this customer');
    return sealed;
  }

  /** Seals what a crashed final flush left open. */
  async sealFlushedLeftovers(now: Date): Promise<void> {
    for (const customerId of await this.deps.buckets.flushedWithOpenBuckets()) {
      await this.sealBefore(new Date(hourStart(now).getTime() + 2 * HOUR_MS), now, customerId);
    }
  }
}

/** The identity the product meters with (facts §1.6, §6: licence style for listings from June 2026). */
export function identityFor(customer: Customer, product: ProductConfig): RecordIdentity | null {
  const id = meteringIdentity(customer);
  if (product.identity === 'license') {
    return customer.customerAWSAccountId && customer.licenseArn ? { kind: 'license', customerAWSAccountId: customer.customerAWSAccountId, licenseArn: customer.licenseArn } : null;
  }
  if (customer.customerIdentifier) return { kind: 'customer-identifier', customerIdentifier: customer.customerIdentifier };
  return id?.kind === 'customer-identifier' ? id : null;
}
