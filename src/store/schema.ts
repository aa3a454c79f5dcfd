import type { Generated, Kysely, Selectable, Transaction } from 'kysely';

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
  /** The seller app's tenant id, unique per product (migration 0009). */
  external_id: string | null;
  /** When the buyer's onboarding fields were erased (migration 0009). */
  personal_data_erased_at: DbTime | null;
  /** The customer whose agreement this one renewed or replaced (migration 0011). */
  previous_customer_id: string | null;
  /** The agreement this customer's agreement renews or replaces, as its Purchase Agreement Created said (migration 0014). */
  renews_agreement_id: string | null;
  /** When AWS (the Agreement API) confirmed the free-trial flag (migration 0011). */
  free_trial_confirmed_at: DbTime | null;
}

/** What the Agreement API said of one agreement, newest read wins (migration 0011). */
export interface AgreementDetailsTable {
  agreement_id: string;
  status: string | null;
  start_time: DbTime | null;
  end_time: DbTime | null;
  end_time_behavior: string | null;
  free_trial: number;
  estimated_value: string | null;
  currency_code: string | null;
  fetched_at: DbTime;
}

/** One row per (agreement, end time, threshold) whose contract-ending-soon alert was sent (migration 0011). */
export interface ContractEndAlertsTable {
  agreement_id: string;
  end_time: DbTime;
  threshold_days: number;
  customer_id: string;
  sent_at: DbTime;
}

/** A seller's cancellation request, status newest-wins, settled never back to pending (migration 0011). */
export interface CustomerCancellationRequestsTable {
  request_id: string;
  customer_id: string;
  agreement_id: string;
  status: string;
  status_at: DbTime;
  reason_code: string | null;
  reason_message: string | null;
  status_message: string | null;
  requested_at: DbTime | null;
  created_at: DbTime;
  updated_at: DbTime;
}

/** A completed billing adjustment (refund), as its event gave it (migration 0011). */
export interface CustomerBillingAdjustmentsTable {
  adjustment_id: string;
  customer_id: string;
  agreement_id: string;
  amount: string;
  currency_code: string | null;
  reason_code: string | null;
  original_invoice_id: string | null;
  completed_at: DbTime;
  created_at: DbTime;
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
  customer_cancellation_requests: CustomerCancellationRequestsTable;
  customer_billing_adjustments: CustomerBillingAdjustmentsTable;
  agreement_details: AgreementDetailsTable;
  contract_end_alerts: ContractEndAlertsTable;
  events: EventsTable;
  entitlements: EntitlementsTable;
  meter_buckets: MeterBucketsTable;
  meter_bucket_distinct_ids: MeterBucketDistinctIdsTable;
  usage_events: UsageEventsTable;
  metering_final_flushes: MeteringFinalFlushesTable;
  metering_progress: MeteringProgressTable;
  metering_entitlement_usage: MeteringEntitlementUsageTable;
  metering_health: MeteringHealthTable;
  leases: LeasesTable;
  customer_changes: CustomerChangesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  handoff_tokens: HandoffTokensTable;
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
  /** While `held`: what the record waits for (migration 0007). */
  hold_reason: string | null;
  /** AWS's request id of the last call that carried the record (migration 0007). */
  aws_request_id: string | null;
  /** HTTP status of the last call that failed the record (migration 0010). */
  aws_http_status: number | null;
  /** The operation of that call: `BatchMeterUsage` or `MeterUsage` (migration 0010). */
  aws_operation: string | null;
  /** When that call failed (migration 0010). */
  last_error_at: DbTime | null;
}

/** The ids of a `distinct` bucket, one row each, with the id's first report (migration 0012). */
export interface MeterBucketDistinctIdsTable {
  bucket_id: string;
  distinct_id: string;
  /** Usage time of the first report, epoch ms. */
  first_at: number;
  idempotency_key: string;
  tag_key: string;
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

/** Named leases (migration 0008): one holder at a time; `fencing` grows on every change of holder. */
export interface LeasesTable {
  name: string;
  holder: string;
  expires_at: DbTime;
  acquired_at: DbTime;
  fencing: number;
}

/** The change feed: one row per customer version (migration 0009). Cursor: (`txid`, `seq`). */
export interface CustomerChangesTable {
  seq: Generated<number>;
  /** PostgreSQL: the writing transaction's id (a column default); SQLite: 0. */
  txid: Generated<number>;
  customer_id: string;
  change: string;
  /** 1 for a tombstone (the buyer's personal data was erased). */
  deleted: number;
  customer_version: number;
  /** The customer as of this version (JSON, the API's representation). */
  customer: string;
  changed_at: DbTime;
}

/** Where webhooks go (migration 0009). `source`: `api` or `config`. */
export interface WebhookEndpointsTable {
  id: string;
  source: string;
  /** Config endpoints: the name given in WEBHOOK_ENDPOINTS. */
  name: string | null;
  kind: string;
  url: string;
  description: string | null;
  /** JSON array of event types; null: every type. */
  event_types: string | null;
  enabled: number;
  /** `whsec_…` (Standard Webhooks); null for Slack endpoints. */
  secret: string | null;
  previous_secret: string | null;
  previous_secret_expires_at: DbTime | null;
  failing_since: DbTime | null;
  last_success_at: DbTime | null;
  disabled_at: DbTime | null;
  disabled_reason: string | null;
  deleted_at: DbTime | null;
  created_at: DbTime;
  updated_at: DbTime;
}

/** The outbox: one row per event, written in the transaction of its cause (migration 0009). */
export interface WebhookEventsTable {
  seq: Generated<number>;
  id: string;
  type: string;
  /** Events of one key are delivered in `seq` order (the customer id, or `endpoint:<id>`). */
  ordering_key: string;
  customer_id: string | null;
  /** The JSON body sent: `{ id, type, timestamp, data }`. */
  payload: string;
  occurred_at: DbTime;
  created_at: DbTime;
}

/** One event to one endpoint (migration 0009). */
export interface WebhookDeliveriesTable {
  seq: Generated<number>;
  id: string;
  event_id: string;
  event_seq: number;
  endpoint_id: string;
  ordering_key: string;
  /** pending | delivering | succeeded | failed | cancelled */
  status: string;
  attempts: number;
  next_attempt_at: DbTime;
  lease_owner: string | null;
  lease_until: DbTime | null;
  last_status_code: number | null;
  last_error: string | null;
  /** The delivery this one re-sends (manual redelivery). */
  redelivery_of: string | null;
  created_at: DbTime;
  updated_at: DbTime;
  delivered_at: DbTime | null;
}

export interface WebhookAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: DbTime;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** The dispatcher instance that made the attempt. */
  instance: string;
}

/** Sign-in hand-off tokens by `jti` (migration 0009). */
export interface HandoffTokensTable {
  jti: string;
  customer_id: string;
  issued_at: DbTime;
  expires_at: DbTime;
  redeemed_at: DbTime | null;
}
/** The store's query handle: services pass it (and its transactions) to repositories, which query. */
export type Db = Kysely<Database>;
/** A transaction on the store. */
export type Tx = Transaction<Database>;

/** Rows as read, for the pure row mappers (`customer-rows.ts`, `agreement-merge.ts`). */
export type CustomerRow = Selectable<CustomersTable>;
export type EntitlementRow = Selectable<EntitlementsTable>;
export type AgreementRow = Selectable<CustomerAgreementsTable>;
export type BucketRow = Selectable<MeterBucketsTable>;
