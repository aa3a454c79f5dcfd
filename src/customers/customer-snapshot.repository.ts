import type { Kysely, Selectable, Transaction } from 'kysely';
import type { CustomersTable, Database } from '../store/schema';
import { fromEntitlementRow, toCustomer } from './customer-rows';
import { customerJson, type CustomerView } from './customer-view';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * What the writer already holds of the customer, so that the view need not be read back: its row
 * as written in this transaction (an UPDATE … RETURNING, or the row just inserted), and
 * `entitlements: 'none'` when it cannot have any yet (a customer created in this transaction).
 */
export interface KnownCustomer {
  readonly row: Selectable<CustomersTable>;
  readonly entitlements?: 'none';
}

/**
 * The customer as the API shows it (with its entitlements), read in the caller's transaction: what
 * a change-feed row and a webhook payload carry, as of the change that writes them.
 */
export async function readCustomerView(db: Db, customerId: string, known?: KnownCustomer): Promise<CustomerView | undefined> {
  if (known?.entitlements) return customerJson(toCustomer(known.row), []);
  const row = known?.row ?? (await db.selectFrom('customers').selectAll().where('id', '=', customerId).executeTakeFirst());
  if (!row) return undefined;
  const entitlements = await db.selectFrom('entitlements').selectAll().where('customer_id', '=', customerId).orderBy('dimension').execute();
  return customerJson(toCustomer(row), entitlements.map(fromEntitlementRow));
}
