import type { Customer } from '../customers/customer';
import type { CustomerRepository } from '../customers/customer.repository';
import type { Logger } from '../platform/logger';
import type { ProductCatalog } from '../products/product-config';
import type { Db, Tx } from '../store/schema';
import { hourValue } from './aggregation';
import type { FrozenQuantity, MeterBucket } from './bucket';
import type { BucketRepository } from './bucket.repository';
import type { BucketTransitions, HeldFill, RecordContent } from './bucket-transitions.repository';
import { countAgainstEntitlement } from './metering-state.repository';
import { holdReasonOf, needsEntitlement, planRecord, quantityOf, type RecordPlan } from './record-plan';
import { windowDeadline, type WindowPolicy } from './windows';

/** A held record is looked at again this often (or at its window's end), ms. */
export const HOLD_RECHECK_MS = 5 * 60_000;

/**
 * Buckets sealed per transaction: one commit per chunk instead of one per bucket (on SQLite about a
 * fifth of the sealing time went to commits), while a chunk keeps row locks (PostgreSQL) and the
 * write lock (SQLite) short for concurrent usage ingestion and for another instance sealing the
 * same hours.
 */
const SEAL_CHUNK = 100;

/** Buckets read per round. */
const ROUND = 500;

type Planned = { bucket: MeterBucket; plan: RecordPlan } | { bucket: MeterBucket; unbillable: string };

/** What a write did: the state reached, or 'changed' (the bucket had moved on; nothing written). */
type Written = { to: 'sealed' | 'held'; quantity: number | null; hold: { reason: string; nextCheckAt: Date } | null } | 'changed';

/**
 * Sealing (design §3.3): when an hour is over, each open bucket is `seal`ed (its record complete
 * and frozen), `hold`-ed (usage frozen, waiting for an entitlement or an identity) or `reject`-ed
 * (it can never be billed); held buckets are completed once what they wait for is known. Every
 * step is a conditional move of `bucket-lifecycle.ts`, so a crash anywhere is repaired by running
 * it again.
 */
export class BucketSealer {
  constructor(
    private readonly deps: {
      db: Db;
      buckets: BucketRepository;
      transitions: BucketTransitions;
      customers: CustomerRepository;
      catalog: ProductCatalog;
      logger: Logger;
      batchWindow: WindowPolicy;
      meterUsageWindow: WindowPolicy;
    },
  ) {}

  /** Seals every open bucket whose hour starts before `before` (one customer's, when given). */
  async sealBefore(before: Date, now: Date, customerId?: string): Promise<number> {
    let sealed = 0;
    const cache = new Map<string, Customer | undefined>();
    // Buckets whose planning threw (a bug, logged): left open, and not read again in this pass.
    const broken = new Set<string>();
    for (let round = 0; round < 10_000; round++) {
      const open = (await this.deps.buckets.listInState('open', before, { customerId, limit: ROUND })).filter((b) => !broken.has(b.id));
      if (open.length === 0) break;
      const plain: Array<{ bucket: MeterBucket; plan: RecordPlan }> = [];
      const alone: MeterBucket[] = [];
      for (const bucket of open) {
        const p = await this.planned(bucket, cache, now, broken);
        // A cumulative overage counts against its entitlement period in the seal's own
        // transaction, and a bucket that cannot be billed is logged as such: those go one by one.
        if (p && 'plan' in p && p.plan.quantity.kind !== 'charge') plain.push({ bucket, plan: p.plan });
        else if (p) alone.push(bucket);
      }
      const changed: MeterBucket[] = [];
      for (let i = 0; i < plain.length; i += SEAL_CHUNK) sealed += await this.sealChunk(plain.slice(i, i + SEAL_CHUNK), changed, now);
      // Of the buckets that changed since they were read, the ones another instance sealed are done.
      const unsealed = await this.deps.buckets.stillOpen(changed.map((b) => b.id));
      for (const bucket of [...alone, ...changed.filter((b) => unsealed.has(b.id))]) {
        if (await this.sealOne(bucket, cache, now, broken)) sealed++;
      }
      if (open.length < ROUND && plain.length + alone.length === 0) break;
    }
    return sealed;
  }

  /**
   * Held buckets due for a look (held records are not claimed: only complete ones are sent):
   * `complete`d when what they waited for is now known, `recheck`ed when not, `expireHeld` once their
   * AWS window has closed, `failHeld` when their product is gone. Returns how many became sendable.
   */
  async completeHeld(now: Date): Promise<number> {
    let completed = 0;
    const cache = new Map<string, Customer | undefined>();
    const seen = new Set<string>();
    for (let round = 0; round < 10_000; round++) {
      const due = (await this.deps.buckets.listInState('held', new Date(now.getTime() + 1), { dueBy: now, limit: ROUND })).filter(
        (b) => !seen.has(b.id),
      );
      if (due.length === 0) break;
      for (const bucket of due) {
        seen.add(bucket.id);
        const deadline = windowDeadline(bucket.hour, bucket.api === 'meter-usage' ? this.deps.meterUsageWindow : this.deps.batchWindow);
        if (now.getTime() > deadline.getTime()) {
          if (await this.deps.transitions.expireHeld(bucket.id, `past the AWS window while ${bucket.holdReason ?? 'held'}`, now))
            this.log(bucket, 'held', 'expired', 'error', 'metering record expired while it waited', {
              alert: 'metering_expired',
              reason: bucket.holdReason,
            });
          continue;
        }
        const p = await this.planned(bucket, cache, now, seen);
        if (!p) continue;
        if ('unbillable' in p) {
          if (await this.deps.transitions.failHeld(bucket.id, p.unbillable, now)) this.logUnbillable(bucket, 'held', p.unbillable);
          continue;
        }
        const wrote = await this.writeAlone(bucket, p.plan, now);
        if (wrote !== 'changed' && wrote.to === 'sealed') completed++;
      }
    }
    return completed;
  }

  /** The plan of one bucket; undefined (and logged, with an alert) when planning it threw: a bug, never a reason to drop it. */
  private async planned(
    bucket: MeterBucket,
    cache: Map<string, Customer | undefined>,
    now: Date,
    broken: Set<string>,
  ): Promise<Planned | undefined> {
    try {
      // A distinct hour is counted now, from its id rows.
      if (bucket.mode === 'distinct' && bucket.quantity === null) bucket = await this.deps.buckets.withDistinctIds(bucket);
      if (!cache.has(bucket.customerId)) cache.set(bucket.customerId, await this.deps.customers.findById(bucket.customerId));
      const customer = cache.get(bucket.customerId);
      const entitlement =
        customer && needsEntitlement(bucket)
          ? (await this.deps.customers.listEntitlements(customer.id)).find((x) => x.dimension === bucket.dimension)
          : undefined;
      const plan = planRecord(bucket, customer, this.deps.catalog.find(bucket.productCode), entitlement);
      return 'unbillable' in plan ? { bucket, unbillable: plan.unbillable } : { bucket, plan };
    } catch (error) {
      broken.add(bucket.id);
      this.deps.logger.error(
        { ...this.logOf(bucket, bucket.state), alert: 'metering_seal_error', err: error, at: now.toISOString() },
        'metering record could not be planned; it is kept as it is and tried again on the next pass',
      );
      return undefined;
    }
  }

  /**
   * Seals buckets whose plan writes nothing but the bucket itself, in one transaction: one commit
   * for the lot instead of one per bucket. Each move is still conditional on the bucket being
   * unchanged since it was read; one that changed (usage arrived meanwhile, or another instance
   * sealed it) is added to `changed`. A crash before the commit leaves them all open.
   */
  private async sealChunk(
    plain: ReadonlyArray<{ bucket: MeterBucket; plan: RecordPlan }>,
    changed: MeterBucket[],
    now: Date,
  ): Promise<number> {
    if (plain.length === 0) return 0;
    const done = await this.deps.db.transaction().execute(async (tx) => {
      const out: Array<{ bucket: MeterBucket; wrote: Written }> = [];
      for (const { bucket, plan } of plain) out.push({ bucket, wrote: await this.write(tx, bucket, plan, now) });
      return out;
    });
    let sealed = 0;
    for (const { bucket, wrote } of done) {
      if (wrote === 'changed') changed.push(bucket);
      else {
        this.logWritten(bucket, wrote);
        sealed++;
      }
    }
    return sealed;
  }

  /** Seals one bucket in its own transaction, reading it again while usage keeps arriving (never seal a stale aggregate). */
  private async sealOne(initial: MeterBucket, cache: Map<string, Customer | undefined>, now: Date, broken: Set<string>): Promise<boolean> {
    let bucket: MeterBucket | undefined = initial;
    for (let attempt = 0; attempt < 20 && bucket && bucket.state === 'open'; attempt++) {
      const p = await this.planned(bucket, cache, now, broken);
      if (!p) return false;
      if ('unbillable' in p) {
        if (await this.deps.transitions.reject(this.deps.db, bucket, p.unbillable, now)) {
          this.logUnbillable(bucket, 'open', p.unbillable);
          return true;
        }
      } else {
        if ((await this.writeAlone(bucket, p.plan, now)) !== 'changed') return true;
      }
      bucket = await this.deps.buckets.findById(bucket.id);
    }
    return false;
  }

  /** {@link write} in a transaction of its own, logged once committed. */
  private async writeAlone(bucket: MeterBucket, plan: RecordPlan, now: Date): Promise<Written> {
    let wrote: Written;
    try {
      wrote = await this.deps.db.transaction().execute((tx) => this.write(tx, bucket, plan, now));
    } catch (error) {
      if (error instanceof ChangedMeanwhile) return 'changed';
      throw error;
    }
    if (wrote !== 'changed') this.logWritten(bucket, wrote);
    return wrote;
  }

  /**
   * Writes a plan in the caller's transaction: `seal`/`hold` for an open bucket, `complete`/`recheck`
   * for a held one. A cumulative overage is counted against its entitlement period in the same
   * transaction, so the count and the frozen quantity commit together or not at all: a crash or a
   * second seal never bills the included part or counts an hour twice. 'changed': the bucket had
   * moved on (nothing written; the transaction is rolled back by the throw inside).
   */
  private async write(tx: Tx, bucket: MeterBucket, plan: RecordPlan, now: Date): Promise<Written> {
    const q = plan.quantity;
    let quantity: FrozenQuantity | null = q.kind === 'known' ? q.value : null;
    if (q.kind === 'charge') {
      const usedBefore = await countAgainstEntitlement(
        tx,
        { customerId: bucket.customerId, dimension: bucket.dimension, period: q.period },
        hourValue(bucket.aggregate),
        now,
      );
      // What is still included in this period: aggregation's `entitled` for a cumulative overage.
      quantity = quantityOf(bucket, Math.max(0, q.entitled - usedBefore));
    }
    const identity = plan.identity.kind === 'known' ? plan.identity.identity : null;
    const reason = holdReasonOf(plan);
    const window = bucket.api === 'meter-usage' ? this.deps.meterUsageWindow : this.deps.batchWindow;
    const hold = reason
      ? { reason, nextCheckAt: new Date(Math.min(now.getTime() + HOLD_RECHECK_MS, windowDeadline(bucket.hour, window).getTime() + 1)) }
      : null;
    let ok: boolean;
    if (bucket.state === 'open') {
      const content: RecordContent = { quantity, identity, recordTimestamp: plan.recordTimestamp };
      ok = await this.deps.transitions.sealOrHold(tx, bucket, content, hold, now);
    } else {
      const fill: HeldFill = { ...(quantity ? { quantity } : {}), ...(identity ? { identity } : {}) };
      ok = await this.deps.transitions.completeOrRecheck(tx, bucket.id, fill, hold, now);
    }
    // Undo a count made for a write that did not happen (the transaction rolls back).
    if (!ok && q.kind === 'charge') throw new ChangedMeanwhile();
    if (!ok) return 'changed';
    return { to: hold ? 'held' : 'sealed', quantity: quantity?.quantity ?? bucket.quantity, hold };
  }

  private logWritten(bucket: MeterBucket, w: Exclude<Written, 'changed'>): void {
    if (w.hold)
      this.log(bucket, bucket.state, 'held', 'warn', 'metering record waits before it can be sent', {
        alert: 'metering_held',
        hold: w.hold.reason,
        nextCheckAt: w.hold.nextCheckAt.toISOString(),
        quantity: w.quantity,
        heartbeat: bucket.heartbeat,
      });
    else this.log(bucket, bucket.state, 'sealed', 'info', 'metering record sealed', { quantity: w.quantity, heartbeat: bucket.heartbeat });
  }

  private logUnbillable(bucket: MeterBucket, from: string, reason: string): void {
    this.log(bucket, from, 'failed', 'error', 'metering record cannot be billed', { alert: 'metering_unbillable', reason });
  }

  private log(
    bucket: MeterBucket,
    from: string,
    to: string,
    level: 'info' | 'warn' | 'error',
    message: string,
    extra: Record<string, unknown>,
  ): void {
    this.deps.logger[level]({ ...this.logOf(bucket, from), to, ...extra }, message);
  }

  private logOf(bucket: MeterBucket, from: string) {
    return {
      event: 'metering.state',
      bucketId: bucket.id,
      customerId: bucket.customerId,
      dimension: bucket.dimension,
      hour: bucket.hour.toISOString(),
      attempt: bucket.attempts,
      from,
    };
  }
}

/** Thrown inside a write's transaction to roll back an entitlement count whose bucket had moved on. */
class ChangedMeanwhile extends Error {}
