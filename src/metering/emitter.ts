import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../platform/clock';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import type { ProductCatalog } from '../products/product-config';
import type { DialectName } from '../store/dialect';
import type { Database } from '../store/schema';
import { BucketRepository } from './bucket.repository';
import { BucketSealer } from './emitter-sealer';
import { BucketSender, type SendSummary } from './emitter-sender';
import { HOUR_MS, hourStart } from './hours';
import { realPacer, type MeteringGateway, type Pacer } from './ports';
import { readLastCompletedHour, saveLastCompletedHour } from './progress.repository';
import { TokenBucket } from './rate-limiter';
import { isThrottlingError } from './result-classification';
import { batchMeterUsageWindow, meterUsageWindow, type WindowPolicy } from './windows';

/** Emitter settings; every member has a default (see {@link defaultEmitterSettings}). */
export interface EmitterSettings {
  /** Minute of each UTC hour at which the previous hour is sealed and sent. Default 10 (seed 002 example). */
  readonly minute: number;
  /** How often due retries and final windows are checked, ms. Default 60,000. */
  readonly pollMs: number;
  /** Zero-quantity records every hour for active customers (facts §6). Default true. */
  readonly heartbeat: boolean;
  /** Final flush this long after the final window opens, or at the next tick if sooner, ms. Default 45 min. */
  readonly finalFlushDelayMs: number;
  /** Backoff budget per record (facts §6 "up to 30 minutes"), ms. Default 30 min. */
  readonly retryBudgetMs: number;
  /** Requests per second (facts §6 quota). Default 10. */
  readonly ratePerSecond: number;
  /** Calls in flight at once (still paced by the rate). Default 4. */
  readonly concurrency: number;
  /** A `sending` claim older than this is presumed dead and resent, ms. Default 120,000. */
  readonly leaseMs: number;
  /** Buckets claimed per round. Default 250 (10 full calls). */
  readonly claimSize: number;
  /** BatchMeterUsage window. Default 24 h with the month-end cut-off (facts §1.6). */
  readonly batchWindow: WindowPolicy;
  /** MeterUsage window. Default 6 h (facts §1.7). */
  readonly meterUsageWindow: WindowPolicy;
  /** After MeterUsage has failed this long (at least 2 h), apply the fail policy. Default 2 h. */
  readonly meterUsageFailAfterMs: number;
  /** `open`: keep serving, warn. `closed`: report not ready and deny access. Default `open`. */
  readonly meterUsageFailPolicy: 'open' | 'closed';
}

export const defaultEmitterSettings: EmitterSettings = Object.freeze({
  minute: 10,
  pollMs: 60_000,
  heartbeat: true,
  finalFlushDelayMs: 45 * 60_000,
  retryBudgetMs: 30 * 60_000,
  ratePerSecond: 10,
  concurrency: 4,
  leaseMs: 120_000,
  claimSize: 250,
  batchWindow: batchMeterUsageWindow,
  meterUsageWindow,
  meterUsageFailAfterMs: 2 * HOUR_MS,
  meterUsageFailPolicy: 'open',
});

/**
 * Fraction of `ratePerSecond` the calls are paced at. AWS counts the quota when requests arrive;
 * calls spaced exactly 1/rate apart reach it with network jitter, so one second can hold
 * rate + 1 of them and the extra call is throttled (then retried, and the adaptive rate halves).
 * 5% headroom keeps evenly paced calls under the quota without giving up measurable throughput.
 * Calls never leave closer than 1/rate + 1 ms apart, so no second holds more than `rate` of them
 * as they leave; within that, up to {@link PACING_CATCH_UP_MS} of lateness (a garbage collection,
 * a slow store call) is made up, so stalls do not eat the headroom.
 */
const PACING_HEADROOM = 0.95;
const PACING_CATCH_UP_MS = 1_000;

/** What one run did. */
export interface RunSummary {
  sealedThrough: string | null;
  heartbeats: number;
  sealed: number;
  finalFlushes: number;
  send: SendSummary;
}

/**
 * The hourly metering emitter (design §3.3–§3.5). `runOnce` is the whole job and is safe to run at
 * any time, from any instance, after any crash: it catches up from the durable last completed
 * hour, seals, adds heartbeats, performs due final flushes, then sends what is due.
 */
export class MeteringEmitter {
  readonly settings: EmitterSettings;
  private readonly buckets: BucketRepository;
  private readonly sealer: BucketSealer;
  private readonly sender: BucketSender;
  private readonly flushTimers = new Map<string, NodeJS.Timeout>();
  private inFlight: Promise<RunSummary> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: { db: Kysely<Database>; dialect: DialectName; catalog: ProductCatalog; gateway: MeteringGateway; clock: Clock; logger: Logger; settings?: Partial<EmitterSettings>; pacer?: Pacer; random?: () => number },
  ) {
    const s = (this.settings = { ...defaultEmitterSettings, ...deps.settings });
    if (s.meterUsageFailAfterMs < 2 * HOUR_MS) throw new RangeError('meterUsageFailAfterMs must be at least 2 hours');
    this.buckets = new BucketRepository(deps.db, deps.dialect);
    this.sealer = new BucketSealer({ db: deps.db, buckets: this.buckets, catalog: deps.catalog, logger: deps.logger, batchWindow: s.batchWindow, meterUsageWindow: s.meterUsageWindow, heartbeat: s.heartbeat });
    const pacer = deps.pacer ?? realPacer;
    this.sender = new BucketSender({
      buckets: this.buckets,
      db: deps.db,
      clock: deps.clock,
      complete: (bucket, owner, now) => this.sealer.completeClaimed(bucket, owner, now),
      gateway: deps.gateway,
      limiter: new TokenBucket({ ratePerSecond: s.ratePerSecond * PACING_HEADROOM, catchUpMs: PACING_CATCH_UP_MS, minSpacingMs: 1000 / s.ratePerSecond + 1 }, pacer.nowMs()),
      pacer,
      logger: deps.logger,
      random: deps.random,
      settings: { owner: randomUUID(), leaseMs: s.leaseMs, claimSize: s.claimSize, concurrency: s.concurrency, retryBudgetMs: s.retryBudgetMs, retryCapMs: 120_000, batchWindow: s.batchWindow, meterUsageWindow: s.meterUsageWindow },
    });
  }

  /**
   * Start-up: reconcile interrupted sends (SQLite has one instance, so every `sending` row is ours
   * and is resent now; PostgreSQL waits for the lease), then the MeterUsage DryRun check: a
   * non-throttling error stops the process, as AWS requires (facts §1.7).
   */
  async start(): Promise<void> {
    this.stopped = false;
    if (this.deps.dialect === 'sqlite') {
      const n = await this.buckets.releaseAllSending(this.deps.clock.now());
      if (n > 0) this.deps.logger.warn({ event: 'metering.reconcile', resend: n }, 'records interrupted mid-send will be resent unchanged');
    }
    await this.sender.loadHealth();
    for (const product of this.deps.catalog.products.filter((p) => p.meteringApi === 'meter-usage')) {
      const dimension = product.dimensions.find((d) => d.metered)?.name ?? product.dimensions[0]?.name ?? 'none';
      await this.dryRun(product.code, dimension);
    }
  }

  /** Stops timers and waits for the run in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.flushTimers.values()) clearTimeout(t);
    this.flushTimers.clear();
    await this.inFlight?.catch(() => undefined);
  }

  /** One full pass; concurrent calls share the pass in flight. */
  runOnce(): Promise<RunSummary> {
    if (!this.inFlight) {
      this.inFlight = this.pass(this.deps.clock.now()).finally(() => {
        this.inFlight = null;
      });
    }
    return this.inFlight;
  }

  /**
   * Called by the notification handlers when a customer's final window opens (unsubscribe-pending,
   * Purchase Agreement Ended, License Deprovisioned). Flushes within `finalFlushDelayMs`; the
   * customer row is checked on every pass too, so nothing depends on this in-memory signal.
   */
  onFinalWindowOpened(customerId: string): void {
    if (this.stopped || this.flushTimers.has(customerId)) return;
    const t = setTimeout(() => {
      this.flushTimers.delete(customerId);
      void this.runOnce().catch((error: unknown) => this.deps.logger.error({ err: error, customerId }, 'final flush run failed'));
    }, this.settings.finalFlushDelayMs);
    t.unref();
    this.flushTimers.set(customerId, t);
  }

  /** When the scheduler should wake up next: the earliest due retry, the next hourly tick, or a due final flush. */
  async nextWakeAt(now: Date): Promise<Date> {
    const tick = new Date(hourStart(new Date(now.getTime() - this.settings.minute * 60_000)).getTime() + HOUR_MS + this.settings.minute * 60_000);
    let at = Math.min(tick.getTime(), now.getTime() + this.settings.pollMs);
    const due = await this.buckets.nextDueAt();
    if (due) at = Math.min(at, Math.max(due.getTime(), now.getTime() + 100));
    return new Date(at);
  }

  /** MeterUsage health for readiness and access checks (facts §1.7 / seed 002 "Gestion des défaillances"). */
  meteringAccess(now: Date = this.deps.clock.now()): { allowed: boolean; degraded: boolean; failingSince: Date | null; policy: 'open' | 'closed' } {
    const since = this.sender.meterUsageFailingSince;
    const degraded = since !== null && now.getTime() - since.getTime() >= this.settings.meterUsageFailAfterMs;
    return { allowed: !(degraded && this.settings.meterUsageFailPolicy === 'closed'), degraded, failingSince: since, policy: this.settings.meterUsageFailPolicy };
  }

  private async pass(now: Date): Promise<RunSummary> {
    const cutoff = hourStart(new Date(now.getTime() - this.settings.minute * 60_000));
    await this.sender.loadHealth();
    const last = await readLastCompletedHour(this.deps.db);
    const hourly = last === null || last.getTime() < cutoff.getTime() - HOUR_MS;
    let heartbeats = 0;
    if (hourly) {
      // Catch up from the durable last completed hour (first run: only the hour just finished).
      const hours: Date[] = [];
      for (let t = last ? last.getTime() + HOUR_MS : cutoff.getTime() - HOUR_MS; t < cutoff.getTime(); t += HOUR_MS) hours.push(new Date(t));
      heartbeats = await this.sealer.heartbeats(hours.slice(-48), now);
    }
    let sealed = await this.sealer.sealBefore(cutoff, now);
    let finalFlushes = 0;
    for (const w of await this.sealer.pendingFinalWindows()) {
      if (hourly || now.getTime() >= w.openedAt.getTime() + this.settings.finalFlushDelayMs) {
        sealed += await this.sealer.finalFlush(w.customerId, w.openedAt, cutoff, now);
        finalFlushes++;
      } else this.onFinalWindowOpened(w.customerId);
    }
    await this.sealer.sealFlushedLeftovers(now);
    if (hourly) await saveLastCompletedHour(this.deps.db, new Date(cutoff.getTime() - HOUR_MS), now);
    const send = await this.sender.sendDue(() => this.stopped);
    return { sealedThrough: new Date(cutoff.getTime() - HOUR_MS).toISOString(), heartbeats, sealed, finalFlushes, send };
  }

  private async dryRun(productCode: string, dimension: string): Promise<void> {
    const record = { bucketId: 'dry-run', productCode, identity: { kind: 'customer-identifier' as const, customerIdentifier: 'dry-run' }, dimension, hour: hourStart(this.deps.clock.now()), quantity: 0 };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.gateway.meterUsage(record, { dryRun: true });
        return;
      } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === 'DryRunOperation') {
          this.deps.logger.info({ productCode }, 'MeterUsage DryRun: permitted');
          return;
        }
        if (isThrottlingError(error) && attempt < 5) {
          await new Promise((r) => setTimeout(r, 200 * attempt));
          continue;
        }
        throw new AppError(`MeterUsage DryRun for ${productCode} failed with ${name}: the process must not run without metering (facts §1.7)`, { code: 'meter_usage_dry_run_failed', httpStatus: 503, cause: error });
      }
    }
  }
}
