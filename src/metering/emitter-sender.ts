import type { BatchMeterUsageResult } from '@aws-sdk/client-marketplace-metering';
import type { Kysely } from 'kysely';
import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import type { Database } from '../store/schema';
import { nextAttemptAt } from './backoff';
import type { MeterBucket } from './bucket';
import type { BucketRepository } from './bucket.repository';
import { markMeterUsageFailing, markMeterUsageHealthy, readMeterUsageFailingSince } from './metering-state.repository';
import type { MeteringGateway, Pacer } from './ports';
import type { TokenBucket } from './rate-limiter';
import { planBatchesDetailed, requestBytes, splitForIsolation, type MeteringBatch, type PendingRecord } from './record-batching';
import { classifyBatchError, classifyBatchResponse, classifyMeterUsageError, classifyMeterUsageResponse, isThrottlingError, type RecordOutcome } from './result-classification';
import { isWithinWindow, windowDeadline, type WindowPolicy } from './windows';

/** Sending settings (defaults in `EmitterSettings`). */
export interface SenderSettings {
  readonly owner: string;
  readonly leaseMs: number;
  readonly claimSize: number;
  readonly concurrency: number;
  readonly retryBudgetMs: number;
  readonly retryCapMs: number;
  readonly batchWindow: WindowPolicy;
  readonly meterUsageWindow: WindowPolicy;
}

/** A sealed record that cannot be sent yet is looked at again this often (or at its window's end), ms. */
export const HOLD_RETRY_MS = 5 * 60_000;

/** Completes a claimed bucket that waits for its quantity or identity (see `BucketSealer.completeClaimed`). */
export type CompleteClaimed = (bucket: MeterBucket, owner: string, now: Date) => Promise<{ bucket: MeterBucket } | { wait: string } | { failed: string }>;

/** A record outcome, or: still waiting for what the record lacks (entitlement, identity). */
type SenderOutcome = RecordOutcome | { next: 'hold'; reason: string };

/** Outcome counts of one pass. */
export interface SendSummary {
  calls: number;
  outcomes: Record<string, number>;
}

/**
 * Claim → send → record (design §3.3, §3.4). A claimed bucket is `sending` BEFORE its call, so a
 * crash leaves it `sending`; it is claimed again when its lease expires (or at start-up on SQLite)
 * and resent byte-identically — same Timestamp, quantity and allocations, frozen at seal — which
 * AWS de-duplicates (facts §1.6: "Identical requests are idempotent").
 *
 * The clock is read at every claim and every result: a pass can outlast the lease (100k records at
 * 10 req/s take minutes), and a claim stamped with the pass's start time would be born expired and
 * resent by another instance.
 */
export class BucketSender {
  /** MeterUsage health for the fail-open/closed policy: when the current run of failures began (mirrors the store). */
  meterUsageFailingSince: Date | null = null;

  constructor(
    private readonly deps: {
      buckets: BucketRepository;
      db: Kysely<Database>;
      gateway: MeteringGateway;
      limiter: TokenBucket;
      pacer: Pacer;
      logger: Logger;
      clock: Clock;
      settings: SenderSettings;
      complete?: CompleteClaimed;
      random?: () => number;
    },
  ) {}

  /** Reads the stored MeterUsage failure clock (another instance, or this one before a restart, may have started it). */
  async loadHealth(): Promise<void> {
    this.meterUsageFailingSince = await readMeterUsageFailingSince(this.deps.db);
  }

  /**
   * Sends everything due when the pass began; a bucket is attempted at most once per pass (a retry
   * scheduled during the pass waits for the next one, so a long outage cannot keep one pass, and
   * the sealing and final flushes behind it, from ending). `concurrency` workers take calls from
   * one queue, and the next claim is made while the current round's last calls are still in
   * flight, so the rate limiter never waits on the store between rounds. A failure (the store)
   * stops new calls; the calls in flight finish and record their results, then it is thrown.
   */
  async sendDue(shouldStop: () => boolean = () => false): Promise<SendSummary> {
    const summary: SendSummary = { calls: 0, outcomes: {} };
    const s = this.deps.settings;
    const dueBy = this.deps.clock.now();
    const queue: Array<() => Promise<void>> = [];
    let exhausted = false;
    let failure: unknown;
    let refill: Promise<void> | null = null;
    const topUp = (): Promise<void> =>
      (refill ??= this.claimRound(summary, dueBy)
        .then((tasks) => {
          if (tasks === null) exhausted = true;
          else queue.push(...tasks);
        })
        .catch((error: unknown) => {
          failure ??= error;
          exhausted = true;
        })
        .finally(() => {
          refill = null;
        }));
    const worker = async (): Promise<void> => {
      // Once stopping or failing, no new call starts; the claims not sent lapse with their lease,
      // as after a crash, and are resent unchanged.
      while (!shouldStop() && failure === undefined) {
        if (queue.length <= s.concurrency && !exhausted) void topUp();
        const task = queue.shift();
        if (task) {
          try {
            await task();
          } catch (error) {
            failure ??= error;
          }
        } else if (refill) await refill;
        else if (exhausted) return;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, s.concurrency) }, worker));
    if (refill) await refill;
    if (failure !== undefined) throw failure;
    return summary;
  }

  /** Claims the next due buckets and turns them into calls; null when nothing is due. */
  private async claimRound(summary: SendSummary, dueBy: Date): Promise<Array<() => Promise<void>> | null> {
    const s = this.deps.settings;
    const now = this.deps.clock.now();
    const claimed = await this.deps.buckets.claimDue(s.owner, now, s.leaseMs, s.claimSize, { dueBy });
    if (claimed.length === 0) return null;
    const byId = new Map(claimed.map((b) => [b.id, b]));
    const record = async (id: string, outcome: SenderOutcome) => {
      summary.outcomes[outcome.next] = (summary.outcomes[outcome.next] ?? 0) + 1;
      await this.apply(byId.get(id)!, outcome, this.deps.clock.now());
    };
    const batchBuckets: PendingRecord[] = [];
    const tasks: Array<() => Promise<void>> = [];
    for (const claimedBucket of claimed) {
      let b = claimedBucket;
      if (!toPending(b) && this.deps.complete) {
        // Sealed while its entitlement or identity was unknown: complete it under the claim.
        const done = await this.deps.complete(b, s.owner, now);
        if ('wait' in done) {
          await record(b.id, { next: 'hold', reason: done.wait });
          continue;
        }
        if ('failed' in done) {
          await record(b.id, { next: 'failed', reason: done.failed });
          continue;
        }
        b = done.bucket;
        byId.set(b.id, b);
      }
      const pending = toPending(b);
      if (!pending) await record(b.id, { next: 'failed', reason: 'sealed bucket without quantity or identity' });
      else if (b.api === 'meter-usage') tasks.push(() => this.sendMeterUsage(b, pending, now, record, summary));
      else batchBuckets.push(pending);
    }
    const { batches, rejected } = planBatchesDetailed(batchBuckets, { now, window: s.batchWindow });
    for (const r of rejected) {
      await record(r.record.bucketId, r.kind === 'expired' ? { next: 'expired', reason: r.reason } : r.kind === 'not-yet' ? { next: 'retry', reason: r.reason } : { next: 'failed', reason: `${r.kind}: ${r.reason}` });
    }
    for (const batch of batches) tasks.push(() => this.sendBatch(batch, record, summary));
    return tasks;
  }

  /** One BatchMeterUsage call; a whole-batch rejection is split until the bad record is alone (design §3.4). */
  private async sendBatch(claimedBatch: MeteringBatch, record: (id: string, o: SenderOutcome) => Promise<void>, summary: SendSummary): Promise<void> {
    // The lease is renewed first and the pacing wait (well under a second at the quota) comes
    // after: the wait then ends at the moment the call leaves, so a slow store call cannot push
    // this call into the next one's slot.
    const batch = await this.stillHeld(claimedBatch);
    if (!batch) return;
    await this.pace();
    summary.calls++;
    let outcomes: Map<string, RecordOutcome>;
    try {
      const response: BatchMeterUsageResult = await this.deps.gateway.batchMeterUsage(batch);
      this.deps.limiter.onSuccess(this.deps.pacer.nowMs());
      const c = classifyBatchResponse(batch, response);
      if (c.unmatched.length > 0) this.deps.logger.warn({ event: 'metering.unmatched', count: c.unmatched.length }, 'BatchMeterUsage returned results for records we did not send');
      outcomes = c.outcomes;
    } catch (error) {
      if (isThrottlingError(error)) this.deps.limiter.onThrottled(this.deps.pacer.nowMs());
      outcomes = classifyBatchError(batch, error).outcomes;
    }
    const first = outcomes.values().next().value as RecordOutcome | undefined;
    if (first?.next === 'isolate') {
      const halves = splitForIsolation(batch);
      this.deps.logger.warn({ event: 'metering.isolate', records: batch.records.length, reason: first.reason }, 'whole batch rejected: splitting to isolate the bad record');
      if (halves) {
        for (const half of halves) await this.sendBatch(half, record, summary);
        return;
      }
    }
    await recordAll(outcomes, record);
  }

  private async sendMeterUsage(b: MeterBucket, pending: PendingRecord, now: Date, record: (id: string, o: SenderOutcome) => Promise<void>, summary: SendSummary): Promise<void> {
    if (!isWithinWindow(b.hour, now, this.deps.settings.meterUsageWindow)) {
      await record(b.id, { next: 'expired', reason: 'past the MeterUsage window (6 hours, facts §1.7)' });
      return;
    }
    if ((await this.deps.buckets.renewLeases([b.id], this.deps.settings.owner, this.deps.clock.now(), this.deps.settings.leaseMs)).size === 0) {
      this.deps.logger.warn({ event: 'metering.lease_lost', bucketId: b.id, customerId: b.customerId, dimension: b.dimension, hour: b.hour.toISOString() }, 'lease lost before the call; another instance sends the record');
      return;
    }
    await this.pace();
    summary.calls++;
    let outcomes: Map<string, RecordOutcome>;
    try {
      // The bucket id as ClientToken: a resend after a crash is the same request (facts §1.7).
      const out = await this.deps.gateway.meterUsage(pending, { clientToken: b.id });
      this.deps.limiter.onSuccess(this.deps.pacer.nowMs());
      outcomes = classifyMeterUsageResponse(pending, { MeteringRecordId: out.meteringRecordId ?? undefined });
    } catch (error) {
      if (isThrottlingError(error)) this.deps.limiter.onThrottled(this.deps.pacer.nowMs());
      outcomes = classifyMeterUsageError(pending, error);
    }
    await this.noteMeterUsageHealth(outcomes.get(b.id));
    await recordAll(outcomes, record);
  }

  /**
   * The MeterUsage failure clock (facts §1.7; seed 002 "Gestion des défaillances"): any call that did
   * not meter (throttled, 5xx, not entitled, rejected) keeps it running; a success stops it.
   * `DuplicateRequestException` means AWS already holds a record, so it is neither. Stored, so a
   * restart does not reset the two hours.
   */
  private async noteMeterUsageHealth(o: RecordOutcome | undefined): Promise<void> {
    if (!o || o.next === 'duplicate' || o.next === 'expired') return;
    const now = this.deps.clock.now();
    if (o.next === 'accepted') {
      if (this.meterUsageFailingSince !== null) await markMeterUsageHealthy(this.deps.db, now);
      this.meterUsageFailingSince = null;
      return;
    }
    if (this.meterUsageFailingSince === null) {
      await markMeterUsageFailing(this.deps.db, now);
      this.meterUsageFailingSince = (await readMeterUsageFailingSince(this.deps.db)) ?? now;
    }
  }

  /**
   * The part of a planned batch this instance still holds, its leases renewed for the call. The
   * clock moves while a batch waits for the rate limiter or for a free slot (or while the calls
   * before it hang); a record whose lease expired and was claimed by another instance is that
   * instance's to send. Null: nothing is left to send.
   */
  private async stillHeld(batch: MeteringBatch): Promise<MeteringBatch | null> {
    const s = this.deps.settings;
    const held = await this.deps.buckets.renewLeases(batch.records.map((r) => r.bucketId), s.owner, this.deps.clock.now(), s.leaseMs);
    if (held.size === batch.records.length) return batch;
    const lost = batch.records.filter((r) => !held.has(r.bucketId));
    this.deps.logger.warn({ event: 'metering.lease_lost', records: lost.length, bucketIds: lost.map((r) => r.bucketId) }, 'lease lost before the call; another instance sends these records');
    if (held.size === 0) return null;
    const records = batch.records.filter((r) => held.has(r.bucketId));
    return { ...batch, records, approxBytes: requestBytes(batch.productCode, records) };
  }

  /** Returns when a slot at the current rate is free now (decided at wake-up, see TokenBucket.tryAcquire). */
  private async pace(): Promise<void> {
    for (;;) {
      const wait = this.deps.limiter.tryAcquire(this.deps.pacer.nowMs());
      if (wait === 0) return;
      await this.deps.pacer.sleep(wait);
    }
  }

  /** Writes the outcome and logs the state change; alerts for the outcomes a person must look at. */
  private async apply(b: MeterBucket, o: SenderOutcome, now: Date): Promise<void> {
    const s = this.deps.settings;
    const window = b.api === 'meter-usage' ? s.meterUsageWindow : s.batchWindow;
    const log = { event: 'metering.state', bucketId: b.id, customerId: b.customerId, productCode: b.productCode, dimension: b.dimension, hour: b.hour.toISOString(), attempt: b.attempts, quantity: b.quantity, from: 'sending' };
    let ok: boolean;
    switch (o.next) {
      case 'accepted':
        ok = await this.deps.buckets.finish(b.id, s.owner, { state: 'accepted', meteringRecordId: o.meteringRecordId, lastError: null }, now);
        this.deps.logger.info({ ...log, to: 'accepted', meteringRecordId: o.meteringRecordId }, 'metering record accepted');
        break;
      case 'duplicate':
        ok = await this.deps.buckets.finish(b.id, s.owner, { state: 'duplicate', lastError: 'DuplicateRecord: AWS already holds a different quantity for this customer, dimension and hour; the original stands' }, now);
        this.deps.logger.error({ ...log, to: 'duplicate', alert: 'metering_duplicate' }, 'metering record conflicts with one AWS already billed');
        break;
      case 'not_subscribed':
        ok = await this.deps.buckets.finish(b.id, s.owner, { state: 'not_subscribed', lastError: 'CustomerNotSubscribed' }, now);
        this.deps.logger.error({ ...log, to: 'not_subscribed', alert: 'metering_not_subscribed' }, 'AWS says the customer is not subscribed; the record was not billed');
        break;
      case 'failed':
      case 'expired':
        ok = await this.deps.buckets.finish(b.id, s.owner, { state: o.next, lastError: o.reason }, now);
        this.deps.logger.error({ ...log, to: o.next, alert: `metering_${o.next}`, reason: o.reason }, `metering record ${o.next}`);
        break;
      case 'hold': {
        // Waits for its entitlement or identity; expires only when the AWS window closes.
        const deadline = windowDeadline(b.hour, window);
        if (now.getTime() > deadline.getTime()) {
          ok = await this.deps.buckets.finish(b.id, s.owner, { state: 'expired', lastError: `past the AWS window while ${o.reason}` }, now);
          this.deps.logger.error({ ...log, to: 'expired', alert: 'metering_expired', reason: o.reason }, 'metering record expired while it waited');
          break;
        }
        const at = new Date(Math.min(now.getTime() + HOLD_RETRY_MS, deadline.getTime() + 1));
        ok = await this.deps.buckets.finish(b.id, s.owner, { state: 'sealed', lastError: o.reason, nextAttemptAt: at, resetBudget: true }, now);
        this.deps.logger.warn({ ...log, to: 'sealed', alert: 'metering_held', reason: o.reason, nextAttemptAt: at.toISOString() }, 'metering record waits before it can be sent');
        break;
      }
      case 'retry':
      case 'isolate': {
        const deadline = windowDeadline(b.hour, window);
        const next = nextAttemptAt(Math.max(1, b.attempts), b.firstAttemptAt ?? now, now, { budgetMs: s.retryBudgetMs, capMs: s.retryCapMs, notAfter: deadline, random: this.deps.random });
        if (next === 'give-up' && now.getTime() > deadline.getTime()) {
          ok = await this.deps.buckets.finish(b.id, s.owner, { state: 'expired', lastError: `past the AWS window after ${b.attempts} attempts: ${o.reason}` }, now);
          this.deps.logger.error({ ...log, to: 'expired', alert: 'metering_expired', reason: o.reason }, 'metering record expired');
          break;
        }
        // Past the 30-minute budget but still inside the window: keep trying, more slowly (the money is real).
        const at = next === 'give-up' ? new Date(Math.min(now.getTime() + s.retryCapMs, Math.max(now.getTime() + 1, deadline.getTime() - 60_000))) : new Date(Math.max(next.getTime(), now.getTime() + 1));
        ok = await this.deps.buckets.finish(b.id, s.owner, { state: 'sealed', lastError: o.reason, nextAttemptAt: at, resetBudget: next === 'give-up' }, now);
        this.deps.logger.warn({ ...log, to: 'sealed', reason: o.reason, nextAttemptAt: at.toISOString() }, 'metering record will be resent');
        break;
      }
    }
    if (!ok) this.deps.logger.warn({ ...log, event: 'metering.lease_lost' }, 'lease lost before the result was recorded; another instance resends it');
  }
}

function toPending(b: MeterBucket): PendingRecord | null {
  if (b.quantity === null) return null;
  if (b.api === 'batch' && !b.identity) return null;
  return {
    bucketId: b.id,
    productCode: b.productCode,
    identity: b.identity ?? { kind: 'customer-identifier', customerIdentifier: b.customerId },
    dimension: b.dimension,
    hour: b.recordTimestamp,
    quantity: b.quantity,
    allocations: b.allocations,
  };
}

/** Records every outcome of a call, even when one write fails (then the first failure is thrown). */
async function recordAll(outcomes: Map<string, SenderOutcome>, record: (id: string, o: SenderOutcome) => Promise<void>): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (const [id, o] of outcomes) {
    try {
      await record(id, o);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
