import type { Generated } from 'kysely';

/**
 * Table shapes for Kysely. Times are written as ISO-8601 UTC strings on both engines
 * (`text` in SQLite, `timestamptz` in PostgreSQL) and read back through `fromDbTime`.
 * Flags are integers 0/1 on both engines; JSON documents are text.
 */
export type DbTime = string | Date;

export interface CustomersTable {
  id: string;
  product_code: string;
  customer_identifier: string | null;
  customer_aws_account_id: string | null;
  license_arn: string | null;
  offer_id: string | null;
  agreement_id: string | null;
  free_trial: number;
  status: string;
  status_event_time: DbTime | null;
  status_event_rank: number | null;
  activated_at: DbTime | null;
  final_window_opened_at: DbTime | null;
  ended_at: DbTime | null;
  email: string | null;
  company: string | null;
  contact_name: string | null;
  registered_at: DbTime | null;
  onboarded_at: DbTime | null;
  entitlements_fetched_at: DbTime | null;
  created_at: DbTime;
  updated_at: DbTime;
  version: number;
  subscription_bookkeeping: string | null;
  /** The current agreement's status and intent (migration 0004). */
  agreement_status: string | null;
  agreement_intent: string | null;
}

/** One row of newest-wins facts per customer and agreement (migration 0004). */
export interface CustomerAgreementsTable {
  customer_id: string;
  /** '' for facts of events that name no agreement. */
  agreement_id: string;
  current_at: DbTime | null;
  offer_id: string | null;
  offer_at: DbTime | null;
  status: string | null;
  status_at: DbTime | null;
  intent: string | null;
  intent_at: DbTime | null;
}

/** Every licence a customer has held, so a message naming a replaced licence finds its customer (migration 0004). */
export interface CustomerLicencesTable {
  license_arn: string;
  customer_id: string;
}

export interface EventsTable {
  id: Generated<number>;
  dedupe_key: string;
  secondary_key: string | null;
  channel: string;
  kind: string | null;
  event_time: DbTime | null;
  received_at: DbTime;
  customer_id: string | null;
  outcome: string;
  reason: string | null;
  payload: string;
  agreement_id: string | null;
}

export interface EntitlementsTable {
  customer_id: string;
  dimension: string;
  value_type: string;
  integer_value: number | null;
  double_value: number | null;
  boolean_value: number | null;
  string_value: string | null;
  expiration_date: DbTime | null;
  fetched_at: DbTime;
}

export interface Database {
  customers: CustomersTable;
  customer_agreements: CustomerAgreementsTable;
  customer_licences: CustomerLicencesTable;
  events: EventsTable;
  entitlements: EntitlementsTable;
  meter_buckets: MeterBucketsTable;
  usage_events: UsageEventsTable;
  metering_final_flushes: MeteringFinalFlushesTable;
  metering_progress: MeteringProgressTable;
  metering_entitlement_usage: MeteringEntitlementUsageTable;
  metering_health: MeteringHealthTable;
}

/** One hour bucket per (customer, dimension, hour); quantity, allocations and identity frozen at seal. */
export interface MeterBucketsTable {
  id: string;
  customer_id: string;
  product_code: string;
  dimension: string;
  hour: DbTime;
  api: string;
  mode: string;
  aggregate: string;
  usage_count: number;
  heartbeat: number;
  state: string;
  quantity: number | null;
  allocations: string | null;
  identity_kind: string | null;
  customer_identifier: string | null;
  customer_aws_account_id: string | null;
  license_arn: string | null;
  attempts: number;
  first_attempt_at: DbTime | null;
  last_attempt_at: DbTime | null;
  next_attempt_at: DbTime | null;
  lease_owner: string | null;
  lease_until: DbTime | null;
  metering_record_id: string | null;
  last_error: string | null;
  created_at: DbTime;
  updated_at: DbTime;
  sealed_at: DbTime | null;
  completed_at: DbTime | null;
  /** The record's Timestamp, frozen at seal: the hour start, or the activation time in the first hour (migration 0005). */
  record_timestamp: DbTime | null;
  /** `product|dimension|hour` for MeterUsage buckets, unique: one record per product, dimension and hour (migration 0005). */
  meter_usage_slot: string | null;
}

/** Usage already counted against an entitlement, per customer, dimension and entitlement period (migration 0005). */
export interface MeteringEntitlementUsageTable {
  customer_id: string;
  dimension: string;
  /** The entitlement's expiration date (ISO-8601), or `open-ended`. */
  period: string;
  used: number;
  updated_at: DbTime;
}

/** When MeterUsage started failing, kept across restarts (migration 0005). */
export interface MeteringHealthTable {
  name: string;
  failing_since: DbTime | null;
  updated_at: DbTime;
}

/** The SaaS app's usage reports, unique per (customer, idempotency key). */
export interface UsageEventsTable {
  id: string;
  customer_id: string;
  idempotency_key: string;
  fingerprint: string;
  dimension: string;
  quantity: number;
  distinct_id: string | null;
  tags: string | null;
  usage_time: DbTime;
  bucket_id: string;
  bucket_hour: DbTime;
  rolled_forward: number;
  received_at: DbTime;
}

export interface MeteringFinalFlushesTable {
  customer_id: string;
  window_opened_at: DbTime;
  flushed_at: DbTime;
}

export interface MeteringProgressTable {
  name: string;
  last_completed_hour: DbTime;
  updated_at: DbTime;
}

