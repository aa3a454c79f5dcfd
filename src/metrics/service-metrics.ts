import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { windowEnd, type WindowPolicy } from '../metering/windows';
import type { AwsCallOutcome } from '../aws/call-metrics';
import type { MetricsSnapshot } from './metrics-snapshot.repository';

export interface ServiceMetricsDeps {
  /** Reads the store at scrape time (metering states, customers, notifications, webhooks). */
  readonly snapshot: () => Promise<MetricsSnapshot>;
  readonly now: () => Date;
  /** The AWS acceptance window of each metering API, to tell how long the oldest unsent record has left. */
  readonly windows: { readonly batch: WindowPolicy; readonly meterUsage: WindowPolicy };
  /** Node process metrics (CPU, memory, event loop). Default true. */
  readonly processMetrics?: boolean;
}

const PREFIX = 'marketplace_bridge_';

/**
 * Every Prometheus metric of the service, on its own registry (never prom-client's global one, so
 * two services in one process, as in the tests, do not collide). Counters and the request histogram
 * are updated as things happen; the gauges about stored state read the store when scraped.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly awsCalls: Counter<'service' | 'operation' | 'outcome'>;
  readonly rateLimitRefusals: Counter<'limit'>;

  constructor(deps: ServiceMetricsDeps) {
    const registers = [this.registry];
    if (deps.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    this.httpDuration = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'HTTP requests by route template, method and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.awsCalls = new Counter({
      name: `${PREFIX}aws_calls_total`,
      help: 'AWS calls by service, operation and outcome (success, throttled, server_error, client_error, network_error)',
      labelNames: ['service', 'operation', 'outcome'],
      registers,
    });
    this.rateLimitRefusals = new Counter({
      name: `${PREFIX}rate_limit_refusals_total`,
      help: 'Requests refused with 429 by a rate limit, by limit (registration, sns, api)',
      labelNames: ['limit'],
      registers,
    });

    // Scrape-time gauges: one store read per scrape, shared by all of them.
    let pending: Promise<MetricsSnapshot> | null = null;
    const snapshot = (): Promise<MetricsSnapshot> => {
      pending ??= deps.snapshot().finally(() => setImmediate(() => (pending = null)));
      return pending;
    };
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (g: Gauge<L>, s: MetricsSnapshot, now: Date) => void,
    ): void => {
      new Gauge<L>({
        name: `${PREFIX}${name}`,
        help,
        labelNames,
        registers,
        async collect() {
          const s = await snapshot();
          this.reset();
          fill(this, s, deps.now());
        },
      });
    };
    gauge(
      'metering_records',
      'Metering records (one per customer, dimension and hour) by product and state',
      ['product', 'state'],
      (g, s) => {
        for (const r of s.bucketsByState) g.set({ product: r.product, state: r.state }, r.count);
      },
    );
    gauge(
      'oldest_unsent_record_age_seconds',
      'Seconds since the end of the usage hour of the oldest record sealed but not settled by AWS (sealed, held, sending); 0 when none',
      [],
      (g, s, now) => {
        const oldest = Math.min(...s.oldestUnsent.map((r) => r.hour.getTime()));
        g.set(Number.isFinite(oldest) ? Math.max(0, (now.getTime() - oldest - 3_600_000) / 1000) : 0);
      },
    );
    gauge(
      'oldest_unsent_record_window_remaining_seconds',
      'Seconds until AWS stops accepting the oldest unsent record, by API (batch, meter-usage); no sample when none is unsent',
      ['api'],
      (g, s, now) => {
        for (const r of s.oldestUnsent) {
          const policy = r.api === 'meter-usage' ? deps.windows.meterUsage : deps.windows.batch;
          g.set({ api: r.api }, (windowEnd(r.recordTimestamp, policy).getTime() - now.getTime()) / 1000);
        }
      },
    );
    gauge(
      'expired_units',
      'Units in records AWS no longer accepts (state expired), by product and dimension',
      ['product', 'dimension'],
      (g, s) => {
        for (const r of s.expiredUnits) g.set({ product: r.product, dimension: r.dimension }, r.units);
      },
    );
    gauge(
      'metering_last_accepted_timestamp_seconds',
      'Unix time at which AWS last accepted a metering record, by product',
      ['product'],
      (g, s) => {
        for (const r of s.lastAccepted) g.set({ product: r.product }, r.at.getTime() / 1000);
      },
    );
    gauge('customers', 'Customers by product and subscription status', ['product', 'status'], (g, s) => {
      for (const r of s.customersByStatus) g.set({ product: r.product, status: r.status }, r.count);
    });
    gauge(
      'notifications_recorded',
      'Notifications recorded since the store was created, by queue or channel and outcome (applied, stale, duplicate, rejected, unmatched)',
      ['channel', 'outcome'],
      (g, s) => {
        for (const r of s.notifications) g.set({ channel: r.channel, outcome: r.outcome }, r.count);
      },
    );
    gauge('webhook_deliveries', 'Webhook deliveries by status (pending, delivering, succeeded, failed, cancelled)', ['status'], (g, s) => {
      for (const r of s.webhookDeliveries) g.set({ status: r.status }, r.count);
    });
    gauge(
      'webhook_endpoints',
      'Webhook endpoints by state: enabled, switched_off (by the seller) or disabled (after failing for too long)',
      ['state'],
      (g, s) => {
        for (const r of s.webhookEndpoints) g.set({ state: r.state }, r.count);
      },
    );
  }

  /** Counts one AWS call by how it ended. */
  countAwsCall(service: string, operation: string, outcome: AwsCallOutcome): void {
    this.awsCalls.inc({ service, operation, outcome });
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
