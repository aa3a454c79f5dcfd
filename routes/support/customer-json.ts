import type { Customer, Entitlement } from '../../src/customers/customer';

/** The public JSON shape of a customer (openapi.yaml `Customer`). */
export function customerJson(customer: Customer, entitlements?: readonly Entitlement[]) {
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
    statusEventTime: iso(s.statusEventTime),
    activatedAt: iso(s.activatedAt),
    finalWindowOpenedAt: iso(s.finalWindowOpenedAt),
    endedAt: iso(s.endedAt),
    onboarding: {
      email: customer.onboarding.email,
      company: customer.onboarding.company,
      contactName: customer.onboarding.contactName,
      onboardedAt: iso(customer.onboarding.onboardedAt),
    },
    registeredAt: iso(customer.registeredAt),
    entitlementsFetchedAt: iso(customer.entitlementsFetchedAt),
    createdAt: customer.createdAt.toISOString(),
    updatedAt: customer.updatedAt.toISOString(),
    ...(entitlements ? { entitlements: entitlements.map(entitlementJson) } : {}),
  };
}

export function entitlementJson(e: Entitlement) {
  return {
    dimension: e.dimension,
    valueType: e.value.type,
    value: e.value.type === 'none' ? null : e.value.value,
    expirationDate: iso(e.expirationDate),
  };
}

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}
