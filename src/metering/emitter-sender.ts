import type { BatchMeterUsageResult } from '@aws-sdk/client-marketplace-metering';
import type { Logger } from '../platform/logger';
import { nextAttemptAt } from './backoff';
import type { MeterBucket } from './bucket';
import type { BucketRepository } from './bucket.repository';
import type { MeteringGateway, Pacer } from './ports';
import type { TokenBucket } from './rate-limiter';
import { planBatchesDetailed, splitForIsolation, type MeteringBatch, type PendingRecord } from './record-batching';
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

/** Outcome counts of one pass. */
export interface SendSummary {
  calls: number;
  outcomes: Record<string, number>;
}

/**
 * Claim → send → record (design §3.3, §3.4). A claimed bucket is `sending` BEFORE its call, so a
 * crash leaves it `sending`; it is claimed again when its lease expires (or at start-up on SQLite)
 * and resent byte-identically — same Timestamp (hour start), quantity and allocations, frozen at
 * seal — which AWS de-duplicates (facts §1.6: "Identical requests are idempotent").
 */
export class BucketSender {
  /** MeterUsage health for the fail-open/closed policy: when the current run of failures began. */
  meterUsageFailingSince: Date | null = null;

  constructor(
    private readonly deps: { buckets: BucketRepository; gateway: MeteringGateway; limiter: TokenBucket; pacer: Pacer; logger: Logger; settings: SenderSettings; random?: () => number },
  ) {}

  /** Sends everything due at `now`; a bucket is attempted at most once per pass. */
  async sendDue(now: Date, shouldStop: () => boolean = () => false): Promise<SendSummary> {
    const summary: SendSummary = { calls: 0, outcomes: {} };
    const s = this.deps.settings;
    while (!shouldStop()) {
      const claimed = await this.deps.buckets.claimDue(s.owner, now, s.leaseMs, s.claimSize);
      if (claimed.length === 0) break;
      const byId = new Map(claimed.map((b) => [b.id, b]));
      const record = async (id: string, outcome: RecordOutcome) => {
        summary.outcomes[outcome.next] = (summary.outcomes[outcome.next] ?? 0) + 1;
        await this.apply(byId.get(id)!, outcome, now);
      };
      const batchBuckets: PendingRecord[] = [];
      const tasks: Array<() => Promise<void>> = [];
      for (const b of claimed) {
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
      await pool(tasks, s.concurrency);
    }
    return summary;
  }

  /** One BatchMeterUsage call; a whole-batch rejection is split until the bad record is alone (design §3.4). */
  private async sendBatch(batch: MeteringBatch, record: (id: string, o: RecordOutcome) => Promise<void>, summary: SendSummary): Promise<void> {
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
    for (const [id, o] of outcomes) await record(id, o);
  }

  private async sendMeterUsage(b: MeterBucket, pending: PendingRecord, now: Date, record: (id: string, o: RecordOutcome) => Promise<void>, summary: SendSummary): Promise<void> {
    if (!isWithinWindow(b.hour, now, this.deps.settings.meterUsageWindow)) {
      await record(b.id, { next: 'expired', reason: 'past the MeterUsage window (6 hours, facts §1.7)' });
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
      this.meterUsageFailingSince = null;
    } catch (error) {
      if (isThrottlingError(error)) this.deps.limiter.onThrottled(this.deps.pacer.nowMs());
      outcomes = classifyMeterUsageError(pending, error);
      if (outcomes.get(b.id)?.next === 'retry') this.meterUsageFailingSince ??= now;
    }
    for (const [id, o] of outcomes) await record(id, o);
  }

  private async pace(): Promise<void> {
    const wait = this.deps.limiter.take(this.deps.pacer.nowMs());
    if (wait > 0) await this.deps.pacer.sleep(wait);
  }

  /** Writes the outcome and logs the state change; alerts for the outcomes a person must look at. */
  private async apply(b: MeterBucket, o: RecordOutcome, now: Date): Promise<void> {
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
    hour: b.hour,
    quantity: b.quantity,
    allocations: b.allocations,
  };
}

/** Runs tasks with at most `concurrency` in flight. */
async function pool(tasks: Array<() => Promise<void>>, concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, worker));
}
