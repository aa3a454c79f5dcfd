import { randomUUID } from 'node:crypto';
import { type Kysely, PostgresAdapter, type Selectable, type Transaction } from 'kysely';
import { fromDbTime, fromDbTimeOrNull, isUniqueViolation, toDbTime, toDbTimeOrNull } from '../store/dialect';
import type { CustomersTable, Database, EntitlementsTable } from '../store/schema';
import type { Customer, CustomerIdentity, Entitlement, Onboarding } from './customer';
import type { StatusStamp, SubscriptionState, SubscriptionStatus } from './subscription-state';

type Db = Kysely<Database> | Transaction<Database>;
type CustomerRow = Selectable<CustomersTable>;

/** Identity and offer facts to merge into a customer; absent fields leave the stored ones alone. */
export interface CustomerFacts extends CustomerIdentity {
  readonly productCode: string;
  readonly offerId?: string;
  readonly freeTrial?: boolean;
}

/**
 * Customers and their entitlement snapshots. Writes merge: a field already set by an event is
 * never cleared by a registration, and identity fields are only ever filled in.
 */
export class CustomerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async findById(id: string, db: Db = this.db): Promise<Customer | undefined> {
    const row = await db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCustomer(row) : undefined;
  }

  /**
   * Finds the customer a message or API answer speaks of. Tried in order of precision:
   * licence, legacy identifier (per product), agreement, then account without a licence.
   */
  async findByIdentity(identity: CustomerIdentity, db: Db = this.db): Promise<Customer | undefined> {
    const row = await this.findRowByIdentity(identity, db);
    return row ? toCustomer(row) : undefined;
  }

  /**
   * Creates or merges the customer described by `facts` in one transaction. Safe against two
   * concurrent first writes (the unique indexes decide; the loser merges into the winner).
   */
  async upsert(facts: CustomerFacts, now: Date, extra: { registered?: boolean } = {}): Promise<Customer> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute((tx) => this.upsertIn(tx, facts, now, extra));
      } catch (error) {
        if (attempt < 2 && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  /** The same merge inside a caller's transaction (event handling). */
  async upsertIn(tx: Db, facts: CustomerFacts, now: Date, extra: { registered?: boolean } = {}): Promise<Customer> {
    const existing = await this.findRowByIdentity(facts, tx);
    const at = toDbTime(now);
    if (!existing) {
      const row: CustomerRow = {
        id: randomUUID(),
        product_code: facts.productCode,
        customer_identifier: facts.customerIdentifier ?? null,
        customer_aws_account_id: facts.customerAWSAccountId ?? null,
        license_arn: facts.licenseArn ?? null,
        offer_id: facts.offerId ?? null,
        agreement_id: facts.agreementId ?? null,
        free_trial: facts.freeTrial ? 1 : 0,
        status: 'pending',
        status_event_time: null,
        status_event_rank: null,
        activated_at: null,
        final_window_opened_at: null,
        ended_at: null,
        email: null,
        company: null,
        contact_name: null,
        registered_at: extra.registered ? at : null,
        onboarded_at: null,
        entitlements_fetched_at: null,
        created_at: at,
        updated_at: at,
        version: 1,
        subscription_bookkeeping: null,
      };
      await tx.insertInto('customers').values(row).execute();
      return toCustomer(row);
    }
    const merged = {
      customer_identifier: existing.customer_identifier ?? facts.customerIdentifier ?? null,
      customer_aws_account_id: existing.customer_aws_account_id ?? facts.customerAWSAccountId ?? null,
      license_arn: existing.license_arn ?? facts.licenseArn ?? null,
      offer_id: existing.offer_id ?? facts.offerId ?? null,
      agreement_id: existing.agreement_id ?? facts.agreementId ?? null,
      free_trial: existing.free_trial || facts.freeTrial ? 1 : 0,
      registered_at: existing.registered_at ?? (extra.registered ? at : null),
    };
    const changed = (Object.keys(merged) as Array<keyof typeof merged>).some((k) => merged[k] !== existing[k]);
    if (!changed) return toCustomer(existing);
    // Merged in SQL (coalesce): a concurrent writer's committed values are never overwritten.
    await tx
      .updateTable('customers')
      .set((eb) => ({
        customer_identifier: eb.fn.coalesce('customer_identifier', eb.val(merged.customer_identifier)),
        customer_aws_account_id: eb.fn.coalesce('customer_aws_account_id', eb.val(merged.customer_aws_account_id)),
        license_arn: eb.fn.coalesce('license_arn', eb.val(merged.license_arn)),
        offer_id: eb.fn.coalesce('offer_id', eb.val(merged.offer_id)),
        agreement_id: eb.fn.coalesce('agreement_id', eb.val(merged.agreement_id)),
        free_trial: merged.free_trial === 1 ? 1 : eb.ref('free_trial'),
        registered_at: eb.fn.coalesce('registered_at', eb.val(merged.registered_at)),
        updated_at: at,
        version: eb('version', '+', 1),
      }))
      .where('id', '=', existing.id)
      .execute();
    return toCustomer({ ...existing, ...merged, updated_at: at, version: existing.version + 1 });
  }

  /**
   * The customer as it is now, locked until the caller's transaction ends, so that a state
   * computed from it cannot overwrite a concurrent change (PostgreSQL: SELECT … FOR UPDATE).
   * SQLite runs one write transaction at a time, so the row read in it is already current.
   */
  async lock(tx: Db, customer: Customer): Promise<Customer> {
    if (!(tx.getExecutor().adapter instanceof PostgresAdapter)) return customer;
    const row = await tx.selectFrom('customers').selectAll().where('id', '=', customer.id).forUpdate().executeTakeFirstOrThrow();
    return toCustomer(row);
  }

  /** Stores the sign-up form; submitting it again simply updates it. */
  async saveOnboarding(id: string, form: { email: string; company: string; contactName: string }, now: Date): Promise<Customer | undefined> {
    const at = toDbTime(now);
    await this.db
      .updateTable('customers')
      .set((eb) => ({
        email: form.email,
        company: form.company,
        contact_name: form.contactName,
        onboarded_at: eb.fn.coalesce('onboarded_at', eb.val(at)),
        updated_at: at,
        version: eb('version', '+', 1),
      }))
      .where('id', '=', id)
      .execute();
    return this.findById(id);
  }

  /** Writes a subscription state computed by the state machine (caller holds the transaction). */
  async saveSubscriptionState(tx: Db, id: string, state: SubscriptionState, now: Date): Promise<void> {
    await tx
      .updateTable('customers')
      .set((eb) => ({
        status: state.status,
        status_event_time: toDbTimeOrNull(state.statusEventTime),
        status_event_rank: state.statusEventRank ?? null,
        activated_at: toDbTimeOrNull(state.activatedAt),
        final_window_opened_at: toDbTimeOrNull(state.finalWindowOpenedAt),
        ended_at: toDbTimeOrNull(state.endedAt),
        license_arn: eb.fn.coalesce('license_arn', eb.val(state.licenseArn ?? null)),
        subscription_bookkeeping: JSON.stringify({ decisive: state.decisive ?? null, window: state.window ?? null, licenseStamp: state.licenseStamp ?? null }),
        updated_at: toDbTime(now),
        version: eb('version', '+', 1),
      }))
      .where('id', '=', id)
      .execute();
  }

  /** Replaces a customer's whole entitlement snapshot atomically (facts §2: always the full set). */
  async replaceEntitlements(customerId: string, entitlements: readonly Entitlement[], fetchedAt: Date, db?: Db): Promise<void> {
    const write = async (tx: Db) => {
      await tx.deleteFrom('entitlements').where('customer_id', '=', customerId).execute();
      if (entitlements.length > 0) {
        await tx.insertInto('entitlements').values(entitlements.map((e) => toEntitlementRow(customerId, e, fetchedAt))).execute();
      }
      await tx.updateTable('customers').set({ entitlements_fetched_at: toDbTime(fetchedAt), updated_at: toDbTime(fetchedAt) }).where('id', '=', customerId).execute();
    };
    if (db) await write(db);
    else await this.db.transaction().execute(write);
  }

  async listEntitlements(customerId: string, db: Db = this.db): Promise<Entitlement[]> {
    const rows = await db.selectFrom('entitlements').selectAll().where('customer_id', '=', customerId).orderBy('dimension').execute();
    return rows.map(fromEntitlementRow);
  }

  /** Customers of the given products with a contract, for periodic entitlement reconciliation. */
  async listByProducts(productCodes: readonly string[], statuses: readonly SubscriptionStatus[]): Promise<Customer[]> {
    if (productCodes.length === 0 || statuses.length === 0) return [];
    const rows = await this.db.selectFrom('customers').selectAll().where('product_code', 'in', productCodes).where('status', 'in', statuses).orderBy('id').execute();
    return rows.map(toCustomer);
  }

  private async findRowByIdentity(identity: CustomerIdentity, db: Db): Promise<CustomerRow | undefined> {
    if (identity.licenseArn) {
      const row = await db.selectFrom('customers').selectAll().where('license_arn', '=', identity.licenseArn).executeTakeFirst();
      if (row) return row;
    }
    if (identity.customerIdentifier && identity.productCode) {
      const row = await db
        .selectFrom('customers')
        .selectAll()
        .where('product_code', '=', identity.productCode)
        .where('customer_identifier', '=', identity.customerIdentifier)
        .executeTakeFirst();
      if (row) return row;
    }
    if (identity.agreementId) {
      const row = await db.selectFrom('customers').selectAll().where('agreement_id', '=', identity.agreementId).executeTakeFirst();
      if (row) return row;
    }
    if (identity.customerAWSAccountId && identity.productCode) {
      // An account seen before its licence (an agreement event, then License Updated) is the same buyer.
      const rows = await db
        .selectFrom('customers')
        .selectAll()
        .where('product_code', '=', identity.productCode)
        .where('customer_aws_account_id', '=', identity.customerAWSAccountId)
        .where('license_arn', 'is', null)
        .limit(2)
        .execute();
      if (rows.length === 1) return rows[0];
    }
    return undefined;
  }
}

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
  const parsed = JSON.parse(text) as Record<'decisive' | 'window' | 'licenseStamp', (Omit<StatusStamp, 'eventTime'> & { eventTime: string }) | null>;
  const revive = (s: (Omit<StatusStamp, 'eventTime'> & { eventTime: string }) | null): StatusStamp | null => (s ? { ...s, eventTime: new Date(s.eventTime) } : null);
  return { decisive: revive(parsed.decisive), window: revive(parsed.window), licenseStamp: revive(parsed.licenseStamp) };
}

function toEntitlementRow(customerId: string, e: Entitlement, fetchedAt: Date): Selectable<EntitlementsTable> {
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

function fromEntitlementRow(row: Selectable<EntitlementsTable>): Entitlement {
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
