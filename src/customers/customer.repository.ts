import { randomUUID } from 'node:crypto';
import { type Kysely, PostgresAdapter, type Selectable, type Transaction } from 'kysely';
import { compiledStatement } from '../store/compiled-query';
import { fromDbTime, fromDbTimeOrNull, isUniqueViolation, toDbTime, toDbTimeOrNull } from '../store/dialect';
import type { AgreementRow, CustomersTable, Database } from '../store/schema';
import { currentAgreement, emptyAgreementRow, mergeFacts } from './agreement-merge';
import type { AgreementFacts, Customer, CustomerIdentity, Entitlement } from './customer';
import type { WebhookEventType } from '../webhooks/event-types';
import { recordCustomerChange } from './customer-changes.repository';
import { fromEntitlementRow, sameSnapshot, toCustomer, toEntitlementRow } from './customer-rows';
import { effectsOf, type DomainEffect, type SubscriptionState, type SubscriptionStatus } from './subscription-state';

/** The shape of our customer ids (`randomUUID`). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** References per statement of {@link CustomerRepository.findByReferences}. */
const REFERENCE_CHUNK = 500;

type Db = Kysely<Database> | Transaction<Database>;

type CustomerRow = Selectable<CustomersTable>;

/** The columns a seller's reference to a customer may match. */
type ReferenceColumn = 'id' | 'license_arn' | 'customer_identifier' | 'external_id';

/**
 * The look-ups every access check and usage write makes, compiled once (see
 * {@link compiledStatement}): the customers with one value of one indexed column, at most
 * `limit` of them ({@link CustomerRepository.findByReference}) or all
 * ({@link CustomerRepository.findByReferences}).
 */
const lookUpBy = (column: ReferenceColumn, limit?: number) =>
  compiledStatement((db, value: string) => {
    const q = db.selectFrom('customers').selectAll().where(column, '=', value);
    return limit === undefined ? q : q.limit(limit);
  });
const FIRST_FEW = {
  id: lookUpBy('id'),
  license_arn: lookUpBy('license_arn', 5),
  customer_identifier: lookUpBy('customer_identifier', 5),
  external_id: lookUpBy('external_id', 5),
};
const EVERY = {
  id: lookUpBy('id'),
  license_arn: lookUpBy('license_arn'),
  customer_identifier: lookUpBy('customer_identifier'),
  external_id: lookUpBy('external_id'),
};
const entitlementsOf = compiledStatement((db, customerId: string) =>
  db.selectFrom('entitlements').selectAll().where('customer_id', '=', customerId).orderBy('dimension'),
);

/** What {@link CustomerRepository.mergeAgreementFacts} did with one event's agreement facts. */
export interface AgreementMerge {
  /** The event's facts changed its agreement's record and that agreement is the current one. */
  readonly applied: boolean;
  /** The customer's current agreement after the merge (null: none known). */
  readonly currentAgreementId: string | null;
}

/** What {@link CustomerRepository.replaceEntitlements} did with one GetEntitlements answer. */
export interface SnapshotWrite {
  /** False when a snapshot fetched later is already stored: this one is older and was dropped. */
  readonly replaced: boolean;
  /** True when the stored entitlements differ from what was there before. */
  readonly changed: boolean;
  /** The snapshot in effect after the write (the newer stored one when this one was dropped). */
  readonly current: readonly Entitlement[];
}

/** Identity and offer facts to merge into a customer; absent fields leave the stored ones alone. */
export interface CustomerFacts extends CustomerIdentity {
  readonly productCode: string;
  readonly offerId?: string;
  /**
   * Whether the subscription has a free-trial term. From a notification (`isFreeTrialTermPresent`)
   * give `freeTrialAt`, its event time: the flag then follows the newest notification, both ways.
   * Without it (the registration form's `x-amzn-marketplace-offer-type`, which the buyer's browser
   * posts) it is only a hint, kept until a notification says otherwise.
   */
  readonly freeTrial?: boolean;
  readonly freeTrialAt?: Date;
}

/**
 * Customers and their entitlement snapshots. Writes merge: a field already set by an event is
 * never cleared by a registration. Identity fields are filled in; the licence, the agreement and
 * its offer, status and intent follow the newest event (by event time, whatever the delivery
 * order); an entitlement snapshot replaces the stored one only when it was fetched later.
 *
 * Every write that makes a new version of a customer records it, in the same transaction and after
 * the write (whose row lock orders it): a change-feed row and the webhook events it causes
 * ({@link recordCustomerChange}). No caller can change a customer without the feed and the outbox.
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
   * The customers a seller's reference names: our id, a LicenseArn, a CustomerIdentifier (which is
   * per buyer, across products: facts §1.5, so it may name several), or else the app's external id
   * (unique per product only). At most a few.
   */
  async findByReference(ref: string, db: Db = this.db): Promise<Customer[]> {
    // One indexed lookup per form, and only the forms `ref` can be (an OR across the columns
    // would scan every customer): our ids are UUIDs, a LicenseArn starts with "arn:", anything
    // else may be a CustomerIdentifier.
    if (UUID.test(ref)) {
      const byId = (await FIRST_FEW.id(db, ref)).rows[0];
      if (byId) return [toCustomer(byId)];
    }
    const aws = (await (ref.startsWith('arn:') ? FIRST_FEW.license_arn : FIRST_FEW.customer_identifier)(db, ref)).rows;
    if (aws.length > 0) return aws.map(toCustomer);
    // The seller app's own tenant id, last: an AWS identity always wins over it.
    const byExternal = (await FIRST_FEW.external_id(db, ref)).rows;
    return byExternal.map(toCustomer);
  }

  /**
   * {@link findByReference} for many references at once (a usage batch names its customers by
   * any mix of forms): one statement per form present, whatever the number of references, with
   * the same precedence per reference (our id, then its AWS identity, then the app's tenant id).
   */
  async findByReferences(refs: readonly string[], db: Db = this.db): Promise<Map<string, Customer[]>> {
    const out = new Map<string, Customer[]>();
    const unique = [...new Set(refs)];
    const lookUp = async (column: ReferenceColumn, values: string[]) => {
      const found = new Map<string, Customer[]>();
      for (let i = 0; i < values.length; i += REFERENCE_CHUNK) {
        // One reference (a single-record write, the usual call): the compiled look-up.
        const rows =
          values.length === 1
            ? (await EVERY[column](db, values[0]!)).rows
            : await db
                .selectFrom('customers')
                .selectAll()
                .where(column, 'in', values.slice(i, i + REFERENCE_CHUNK))
                .execute();
        for (const row of rows) {
          const key = row[column]!;
          found.set(key, [...(found.get(key) ?? []), toCustomer(row)]);
        }
      }
      for (const [key, customers] of found) out.set(key, customers);
    };
    await lookUp(
      'id',
      unique.filter((r) => UUID.test(r)),
    );
    const left = () => unique.filter((r) => !out.has(r));
    const aws = left();
    await lookUp(
      'license_arn',
      aws.filter((r) => r.startsWith('arn:')),
    );
    await lookUp(
      'customer_identifier',
      aws.filter((r) => !r.startsWith('arn:')),
    );
    await lookUp('external_id', left());
    for (const r of unique) if (!out.has(r)) out.set(r, []);
    return out;
  }

  /**
   * The customers one buyer account holds, one per licence (concurrent agreements, facts §1.6),
   * optionally on one product; newest first, at most `limit`.
   */
  async findByAccount(accountId: string, productCode?: string, limit = 20, db: Db = this.db): Promise<Customer[]> {
    let q = db.selectFrom('customers').selectAll().where('customer_aws_account_id', '=', accountId);
    if (productCode !== undefined) q = q.where('product_code', '=', productCode);
    const rows = await q.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
    return rows.map(toCustomer);
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

  /**
   * The same merge inside a caller's transaction (event handling). `lock`: the customer returned is
   * locked until that transaction ends, as {@link lock} does, found with the lock taken in the same
   * statement (PostgreSQL: SELECT … FOR UPDATE; a created customer is its own insert's).
   */
  async upsertIn(tx: Db, facts: CustomerFacts, now: Date, extra: { registered?: boolean; lock?: boolean } = {}): Promise<Customer> {
    const existing = await this.findRowByIdentity(facts, tx, extra.lock === true && isPostgres(tx));
    // Offer and agreement are filled here only while unknown; events then merge them newest-wins
    // ({@link mergeAgreementFacts}), registrations never change them.
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
        agreement_status: null,
        agreement_intent: null,
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
        external_id: null,
        personal_data_erased_at: null,
        previous_customer_id: null,
        renews_agreement_id: null,
        free_trial_confirmed_at: null,
      };
      await tx.insertInto('customers').values(row).execute();
      await this.rememberLicence(tx, row.id, facts.licenseArn);
      if (extra.registered) await recordCustomerChange(tx, row.id, 'registered', ['customer.registered'], now);
      else await recordCustomerChange(tx, row.id, 'created', [], now, { row, entitlements: 'none' });
      return toCustomer(row);
    }
    const merged = {
      customer_identifier: existing.customer_identifier ?? facts.customerIdentifier ?? null,
      customer_aws_account_id: existing.customer_aws_account_id ?? facts.customerAWSAccountId ?? null,
      license_arn: existing.license_arn ?? facts.licenseArn ?? null,
      offer_id: existing.offer_id ?? facts.offerId ?? null,
      agreement_id: existing.agreement_id ?? facts.agreementId ?? null,
      free_trial: mergeFreeTrial(existing, facts),
      registered_at: existing.registered_at ?? (extra.registered ? at : null),
    };
    await this.rememberLicence(tx, existing.id, facts.licenseArn);
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
        free_trial: merged.free_trial,
        registered_at: eb.fn.coalesce('registered_at', eb.val(merged.registered_at)),
        updated_at: at,
        version: eb('version', '+', 1),
      }))
      .where('id', '=', existing.id)
      .execute();
    if (existing.registered_at === null && merged.registered_at !== null)
      await recordCustomerChange(tx, existing.id, 'registered', ['customer.registered'], now);
    else await recordCustomerChange(tx, existing.id, 'updated', [], now);
    return toCustomer({ ...existing, ...merged, updated_at: at, version: existing.version + 1 });
  }

  /**
   * The customer as it is now, locked until the caller's transaction ends, so that a state
   * computed from it cannot overwrite a concurrent change (PostgreSQL: SELECT … FOR UPDATE).
   * SQLite runs one write transaction at a time, so the row read in it is already current.
   */
  async lock(tx: Db, customer: Customer): Promise<Customer> {
    if (!isPostgres(tx)) return customer;
    const row = await tx.selectFrom('customers').selectAll().where('id', '=', customer.id).forUpdate().executeTakeFirstOrThrow();
    return toCustomer(row);
  }

  /**
   * Runs `work` in a transaction holding the customer's lock (the same lock the event path takes),
   * with the customer as it is inside that transaction. Undefined when the customer does not exist.
   */
  async withLocked<T>(id: string, work: (tx: Transaction<Database>, customer: Customer) => Promise<T>): Promise<T | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const found = await this.findById(id, tx);
      if (!found) return undefined;
      return work(tx, await this.lock(tx, found));
    });
  }

  /** Stores the sign-up form; submitting it again simply updates it (and the app hears of it again). */
  async saveOnboarding(
    id: string,
    form: { email: string; company: string; contactName: string },
    now: Date,
  ): Promise<Customer | undefined> {
    const at = toDbTime(now);
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
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
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return undefined;
      await recordCustomerChange(tx, id, 'onboarded', ['customer.onboarded'], now);
      return this.findById(id, tx);
    });
  }

  /** Keeps a licence the customer holds or held (the first customer to claim one keeps it). */
  private async rememberLicence(tx: Db, customerId: string, licenseArn: string | null | undefined): Promise<void> {
    if (!licenseArn) return;
    await tx
      .insertInto('customer_licences')
      .values({ license_arn: licenseArn, customer_id: customerId })
      .onConflict((oc) => oc.column('license_arn').doNothing())
      .execute();
  }

  /**
   * Writes a subscription state computed by the state machine (caller holds the transaction and the
   * customer's lock), and records the change with the webhooks its status move means. `current`:
   * the customer as the caller locked it, if its subscription is unchanged since (else it is read).
   */
  async saveSubscriptionState(tx: Db, id: string, state: SubscriptionState, now: Date, current?: Customer): Promise<void> {
    const before = current ?? (await this.findById(id, tx));
    await this.rememberLicence(tx, id, state.licenseArn);
    const written = await tx
      .updateTable('customers')
      .set((eb) => ({
        status: state.status,
        status_event_time: toDbTimeOrNull(state.statusEventTime),
        status_event_rank: state.statusEventRank ?? null,
        activated_at: toDbTimeOrNull(state.activatedAt),
        final_window_opened_at: toDbTimeOrNull(state.finalWindowOpenedAt),
        ended_at: toDbTimeOrNull(state.endedAt),
        // The state machine keeps the licence of the newest event that carried one (its licenceStamp),
        // so a newer grant's LicenseArn replaces an older one and a late older grant changes nothing.
        license_arn: eb.fn.coalesce(eb.val(state.licenseArn ?? null), 'license_arn'),
        subscription_bookkeeping: JSON.stringify({
          decisive: state.decisive ?? null,
          window: state.window ?? null,
          licenseStamp: state.licenseStamp ?? null,
        }),
        updated_at: toDbTime(now),
        version: eb('version', '+', 1),
      }))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    const effects = before ? effectsOf(before.subscription, state) : [];
    const changed = before?.subscription.status !== state.status;
    await recordCustomerChange(tx, id, changed ? 'status_changed' : 'updated', effects.map(webhookOf), now, written && { row: written });
  }

  /**
   * Replaces a customer's whole entitlement snapshot atomically (facts §2: always the full set),
   * unless a snapshot fetched later is already stored. `fetchedAt` must be taken *before* the
   * GetEntitlements read, so that of two overlapping reads the one started later wins. Inside a
   * caller's transaction the caller holds the customer's lock ({@link lock}); otherwise it is taken here.
   */
  async replaceEntitlements(customerId: string, entitlements: readonly Entitlement[], fetchedAt: Date, db?: Db): Promise<SnapshotWrite> {
    const write = async (tx: Db): Promise<SnapshotWrite> => {
      const row = await tx.selectFrom('customers').select('entitlements_fetched_at').where('id', '=', customerId).executeTakeFirst();
      const stored = await this.listEntitlements(customerId, tx);
      const storedAt = fromDbTimeOrNull(row?.entitlements_fetched_at);
      if (storedAt && storedAt.getTime() > fetchedAt.getTime()) return { replaced: false, changed: false, current: stored };
      const changed = !sameSnapshot(stored, entitlements);
      if (changed) {
        await tx.deleteFrom('entitlements').where('customer_id', '=', customerId).execute();
        if (entitlements.length > 0) {
          await tx
            .insertInto('entitlements')
            .values(entitlements.map((e) => toEntitlementRow(customerId, e, fetchedAt)))
            .execute();
        }
      }
      // A re-read that finds the same contract is not a new version of the customer.
      await tx
        .updateTable('customers')
        .set((eb) => ({
          entitlements_fetched_at: toDbTime(fetchedAt),
          updated_at: toDbTime(fetchedAt),
          ...(changed ? { version: eb('version', '+', 1) } : {}),
        }))
        .where('id', '=', customerId)
        .execute();
      if (changed) await recordCustomerChange(tx, customerId, 'entitlements_changed', ['customer.entitlements_changed'], fetchedAt);
      return { replaced: true, changed, current: entitlements };
    };
    if (db) return write(db);
    return this.db.transaction().execute(async (tx) => {
      if (tx.getExecutor().adapter instanceof PostgresAdapter)
        await tx.selectFrom('customers').select('id').where('id', '=', customerId).forUpdate().execute();
      return write(tx);
    });
  }

  /**
   * Merges the agreement facts of one event (caller's transaction, customer locked). Every field of
   * every agreement keeps the value of the newest event that carried it; the current agreement is
   * the one named by the newest Created/Amended/License Updated. The customer's visible agreement,
   * offer, status and intent are then derived from those records, so delivery order does not matter.
   */
  async mergeAgreementFacts(tx: Db, customerId: string, facts: AgreementFacts, now: Date): Promise<AgreementMerge> {
    const t = tx;
    const customer = await t.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirstOrThrow();
    let rows = await t.selectFrom('customer_agreements').selectAll().where('customer_id', '=', customerId).execute();
    if (rows.length === 0 && (customer.agreement_id || customer.offer_id)) {
      // Facts stored before agreement records existed (or by a registration): kept, with no time, so any event wins.
      const seed: AgreementRow = { ...emptyAgreementRow(customerId, customer.agreement_id ?? ''), offer_id: customer.offer_id };
      await t.insertInto('customer_agreements').values(seed).execute();
      rows = [seed];
    }
    const key = facts.agreementId ?? '';
    const before = rows.find((r) => r.agreement_id === key);
    const merged = mergeFacts(before ?? emptyAgreementRow(customerId, key), facts);
    if (merged.changed) {
      if (before) {
        const { customer_id: _c, agreement_id: _a, ...fields } = merged.row;
        await t
          .updateTable('customer_agreements')
          .set(fields)
          .where('customer_id', '=', customerId)
          .where('agreement_id', '=', key)
          .execute();
      } else {
        await t.insertInto('customer_agreements').values(merged.row).execute();
      }
      rows = [...rows.filter((r) => r.agreement_id !== key), merged.row];
    }
    const current = currentAgreement(rows);
    const none = rows.find((r) => r.agreement_id === '');
    const visible = {
      agreement_id: current && current.agreement_id !== '' ? current.agreement_id : null,
      offer_id: current?.offer_id ?? none?.offer_id ?? null,
      agreement_status: current?.status ?? null,
      agreement_intent: current?.intent ?? null,
    };
    if ((Object.keys(visible) as Array<keyof typeof visible>).some((k) => visible[k] !== customer[k])) {
      await t
        .updateTable('customers')
        .set((eb) => ({ ...visible, updated_at: toDbTime(now), version: eb('version', '+', 1) }))
        .where('id', '=', customerId)
        .execute();
      await recordCustomerChange(t, customerId, 'updated', [], now);
    }
    return { applied: merged.changed && (current?.agreement_id ?? '') === key, currentAgreementId: visible.agreement_id };
  }

  async listEntitlements(customerId: string, db: Db = this.db): Promise<Entitlement[]> {
    const { rows } = await entitlementsOf(db, customerId);
    return rows.map(fromEntitlementRow);
  }

  /** The customers of these products in these states, a page at a time: up to `limit` with an id after `afterId`, by id. */
  async listPageByProducts(
    productCodes: readonly string[],
    statuses: readonly SubscriptionStatus[],
    afterId: string | undefined,
    limit: number,
  ): Promise<Customer[]> {
    if (productCodes.length === 0 || statuses.length === 0) return [];
    let q = this.db.selectFrom('customers').selectAll().where('product_code', 'in', productCodes).where('status', 'in', statuses);
    if (afterId !== undefined) q = q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map(toCustomer);
  }

  /** `forUpdate`: the row found is locked in the same statement (PostgreSQL only). */
  private async findRowByIdentity(identity: CustomerIdentity, db: Db, forUpdate = false): Promise<CustomerRow | undefined> {
    const customers = () => {
      const q = db.selectFrom('customers');
      return forUpdate ? q.forUpdate() : q;
    };
    if (identity.licenseArn) {
      const row = await customers().selectAll().where('license_arn', '=', identity.licenseArn).executeTakeFirst();
      if (row) return row;
      const earlier = await customers()
        .innerJoin('customer_licences', 'customer_licences.customer_id', 'customers.id')
        .selectAll('customers')
        .where('customer_licences.license_arn', '=', identity.licenseArn)
        .executeTakeFirst();
      if (earlier) return earlier;
    }
    if (identity.customerIdentifier && identity.productCode) {
      const row = await customers()
        .selectAll()
        .where('product_code', '=', identity.productCode)
        .where('customer_identifier', '=', identity.customerIdentifier)
        .executeTakeFirst();
      if (row) return row;
    }
    if (identity.agreementId) {
      const row = await customers().selectAll().where('agreement_id', '=', identity.agreementId).executeTakeFirst();
      if (row) return row;
      // An agreement the customer had before a renewal or replacement (facts §5.4) still names them.
      const earlier = await customers()
        .innerJoin('customer_agreements', 'customer_agreements.customer_id', 'customers.id')
        .selectAll('customers')
        .where('customer_agreements.agreement_id', '=', identity.agreementId)
        .executeTakeFirst();
      if (earlier) return earlier;
    }
    if (identity.customerAWSAccountId && identity.productCode) {
      // An account seen before its licence (an agreement event, then License Updated) is the same buyer.
      const rows = await customers()
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

/**
 * The free-trial flag after merging `facts`: a notification at least as new as the customer's
 * current state sets it either way; a registration hint counts only while no notification has.
 */
function mergeFreeTrial(existing: CustomerRow, facts: CustomerFacts): 0 | 1 {
  const current = existing.free_trial === 1 ? 1 : 0;
  if (facts.freeTrial === undefined) return current;
  // Confirmed from the agreement's terms (GetAgreementTerms): no hint or notification flag changes it.
  if (existing.free_trial_confirmed_at !== null && existing.free_trial_confirmed_at !== undefined) return current;
  const stateTime = existing.status_event_time === null ? null : fromDbTime(existing.status_event_time);
  if (facts.freeTrialAt)
    return stateTime === null || facts.freeTrialAt.getTime() >= stateTime.getTime() ? (facts.freeTrial ? 1 : 0) : current;
  return stateTime === null ? (facts.freeTrial ? 1 : 0) : current;
}

/** The webhook a status move sends (README "Integrate your app"). */
function webhookOf(effect: DomainEffect): WebhookEventType {
  switch (effect) {
    case 'customer-activated':
      return 'customer.activated';
    case 'final-window-opened':
      return 'customer.ending';
    case 'customer-failed':
      return 'customer.subscription_failed';
    case 'customer-ended':
      return 'customer.ended';
  }
}

function isPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
