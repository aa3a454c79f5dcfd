import type { Kysely, Transaction } from 'kysely';
import { meteringIdentity, type Customer } from '../customers/customer';
import { toCustomer } from '../customers/customer-rows';
import { CustomerRepository } from '../customers/customer.repository';
import type { Logger } from '../platform/logger';
import type { ProductCatalog, ProductConfig } from '../products/product-config';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import { billedAllocations, billedQuantity, hourValue, isPeakOverage } from './aggregation';
import type { UsageAllocationInput } from './allocations';
import type { MeterBucket } from './bucket';
import type { BucketRepository } from './bucket.repository';
import { countAgainstEntitlement } from './metering-state.repository';
import { HOUR_MS, hourStart } from './hours';
import type { RecordIdentity } from './record-batching';
import { windowDeadline, type WindowPolicy } from './windows';

/**
 * A record's content as far as it is known: each part is known, frozen already, or waited for. A
 * cumulative overage quantity is `charge`d against the entitlement period when it is frozen.
 */
interface Plan {
  quantity: { kind: 'known'; entitled: number | undefined } | { kind: 'charge'; entitled: number; period: string } | { kind: 'hold'; reason: string } | { kind: 'frozen' };
  identity: { kind: 'known'; identity: RecordIdentity | null } | { kind: 'hold'; reason: string } | { kind: 'frozen' };
  recordTimestamp: Date;
}

class Rollback extends Error {}

type WriteGuard = { kind: 'seal' } | { kind: 'claimed'; owner: string };
type WriteOutcome = { ok: boolean; quantity: number | null; hold: string | null } | { failed: string };

/** What the record still waits for, in words (null: nothing). */
function holdOf(plan: Plan): string | null {
  const holds = [plan.quantity.kind === 'hold' ? plan.quantity.reason : null, plan.identity.kind === 'hold' ? plan.identity.reason : null].filter((x): x is string => x !== null);
  return holds.length > 0 ? holds.join('; ') : null;
}

/** Quantity and allocations of the bucket under its mode. @throws RangeError */
function compute(bucket: MeterBucket, entitled: number | undefined): { quantity: number; allocations: UsageAllocationInput[] | undefined } {
  const opts = entitled === undefined ? {} : { entitled };
  return { quantity: billedQuantity(bucket.aggregate, bucket.mode, opts), allocations: billedAllocations(bucket.aggregate, bucket.mode, opts) };
}

/**
 * Buckets sealed per transaction: one commit per chunk instead of one per bucket (on SQLite about a
 * fifth of the sealing time went to commits), while a chunk keeps row locks (PostgreSQL) and the
 * write lock (SQLite) short for concurrent usage ingestion and for another instance sealing the
 * same hour.
 */
const SEAL_CHUNK = 100;

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
      const plain: Array<{ bucket: MeterBucket; plan: Plan }> = [];
      const alone: MeterBucket[] = [];
      for (const bucket of open) {
        if (!cache.has(bucket.customerId)) cache.set(bucket.customerId, await this.customers.findById(bucket.customerId));
        const customer = cache.get(bucket.customerId);
        const plan = customer ? await this.plan(bucket, customer) : undefined;
        // A cumulative overage counts against its entitlement period in the seal's own
        // transaction, and a bucket that cannot be billed is logged as such: those go one by one.
        if (plan && !('failed' in plan) && plan.quantity.kind !== 'charge') plain.push({ bucket, plan });
        else alone.push(bucket);
      }
      const changed: MeterBucket[] = [];
      for (let i = 0; i < plain.length; i += SEAL_CHUNK) sealed += await this.sealPlain(plain.slice(i, i + SEAL_CHUNK), changed, now);
      // Of the buckets that changed since they were read, the ones another instance sealed are done.
      const unsealed = await this.deps.buckets.stillOpen(changed.map((b) => b.id));
      for (const bucket of [...alone, ...changed.filter((b) => unsealed.has(b.id))]) if (await this.sealOne(bucket, cache.get(bucket.customerId), now)) sealed++;
    }
    return sealed;
  }

  /**
   * Seals buckets whose plan writes nothing but the bucket itself, in one transaction: one commit
   * for the lot instead of one per bucket. Each seal is still conditional on the bucket being
   * unchanged since it was read; one that changed (usage arrived meanwhile, or another instance
   * sealed it) is added to `changed`. A crash before the commit leaves them all open.
   */
  private async sealPlain(plain: ReadonlyArray<{ bucket: MeterBucket; plan: Plan }>, changed: MeterBucket[], now: Date): Promise<number> {
    if (plain.length === 0) return 0;
    const done = await this.deps.db.transaction().execute(async (tx) => {
      const out: Array<{ bucket: MeterBucket; outcome: WriteOutcome }> = [];
      for (const { bucket, plan } of plain) {
        let outcome: WriteOutcome;
        try {
          outcome = await this.writeIn(tx, bucket, plan, { kind: 'seal' }, now);
        } catch (error) {
          if (error instanceof Rollback) outcome = { ok: false, quantity: null, hold: null };
          else if (error instanceof RangeError) {
            const failed = { failed: `cannot compute the record: ${error.message}` };
            outcome = (await this.deps.buckets.seal(bucket.id, bucket.usageCount, failed, now, tx)) ? failed : { ok: false, quantity: null, hold: null };
          } else throw error;
        }
        out.push({ bucket, outcome });
      }
      return out;
    });
    let sealed = 0;
    for (const { bucket, outcome } of done) {
      if ('failed' in outcome) {
        this.logUnbillable(bucket, outcome.failed);
        sealed++;
      } else if (outcome.ok) {
        this.logSealed(bucket, outcome);
        sealed++;
      } else changed.push(bucket);
    }
    return sealed;
  }

  private logUnbillable(bucket: MeterBucket, reason: string): void {
    this.deps.logger.error({ ...this.logOf(bucket), to: 'failed', alert: 'metering_unbillable', reason }, 'metering record cannot be billed');
  }

  private logSealed(bucket: MeterBucket, written: { quantity: number | null; hold: string | null }): void {
    if (written.hold) this.deps.logger.warn({ ...this.logOf(bucket), to: 'sealed', quantity: written.quantity, heartbeat: bucket.heartbeat, hold: written.hold }, 'metering record sealed; it waits before it can be sent');
    else this.deps.logger.info({ ...this.logOf(bucket), to: 'sealed', quantity: written.quantity, heartbeat: bucket.heartbeat }, 'metering record sealed');
  }

  private async sealOne(initial: MeterBucket, customer: Customer | undefined, now: Date): Promise<boolean> {
    let bucket: MeterBucket | undefined = initial;
    for (let attempt = 0; attempt < 20 && bucket && bucket.state === 'open'; attempt++) {
      const plan = customer ? await this.plan(bucket, customer) : { failed: 'customer row missing' };
      const written = 'failed' in plan ? plan : await this.write(bucket, plan, { kind: 'seal' }, now);
      if ('failed' in written) {
        if (await this.deps.buckets.seal(bucket.id, bucket.usageCount, written, now)) {
          this.logUnbillable(bucket, written.failed);
          return true;
        }
      } else if (written.ok) {
        this.logSealed(bucket, written);
        return true;
      }
      // Usage arrived between the read and the seal: read again (never seal a stale aggregate).
      bucket = await this.deps.buckets.findById(bucket.id);
    }
    return false;
  }

  private logOf(bucket: MeterBucket) {
    return { event: 'metering.state', bucketId: bucket.id, customerId: bucket.customerId, dimension: bucket.dimension, hour: bucket.hour.toISOString(), attempt: 0, from: 'open' };
  }

  /**
   * Completes a claimed, sealed bucket that was waiting (for an entitlement, for the customer's
   * identity): freezes what is now known, write-once, under the claim. Returns the bucket ready to
   * send, what it still waits for, or why it can never be billed.
   */
  async completeClaimed(bucket: MeterBucket, owner: string, now: Date): Promise<{ bucket: MeterBucket } | { wait: string } | { failed: string }> {
    const customer = await this.customers.findById(bucket.customerId);
    if (!customer) return { failed: 'customer row missing' };
    const plan = await this.plan(bucket, customer);
    if ('failed' in plan) return plan;
    // What is already frozen is never recomputed (a resend stays byte-identical).
    const needed: Plan = {
      quantity: bucket.quantity === null ? plan.quantity : { kind: 'frozen' },
      identity: bucket.api === 'batch' && bucket.identity === null ? plan.identity : { kind: 'frozen' },
      recordTimestamp: bucket.recordTimestamp,
    };
    const written = await this.write(bucket, needed, { kind: 'claimed', owner }, now);
    if ('failed' in written) return written;
    if (!written.ok) return { wait: 'the claim was lost while completing the record' };
    if (written.hold) return { wait: written.hold };
    const updated = await this.deps.buckets.findById(bucket.id);
    return updated ? { bucket: updated } : { failed: 'bucket row missing' };
  }

  /** What the bucket's record is made of, as far as it can be known now. */
  private async plan(bucket: MeterBucket, customer: Customer): Promise<Plan | { failed: string }> {
    const product = this.deps.catalog.find(bucket.productCode);
    if (!product) return { failed: `product ${bucket.productCode} is no longer configured` };
    let identity: Plan['identity'] = { kind: 'known', identity: null };
    if (bucket.api === 'batch') {
      const id = identityFor(customer, product);
      const wanted = product.identity === 'license' ? 'CustomerAWSAccountId and LicenseArn' : 'CustomerIdentifier';
      identity = id ? { kind: 'known', identity: id } : { kind: 'hold', reason: `waiting for the customer's metering identity (${wanted}); the record is sent once it is known, until the AWS window closes` };
    }
    // Facts §1.6: "Make sure the timestamp value is not before the start of the software usage".
    const activated = customer.subscription.activatedAt;
    const inActivationHour = activated !== null && activated.getTime() > bucket.hour.getTime() && activated.getTime() < bucket.hour.getTime() + HOUR_MS;
    const recordTimestamp = inActivationHour ? activated : bucket.hour;
    let quantity: Plan['quantity'];
    if (bucket.mode !== 'overage' || hourValue(bucket.aggregate) === 0) {
      // Nothing lies above any entitlement (≥ 0) when the hour's value is 0: no need to know it.
      quantity = { kind: 'known', entitled: bucket.mode === 'overage' ? Infinity : undefined };
    } else {
      // Contracts: bill only above the entitled quantity (seed 002 "Mesure de l'utilisation").
      const e = (await this.customers.listEntitlements(customer.id)).find((x) => x.dimension === bucket.dimension);
      const value = e && e.value.type === 'integer' ? e.value.value : undefined;
      if (!e || value === undefined || !Number.isInteger(value) || value < 0) {
        const what = !e ? 'none is known' : e.value.type === 'integer' ? `it is ${String(value)}` : `it is a ${e.value.type}${'value' in e.value ? ` (${String(e.value.value)})` : ''}`;
        quantity = { kind: 'hold', reason: `waiting for an integer entitlement for overage dimension ${bucket.dimension}: ${what}; never billed as if nothing were included` };
      } else if (isPeakOverage(bucket.aggregate)) {
        quantity = { kind: 'known', entitled: value };
      } else {
        quantity = { kind: 'charge', entitled: value, period: e.expirationDate ? e.expirationDate.toISOString() : 'open-ended' };
      }
    }
    return { quantity, identity, recordTimestamp };
  }

  /**
   * Writes a plan in one transaction: the entitlement count (cumulative overage) and the frozen
   * quantity commit together or not at all, so a crash or a second seal never bills the included
   * part or counts an hour twice.
   */
  private async write(bucket: MeterBucket, plan: Plan, guard: WriteGuard, now: Date): Promise<WriteOutcome> {
    try {
      return await this.deps.db.transaction().execute((tx) => this.writeIn(tx, bucket, plan, guard, now));
    } catch (error) {
      if (error instanceof Rollback) return { ok: false, quantity: null, hold: holdOf(plan) };
      if (error instanceof RangeError) return { failed: `cannot compute the record: ${error.message}` };
      throw error;
    }
  }

  /** The body of {@link write}, in the caller's transaction. @throws Rollback when the guard no longer holds; RangeError */
  private async writeIn(tx: Transaction<Database>, bucket: MeterBucket, plan: Plan, guard: WriteGuard, now: Date): Promise<{ ok: true; quantity: number | null; hold: string | null }> {
    const hold = holdOf(plan);
    const q = plan.quantity;
    let computed: { quantity: number; allocations: UsageAllocationInput[] | undefined } | undefined;
    if (q.kind === 'known') computed = compute(bucket, q.entitled);
    else if (q.kind === 'charge') {
      const usedBefore = await countAgainstEntitlement(tx, { customerId: bucket.customerId, dimension: bucket.dimension, period: q.period }, hourValue(bucket.aggregate), now);
      // What is still included in this period: aggregation's `entitled` for a cumulative overage.
      computed = compute(bucket, Math.max(0, q.entitled - usedBefore));
    }
    const identity = plan.identity.kind === 'known' ? plan.identity.identity : null;
    const ok =
      guard.kind === 'seal'
        ? await this.deps.buckets.seal(bucket.id, bucket.usageCount, { quantity: computed?.quantity ?? null, allocations: computed?.allocations, identity, recordTimestamp: plan.recordTimestamp, hold }, now, tx)
        : await this.deps.buckets.completeClaimed(tx, bucket.id, guard.owner, { ...(computed ? { quantity: computed } : {}), ...(identity ? { identity } : {}), hold }, now);
    if (!ok) throw new Rollback();
    return { ok: true, quantity: computed?.quantity ?? bucket.quantity, hold };
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
          await this.deps.buckets.insertIfAbsent(this.deps.db, { customerId: customer.id, productCode: product.code, dimension: d.name, hour, api: product.meteringApi, mode: d.aggregation, basis: d.overageBasis, heartbeat: true }, now);
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
