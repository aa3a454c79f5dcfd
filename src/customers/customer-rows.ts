import { fromDbTime, fromDbTimeOrNull, toDbTime, toDbTimeOrNull } from '../store/dialect';
import type { CustomerRow, EntitlementRow } from '../store/schema';
import type { Customer, Entitlement, Onboarding } from './customer';
import type { StatusStamp, SubscriptionState, SubscriptionStatus } from './subscription-state';

/** Rows of `customers` and `entitlements` to the domain model and back. Pure. */

export function toCustomer(row: CustomerRow): Customer {
  const onboarding: Onboarding = {
    email: row.email,
    company: row.company,
    contactName: row.contact_name,
    onboardedAt: fromDbTimeOrNull(row.onboarded_at),
  };
  return {
    id: row.id,
    productCode: row.product_code,
    customerIdentifier: row.customer_identifier,
    customerAWSAccountId: row.customer_aws_account_id,
    licenseArn: row.license_arn,
    offerId: row.offer_id,
    agreementId: row.agreement_id,
    agreementStatus: row.agreement_status ?? null,
    agreementIntent: row.agreement_intent ?? null,
    freeTrial: row.free_trial === 1,
    subscription: {
      status: row.status as SubscriptionStatus,
      statusEventTime: fromDbTimeOrNull(row.status_event_time),
      statusEventRank: row.status_event_rank ?? undefined,
      activatedAt: fromDbTimeOrNull(row.activated_at),
      finalWindowOpenedAt: fromDbTimeOrNull(row.final_window_opened_at),
      endedAt: fromDbTimeOrNull(row.ended_at),
      licenseArn: row.license_arn,
      ...readBookkeeping(row.subscription_bookkeeping),
    },
    onboarding,
    externalId: row.external_id ?? null,
    previousCustomerId: row.previous_customer_id ?? null,
    personalDataErasedAt: fromDbTimeOrNull(row.personal_data_erased_at),
    registeredAt: fromDbTimeOrNull(row.registered_at),
    entitlementsFetchedAt: fromDbTimeOrNull(row.entitlements_fetched_at),
    createdAt: fromDbTime(row.created_at),
    updatedAt: fromDbTime(row.updated_at),
    version: row.version,
  };
}

/** The state machine's ordering registers, stored as JSON (dates as ISO strings). */
function readBookkeeping(text: string | null): Pick<SubscriptionState, 'decisive' | 'window' | 'licenseStamp'> {
  if (!text) return {};
  const parsed = JSON.parse(text) as Record<
    'decisive' | 'window' | 'licenseStamp',
    (Omit<StatusStamp, 'eventTime'> & { eventTime: string }) | null
  >;
  const revive = (s: (Omit<StatusStamp, 'eventTime'> & { eventTime: string }) | null): StatusStamp | null =>
    s ? { ...s, eventTime: new Date(s.eventTime) } : null;
  return { decisive: revive(parsed.decisive), window: revive(parsed.window), licenseStamp: revive(parsed.licenseStamp) };
}

export function toEntitlementRow(customerId: string, e: Entitlement, fetchedAt: Date): EntitlementRow {
  const v = e.value;
  return {
    customer_id: customerId,
    dimension: e.dimension,
    value_type: v.type,
    integer_value: v.type === 'integer' ? v.value : null,
    double_value: v.type === 'double' ? v.value : null,
    boolean_value: v.type === 'boolean' ? (v.value ? 1 : 0) : null,
    string_value: v.type === 'string' ? v.value : null,
    expiration_date: toDbTimeOrNull(e.expirationDate),
    fetched_at: toDbTime(fetchedAt),
  };
}

export function fromEntitlementRow(row: EntitlementRow): Entitlement {
  const expirationDate = fromDbTimeOrNull(row.expiration_date);
  switch (row.value_type) {
    case 'integer':
      return { dimension: row.dimension, value: { type: 'integer', value: Number(row.integer_value) }, expirationDate };
    case 'double':
      return { dimension: row.dimension, value: { type: 'double', value: Number(row.double_value) }, expirationDate };
    case 'boolean':
      return { dimension: row.dimension, value: { type: 'boolean', value: row.boolean_value === 1 }, expirationDate };
    case 'string':
      return { dimension: row.dimension, value: { type: 'string', value: row.string_value ?? '' }, expirationDate };
    default:
      return { dimension: row.dimension, value: { type: 'none' }, expirationDate };
  }
}

/** Two snapshots hold the same entitlements, whatever their order. */
export function sameSnapshot(a: readonly Entitlement[], b: readonly Entitlement[]): boolean {
  if (a.length !== b.length) return false;
  const key = (e: Entitlement) => JSON.stringify([e.dimension, e.value, e.expirationDate?.getTime() ?? null]);
  const left = a.map(key).sort();
  const right = b.map(key).sort();
  return left.every((k, i) => k === right[i]);
}
