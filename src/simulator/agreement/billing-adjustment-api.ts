import { AdjustmentRefused, type BillingAdjustments } from '../marketplace/billing-adjustments';
import type { Catalog, SubscriptionState } from '../marketplace/catalog';
import type { BillingAdjustmentReasonCode, SimBillingAdjustment } from '../types';
import { agreementErrors, AGREEMENT_ID, CLIENT_TOKEN, paginate, readString, readTimestamp, seconds } from './agreement-input';

type Obj = Record<string, unknown>;

const ADJUSTMENT_REASONS: readonly BillingAdjustmentReasonCode[] = [
  'INCORRECT_TERMS_ACCEPTED',
  'INCORRECT_METERING',
  'TEST_ENVIRONMENT_CHARGES',
  'ALTERNATIVE_PROCUREMENT_CHANNEL',
  'UNINTENDED_RENEWAL',
  'BUYER_DISSATISFACTION',
  'OTHER',
];

/** Entries per BatchCreateBillingAdjustmentRequest: the model sets no limit; the simulator takes at most 50. */
const MAX_ADJUSTMENT_ENTRIES = 50;

/**
 * Billing adjustment operations of the Agreement API (seller only, §5.6):
 * BatchCreateBillingAdjustmentRequest (per-entry `items` / `errors`), GetBillingAdjustmentRequest,
 * ListBillingAdjustmentRequests.
 */
export class BillingAdjustmentApi {
  constructor(
    private readonly catalog: Catalog,
    private readonly adjustments: BillingAdjustments,
  ) {}

  call(operation: string, body: Obj, agreementOf: (body: Obj) => SubscriptionState): Obj {
    if (operation === 'BatchCreateBillingAdjustmentRequest') return this.createAdjustments(body);
    if (operation === 'ListBillingAdjustmentRequests') return this.listAdjustments(body);
    const s = agreementOf(body);
    const id = readString(body, 'billingAdjustmentRequestId', { required: true, min: 1, max: 64, pattern: /^ba-[a-zA-Z0-9]+$/ })!;
    const a = this.adjustments.get(id, s.agreementId);
    if (!a) throw agreementErrors.notFound(id, 'BillingAdjustmentRequest');
    return adjustmentBody(a);
  }

  private createAdjustments(body: Obj): Obj {
    const entries = body.billingAdjustmentRequestEntries;
    if (entries === undefined || entries === null)
      throw agreementErrors.validation(
        'MISSING_BILLING_ADJUSTMENTS',
        'billingAdjustmentRequestEntries is required.',
        'billingAdjustmentRequestEntries',
      );
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ADJUSTMENT_ENTRIES)
      throw agreementErrors.validation(
        'MISSING_BILLING_ADJUSTMENT_REQUEST_ENTRY',
        `billingAdjustmentRequestEntries must be a list of 1 to ${MAX_ADJUSTMENT_ENTRIES} entries.`,
        'billingAdjustmentRequestEntries',
      );
    // The list is checked whole first (a malformed entry fails the call); business refusals are per entry.
    const parsed = (entries as unknown[]).map((raw) => {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw))
        throw agreementErrors.validation(
          'MISSING_BILLING_ADJUSTMENT_REQUEST_ENTRY',
          'each entry must be a structure.',
          'billingAdjustmentRequestEntries',
        );
      const e = raw as Obj;
      return {
        agreementId: readString(e, 'agreementId', AGREEMENT_ID)!,
        originalInvoiceId: readString(e, 'originalInvoiceId', { required: true, min: 1, max: 255, missing: 'MISSING_INVOICE_ID' })!,
        adjustmentAmount: readString(e, 'adjustmentAmount', {
          required: true,
          missing: 'MISSING_ADJUSTMENT_AMOUNT',
          invalid: 'INVALID_ADJUSTMENT_AMOUNT',
        })!,
        currencyCode: readString(e, 'currencyCode', {
          required: true,
          min: 3,
          max: 3,
          pattern: /^[A-Z]+$/,
          missing: 'MISSING_CURRENCY_CODE',
          invalid: 'INVALID_CURRENCY_CODE',
        })!,
        adjustmentReasonCode: readString(e, 'adjustmentReasonCode', {
          required: true,
          oneOf: ADJUSTMENT_REASONS,
          missing: 'MISSING_REASON_CODE',
          invalid: 'INVALID_REASON_CODE',
        }) as BillingAdjustmentReasonCode,
        description: readString(e, 'description', { min: 1, max: 500, invalid: 'INVALID_DESCRIPTION' }),
        clientToken: readString(e, 'clientToken', { ...CLIENT_TOKEN, required: true, missing: 'INVALID_CLIENT_TOKEN' })!,
      };
    });
    const items: Obj[] = [];
    const errors: Obj[] = [];
    for (const e of parsed) {
      const s = this.catalog.byAgreementId(e.agreementId);
      if (!s || s.agreementId !== e.agreementId) {
        errors.push({
          code: 'RESOURCE_NOT_FOUND_EXCEPTION',
          message: `Agreement ${e.agreementId} was not found.`,
          clientToken: e.clientToken,
        });
        continue;
      }
      try {
        const a = this.adjustments.create(s, {
          originalInvoiceId: e.originalInvoiceId,
          adjustmentAmount: e.adjustmentAmount,
          currencyCode: e.currencyCode,
          adjustmentReasonCode: e.adjustmentReasonCode,
          clientToken: e.clientToken,
          ...(e.description !== undefined ? { description: e.description } : {}),
        });
        items.push({ billingAdjustmentRequestId: a.id, clientToken: e.clientToken });
      } catch (err) {
        if (!(err instanceof AdjustmentRefused)) throw err;
        errors.push({ code: err.code, message: err.message, clientToken: e.clientToken });
      }
    }
    return { items, errors };
  }

  private listAdjustments(body: Obj): Obj {
    const agreementId = readString(body, 'agreementId', { ...AGREEMENT_ID, required: false });
    const status = readString(body, 'status', { oneOf: ['PENDING', 'VALIDATION_FAILED', 'COMPLETED'], invalid: 'INVALID_STATUS' });
    const catalog = readString(body, 'catalog', { oneOf: ['AWSMarketplace'], invalid: 'INVALID_CATALOG' });
    const agreementType = readString(body, 'agreementType', { oneOf: ['PurchaseAgreement'], invalid: 'INVALID_AGREEMENT_TYPE' });
    const createdAfter = readTimestamp(body, 'createdAfter');
    const createdBefore = readTimestamp(body, 'createdBefore');
    const rows = this.adjustments.list({
      ...(agreementId ? { agreementId } : {}),
      ...(status ? { status } : {}),
      ...(createdAfter !== undefined ? { createdAfter } : {}),
      ...(createdBefore !== undefined ? { createdBefore } : {}),
    });
    const query = [
      'ba',
      agreementId ?? null,
      status ?? null,
      catalog ?? null,
      agreementType ?? null,
      createdAfter ?? null,
      createdBefore ?? null,
    ];
    const { page, nextToken } = paginate(rows, body, query, 50);
    return {
      items: page.map((a) => ({
        billingAdjustmentRequestId: a.id,
        originalInvoiceId: a.originalInvoiceId,
        adjustmentAmount: a.adjustmentAmount,
        currencyCode: a.currencyCode,
        status: a.status,
        agreementId: a.agreementId,
        createdAt: seconds(a.createdAt),
        updatedAt: seconds(a.updatedAt),
        agreementType: 'PurchaseAgreement',
        catalog: 'AWSMarketplace',
      })),
      ...(nextToken ? { nextToken } : {}),
    };
  }
}

function adjustmentBody(a: SimBillingAdjustment): Obj {
  return {
    billingAdjustmentRequestId: a.id,
    agreementId: a.agreementId,
    adjustmentReasonCode: a.adjustmentReasonCode,
    ...(a.description !== undefined ? { description: a.description } : {}),
    originalInvoiceId: a.originalInvoiceId,
    adjustmentAmount: a.adjustmentAmount,
    currencyCode: a.currencyCode,
    status: a.status,
    createdAt: seconds(a.createdAt),
    updatedAt: seconds(a.updatedAt),
  };
}
