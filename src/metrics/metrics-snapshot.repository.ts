import { sql } from 'kysely';
import { fromDbTime } from '../store/dialect';
import type { Db } from '../store/schema';

/** States of a record AWS has not settled yet. */
const UNSENT_STATES = ['sealed', 'held', 'sending'] as const;

/** What the scrape-time gauges show, read from the store in one go (read-only). */
export interface MetricsSnapshot {
  readonly bucketsByState: ReadonlyArray<{ product: string; state: string; count: number }>;
  /** Hour start of the oldest unsent record, per API (`batch` | `meter-usage`). */
  readonly oldestUnsent: ReadonlyArray<{ api: string; hour: Date; recordTimestamp: Date }>;
  readonly expiredUnits: ReadonlyArray<{ product: string; dimension: string; units: number }>;
  /** Completion time of the newest accepted record, per product. */
  readonly lastAccepted: ReadonlyArray<{ product: string; at: Date }>;
  readonly customersByStatus: ReadonlyArray<{ product: string; status: string; count: number }>;
  readonly notifications: ReadonlyArray<{ channel: string; outcome: string; count: number }>;
  readonly webhookDeliveries: ReadonlyArray<{ status: string; count: number }>;
  /** `disabled`: turned off after failing for too long; `switched_off`: turned off by the seller. */
  readonly webhookEndpoints: ReadonlyArray<{ state: 'enabled' | 'switched_off' | 'disabled'; count: number }>;
}

export async function readMetricsSnapshot(db: Db): Promise<MetricsSnapshot> {
  const [buckets, oldest, expired, accepted, customers, notifications, deliveries, endpoints] = await Promise.all([
    db
      .selectFrom('meter_buckets')
      .select(['product_code', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
      .groupBy(['product_code', 'state'])
      .execute(),
    db
      .selectFrom('meter_buckets')
      .select(['api', (eb) => eb.fn.min('hour').as('hour'), (eb) => eb.fn.min(sql<string>`coalesce(record_timestamp, hour)`).as('ts')])
      .where('state', 'in', UNSENT_STATES)
      .groupBy('api')
      .execute(),
    db
      .selectFrom('meter_buckets')
      .select(['product_code', 'dimension', (eb) => eb.fn.sum<number | string>(sql`coalesce(quantity, 0)`).as('units')])
      .where('state', '=', 'expired')
      .groupBy(['product_code', 'dimension'])
      .execute(),
    db
      .selectFrom('meter_buckets')
      .select(['product_code', (eb) => eb.fn.max('completed_at').as('at')])
      .where('state', '=', 'accepted')
      .groupBy('product_code')
      .execute(),
    db
      .selectFrom('customers')
      .select(['product_code', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .groupBy(['product_code', 'status'])
      .execute(),
    db
      .selectFrom('events')
      .select(['channel', 'outcome', (eb) => eb.fn.countAll<number | string>().as('n')])
      .groupBy(['channel', 'outcome'])
      .execute(),
    db
      .selectFrom('webhook_deliveries')
      .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .groupBy('status')
      .execute(),
    db.selectFrom('webhook_endpoints').select(['enabled', 'disabled_reason']).where('deleted_at', 'is', null).execute(),
  ]);
  return {
    bucketsByState: buckets.map((r) => ({ product: r.product_code, state: r.state, count: Number(r.n) })),
    oldestUnsent: oldest
      .filter((r) => r.hour !== null && r.ts !== null)
      .map((r) => ({ api: r.api, hour: fromDbTime(r.hour as string | Date), recordTimestamp: fromDbTime(r.ts as string | Date) })),
    expiredUnits: expired.map((r) => ({ product: r.product_code, dimension: r.dimension, units: Number(r.units ?? 0) })),
    lastAccepted: accepted.filter((r) => r.at !== null).map((r) => ({ product: r.product_code, at: fromDbTime(r.at as string | Date) })),
    customersByStatus: customers.map((r) => ({ product: r.product_code, status: r.status, count: Number(r.n) })),
    notifications: notifications.map((r) => ({ channel: r.channel, outcome: r.outcome, count: Number(r.n) })),
    webhookDeliveries: deliveries.map((r) => ({ status: r.status, count: Number(r.n) })),
    webhookEndpoints: (['enabled', 'switched_off', 'disabled'] as const).map((state) => ({
      state,
      count: endpoints.filter((r) => endpointState(r) === state).length,
    })),
  };
}

/** The reason the endpoint repository writes when the seller turns an endpoint off. */
const SWITCHED_OFF_REASON = 'disabled by API';

function endpointState(row: { enabled: number; disabled_reason: string | null }): 'enabled' | 'switched_off' | 'disabled' {
  if (Number(row.enabled) === 1) return 'enabled';
  return row.disabled_reason === SWITCHED_OFF_REASON ? 'switched_off' : 'disabled';
}
