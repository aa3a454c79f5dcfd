import type { BillingAdjustments } from '../marketplace/billing-adjustments';
import { RequestStateError, type CancellationRequests } from '../marketplace/cancellation-requests';
import type { Catalog, SubscriptionState } from '../marketplace/catalog';
import type { CancellationReasonCode, SimCancellationRequest } from '../types';
import {
  agreementErrors,
  AGREEMENT_ID,
  CLIENT_TOKEN,
  paginate,
  readString,
  seconds,
  type Caller,
  type StringRule,
} from './agreement-input';
import { BillingAdjustmentApi } from './billing-adjustment-api';

type Obj = Record<string, unknown>;

const CANCELLATION_REASONS: readonly CancellationReasonCode[] = [
  'INCORRECT_TERMS_ACCEPTED',
  'REPLACING_AGREEMENT',
  'TEST_AGREEMENT',
  'ALTERNATIVE_PROCUREMENT_CHANNEL',
  'PRODUCT_DISCONTINUED',
  'UNINTENDED_RENEWAL',
  'BUYER_DISSATISFACTION',
  'OTHER',
];
const REQUEST_ID: StringRule = {
  required: true,
  min: 1,
  max: 64,
  pattern: /^acr-[a-zA-Z0-9]+$/,
  missing: 'MISSING_AGREEMENT_CANCELLATION_REQUEST_ID',
  invalid: 'INVALID_AGREEMENT_CANCELLATION_REQUEST_ID',
};

/**
 * Agreement API operations on cancellation requests and billing adjustments (§5.6). The seller
 * (proposer) sends, reads, lists and withdraws cancellation requests and creates and reads billing
 * adjustments; only the buyer (acceptor) accepts or rejects a cancellation request. A request that
 * is no longer PENDING_APPROVAL cannot change (ConflictException).
 */
export class AgreementRequestsApi {
  constructor(
    private readonly catalog: Catalog,
    private readonly cancellations: CancellationRequests,
    adjustments: BillingAdjustments,
  ) {
    this.billing = new BillingAdjustmentApi(catalog, adjustments);
  }

  private readonly billing: BillingAdjustmentApi;

  call(operation: string, body: Obj, caller: Caller, agreementOf: (body: Obj) => SubscriptionState): Obj {
    const proposerOnly = () => {
      if (caller.party !== 'Proposer') throw agreementErrors.accessDenied(`Only the proposer (seller) may call ${operation}.`);
    };
    try {
      switch (operation) {
        case 'SendAgreementCancellationRequest': {
          proposerOnly();
          const s = agreementOf(body);
          const reasonCode = readString(body, 'reasonCode', {
            required: true,
            oneOf: CANCELLATION_REASONS,
            missing: 'MISSING_REASON_CODE',
            invalid: 'INVALID_REASON_CODE',
          }) as CancellationReasonCode;
          const description = readString(body, 'description', { min: 1, max: 2000, invalid: 'INVALID_DESCRIPTION' });
          const clientToken = readString(body, 'clientToken', CLIENT_TOKEN);
          const r = this.cancellations.send(s, {
            reasonCode,
            ...(description ? { description } : {}),
            ...(clientToken ? { clientToken } : {}),
          });
          return cancellationBody(r, false);
        }
        case 'GetAgreementCancellationRequest': {
          const r = this.request(body, agreementOf);
          return cancellationBody(r, true);
        }
        case 'CancelAgreementCancellationRequest': {
          proposerOnly();
          const r = this.request(body, agreementOf);
          const reason = readString(body, 'cancellationReason', {
            required: true,
            min: 1,
            max: 2000,
            missing: 'MISSING_REASON',
            invalid: 'INVALID_REASON',
          })!;
          return cancellationBody(this.cancellations.withdraw(r.id, reason), true);
        }
        case 'AcceptAgreementCancellationRequest':
        case 'RejectAgreementCancellationRequest': {
          if (caller.party !== 'Acceptor') throw agreementErrors.accessDenied(`Only the acceptor (buyer) may call ${operation}.`);
          const r = this.request(body, agreementOf);
          if (operation === 'AcceptAgreementCancellationRequest') return cancellationBody(this.cancellations.approve(r.id), true);
          const reason = readString(body, 'rejectionReason', {
            required: true,
            min: 1,
            max: 2000,
            missing: 'MISSING_REASON',
            invalid: 'INVALID_REJECTION_REASON',
          })!;
          return cancellationBody(this.cancellations.reject(r.id, reason), true);
        }
        case 'ListAgreementCancellationRequests':
          return this.listCancellations(body, caller);
        case 'BatchCreateBillingAdjustmentRequest':
        case 'GetBillingAdjustmentRequest':
        case 'ListBillingAdjustmentRequests':
          proposerOnly();
          return this.billing.call(operation, body, agreementOf);
        default:
          throw agreementErrors.validation('UNSUPPORTED_ACTION', `Unknown operation AWSMPCommerceService_v20200301.${operation}`);
      }
    } catch (err) {
      if (err instanceof RequestStateError) {
        if (err.kind === 'not-found')
          throw agreementErrors.notFound(String(body.agreementCancellationRequestId), 'AgreementCancellationRequest');
        throw agreementErrors.conflict(
          err.message,
          String(body.agreementCancellationRequestId ?? body.agreementId),
          'AgreementCancellationRequest',
        );
      }
      throw err;
    }
  }

  private request(body: Obj, agreementOf: (body: Obj) => SubscriptionState): SimCancellationRequest {
    const s = agreementOf(body);
    const id = readString(body, 'agreementCancellationRequestId', REQUEST_ID)!;
    const r = this.cancellations.get(id, s.agreementId);
    if (!r) throw agreementErrors.notFound(id, 'AgreementCancellationRequest');
    return r;
  }

  private listCancellations(body: Obj, caller: Caller): Obj {
    const party = readString(body, 'partyType', {
      required: true,
      missing: 'MISSING_PARTY_TYPE',
      invalid: 'INVALID_PARTY_TYPE',
      oneOf: ['Proposer', 'Acceptor'],
    });
    const agreementId = readString(body, 'agreementId', { ...AGREEMENT_ID, required: false });
    const status = readString(body, 'status', {
      oneOf: ['PENDING_APPROVAL', 'APPROVED', 'REJECTED', 'CANCELLED', 'VALIDATION_FAILED'],
      invalid: 'INVALID_STATUS',
    });
    const catalog = readString(body, 'catalog', { oneOf: ['AWSMarketplace'], invalid: 'INVALID_CATALOG' });
    const agreementType = readString(body, 'agreementType', { oneOf: ['PurchaseAgreement'], invalid: 'INVALID_AGREEMENT_TYPE' });
    const mine = (r: SimCancellationRequest): boolean => {
      if (party !== caller.party) return false;
      if (caller.party === 'Proposer') return true;
      return this.catalog.get(r.subscriptionId).customerAWSAccountId === caller.accountId;
    };
    const rows = this.cancellations.list({ ...(agreementId ? { agreementId } : {}), ...(status ? { status } : {}) }).filter(mine);
    const { page, nextToken } = paginate(
      rows,
      body,
      ['acr', party, agreementId ?? null, status ?? null, catalog ?? null, agreementType ?? null],
      50,
    );
    return {
      items: page.map((r) => ({
        agreementCancellationRequestId: r.id,
        agreementId: r.agreementId,
        status: r.status,
        reasonCode: r.reasonCode,
        agreementType: 'PurchaseAgreement',
        catalog: 'AWSMarketplace',
        createdAt: seconds(r.createdAt),
        updatedAt: seconds(r.updatedAt),
      })),
      ...(nextToken ? { nextToken } : {}),
    };
  }
}

function cancellationBody(r: SimCancellationRequest, withStatusMessage: boolean): Obj {
  return {
    agreementId: r.agreementId,
    agreementCancellationRequestId: r.id,
    status: r.status,
    reasonCode: r.reasonCode,
    ...(r.description !== undefined ? { description: r.description } : {}),
    ...(withStatusMessage ? { statusMessage: r.statusMessage } : {}),
    createdAt: seconds(r.createdAt),
    updatedAt: seconds(r.updatedAt),
  };
}
