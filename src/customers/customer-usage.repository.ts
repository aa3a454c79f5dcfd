import type { Kysely } from 'kysely';
import { hourValue, parseBucketAggregate, type AggregationMode } from '../metering/aggregation';
import type { ProductConfig } from '../products/product-config';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import type { Entitlement } from './customer';

/** Usage of one dimension this hour (`GET /v1/customers/{id}` `usage`). */
export interface HourUsage {
  /** The hour's aggregated value before anything included is taken off (the total, peak, latest or distinct count). */
  readonly rawUsage: number;
  /** What the hour's record bills; null while the hour is open (it is frozen when sealed) or while it waits. */
  readonly billedQuantity: number | null;
  /** The hour's record state (`open`, `sealed`, `sending`, `accepted`, …); null: no usage recorded yet. */
  readonly state: string | null;
}

/** Usage of one dimension over the current period (the UTC calendar month: AWS invoices usage monthly). */
export interface PeriodUsage {
  /** The sum of each hour's raw value. */
  readonly rawUsage: number;
  /** Accepted by AWS. */
  readonly billedQuantity: number;
  /** Frozen and on its way to AWS (sealed, sending, or waiting for an entitlement or identity). */
  readonly pendingQuantity: number;
  /** Refused or never billable (duplicate, not subscribed, expired, failed): an audit should look at these. */
  readonly notBilledQuantity: number;
  /** Hours whose record was refused or failed. */
  readonly notBilledHours: number;
}

export interface DimensionUsage {
  readonly dimension: string;
  readonly aggregation: AggregationMode;
  /** The quantity the contract includes now (integer or double entitlement); null without one. */
  readonly includedQuantity: number | null;
  /** Cumulative overage: how much of the included quantity this entitlement period has used up. */
  readonly includedUsed: number | null;
  readonly thisHour: HourUsage;
  readonly currentPeriod: PeriodUsage;
}

export interface CustomerUsage {
  readonly hour: Date;
  readonly periodStart: Date;
  readonly periodEnd: Date;
  readonly dimensions: readonly DimensionUsage[];
}

const BILLED = new Set(['accepted']);
const PENDING = new Set(['sealed', 'sending', 'held']);

/**
 * Read-only view of a customer's metering, for the customers API: per dimension, this hour and the
 * current period, raw usage beside what is included and what was billed, so an audit can see what an
 * overage dimension did not bill. Reads `meter_buckets` and `metering_entitlement_usage` only; the
 * metering code owns their writes. States it does not know (a future one) count as pending.
 */
export class CustomerUsageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async usageOf(customerId: string, product: ProductConfig, entitlements: readonly Entitlement[], now: Date): Promise<CustomerUsage> {
    const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
    const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const buckets = await this.db
      .selectFrom('meter_buckets')
      .select(['dimension', 'hour', 'state', 'quantity', 'aggregate', 'mode'])
      .where('customer_id', '=', customerId)
      .where('hour', '>=', toDbTime(periodStart))
      .where('hour', '<', toDbTime(periodEnd))
      .execute();
    const counted = await this.db
      .selectFrom('metering_entitlement_usage')
      .select(['dimension', 'period', 'used'])
      .where('customer_id', '=', customerId)
      .execute();
    const dimensions = product.dimensions
      .filter((d) => d.metered)
      .map((d): DimensionUsage => {
        const entitlement = current(entitlements, d.name, now);
        const included =
          entitlement && (entitlement.value.type === 'integer' || entitlement.value.type === 'double') ? entitlement.value.value : null;
        const period = entitlement ? (entitlement.expirationDate ? entitlement.expirationDate.toISOString() : 'open-ended') : undefined;
        const cumulative = d.aggregation === 'overage' && (d.overageBasis ?? 'sum') === 'sum';
        const used = cumulative && period ? counted.find((c) => c.dimension === d.name && c.period === period) : undefined;
        let thisHour: HourUsage = { rawUsage: 0, billedQuantity: null, state: null };
        const totals = { rawUsage: 0, billedQuantity: 0, pendingQuantity: 0, notBilledQuantity: 0, notBilledHours: 0 };
        for (const b of buckets.filter((x) => x.dimension === d.name)) {
          const raw = rawValue(b.aggregate, b.mode as AggregationMode);
          const quantity = b.quantity === null ? null : Number(b.quantity);
          totals.rawUsage += raw;
          if (b.state === 'open') {
            // Not decided yet: counted in neither billed nor pending.
          } else if (BILLED.has(b.state)) totals.billedQuantity += quantity ?? 0;
          else if (PENDING.has(b.state) || !['duplicate', 'not_subscribed', 'expired', 'failed'].includes(b.state))
            totals.pendingQuantity += quantity ?? 0;
          else {
            totals.notBilledQuantity += quantity ?? raw;
            totals.notBilledHours += 1;
          }
          if (fromDbTime(b.hour).getTime() === hour.getTime())
            thisHour = { rawUsage: raw, billedQuantity: b.state === 'open' ? null : quantity, state: b.state };
        }
        return {
          dimension: d.name,
          aggregation: d.aggregation,
          includedQuantity: included,
          includedUsed: cumulative && included !== null ? Number(used?.used ?? 0) : null,
          thisHour,
          currentPeriod: totals,
        };
      });
    return { hour, periodStart, periodEnd, dimensions };
  }
}

function current(entitlements: readonly Entitlement[], dimension: string, now: Date): Entitlement | undefined {
  return entitlements.find((e) => e.dimension === dimension && (!e.expirationDate || e.expirationDate.getTime() > now.getTime()));
}

/** The hour's value from a stored aggregate; an aggregate this version cannot read counts 0 rather than failing the read. */
function rawValue(text: string, mode: AggregationMode): number {
  try {
    return hourValue(parseBucketAggregate(JSON.parse(text), mode));
  } catch {
    return 0;
  }
}
