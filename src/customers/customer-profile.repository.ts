import type { Kysely } from 'kysely';
import { AppError } from '../platform/errors';
import { isUniqueViolation, toDbTime } from '../store/dialect';
import type { Database } from '../store/schema';
import { erasePersonalDataFromOutbox } from '../webhooks/outbox.repository';
import type { Customer, Entitlement } from './customer';
import { erasePersonalDataFromFeed, recordCustomerChange } from './customer-changes.repository';
import { fromEntitlementRow, toCustomer } from './customer-rows';
import { withoutPersonalData } from './customer-view';
import type { SubscriptionStatus } from './subscription-state';

/** Filters of `GET /v1/customers`; all optional. */
export interface CustomerListQuery {
  readonly status?: SubscriptionStatus;
  readonly productCode?: string;
  readonly awsAccountId?: string;
  readonly externalId?: string;
  /** Customers changed at or after this time. */
  readonly updatedSince?: Date;
  /** The last (createdAt, id) of the previous page. */
  readonly after?: readonly [string, string];
  readonly limit: number;
}

/**
 * What the seller's app does with a customer besides the Marketplace's own changes: list and find
 * them, link its tenant id (`externalId`), export and erase the buyer's personal data. Each write
 * records its change in the same transaction, like every customer write.
 */
export class CustomerProfileRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A page of customers in creation order, with the number matching the filters. */
  async list(query: CustomerListQuery): Promise<{ customers: Array<{ customer: Customer; entitlements: Entitlement[] }>; total: number }> {
    let q = this.db.selectFrom('customers');
    if (query.status) q = q.where('status', '=', query.status);
    if (query.productCode) q = q.where('product_code', '=', query.productCode);
    if (query.awsAccountId) q = q.where('customer_aws_account_id', '=', query.awsAccountId);
    if (query.externalId) q = q.where('external_id', '=', query.externalId);
    if (query.updatedSince) q = q.where('updated_at', '>=', toDbTime(query.updatedSince));
    const counted = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    let page = q.selectAll();
    if (query.after) {
      const [createdAt, id] = query.after;
      page = page.where((eb) => eb.or([eb('created_at', '>', createdAt), eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])]));
    }
    const rows = await page.orderBy('created_at').orderBy('id').limit(query.limit).execute();
    const ids = rows.map((r) => r.id);
    const entitlementRows = ids.length
      ? await this.db.selectFrom('entitlements').selectAll().where('customer_id', 'in', ids).orderBy('dimension').execute()
      : [];
    return {
      customers: rows.map((row) => ({
        customer: toCustomer(row),
        entitlements: entitlementRows.filter((e) => e.customer_id === row.id).map(fromEntitlementRow),
      })),
      total: Number(counted?.n ?? 0),
    };
  }

  /**
   * Sets (or, with null, clears) the seller app's tenant id. Unique per product: another customer of
   * the product holding it already gives `external_id_taken` (409). Undefined: no such customer.
   */
  async setExternalId(id: string, externalId: string | null, now: Date): Promise<Customer | undefined> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
        if (!row) return undefined;
        if (row.external_id === externalId) return toCustomer(row);
        const at = toDbTime(now);
        await tx
          .updateTable('customers')
          .set((eb) => ({ external_id: externalId, updated_at: at, version: eb('version', '+', 1) }))
          .where('id', '=', id)
          .execute();
        await recordCustomerChange(tx, id, 'external_id_changed', [], now);
        return toCustomer(await tx.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppError(`Another customer of this product already has the external id "${String(externalId).slice(0, 80)}".`, {
          code: 'external_id_taken',
          httpStatus: 409,
        });
      }
      throw error;
    }
  }

  /**
   * Erases the buyer's personal data: the onboarding fields, here and in every stored feed version
   * and webhook payload. Identity, subscription and metering stay (AWS needs them to bill). A
   * tombstone goes into the feed and `customer.personal_data_erased` to the webhooks.
   */
  async erasePersonalData(id: string, now: Date): Promise<Customer | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const found = await tx.selectFrom('customers').select('id').where('id', '=', id).executeTakeFirst();
      if (!found) return undefined;
      const at = toDbTime(now);
      await tx
        .updateTable('customers')
        .set((eb) => ({
          email: null,
          company: null,
          contact_name: null,
          personal_data_erased_at: at,
          updated_at: at,
          version: eb('version', '+', 1),
        }))
        .where('id', '=', id)
        .execute();
      await erasePersonalDataFromFeed(tx, id, now);
      await erasePersonalDataFromOutbox(tx, id, (view) => withoutPersonalData(view, now.toISOString()));
      await recordCustomerChange(tx, id, 'personal_data_erased', ['customer.personal_data_erased'], now);
      return toCustomer(await tx.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
    });
  }
}
