import { randomUUID } from 'node:crypto';
import { CustomerRepository } from '../customers/customer.repository';
import type { Clock } from '../platform/clock';
import { AppError } from '../platform/errors';
import type { Logger } from '../platform/logger';
import type { ProductCatalog } from '../products/product-config';
import type { DialectName } from '../store/dialect';
import type { Db } from '../store/schema';
import { BucketRepository } from './bucket.repository';
import { BucketTransitions } from './bucket-transitions.repository';
import { catchUpHours, HeartbeatsAndFlushes } from './emitter-heartbeats';
import { BucketSealer } from './emitter-sealer';
import { BucketSender, type SendSummary } from './emitter-sender';
import { FinalFlushRepository } from './final-flush.repository';
import { HOUR_MS, hourStart } from './hours';
import { realPacer, type MeteringGateway, type Pacer } from './ports';
import { readLastCompletedHour, saveLastCompletedHour } from './progress.repository';
import { TokenBucket } from './rate-limiter';
import type { LeaseStore } from '../platform/leases';
import { SenderLease } from './sender-lease';
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
  /**
   * The metering sender lease (one sending instance per database, `sender-lease.ts`): a dead
   * holder is replaced after this long, ms. Default 30,000.
   */
  readonly senderLeaseMs: number;
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
  senderLeaseMs: 30_000,
  claimSize: 250,
  batchWindow: batchMeterUsageWindow,
  meterUsageWindow,
  meterUsageFailAfterMs: 2 * HOUR_MS,
  meterUsageFailPolicy: 'open',
});

/**
 * Fraction of `ratePerSecond` the calls are paced at. AWS counts the quota when requests arrive,
 * and the time from a call's departure to its arrival varies (signing, a busy event loop, the
 * network). Calls that leave `s` apart can arrive bunched: a one-second window at arrival holds
 * more than `rate` of them once that variation reaches `rate × s − 1` seconds. At the full rate
 * (s = 1/rate) any variation at all draws a throttle; at 80% of it, a quarter of a second is
 * absorbed. Late calls are not made up: a catch-up at a shorter spacing would spend the same margin.
 */
const PACING_HEADROOM = 0.8;

/** What one run did. */
export interface RunSummary {
  sealedThrough: string | null;
  heartbeats: number;
  sealed: number;
  /** Held records completed (what they waited for became known) and now sendable. */
  completed: number;
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
  private readonly transitions: BucketTransitions;
  private readonly sealer: BucketSealer;
  private readonly hourly: HeartbeatsAndFlushes;
  private readonly sender: BucketSender;
  private readonly senderLease: SenderLease | null;
  private readonly owner: string;
  private readonly flushTimers = new Map<string, NodeJS.Timeout>();
  private inFlight: Promise<RunSummary> | null = null;
  private stopped = false;

  constructor(
    private readonly deps: {
      db: Db;
      dialect: DialectName;
      catalog: ProductCatalog;
      gateway: MeteringGateway;
      clock: Clock;
      logger: Logger;
      settings?: Partial<EmitterSettings>;
      pacer?: Pacer;
      random?: () => number;
      /**
       * Named leases in the store: when given, only the holder of the metering sender lease sends
       * (several instances share one AWS quota). Without it this emitter sends whenever it runs.
       */
      leases?: LeaseStore;
    },
  ) {
    const s = (this.settings = { ...defaultEmitterSettings, ...deps.settings });
    if (s.meterUsageFailAfterMs < 2 * HOUR_MS) throw new RangeError('meterUsageFailAfterMs must be at least 2 hours');
    this.buckets = new BucketRepository(deps.db, deps.dialect);
    this.transitions = new BucketTransitions(deps.db, deps.dialect);
    const windows = { batchWindow: s.batchWindow, meterUsageWindow: s.meterUsageWindow };
    this.sealer = new BucketSealer({
      db: deps.db,
      buckets: this.buckets,
      transitions: this.transitions,
      customers: new CustomerRepository(deps.db),
      catalog: deps.catalog,
      logger: deps.logger,
      ...windows,
    });
    this.hourly = new HeartbeatsAndFlushes({
      buckets: this.buckets,
      flushes: new FinalFlushRepository(deps.db),
      sealer: this.sealer,
      catalog: deps.catalog,
      logger: deps.logger,
      heartbeat: s.heartbeat,
      ...windows,
    });
    const pacer = deps.pacer ?? realPacer;
    // The process id helps an operator tell instances apart in the leases table.
    this.owner = `${process.pid}-${randomUUID()}`;
    this.senderLease = deps.leases
      ? new SenderLease({ leases: deps.leases, holder: this.owner, ttlMs: s.senderLeaseMs, pacer, logger: deps.logger })
      : null;
    const lease = this.senderLease;
    this.sender = new BucketSender({
      transitions: this.transitions,
      db: deps.db,
      clock: deps.clock,
      gateway: deps.gateway,
      limiter: new TokenBucket({ ratePerSecond: s.ratePerSecond * PACING_HEADROOM }, pacer.nowMs()),
      pacer,
      logger: deps.logger,
      random: deps.random,
      ...(lease ? { mayCall: () => lease.checkBeforeCall() } : {}),
      settings: {
        owner: this.owner,
        leaseMs: s.leaseMs,
        claimSize: s.claimSize,
        concurrency: s.concurrency,
        retryBudgetMs: s.retryBudgetMs,
        retryCapMs: 120_000,
        batchWindow: s.batchWindow,
        meterUsageWindow: s.meterUsageWindow,
      },
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
      const n = await this.transitions.releaseAllSending(this.deps.clock.now());
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
    // Another instance takes over at once rather than after the lease expires.
    await this.senderLease
      ?.release()
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'could not release the sender lease'));
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
    const tick = new Date(
      hourStart(new Date(now.getTime() - this.settings.minute * 60_000)).getTime() + HOUR_MS + this.settings.minute * 60_000,
    );
    let at = Math.min(tick.getTime(), now.getTime() + this.settings.pollMs);
    const due = await this.buckets.nextDueAt();
    if (due) at = Math.min(at, Math.max(due.getTime(), now.getTime() + 100));
    // Standing by: try for the sender lease often enough to take over soon after its holder dies.
    if (this.senderLease && !this.senderLease.holding) at = Math.min(at, now.getTime() + this.settings.senderLeaseMs / 2);
    return new Date(at);
  }

  /** MeterUsage health for readiness and access checks (facts §1.7 / seed 002 "Gestion des défaillances"). */
  meteringAccess(now: Date = this.deps.clock.now()): {
    allowed: boolean;
    degraded: boolean;
    failingSince: Date | null;
    policy: 'open' | 'closed';
  } {
    const since = this.sender.meterUsageFailingSince;
    const degraded = since !== null && now.getTime() - since.getTime() >= this.settings.meterUsageFailAfterMs;
    return {
      allowed: !(degraded && this.settings.meterUsageFailPolicy === 'closed'),
      degraded,
      failingSince: since,
      policy: this.settings.meterUsageFailPolicy,
    };
  }

  private async pass(now: Date): Promise<RunSummary> {
    const cutoff = hourStart(new Date(now.getTime() - this.settings.minute * 60_000));
    await this.sender.loadHealth();
    const last = await readLastCompletedHour(this.deps.db);
    const hourly = last === null || last.getTime() < cutoff.getTime() - HOUR_MS;
    let heartbeats = 0;
    if (hourly) {
      // Catch up from the durable last completed hour: every idle hour since then that can still
      // be sent gets its zero record, after a downtime of any length (facts §6).
      const hours = catchUpHours(last, cutoff, now, [this.settings.batchWindow, this.settings.meterUsageWindow]);
      heartbeats = await this.hourly.heartbeats(hours, now);
    }
    let sealed = await this.sealer.sealBefore(cutoff, now);
    let finalFlushes = 0;
    for (const w of await this.hourly.pendingFinalWindows()) {
      if (hourly || now.getTime() >= w.openedAt.getTime() + this.settings.finalFlushDelayMs) {
        sealed += await this.hourly.finalFlush(w.customerId, w.openedAt, cutoff, now);
        finalFlushes++;
      } else this.onFinalWindowOpened(w.customerId);
    }
    await this.hourly.sealFlushedLeftovers(now);
    const completed = await this.sealer.completeHeld(now);
    if (hourly) await saveLastCompletedHour(this.deps.db, new Date(cutoff.getTime() - HOUR_MS), now);
    const send = (await this.mayPassSend(now)) ? await this.sender.sendDue(() => this.stopped) : { calls: 0, outcomes: {} };
    return { sealedThrough: new Date(cutoff.getTime() - HOUR_MS).toISOString(), heartbeats, sealed, completed, finalFlushes, send };
  }

  /**
   * Without a lease store, always. With one, only while this instance holds the sender lease;
   * taking it over, it first sends back to `sealed` what other instances left mid-send.
   */
  private async mayPassSend(now: Date): Promise<boolean> {
    if (!this.senderLease || this.stopped) return !this.stopped;
    const state = await this.senderLease.enterPass();
    if (state === 'standby') return false;
    if (state === 'acquired') {
      const n = await this.transitions.releaseSendingOfOthers(this.owner, now);
      if (n > 0)
        this.deps.logger.warn(
          { event: 'metering.reconcile', resend: n },
          'records another instance left mid-send will be resent unchanged',
        );
    }
    return true;
  }

  private async dryRun(productCode: string, dimension: string): Promise<void> {
    const record = {
      bucketId: 'dry-run',
      productCode,
      identity: { kind: 'customer-identifier' as const, customerIdentifier: 'dry-run' },
      dimension,
      hour: hourStart(this.deps.clock.now()),
      quantity: 0,
    };
    for (let attempt = 1; ; attempt++) {
      const result = await this.deps.gateway.meterUsage(record, { dryRun: true });
      if (result.ok || result.failure.kind === 'dry_run_permitted') {
        this.deps.logger.info({ productCode }, 'MeterUsage DryRun: permitted');
        return;
      }
      if (result.failure.kind === 'throttled' && attempt < 5) {
        await (this.deps.pacer ?? realPacer).sleep(200 * attempt);
        continue;
      }
      throw new AppError(
        `MeterUsage DryRun for ${productCode} failed with ${result.failure.code}: the process must not run without metering (facts §1.7)`,
        { code: 'meter_usage_dry_run_failed', httpStatus: 503, details: { awsCode: result.failure.code, message: result.failure.message } },
      );
    }
  }
}
