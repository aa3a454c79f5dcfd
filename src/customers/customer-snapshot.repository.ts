import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema';
import { fromEntitlementRow, toCustomer } from './customer-rows';
import { customerJson, type CustomerView } from './customer-view';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * The customer as the API shows it (with its entitlements), read in the caller's transaction: what
 * a change-feed row and a webhook payload carry, as of the change that writes them.
 */
export async function readCustomerView(db: Db, customerId: string): Promise<CustomerView | undefined> {
  const row = await db.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirst();
  if (!row) return undefined;
  const entitlements = await db.selectFrom('entitlements').selectAll().where('customer_id', '=', customerId).orderBy('dimension').execute();
  return customerJson(toCustomer(row), entitlements.map(fromEntitlementRow));
}
