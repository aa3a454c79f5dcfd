import type { Logger } from '../platform/logger';
import type { Clock } from '../platform/clock';
import type { Db } from '../store/schema';
import type { AttemptOutcome, ClaimedDelivery, DeliveryRepository } from './delivery.repository';
import type { EndpointRepository } from './endpoint.repository';
import type { WebhookPayload } from './outbox.repository';
import { nextAttemptAt, type RetrySchedule } from './retry-schedule';
import { slackEscape, slackText, type ProductNames } from './slack-message';
import { signingSecrets, type WebhookEndpoint } from './webhook-endpoint';
import { signatureHeaders } from './webhook-signature';
import { WebhookTransportError, type WebhookTransport } from './webhook-transport.gateway';

/** How a dispatcher works; config.ts gives every value (README "Configuration"). */
export interface DispatcherSettings {
  /** Names this instance in leases and attempt records. */
  readonly instanceId: string;
  /** Wait between passes that found nothing to do, ms. Default 1,000. */
  readonly pollMs: number;
  /** Deliveries claimed per pass. Default 50. */
  readonly batchSize: number;
  /** Attempts in flight at once. Default 8. */
  readonly concurrency: number;
  /** How long a claim is held; longer than the transport's whole-exchange deadline. Default timeout + 30 s. */
  readonly leaseMs: number;
  readonly schedule: RetrySchedule;
  /** An endpoint failing without a success for this long is disabled. Default 24 h. */
  readonly disableAfterMs: number;
}

export interface DispatcherDeps {
  readonly db: Db;
  readonly deliveries: DeliveryRepository;
  readonly endpoints: EndpointRepository;
  readonly transport: WebhookTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Product display names, for Slack sentences. */
  readonly productNames: ProductNames;
  /** In [0, 1), for jitter. Default Math.random. */
  readonly random?: () => number;
}

export interface PassResult {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
}

/**
 * Delivers the outbox: at least once, in order per customer and endpoint, with exponential backoff
 * and jitter for up to the retry window, on any number of instances. All state is in the store:
 * a claim is a lease on the delivery row, so an instance that stops or dies mid-attempt loses
 * nothing (the lease expires and the delivery is attempted again), and two instances never hold
 * the same delivery (PostgreSQL `FOR UPDATE SKIP LOCKED`, and a conditional UPDATE on both
 * engines). The receiver deduplicates on `webhook-id`, which stays the same across attempts.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastSweep = 0;

  constructor(
    private readonly deps: DispatcherDeps,
    private readonly settings: DispatcherSettings,
  ) {}

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .then((r) => r.attempted > 0)
        .catch((error: unknown) => {
          this.deps.logger.error({ err: error }, 'webhook dispatch pass failed');
          return false;
        })
        .then((busy) => {
          // Straight on while there is work; otherwise wait for the next poll.
          if (!this.stopped) this.timer = setTimeout(loop, busy ? 0 : this.settings.pollMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** Stops claiming; attempts in flight finish and are recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: claim due deliveries, attempt them, record the outcomes. */
  async runOnce(): Promise<PassResult> {
    const { deliveries, clock, logger } = this.deps;
    const s = this.settings;
    const now = clock.now();
    if (now.getTime() - this.lastSweep >= 60_000) {
      this.lastSweep = now.getTime();
      const expired = await deliveries.expireOverdue(now, s.schedule.windowMs);
      if (expired > 0)
        logger.error(
          { event: 'webhook.expired', count: expired, alert: 'webhook_delivery_failed' },
          'webhook deliveries expired undelivered',
        );
    }
    const claimed = await deliveries.claim(s.instanceId, now, s.leaseMs, s.batchSize);
    if (claimed.length === 0) return { attempted: 0, succeeded: 0, failed: 0 };
    const endpoints = await this.deps.endpoints.findMany([...new Set(claimed.map((d) => d.endpointId))]);
    let succeeded = 0;
    let failed = 0;
    const queue = [...claimed];
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const ok = await this.attempt(d, endpoints.get(d.endpointId));
        if (ok) succeeded++;
        else failed++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(s.concurrency, claimed.length) }, worker));
    return { attempted: claimed.length, succeeded, failed };
  }

  /** One HTTP attempt and its record; true on a 2xx. */
  private async attempt(d: ClaimedDelivery, endpoint: (WebhookEndpoint & { deleted: boolean }) | undefined): Promise<boolean> {
    const { clock, logger } = this.deps;
    const startedAt = clock.now();
    let outcome: AttemptOutcome;
    if (!endpoint || endpoint.deleted) {
      outcome = { ok: false, statusCode: null, latencyMs: 0, error: 'the endpoint was deleted', retryAt: null };
    } else {
      outcome = await this.send(d, endpoint, startedAt);
    }
    const now = clock.now();
    const s = this.settings;
    const log = {
      event: 'webhook.delivery',
      deliveryId: d.id,
      eventId: d.eventId,
      type: d.eventType,
      endpointId: d.endpointId,
      attempt: d.attempt,
    };
    let disabled = false;
    const held = await this.deps.db.transaction().execute(async (tx) => {
      const ok = await this.deps.deliveries.complete(tx, d, s.instanceId, s.instanceId, startedAt, outcome, now);
      if (!ok || !endpoint || endpoint.deleted) return ok;
      if (outcome.ok) await this.deps.endpoints.recordSuccess(tx, endpoint.id, now);
      else disabled = await this.deps.endpoints.recordFailure(tx, endpoint.id, now, s.disableAfterMs, outcome.error);
      return ok;
    });
    if (!held) logger.warn({ ...log }, 'webhook delivery lease lost before its result was recorded; another instance attempts it');
    else if (outcome.ok) logger.info({ ...log, status: outcome.statusCode, latencyMs: outcome.latencyMs }, 'webhook delivered');
    else if (outcome.retryAt)
      logger.warn(
        { ...log, status: outcome.statusCode, error: outcome.error, retryAt: outcome.retryAt.toISOString() },
        'webhook attempt failed; will retry',
      );
    else
      logger.error(
        { ...log, status: outcome.statusCode, error: outcome.error, alert: 'webhook_delivery_failed' },
        'webhook delivery failed for good',
      );
    if (disabled)
      logger.error(
        { event: 'webhook.endpoint_disabled', endpointId: d.endpointId, alert: 'webhook_endpoint_disabled' },
        `webhook endpoint disabled after failing for ${Math.round(s.disableAfterMs / 3_600_000)} h`,
      );
    return outcome.ok;
  }

  private async send(d: ClaimedDelivery, endpoint: WebhookEndpoint, startedAt: Date): Promise<AttemptOutcome> {
    const retry = (error: string, statusCode: number | null, latencyMs: number): AttemptOutcome => ({
      ok: false,
      statusCode,
      latencyMs,
      error,
      retryAt: nextAttemptAt(d.attempt, d.createdAt, this.deps.clock.now(), this.settings.schedule, this.deps.random ?? Math.random),
    });
    let body = d.payload;
    let headers: Record<string, string> = {};
    if (endpoint.kind === 'slack') {
      body = JSON.stringify({ text: slackEscape(slackText(JSON.parse(d.payload) as WebhookPayload, this.deps.productNames)) });
    } else {
      const secrets = signingSecrets(endpoint, startedAt);
      if (secrets.length === 0) return retry('the endpoint has no signing secret', null, 0);
      headers = signatureHeaders(d.eventId, startedAt, body, secrets);
    }
    try {
      const res = await this.deps.transport({ url: endpoint.url, headers, body });
      if (res.status >= 200 && res.status < 300) return { ok: true, statusCode: res.status, latencyMs: res.latencyMs };
      const why =
        res.status >= 300 && res.status < 400
          ? `answered a redirect (${res.status}); redirects are not followed`
          : `answered ${res.status}${res.body ? `: ${res.body.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
      return retry(why, res.status, res.latencyMs);
    } catch (error) {
      if (error instanceof WebhookTransportError) return retry(error.message, null, error.latencyMs);
      return retry(`request failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300), null, 0);
    }
  }
}
