import { agreementTimes } from '../marketplace/agreement-times';
import type { Catalog, SubscriptionState } from '../marketplace/catalog';
import type { AgreementOperation, SimProduct } from '../types';
import { agreementErrors, AGREEMENT_ID, paginate, readMaxResults, readString, seconds, type Caller } from './agreement-input';
import { acceptedTerms, contractValue } from './agreement-terms';
import type { AgreementRequestsApi } from './agreement-requests-api';
import { searchFilter } from './search-filters';

type Obj = Record<string, unknown>;

/** Who is calling: the seller (proposer), or a buyer account (acceptor). */

/**
 * The caller from its SigV4 access key id. Every key is the seller's, except `buyer-<12 digits>`,
 * a simulator convention for calling as that buyer account (buyer-only operations, AccessDenied tests).
 */
export function callerOf(accessKeyId: string): Caller {
  const m = /^buyer-([0-9]{12})$/.exec(accessKeyId);
  return m ? { party: 'Acceptor', accountId: m[1]! } : { party: 'Proposer' };
}

export const AGREEMENT_OPERATIONS: ReadonlySet<string> = new Set<AgreementOperation>([
  'DescribeAgreement',
  'GetAgreementTerms',
  'SearchAgreements',
  'GetAgreementEntitlements',
  'SendAgreementCancellationRequest',
  'GetAgreementCancellationRequest',
  'ListAgreementCancellationRequests',
  'CancelAgreementCancellationRequest',
  'AcceptAgreementCancellationRequest',
  'RejectAgreementCancellationRequest',
  'BatchCreateBillingAdjustmentRequest',
  'GetBillingAdjustmentRequest',
  'ListBillingAdjustmentRequests',
]);

/**
 * AWS Marketplace Agreement API (§5.5): AWS JSON 1.0, `AWSMPCommerceService_v20200301.<Operation>`.
 * Each simulated subscription is one purchase agreement whose proposer is the seller. Reads here;
 * cancellation requests and billing adjustments in {@link AgreementRequestsApi}.
 */
export class AgreementService {
  constructor(
    private readonly catalog: Catalog,
    private readonly sellerAccountId: string,
    private readonly requests: AgreementRequestsApi,
  ) {}

  call(operation: string, body: Obj, caller: Caller): Obj {
    switch (operation) {
      case 'DescribeAgreement':
        return this.describe(this.agreement(body, caller));
      case 'GetAgreementTerms': {
        readMaxResults(body, 50); // input is validated before the agreement is looked up
        const s = this.agreement(body, caller);
        const { page, nextToken } = paginate(acceptedTerms(s, this.product(s)), body, ['terms', s.agreementId], 50);
        return { acceptedTerms: page, ...(nextToken ? { nextToken } : {}) };
      }
      case 'GetAgreementEntitlements': {
        readMaxResults(body, 50);
        const s = this.agreement(body, caller);
        const { page, nextToken } = paginate([this.entitlement(s)], body, ['entitlements', s.agreementId], 50);
        return { agreementEntitlements: page, ...(nextToken ? { nextToken } : {}) };
      }
      case 'SearchAgreements':
        return this.search(body, caller);
      default:
        if (AGREEMENT_OPERATIONS.has(operation)) return this.requests.call(operation, body, caller, (b) => this.agreement(b, caller));
        throw agreementErrors.validation(
          'UNSUPPORTED_ACTION',
          `Unknown operation AWSMPCommerceService_v20200301.${operation.slice(0, 100)}`,
        );
    }
  }

  private product(s: SubscriptionState): SimProduct {
    return this.catalog.product(s.productCode)!;
  }

  /** Reads `agreementId` and finds the agreement the caller may see. */
  private agreement(body: Obj, caller: Caller): SubscriptionState {
    const id = readString(body, 'agreementId', AGREEMENT_ID)!;
    const s = this.catalog.byAgreementId(id);
    if (!s || s.agreementId !== id) throw agreementErrors.notFound(id, 'Agreement');
    if (caller.party === 'Acceptor' && caller.accountId !== s.customerAWSAccountId)
      throw agreementErrors.accessDenied(`Account ${caller.accountId} is not a party to agreement ${id}.`);
    return s;
  }

  private endTimeBehavior(s: SubscriptionState, product: SimProduct): Obj {
    if (product.pricingModel === 'subscription') return { type: 'EXPIRE', reasonCode: 'NO_RENEWAL_TERM' };
    return s.autoRenew
      ? { type: 'RENEW', renewalSummary: { offerId: s.offerId } }
      : { type: 'EXPIRE', reasonCode: 'ACCEPTOR_RENEW_OPTED_OUT' };
  }

  private describe(s: SubscriptionState): Obj {
    const product = this.product(s);
    const { startTime, endTime } = agreementTimes(s, product);
    return {
      agreementId: s.agreementId,
      acceptor: { accountId: s.customerAWSAccountId },
      proposer: { accountId: this.sellerAccountId },
      startTime: seconds(startTime),
      endTime: seconds(endTime),
      acceptanceTime: seconds(s.createdAt),
      agreementType: 'PurchaseAgreement',
      estimatedCharges: { currencyCode: 'USD', agreementValue: contractValue(s, product) },
      proposalSummary: { resources: [{ id: s.productId, type: 'SaaSProduct' }], offerId: s.offerId },
      status: s.agreementStatus,
      initialAgreementId: s.initialAgreementId,
      endTimeBehavior: this.endTimeBehavior(s, product),
    };
  }

  /** The agreement's one entitlement: the product licence, with its provisioning state. */
  private entitlement(s: SubscriptionState): Obj {
    const state =
      s.status === 'pending'
        ? { status: 'PENDING', statusReasonCode: 'PROVISIONING_IN_PROGRESS' }
        : s.status === 'failed'
          ? { status: 'FAILED', statusReasonCode: 'INVALID_PAYMENT_INSTRUMENT' }
          : s.status === 'unsubscribed'
            ? { status: 'DEPROVISIONED', statusReasonCode: 'AGREEMENT_INACTIVE' }
            : { status: 'PROVISIONED', statusReasonCode: s.status === 'active' ? 'AGREEMENT_ACTIVE' : 'AGREEMENT_INACTIVE' };
    return {
      resource: { id: s.productId, type: 'SaaSProduct' },
      type: 'SaaSProduct',
      ...(s.status === 'unsubscribed' || s.status === 'failed' ? {} : { registrationToken: s.registrationToken }),
      ...state,
      licenseArn: s.licenseArn,
    };
  }

  private summary(s: SubscriptionState): Obj {
    const d = this.describe(s);
    const product = this.product(s);
    const behavior = this.endTimeBehavior(s, product);
    return {
      agreementId: d.agreementId,
      acceptanceTime: d.acceptanceTime,
      startTime: d.startTime,
      endTime: d.endTime,
      lastUpdateTime: seconds(s.updatedAt),
      agreementType: 'PurchaseAgreement',
      acceptor: d.acceptor,
      proposer: d.proposer,
      proposalSummary: d.proposalSummary,
      status: s.agreementStatus,
      entitlements: [{ licenseArn: s.licenseArn }],
      initialAgreementId: s.initialAgreementId,
      endTimeBehaviorType: behavior.type,
      ...(behavior.reasonCode ? { endTimeBehaviorReasonCode: behavior.reasonCode } : {}),
    };
  }

  private search(body: Obj, caller: Caller): Obj {
    const catalog = readString(body, 'catalog', {
      required: true,
      min: 1,
      max: 64,
      invalid: 'INVALID_CATALOG',
      missing: 'INVALID_CATALOG',
    });
    if (catalog !== 'AWSMarketplace')
      throw agreementErrors.validation('INVALID_CATALOG', `catalog must be AWSMarketplace, not ${catalog}.`, 'catalog');
    const { matches, party, sort } = searchFilter(body, (s) => this.product(s));
    const rows = this.catalog
      .all()
      .filter((s) =>
        party === 'Proposer' ? caller.party === 'Proposer' : caller.party === 'Acceptor' && caller.accountId === s.customerAWSAccountId,
      )
      .filter(matches)
      .sort(sort);
    const { page, nextToken } = paginate(rows, body, ['search', body.filters, body.sort ?? null], 50);
    return { agreementViewSummaries: page.map((s) => this.summary(s)), ...(nextToken ? { nextToken } : {}) };
  }
}
