import type { Kysely, Transaction } from 'kysely';
import type { Database, DbTime, MeterBucketsTable } from '../store/schema';

/**
 * The metering tables as migration 0005 leaves them (columns and tables the shared `Database`
 * type does not list yet). Metering code reads and writes through {@link meteringDb}.
 */
export interface MeterBucketsTableV5 extends MeterBucketsTable {
  record_timestamp: DbTime | null;
  meter_usage_slot: string | null;
}

/** Usage already counted against an entitlement, per customer, dimension and entitlement period. */
export interface MeteringEntitlementUsageTable {
  customer_id: string;
  dimension: string;
  /** The entitlement's expiration date (ISO-8601), or `open-ended`. */
  period: string;
  used: number;
  updated_at: DbTime;
}

export interface MeteringHealthTable {
  name: string;
  failing_since: DbTime | null;
  updated_at: DbTime;
}

export type MeteringDatabase = Omit<Database, 'meter_buckets'> & {
  meter_buckets: MeterBucketsTableV5;
  metering_entitlement_usage: MeteringEntitlementUsageTable;
  metering_health: MeteringHealthTable;
};

/** The same connection (or transaction), typed with the metering columns. */
export function meteringDb(db: Kysely<Database> | Transaction<Database> | Kysely<MeteringDatabase> | Transaction<MeteringDatabase>): Kysely<MeteringDatabase> {
  return db as unknown as Kysely<MeteringDatabase>;
}
