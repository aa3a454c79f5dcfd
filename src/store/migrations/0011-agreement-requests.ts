import type { Kysely } from 'kysely';
import { timeColumnType, type DialectName } from '../dialect';

/**
 * The 2026 agreement model (facts §5.4-§5.6):
 *  - `customer_cancellation_requests`: one row per seller cancellation request (`acr-…`), with its
 *    status as the newest event gave it (a settled request never goes back to pending);
 *  - `customer_billing_adjustments`: one row per completed refund (`ba-…`), the amount as AWS's text;
 *  - `customers.previous_customer_id`: the customer whose agreement this one renewed or replaced;
 *  - `agreement_details`: what the Agreement API said of an agreement (end time, end-time behaviour,
 *    free-trial term, estimated value), newest read wins; `customers.free_trial_confirmed_at` marks a
 *    free-trial flag that AWS confirmed, which the registration form's hint no longer changes;
 *  - `contract_end_alerts`: one row per (agreement, end time, threshold in days) already announced
 *    (an amendment that moves the end time starts the thresholds afresh).
 * Number 0010 belongs to another change; the runner applies by name, not by contiguity.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const time = timeColumnType(dialect);
  await db.schema
    .createTable('customer_cancellation_requests')
    .addColumn('request_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('agreement_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_at', time, (c) => c.notNull())
    .addColumn('reason_code', 'text')
    .addColumn('reason_message', 'text')
    .addColumn('status_message', 'text')
    .addColumn('requested_at', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('customer_cancellation_requests_customer')
    .on('customer_cancellation_requests')
    .column('customer_id')
    .execute();
  await db.schema
    .createTable('customer_billing_adjustments')
    .addColumn('adjustment_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('agreement_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'text', (c) => c.notNull())
    .addColumn('currency_code', 'text')
    .addColumn('reason_code', 'text')
    .addColumn('original_invoice_id', 'text')
    .addColumn('completed_at', time, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('customer_billing_adjustments_customer').on('customer_billing_adjustments').column('customer_id').execute();
  await db.schema.alterTable('customers').addColumn('previous_customer_id', 'text').execute();
  await db.schema.alterTable('customers').addColumn('free_trial_confirmed_at', time).execute();
  await db.schema
    .createTable('agreement_details')
    .addColumn('agreement_id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text')
    .addColumn('start_time', time)
    .addColumn('end_time', time)
    .addColumn('end_time_behavior', 'text')
    .addColumn('free_trial', 'integer', (c) => c.notNull())
    .addColumn('estimated_value', 'text')
    .addColumn('currency_code', 'text')
    .addColumn('fetched_at', time, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('contract_end_alerts')
    .addColumn('agreement_id', 'text', (c) => c.notNull())
    .addColumn('end_time', time, (c) => c.notNull())
    .addColumn('threshold_days', 'integer', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
    .addColumn('sent_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('contract_end_alerts_pk', ['agreement_id', 'end_time', 'threshold_days'])
    .execute();
}
