import { toCustomer } from '../customers/customer-rows';
import type { Customer } from '../customers/customer';
import { compiledStatement } from '../store/compiled-query';
import { fromDbTime, toDbTime } from '../store/dialect';
import type { Db, Tx } from '../store/schema';

/** Statuses that may still be metered (facts §6: after subscribe-success, before unsubscribe-success). */
export const METERABLE_STATUSES = ['active', 'unsubscribe_pending'] as const;

/** The flush mark of one customer (a single-record write), compiled once. */
const flushOf = compiledStatement((db, customerId: string) =>
  db.selectFrom('metering_final_flushes').select('customer_id').where('customer_id', '=', customerId),
);

/**
 * Metering's view of customers: who may still be metered (heartbeats), whose final-metering
 * window waits for its flush, and the durable flush mark after which usage is refused (design §3.5).
 */
export class FinalFlushRepository {
  constructor(private readonly db: Db) {}

  /** Customers of `productCodes` in a meterable status whose final flush has not happened (all of them, or one). */
  async listMeterable(productCodes: readonly string[], customerId?: string): Promise<Customer[]> {
    let q = this.db.selectFrom('customers').selectAll();
    q = customerId
      ? q.where('id', '=', customerId)
      : q
          .where('status', 'in', [...METERABLE_STATUSES])
          .where('product_code', 'in', productCodes.length > 0 ? [...productCodes] : [''])
          .where('customers.id', 'not in', (eb) => eb.selectFrom('metering_final_flushes').select('customer_id'));
    return (await q.execute()).map(toCustomer);
  }

  /** Customers whose final-metering window is open and not yet flushed, with when it opened. */
  async listPendingFinalWindows(productCodes: readonly string[]): Promise<Array<{ customerId: string; openedAt: Date }>> {
    const rows = await this.db
      .selectFrom('customers')
      .select(['id', 'final_window_opened_at'])
      .where('final_window_opened_at', 'is not', null)
      .where('product_code', 'in', productCodes.length > 0 ? [...productCodes] : [''])
      .where('id', 'not in', (eb) => eb.selectFrom('metering_final_flushes').select('customer_id'))
      .execute();
    return rows.map((r) => ({ customerId: r.id, openedAt: fromDbTime(r.final_window_opened_at!) }));
  }

  /** The flush mark: from here on the ledger refuses the customer's usage. Idempotent. */
  async markFlushed(customerId: string, windowOpenedAt: Date, now: Date): Promise<void> {
    await this.db
      .insertInto('metering_final_flushes')
      .values({ customer_id: customerId, window_opened_at: toDbTime(windowOpenedAt), flushed_at: toDbTime(now) })
      .onConflict((oc) => oc.column('customer_id').doNothing())
      .execute();
  }

  /** Which of these customers have had their final flush, read in the caller's transaction. */
  async flushedAmong(tx: Tx, customerIds: readonly string[]): Promise<Set<string>> {
    if (customerIds.length === 0) return new Set();
    if (customerIds.length === 1) return new Set((await flushOf(tx, customerIds[0]!)).rows.map((r) => r.customer_id));
    const rows = await tx
      .selectFrom('metering_final_flushes')
      .select('customer_id')
      .where('customer_id', 'in', [...customerIds])
      .execute();
    return new Set(rows.map((r) => r.customer_id));
  }
}
