import type { Kysely, Selectable, Transaction } from 'kysely';
import { fromDbTime, fromDbTimeOrNull, toDbTime, toDbTimeOrNull } from '../store/dialect';
import type { CustomerBillingAdjustmentsTable, CustomerCancellationRequestsTable, Database } from '../store/schema';
import type { WebhookEventType } from '../webhooks/event-types';
import { appendOutboxEvent } from '../webhooks/outbox.repository';
import {
  mergeCancellation,
  type BillingAdjustment,
  type CancellationObservation,
  type CancellationRequest,
  type CancellationStatus,
} from './agreement-requests';

type Db = Kysely<Database> | Transaction<Database>;

/** The webhook each settled or new status sends (README "Integrate your app"). */
const CANCELLATION_WEBHOOK: Readonly<Record<CancellationStatus, WebhookEventType>> = {
  PENDING_APPROVAL: 'agreement.cancellation_requested',
  APPROVED: 'agreement.cancellation_approved',
  REJECTED: 'agreement.cancellation_rejected',
  CANCELLED: 'agreement.cancellation_withdrawn',
};

/** What recording one event did. */
export interface RequestWrite {
  /** The stored record changed. */
  readonly changed: boolean;
  /** The app was told (a webhook event was appended in the caller's transaction). */
  readonly notified: boolean;
}

/**
 * A customer's cancellation requests and billing adjustments. Every write runs in the caller's
 * transaction (the event's, holding the customer's lock) and appends its webhook event there, so
 * the record and the app's notice commit or roll back together.
 */
export class AgreementRequestRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Merges one cancellation event; a status move is told to the app (once per status, whatever the copies). */
  async recordCancellation(tx: Db, customerId: string, seen: CancellationObservation, now: Date): Promise<RequestWrite> {
    const row = await tx.selectFrom('customer_cancellation_requests').selectAll().where('request_id', '=', seen.id).executeTakeFirst();
    const stored = row ? toCancellation(row) : undefined;
    const { request, statusChanged, changed } = mergeCancellation(stored, seen);
    if (!changed) return { changed: false, notified: false };
    const at = toDbTime(now);
    const values = {
      agreement_id: request.agreementId,
      status: request.status,
      status_at: toDbTime(request.statusAt),
      reason_code: request.reasonCode,
      reason_message: request.reasonMessage,
      status_message: request.statusMessage,
      requested_at: toDbTimeOrNull(request.requestedAt),
      updated_at: at,
    };
    if (row) await tx.updateTable('customer_cancellation_requests').set(values).where('request_id', '=', seen.id).execute();
    else
      await tx
        .insertInto('customer_cancellation_requests')
        .values({ ...values, request_id: request.id, customer_id: customerId, created_at: at })
        .execute();
    if (!statusChanged) return { changed: true, notified: false };
    await appendOutboxEvent(tx, {
      type: CANCELLATION_WEBHOOK[request.status],
      at: now,
      customerId,
      data: { cancellationRequest: cancellationJson(request) },
    });
    return { changed: true, notified: true };
  }

  /** Records a completed refund once; a second event for the same adjustment changes nothing. */
  async recordBillingAdjustment(tx: Db, customerId: string, adjustment: BillingAdjustment, now: Date): Promise<RequestWrite> {
    const inserted = await tx
      .insertInto('customer_billing_adjustments')
      .values({
        adjustment_id: adjustment.id,
        customer_id: customerId,
        agreement_id: adjustment.agreementId,
        amount: adjustment.amount,
        currency_code: adjustment.currencyCode,
        reason_code: adjustment.reasonCode,
        original_invoice_id: adjustment.originalInvoiceId,
        completed_at: toDbTime(adjustment.completedAt),
        created_at: toDbTime(now),
      })
      .onConflict((oc) => oc.column('adjustment_id').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return { changed: false, notified: false };
    await appendOutboxEvent(tx, {
      type: 'agreement.billing_adjusted',
      at: now,
      customerId,
      data: { billingAdjustment: billingAdjustmentJson(adjustment) },
    });
    return { changed: true, notified: true };
  }

  /** A customer's requests and adjustments, oldest first. */
  async listFor(
    customerId: string,
    db: Db = this.db,
  ): Promise<{ cancellationRequests: CancellationRequest[]; billingAdjustments: BillingAdjustment[] }> {
    const requests = await db
      .selectFrom('customer_cancellation_requests')
      .selectAll()
      .where('customer_id', '=', customerId)
      .orderBy('created_at')
      .orderBy('request_id')
      .execute();
    const adjustments = await db
      .selectFrom('customer_billing_adjustments')
      .selectAll()
      .where('customer_id', '=', customerId)
      .orderBy('completed_at')
      .orderBy('adjustment_id')
      .execute();
    return { cancellationRequests: requests.map(toCancellation), billingAdjustments: adjustments.map(toAdjustment) };
  }
}

function toCancellation(row: Selectable<CustomerCancellationRequestsTable>): CancellationRequest {
  return {
    id: row.request_id,
    agreementId: row.agreement_id,
    status: row.status as CancellationStatus,
    statusAt: fromDbTime(row.status_at),
    reasonCode: row.reason_code,
    reasonMessage: row.reason_message,
    statusMessage: row.status_message,
    requestedAt: fromDbTimeOrNull(row.requested_at),
  };
}

function toAdjustment(row: Selectable<CustomerBillingAdjustmentsTable>): BillingAdjustment {
  return {
    id: row.adjustment_id,
    agreementId: row.agreement_id,
    amount: row.amount,
    currencyCode: row.currency_code,
    reasonCode: row.reason_code,
    originalInvoiceId: row.original_invoice_id,
    completedAt: fromDbTime(row.completed_at),
  };
}

/** The public JSON of a request (openapi.yaml `CancellationRequest`). */
export function cancellationJson(r: CancellationRequest) {
  return {
    id: r.id,
    agreementId: r.agreementId,
    status: r.status,
    statusAt: r.statusAt.toISOString(),
    reasonCode: r.reasonCode,
    reasonMessage: r.reasonMessage,
    statusMessage: r.statusMessage,
    requestedAt: r.requestedAt?.toISOString() ?? null,
  };
}

/** The public JSON of an adjustment (openapi.yaml `BillingAdjustment`). */
export function billingAdjustmentJson(a: BillingAdjustment) {
  return {
    id: a.id,
    agreementId: a.agreementId,
    amount: a.amount,
    currencyCode: a.currencyCode,
    reasonCode: a.reasonCode,
    originalInvoiceId: a.originalInvoiceId,
    completedAt: a.completedAt.toISOString(),
  };
}
