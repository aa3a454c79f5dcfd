import type { Clock } from '../platform/clock';
import type { Logger } from '../platform/logger';
import type { Db } from '../store/schema';
import type { MeterBucket } from './bucket';
import type { BucketTransitions } from './bucket-transitions.repository';
import { markMeterUsageFailing, markMeterUsageHealthy, readMeterUsageFailingSince } from './metering-state.repository';
import { planResult } from './outcome-transitions';
import type { CallFailure, MeteringGateway, Pacer } from './ports';
import type { TokenBucket } from './rate-limiter';
import { planBatchesDetailed, requestBytes, splitForIsolation, type MeteringBatch, type PendingRecord } from './record-batching';
import { classifyBatchCall, classifyFailure, type RecordOutcome } from './result-classification';
import { isWithinWindow, type WindowPolicy } from './windows';

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

/** Writes the outcomes of one call (or of records refused before any call) in one statement. */
/** The call that produced a set of outcomes (none for records refused before any call). */
interface CallFacts {
  readonly operation: 'BatchMeterUsage' | 'MeterUsage';
  readonly requestId: string | null;
  /** AWS's HTTP status (200 for an answered call, whose records carry their own status), or null when it never answered. */
  readonly httpStatus: number | null;
}
type Settle = (outcomes: ReadonlyMap<string, RecordOutcome>, call?: CallFacts) => Promise<void>;

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
      transitions: BucketTransitions;
      db: Db;
      gateway: MeteringGateway;
      limiter: TokenBucket;
      pacer: Pacer;
      logger: Logger;
      clock: Clock;
      settings: SenderSettings;
      random?: (() => number) | undefined;
      /**
       * Asked right before each call leaves: may it? False (the metering sender lease was lost,
       * `sender-lease.ts`) stops this pass's calls; the records claimed and not sent are resent
       * unchanged by the instance that holds the lease. Default: always.
       */
      mayCall?: (() => Promise<boolean>) | undefined;
    },
  ) {}

  private stopCalls = false;

  /** Whether the next call may leave (see `mayCall`); once refused, no further call of the pass leaves. */
  private async callAllowed(): Promise<boolean> {
    if (this.stopCalls) return false;
    if (this.deps.mayCall && !(await this.deps.mayCall())) this.stopCalls = true;
    return !this.stopCalls;
  }

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
    this.stopCalls = false;
    const queue: Array<() => Promise<void>> = [];
    let exhausted = false;
    let failure: unknown;
    // Assigned by the workers' closures: typed so the checks below are not narrowed to `null`.
    let refill = null as Promise<void> | null;
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
      while (!shouldStop() && !this.stopCalls && failure === undefined) {
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
    const claimed = await this.deps.transitions.claimDue(s.owner, now, s.leaseMs, s.claimSize, { dueBy });
    if (claimed.length === 0) return null;
    const byId = new Map(claimed.map((b) => [b.id, b]));
    const settle: Settle = async (outcomes, call) => {
      for (const o of outcomes.values()) summary.outcomes[o.next] = (summary.outcomes[o.next] ?? 0) + 1;
      await this.settle(byId, outcomes, call, this.deps.clock.now());
    };
    const batchBuckets: PendingRecord[] = [];
    const refused = new Map<string, RecordOutcome>();
    const tasks: Array<() => Promise<void>> = [];
    for (const b of claimed) {
      const pending = toPending(b);
      if (!pending) {
        // Only complete records are sealed (bucket-lifecycle.ts); an incomplete one here is a bug.
        // It is not failed: it is retried, loudly, until its window closes.
        this.deps.logger.error(
          { event: 'metering.invariant', alert: 'metering_invariant', bucketId: b.id },
          'a claimed record lacks its quantity or identity; it is kept, not sent',
        );
        refused.set(b.id, { next: 'retry', reason: 'claimed without its quantity or identity (a bug): kept for a person to look at' });
      } else if (b.api === 'meter-usage') tasks.push(() => this.sendMeterUsage(b, pending, now, settle, summary));
      else batchBuckets.push(pending);
    }
    const { batches, rejected } = planBatchesDetailed(batchBuckets, { now, window: s.batchWindow });
    for (const r of rejected) {
      refused.set(
        r.record.bucketId,
        r.kind === 'expired'
          ? { next: 'expired', reason: r.reason }
          : r.kind === 'not-yet'
            ? { next: 'retry', reason: r.reason }
            : { next: 'failed', reason: `${r.kind}: ${r.reason}` },
      );
    }
    if (refused.size > 0) await settle(refused);
    for (const batch of batches) tasks.push(() => this.sendBatch(batch, settle, summary));
    return tasks;
  }

  /** One BatchMeterUsage call; a whole-batch rejection is split until the bad record is alone (design §3.4). */
  private async sendBatch(claimedBatch: MeteringBatch, settle: Settle, summary: SendSummary): Promise<void> {
    // The lease is renewed first and the pacing wait (well under a second at the quota) comes
    // after: the wait then ends at the moment the call leaves, so a slow store call cannot push
    // this call into the next one's slot.
    const batch = await this.stillHeld(claimedBatch);
    if (!batch || !(await this.callAllowed())) return;
    await this.pace();
    summary.calls++;
    const result = await this.deps.gateway.batchMeterUsage(batch);
    if (result.ok) this.deps.limiter.onSuccess(this.deps.pacer.nowMs());
    else if (result.failure.kind === 'throttled') this.deps.limiter.onThrottled(this.deps.pacer.nowMs());
    const { outcomes, unmatched } = classifyBatchCall(batch, result);
    if (unmatched.length > 0)
      this.deps.logger.warn(
        { event: 'metering.unmatched', count: unmatched.length },
        'BatchMeterUsage returned results for records we did not send',
      );
    const first = outcomes.values().next().value as RecordOutcome | undefined;
    if (first?.next === 'isolate') {
      const halves = splitForIsolation(batch);
      this.deps.logger.warn(
        { event: 'metering.isolate', records: batch.records.length, reason: first.reason },
        'whole batch rejected: splitting to isolate the bad record',
      );
      if (halves) {
        for (const half of halves) await this.sendBatch(half, settle, summary);
        return;
      }
    }
    await settle(outcomes, callFacts('BatchMeterUsage', result));
  }

  private async sendMeterUsage(b: MeterBucket, pending: PendingRecord, now: Date, settle: Settle, summary: SendSummary): Promise<void> {
    if (!isWithinWindow(b.hour, now, this.deps.settings.meterUsageWindow)) {
      await settle(new Map([[b.id, { next: 'expired', reason: 'past the MeterUsage window (6 hours, facts §1.7)' }]]));
      return;
    }
    if (
      (await this.deps.transitions.renewLeases([b.id], this.deps.settings.owner, this.deps.clock.now(), this.deps.settings.leaseMs))
        .size === 0
    ) {
      this.deps.logger.warn(
        { event: 'metering.lease_lost', bucketId: b.id, customerId: b.customerId, dimension: b.dimension, hour: b.hour.toISOString() },
        'lease lost before the call; another instance sends the record',
      );
      return;
    }
    if (!(await this.callAllowed())) return;
    await this.pace();
    summary.calls++;
    // The bucket id as ClientToken: a resend after a crash is the same request (facts §1.7).
    const result = await this.deps.gateway.meterUsage(pending, { clientToken: b.id });
    if (result.ok) this.deps.limiter.onSuccess(this.deps.pacer.nowMs());
    else if (result.failure.kind === 'throttled') this.deps.limiter.onThrottled(this.deps.pacer.nowMs());
    const outcome: RecordOutcome = result.ok
      ? { next: 'accepted', meteringRecordId: result.meteringRecordId }
      : classifyFailure(result.failure, 1);
    await this.noteMeterUsageHealth(outcome);
    await settle(new Map([[b.id, outcome]]), callFacts('MeterUsage', result));
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
    const held = await this.deps.transitions.renewLeases(
      batch.records.map((r) => r.bucketId),
      s.owner,
      this.deps.clock.now(),
      s.leaseMs,
    );
    if (held.size === batch.records.length) return batch;
    const lost = batch.records.filter((r) => !held.has(r.bucketId));
    this.deps.logger.warn(
      { event: 'metering.lease_lost', records: lost.length, bucketIds: lost.map((r) => r.bucketId) },
      'lease lost before the call; another instance sends these records',
    );
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

  /**
   * Writes the outcomes of one call in one statement, then logs each state change, with an alert
   * for the outcomes a person must look at. A record whose lease was lost meanwhile is not written:
   * another instance owns it now and resends it unchanged.
   */
  private async settle(
    byId: ReadonlyMap<string, MeterBucket>,
    outcomes: ReadonlyMap<string, RecordOutcome>,
    call: CallFacts | undefined,
    now: Date,
  ): Promise<void> {
    const s = this.deps.settings;
    const policy = { ...s, random: this.deps.random };
    const planned = [...outcomes].map(([id, o]) => {
      const plan = planResult(byId.get(id)!, o, now, policy, call?.requestId);
      // A record the call did not settle as billed keeps what the support report needs (seed 004).
      const failed = call && plan.write.move !== 'accept' && plan.write.lastError !== null;
      const failedCall = failed ? { operation: call.operation, httpStatus: call.httpStatus, at: now } : undefined;
      return { bucket: byId.get(id)!, plan: failedCall ? { ...plan, write: { ...plan.write, failedCall } } : plan };
    });
    const written = await this.deps.transitions.recordResults(
      s.owner,
      planned.map((p) => p.plan.write),
      now,
    );
    for (const { bucket: b, plan } of planned) {
      const log = {
        event: 'metering.state',
        bucketId: b.id,
        customerId: b.customerId,
        productCode: b.productCode,
        dimension: b.dimension,
        hour: b.hour.toISOString(),
        attempt: b.attempts,
        quantity: b.quantity,
        from: 'sending',
      };
      if (!written.has(b.id)) {
        this.deps.logger.warn(
          { ...log, event: 'metering.lease_lost' },
          'lease lost before the result was recorded; another instance resends it',
        );
        continue;
      }
      const fields = {
        ...log,
        to: plan.to,
        ...(plan.write.meteringRecordId ? { meteringRecordId: plan.write.meteringRecordId } : {}),
        ...(plan.alert ? { alert: plan.alert } : {}),
        ...(plan.reason ? { reason: plan.reason } : {}),
        ...(plan.write.nextAttemptAt ? { nextAttemptAt: plan.write.nextAttemptAt.toISOString() } : {}),
      };
      this.deps.logger[plan.level](fields, plan.message);
    }
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

/** What the support report keeps of a call: its operation, request id and, when it failed, its HTTP status. */
function callFacts(
  operation: CallFacts['operation'],
  result: { ok: true; requestId: string | null } | { ok: false; failure: CallFailure },
): CallFacts {
  return result.ok
    ? { operation, requestId: result.requestId, httpStatus: 200 }
    : { operation, requestId: result.failure.requestId ?? null, httpStatus: result.failure.httpStatus ?? null };
}
