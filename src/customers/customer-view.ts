import type { Customer, Entitlement } from './customer';
import { TRANSITION_RANK, type SubscriptionState, type TransitionKind } from './subscription-state';

/**
 * The public representation of a customer (openapi.yaml `Customer`), shared by the customers API,
 * the change feed and webhook payloads, so that an app reads one shape everywhere. Pure.
 */
export interface CustomerView {
  readonly id: string;
  readonly productCode: string;
  readonly customerIdentifier: string | null;
  readonly customerAWSAccountId: string | null;
  readonly licenseArn: string | null;
  readonly offerId: string | null;
  readonly agreementId: string | null;
  readonly freeTrial: boolean;
  readonly status: SubscriptionState['status'];
  /** The Marketplace event that set the status (`subscribe-success`, `license-updated`, …); null while none has. */
  readonly statusReason: TransitionKind | null;
  readonly statusEventTime: string | null;
  readonly activatedAt: string | null;
  readonly finalWindowOpenedAt: string | null;
  readonly endedAt: string | null;
  readonly externalId: string | null;
  /** The customer whose agreement this one renewed or replaced (its `externalId` moved here). */
  readonly previousCustomerId: string | null;
  readonly onboarding: {
    readonly email: string | null;
    readonly company: string | null;
    readonly contactName: string | null;
    readonly onboardedAt: string | null;
  };
  readonly personalDataErasedAt: string | null;
  readonly registeredAt: string | null;
  readonly entitlementsFetchedAt: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Grows by one with every change of the customer: of two versions, the higher is the newer. */
  readonly version: number;
  readonly entitlements?: readonly EntitlementView[];
}

export interface EntitlementView {
  readonly dimension: string;
  readonly valueType: Entitlement['value']['type'];
  readonly value: number | boolean | string | null;
  readonly expirationDate: string | null;
}

/** The public JSON shape of a customer; with `entitlements`, its contract snapshot too. */
export function customerJson(customer: Customer, entitlements?: readonly Entitlement[]): CustomerView {
  const s = customer.subscription;
  return {
    id: customer.id,
    productCode: customer.productCode,
    customerIdentifier: customer.customerIdentifier,
    customerAWSAccountId: customer.customerAWSAccountId,
    licenseArn: customer.licenseArn,
    offerId: customer.offerId,
    agreementId: customer.agreementId,
    freeTrial: customer.freeTrial,
    status: s.status,
    statusReason: statusReason(s),
    statusEventTime: iso(s.statusEventTime),
    activatedAt: iso(s.activatedAt),
    finalWindowOpenedAt: iso(s.finalWindowOpenedAt),
    endedAt: iso(s.endedAt),
    externalId: customer.externalId,
    previousCustomerId: customer.previousCustomerId,
    onboarding: {
      email: customer.onboarding.email,
      company: customer.onboarding.company,
      contactName: customer.onboarding.contactName,
      onboardedAt: iso(customer.onboarding.onboardedAt),
    },
    personalDataErasedAt: iso(customer.personalDataErasedAt),
    registeredAt: iso(customer.registeredAt),
    entitlementsFetchedAt: iso(customer.entitlementsFetchedAt),
    createdAt: customer.createdAt.toISOString(),
    updatedAt: customer.updatedAt.toISOString(),
    version: customer.version,
    ...(entitlements ? { entitlements: entitlements.map(entitlementJson) } : {}),
  };
}

export function entitlementJson(e: Entitlement): EntitlementView {
  return {
    dimension: e.dimension,
    valueType: e.value.type,
    value: e.value.type === 'none' ? null : e.value.value,
    expirationDate: iso(e.expirationDate),
  };
}

/**
 * The event kind that set the current status: the state machine stores its rank
 * ({@link TRANSITION_RANK}), which names exactly one kind.
 */
export function statusReason(state: SubscriptionState): TransitionKind | null {
  if (state.statusEventRank === undefined || state.statusEventTime === null) return null;
  const kind = (Object.keys(TRANSITION_RANK) as TransitionKind[]).find((k) => TRANSITION_RANK[k] === state.statusEventRank);
  return kind ?? null;
}

/** The view with the buyer's personal data removed (what an erasure leaves in stored feed rows and payloads). */
export function withoutPersonalData(view: CustomerView, erasedAt: string): CustomerView {
  // When the form was completed is not personal data; what was typed in it is.
  return { ...view, onboarding: { ...view.onboarding, email: null, company: null, contactName: null }, personalDataErasedAt: erasedAt };
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
