import { hash } from 'node:crypto';
import type { Customer } from '../customers/customer';
import { CustomerRepository } from '../customers/customer.repository';
import { usageAcceptable } from '../customers/subscription-state';
import type { Clock } from '../platform/clock';
import { ConcurrentWriteError, ConflictError } from '../platform/errors';
import { timeOrderedId } from '../platform/ids';
import type { Logger } from '../platform/logger';
import type { ProductCatalog, ProductConfig } from '../products/product-config';
import { isRetryableWrite, toDbTime, type DialectName } from '../store/dialect';
import type { Db, Tx, UsageEventsTable } from '../store/schema';
import { addUsage, usageRejection, type BucketAggregate } from './aggregation';
import { LedgerWrites, type AggregateWrite, type DistinctIdReport } from './ledger-writes.repository';
import { allocationKey } from './allocations';
import type { MeterBucket } from './bucket';
import { bucketKey, BucketRepository, type NewBucket } from './bucket.repository';
import { FinalFlushRepository } from './final-flush.repository';
import { UsageEventRepository } from './usage-event.repository';
import { HOUR_MS, hourStart } from './hours';
import { readLastCompletedHour } from './progress.repository';
import { validateUsage, type FieldError, type ProductMeteringConfig, type ValidatedUsage } from './usage-validation';
import type { WindowPolicy } from './windows';

/** Why a record was not recorded. Stable codes, part of the public API. */
export type UsageRejectionCode =
  | 'invalid_usage'
  | 'unknown_customer'
  | 'ambiguous_customer'
  | 'unknown_product'
  | 'customer_not_active'
  | 'final_metering_done'
  | 'hour_closed'
  | 'aggregate_limit'
  /** MeterUsage product: another customer already meters it (one buyer account per product, facts §1.7). */
  | 'meter_usage_customer_conflict';

/** The answer for one record, in request order. */
export type UsageResult =
  | {
      index: number;
      idempotencyKey: string | null;
      status: 'accepted';
      replayed: boolean;
      customerId: string;
      hour: string;
      rolledForward: boolean;
    }
  | { index: number; idempotencyKey: string | null; status: 'rejected'; code: UsageRejectionCode; message: string; errors?: FieldError[] };

/** Ledger settings; windows per metering API (facts §1.6, §1.7). */
export interface LedgerOptions {
  readonly batchWindow: WindowPolicy;
  readonly meterUsageWindow: WindowPolicy;
  /** Future tolerance for the app's clock. Default 300,000 ms. */
  readonly clockSkewMs?: number;
}

interface Prepared {
  index: number;
  usage: ValidatedUsage;
  customer: Customer;
  product: ProductConfig;
  fingerprint: string;
  /**
   * The answer when the record is new: the subscription does not take usage at its timestamp. A
   * replay of a record accepted earlier is still answered as accepted (the key is looked up first).
   */
  refusal?: UsageResult;
}

/**
 * The durable usage ledger (design §3.1). A batch is validated record by record; the accepted
 * records are written — usage event plus bucket update — in ONE transaction before the answer, so
 * a record is either fully recorded or not at all. The same idempotency key again answers the
 * stored result; the same key with a different body makes the whole request a 409 and records nothing.
 */
export class UsageLedger {
  private readonly buckets: BucketRepository;
  private readonly customers: CustomerRepository;
  private readonly usageEvents = new UsageEventRepository();
  private readonly flushes: FinalFlushRepository;
  private readonly writes: LedgerWrites;

  constructor(
    private readonly deps: {
      db: Db;
      dialect: DialectName;
      catalog: ProductCatalog;
      clock: Clock;
      logger: Logger;
      options: LedgerOptions;
    },
  ) {
    this.buckets = new BucketRepository(deps.db, deps.dialect);
    this.customers = new CustomerRepository(deps.db);
    this.flushes = new FinalFlushRepository(deps.db);
    this.writes = new LedgerWrites(deps.dialect);
  }

  async record(records: readonly unknown[]): Promise<UsageResult[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.recordOnce(records);
      } catch (error) {
        // A concurrent writer won a race (same key, same new bucket, a seal) or the engine asked us to retry.
        if (attempt < 4 && isRetryableWrite(error)) continue;
        throw error;
      }
    }
  }

  private async recordOnce(records: readonly unknown[]): Promise<UsageResult[]> {
    const now = this.deps.clock.now();
    const results = new Array<UsageResult | undefined>(records.length);
    const prepared: Prepared[] = [];
    // Every customer the batch names, in one statement per form of reference.
    const customers = await this.customers.findByReferences(
      records.flatMap((input) => {
        const ref = (input as { customer?: unknown } | null)?.customer;
        return typeof ref === 'string' ? [ref] : [];
      }),
    );
    for (const [index, input] of records.entries()) {
      const key = keyOf(input);
      const ref = typeof (input as { customer?: unknown })?.customer === 'string' ? (input as { customer: string }).customer : undefined;
      if (ref === undefined) {
        results[index] = reject(
          index,
          key,
          'invalid_usage',
          'customer is required: our customer id, the CustomerIdentifier or the LicenseArn',
          [{ field: 'customer', message: 'customer is required' }],
        );
        continue;
      }
      const found = customers.get(ref) ?? [];
      if (found.length === 0) {
        results[index] = reject(index, key, 'unknown_customer', `no customer is known as "${ref.slice(0, 80)}"`);
        continue;
      }
      if (found.length > 1) {
        results[index] = reject(
          index,
          key,
          'ambiguous_customer',
          `"${ref.slice(0, 80)}" names customers of several products; send our customer id or the LicenseArn`,
        );
        continue;
      }
      const customer = found[0]!;
      const product = this.deps.catalog.find(customer.productCode);
      if (!product) {
        results[index] = reject(index, key, 'unknown_product', `the customer's product ${customer.productCode} is not configured`);
        continue;
      }
      const window = product.meteringApi === 'meter-usage' ? this.deps.options.meterUsageWindow : this.deps.options.batchWindow;
      const v = validateUsage(input, meteringConfigOf(product), now, { window, clockSkewMs: this.deps.options.clockSkewMs });
      if (!v.ok) {
        results[index] = reject(index, key, 'invalid_usage', v.errors.map((e) => `${e.field}: ${e.message}`).join('; '), v.errors);
        continue;
      }
      // Facts §6: no record before subscribe-success, none after unsubscribe-success; design §3.5:
      // usage from before a License Deprovisioned end is accepted until the final flush.
      const refusal = usageAcceptable(customer.subscription, v.usage.timestamp)
        ? undefined
        : reject(
            index,
            key,
            'customer_not_active',
            `customer ${customer.id} is ${customer.subscription.status}${customer.subscription.activatedAt ? ` (activated ${customer.subscription.activatedAt.toISOString()})` : ''}; usage at ${v.usage.timestamp.toISOString()} cannot be metered`,
          );
      prepared.push({
        index,
        usage: v.usage,
        customer,
        product,
        fingerprint: fingerprintOf(customer.id, v.usage),
        ...(refusal ? { refusal } : {}),
      });
    }
    if (prepared.length === 0) return results as UsageResult[];

    return this.deps.db.transaction().execute(async (tx) => {
      const existing = await this.usageEvents.findByKeys(
        tx,
        prepared.map((p) => ({ customerId: p.customer.id, idempotencyKey: p.usage.idempotencyKey })),
      );
      const conflicts: Array<{ index: number; idempotencyKey: string }> = [];
      const fresh: Prepared[] = [];
      const seenInBatch = new Map<string, Prepared>();
      for (const p of prepared) {
        const k = `${p.customer.id}\u0000${p.usage.idempotencyKey}`;
        const stored = existing.get(k);
        const earlier = seenInBatch.get(k);
        const original = stored ? stored.fingerprint : earlier?.fingerprint;
        if (original !== undefined && original !== p.fingerprint)
          conflicts.push({ index: p.index, idempotencyKey: p.usage.idempotencyKey });
        else if (stored) results[p.index] = accepted(p, stored.hour, stored.rolledForward, true);
        else if (p.refusal) results[p.index] = p.refusal;
        else if (earlier)
          fresh.push({ ...p, index: -p.index - 1 }); // replay of a record earlier in this batch
        else {
          seenInBatch.set(k, p);
          fresh.push(p);
        }
      }
      if (conflicts.length > 0) {
        throw new ConflictError(`${conflicts.length} record(s) reuse an idempotency key with a different body; nothing was recorded.`, {
          code: 'idempotency_conflict',
          conflicts,
        });
      }
      await this.apply(tx, fresh, results, now);
      return results as UsageResult[];
    });
  }

  /** Writes the fresh records: bucket aggregates, then the usage events (all or nothing). */
  private async apply(tx: Tx, fresh: Prepared[], results: (UsageResult | undefined)[], now: Date): Promise<void> {
    const current = hourStart(now);
    const flushed = await this.flushes.flushedAmong(tx, [...new Set(fresh.map((p) => p.customer.id))]);
    // Every hour at or before the emitter's last completed hour is sealed, bucket row or not.
    const sealedThrough = fresh.length > 0 ? await readLastCompletedHour(tx) : null;
    const meterUsageHolders = new Map<string, string | null>();
    const loaded = new Map<string, { bucket: MeterBucket; aggregate: BucketAggregate; added: number }>();
    const newBucket = (p: Prepared, hour: Date): NewBucket => ({
      customerId: p.customer.id,
      productCode: p.product.code,
      dimension: p.usage.dimension,
      hour,
      api: p.product.meteringApi,
      mode: p.usage.mode,
      basis: p.product.dimensions.find((d) => d.name === p.usage.dimension)?.overageBasis,
    });
    // The hour a record is counted in first: its own, or the open one if its own is sealed.
    const targetOf = (p: Prepared): Date => {
      const target = p.usage.hour.getTime() > current.getTime() ? current : p.usage.hour;
      // A sealed hour never changes (design §2): late usage goes to the current open hour.
      return sealedThrough && target.getTime() <= sealedThrough.getTime() ? current : target;
    };
    const ordered = [...fresh].sort((a, b) => (a.index < 0 ? -a.index - 1 : a.index) - (b.index < 0 ? -b.index - 1 : b.index));
    // The buckets the batch API's records go to first, created and locked together. MeterUsage
    // products keep the per-record path below (which customer holds a slot is decided per record).
    const preloaded = await this.buckets.lockOrCreateMany(
      tx,
      ordered.flatMap((p) => {
        if (p.index < 0 || flushed.has(p.customer.id) || p.product.meteringApi === 'meter-usage') return [];
        const target = targetOf(p);
        const ended = p.customer.subscription.endedAt;
        return ended && target.getTime() >= ended.getTime() ? [] : [newBucket(p, target)];
      }),
      now,
    );
    const load = async (p: Prepared, hour: Date) => {
      const k = bucketKey(p.customer.id, p.usage.dimension, hour);
      let entry = loaded.get(k);
      if (!entry) {
        const bucket = preloaded.get(k) ?? (await this.buckets.lockOrCreate(tx, newBucket(p, hour), now));
        entry = { bucket, aggregate: bucket.aggregate, added: 0 };
        loaded.set(k, entry);
      }
      return entry;
    };
    const events: UsageEventsTable[] = [];
    const distinctIds: DistinctIdReport[] = [];
    const receivedAt = toDbTime(now);
    const firstOf = new Map<string, UsageResult>();
    for (const p of ordered) {
      const k = `${p.customer.id}\u0000${p.usage.idempotencyKey}`;
      if (p.index < 0) {
        const index = -p.index - 1;
        const first = firstOf.get(k);
        results[index] =
          first && first.status === 'accepted'
            ? { ...first, index, replayed: true }
            : reject(index, p.usage.idempotencyKey, 'invalid_usage', 'repeats a rejected record of this batch');
        continue;
      }
      if (flushed.has(p.customer.id)) {
        results[p.index] = reject(
          p.index,
          p.usage.idempotencyKey,
          'final_metering_done',
          `customer ${p.customer.id} has had its final metering flush; no more usage is accepted`,
        );
        firstOf.set(k, results[p.index]!);
        continue;
      }
      if (p.product.meteringApi === 'meter-usage') {
        const holder = await this.meterUsageHolder(tx, p, now, meterUsageHolders);
        if (holder !== null && holder !== p.customer.id) {
          results[p.index] = reject(
            p.index,
            p.usage.idempotencyKey,
            'meter_usage_customer_conflict',
            `product ${p.product.code} meters with MeterUsage inside one buyer's account, and customer ${holder} already meters it; MeterUsage carries no customer, so a second customer's usage would collide with the first's records`,
          );
          firstOf.set(k, results[p.index]!);
          continue;
        }
        meterUsageHolders.set(p.product.code, p.customer.id);
      }
      const target = targetOf(p);
      const ended = p.customer.subscription.endedAt;
      // Rolled forward past a License Deprovisioned end: no record may be dated after it (facts §6).
      if (ended && target.getTime() >= ended.getTime()) {
        results[p.index] = reject(
          p.index,
          p.usage.idempotencyKey,
          'hour_closed',
          `the hour of this usage is sealed and the subscription of customer ${p.customer.id} ended at ${ended.toISOString()}`,
        );
        firstOf.set(k, results[p.index]!);
        continue;
      }
      let entry = await load(p, target);
      if (entry.bucket.state !== 'open') {
        if (ended && current.getTime() >= ended.getTime()) {
          results[p.index] = reject(
            p.index,
            p.usage.idempotencyKey,
            'hour_closed',
            `the hour of this usage is sealed and the subscription of customer ${p.customer.id} ended at ${ended.toISOString()}`,
          );
          firstOf.set(k, results[p.index]!);
          continue;
        }
        entry = await load(p, current);
      }
      if (entry.bucket.state !== 'open') {
        results[p.index] = reject(
          p.index,
          p.usage.idempotencyKey,
          'hour_closed',
          `the current hour of customer ${p.customer.id} is already sealed (final metering)`,
        );
        firstOf.set(k, results[p.index]!);
        continue;
      }
      const why = usageRejection(entry.aggregate, p.usage.mode, p.usage);
      if (why) {
        results[p.index] = reject(p.index, p.usage.idempotencyKey, 'aggregate_limit', why);
        firstOf.set(k, results[p.index]!);
        continue;
      }
      // A distinct id is a row of its own (one per bucket and id); the aggregate keeps their count.
      if (p.usage.mode === 'distinct')
        distinctIds.push({
          bucketId: entry.bucket.id,
          distinctId: p.usage.distinctId!,
          at: p.usage.timestamp.getTime(),
          idempotencyKey: p.usage.idempotencyKey,
          tagKey: allocationKey(p.usage.tags),
        });
      else entry.aggregate = addUsage(entry.aggregate, p.usage.mode, p.usage);
      entry.added += 1;
      const hour = entry.bucket.hour.toISOString();
      const rolledForward = entry.bucket.hour.getTime() !== p.usage.hour.getTime();
      events.push({
        id: timeOrderedId(now),
        customer_id: p.customer.id,
        idempotency_key: p.usage.idempotencyKey,
        fingerprint: p.fingerprint,
        dimension: p.usage.dimension,
        quantity: p.usage.quantity,
        distinct_id: p.usage.distinctId ?? null,
        tags: p.usage.tags ? JSON.stringify(p.usage.tags) : null,
        usage_time: toDbTime(p.usage.timestamp),
        bucket_id: entry.bucket.id,
        bucket_hour: hour,
        rolled_forward: rolledForward ? 1 : 0,
        received_at: receivedAt,
      });
      results[p.index] = accepted(p, hour, rolledForward, false);
      firstOf.set(k, results[p.index]!);
    }
    // All in this transaction: the distinct ids, then every touched bucket's aggregate (written
    // only while it is still open), then the usage rows. Nothing commits unless all of it does.
    const newIds = await this.writes.addDistinctIds(tx, distinctIds);
    const aggregates: AggregateWrite[] = [];
    for (const entry of loaded.values()) {
      if (entry.added === 0) continue;
      const aggregate =
        entry.aggregate.mode === 'distinct'
          ? { mode: 'distinct', ids: [], count: (entry.aggregate.count ?? 0) + (newIds.get(entry.bucket.id) ?? 0) }
          : entry.aggregate;
      aggregates.push({ bucketId: entry.bucket.id, aggregate: JSON.stringify(aggregate), added: entry.added });
    }
    if ((await this.writes.updateAggregates(tx, aggregates, receivedAt)) !== aggregates.length) {
      throw new ConcurrentWriteError('a bucket of this write was sealed during it');
    }
    await this.writes.insertUsage(tx, events);
  }

  /**
   * The customer already metering a MeterUsage product: the owner of its buckets in the hours usage
   * can still be dated in (the MeterUsage window), or null. Cached per product for one write.
   */
  private async meterUsageHolder(tx: Tx, p: Prepared, now: Date, cache: Map<string, string | null>): Promise<string | null> {
    if (cache.has(p.product.code)) return cache.get(p.product.code)!;
    const from = new Date(hourStart(now).getTime() - this.deps.options.meterUsageWindow.maxAgeMs - HOUR_MS);
    const holder = await this.buckets.meterUsageHolder(tx, p.product.code, p.customer.id, from);
    cache.set(p.product.code, holder);
    return holder;
  }
}

/** The product's metered dimensions, as the validation needs them. */
export function meteringConfigOf(product: ProductConfig): ProductMeteringConfig {
  const dimensions: Record<string, { mode: ProductConfig['dimensions'][number]['aggregation'] }> = {};
  for (const d of product.dimensions) if (d.metered) dimensions[d.name] = { mode: d.aggregation };
  return { dimensions };
}

function fingerprintOf(customerId: string, u: ValidatedUsage): string {
  const canonical = JSON.stringify([
    customerId,
    u.dimension,
    u.quantity,
    u.timestamp.getTime(),
    u.distinctId ?? null,
    allocationKey(u.tags),
  ]);
  return hash('sha256', canonical, 'base64url');
}

function keyOf(input: unknown): string | null {
  const k = (input as { idempotencyKey?: unknown } | null)?.idempotencyKey;
  return typeof k === 'string' ? k : null;
}

function reject(
  index: number,
  idempotencyKey: string | null,
  code: UsageRejectionCode,
  message: string,
  errors?: FieldError[],
): UsageResult {
  return { index, idempotencyKey, status: 'rejected', code, message, ...(errors ? { errors } : {}) };
}

function accepted(p: Prepared, hour: string, rolledForward: boolean, replayed: boolean): UsageResult {
  return {
    index: p.index,
    idempotencyKey: p.usage.idempotencyKey,
    status: 'accepted',
    replayed,
    customerId: p.customer.id,
    hour,
    rolledForward,
  };
}
