import type { Customer, Entitlement } from '../../src/customers/customer';
import {
  foldTransitions,
  initialSubscriptionState,
  type StatusTransition,
  type TransitionKind,
} from '../../src/customers/subscription-state';
import { decideAccess, type AccessFacts } from '../../src/entitlements/access-decision';
import type { ProductConfig } from '../../src/products/product-config';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);
const NOW = at(60);

const subscription: ProductConfig = {
  code: 'sub',
  name: 'Sub',
  pricingModel: 'subscription',
  meteringApi: 'batch',
  identity: 'customer-identifier',
  dimensions: [{ name: 'api_calls', aggregation: 'sum', heartbeat: true, metered: true }],
};
const contract: ProductConfig = {
  ...subscription,
  code: 'contract',
  pricingModel: 'contract',
  identity: 'license',
  dimensions: [
    { name: 'seats', aggregation: 'sum', heartbeat: false, metered: false },
    { name: 'sso', aggregation: 'sum', heartbeat: false, metered: false },
    { name: 'tier', aggregation: 'sum', heartbeat: false, metered: false },
    { name: 'archive', aggregation: 'sum', heartbeat: false, metered: false },
  ],
};
const withConsumption: ProductConfig = {
  ...contract,
  code: 'cwc',
  pricingModel: 'contract-with-consumption',
  dimensions: [
    { name: 'seats', aggregation: 'overage', overageBasis: 'max', heartbeat: true, metered: true },
    { name: 'gb', aggregation: 'sum', heartbeat: false, metered: true },
    { name: 'support', aggregation: 'sum', heartbeat: false, metered: false },
  ],
};
const meterUsage: ProductConfig = { ...subscription, code: 'ami', meteringApi: 'meter-usage' };

function customer(events: Array<[TransitionKind, number]>, extra: Partial<Customer> = {}): Customer {
  const transitions: StatusTransition[] = events.map(([kind, minutes]) => ({ kind, eventTime: at(minutes) }));
  return {
    id: 'c1',
    productCode: 'p',
    customerIdentifier: 'ci',
    customerAWSAccountId: null,
    licenseArn: null,
    offerId: null,
    agreementId: null,
    agreementStatus: null,
    agreementIntent: null,
    freeTrial: false,
    subscription: foldTransitions(initialSubscriptionState, transitions),
    onboarding: { email: null, company: null, contactName: null, onboardedAt: null },
    externalId: null,
    previousCustomerId: null,
    personalDataErasedAt: null,
    registeredAt: at(0),
    entitlementsFetchedAt: at(1),
    createdAt: at(0),
    updatedAt: at(1),
    version: 1,
    ...extra,
  };
}

const active = customer([['subscribe-success', 2]]);
const int = (dimension: string, value: number, expiresAtMinute?: number): Entitlement => ({
  dimension,
  value: { type: 'integer', value },
  expirationDate: expiresAtMinute === undefined ? null : at(expiresAtMinute),
});

function facts(over: Partial<AccessFacts>): AccessFacts {
  return { customer: active, product: subscription, entitlements: [], metering: { allowed: true }, now: NOW, ...over };
}

describe('access decisions: the subscription state decides first', () => {
  it.each<[string, Array<[TransitionKind, number]>, boolean, string]>([
    ['registered, not confirmed', [], false, 'awaiting_confirmation'],
    ['subscribe-success', [['subscribe-success', 2]], true, 'subscribed'],
    ['subscribe-fail', [['subscribe-fail', 2]], false, 'subscription_failed'],
    [
      'unsubscribe-pending (final metering window)',
      [
        ['subscribe-success', 2],
        ['unsubscribe-pending', 30],
      ],
      false,
      'subscription_ending',
    ],
    [
      'unsubscribe-success',
      [
        ['subscribe-success', 2],
        ['unsubscribe-pending', 30],
        ['unsubscribe-success', 40],
      ],
      false,
      'subscription_ended',
    ],
    [
      're-subscribed during the final window',
      [
        ['subscribe-success', 2],
        ['unsubscribe-pending', 30],
        ['subscribe-success', 35],
      ],
      true,
      'subscribed',
    ],
    [
      'a stale unsubscribe-pending delivered after a newer subscribe-success',
      [
        ['subscribe-success', 35],
        ['unsubscribe-pending', 30],
      ],
      true,
      'subscribed',
    ],
    ['License Updated', [['license-updated', 2]], true, 'subscribed'],
    [
      'License Deprovisioned',
      [
        ['license-updated', 2],
        ['license-deprovisioned', 20],
      ],
      false,
      'subscription_ended',
    ],
    [
      'Purchase Agreement Ended',
      [
        ['license-updated', 2],
        ['agreement-ended', 20],
      ],
      false,
      'subscription_ending',
    ],
  ])('%s', (_name, events, allowed, reason) => {
    const d = decideAccess(facts({ customer: customer(events) }), {});
    expect({ allowed: d.allowed, reason: d.reason }).toEqual({ allowed, reason });
    expect(d.message.length).toBeGreaterThan(10);
  });

  it('a subscription product bills every dimension per use, whatever the quantity', () => {
    expect(decideAccess(facts({}), { dimension: 'api_calls', quantity: 1e9 })).toMatchObject({
      allowed: true,
      reason: 'billed_per_use',
      entitled: null,
      overage: 0,
    });
  });
});

describe('access decisions: contracts grant what GetEntitlements lists', () => {
  const onContract = (entitlements: Entitlement[], over: Partial<AccessFacts> = {}) => facts({ product: contract, entitlements, ...over });

  it('an integer entitlement: up to the entitled quantity, not one more', () => {
    const e = [int('seats', 10)];
    expect(decideAccess(onContract(e), { dimension: 'seats', quantity: 10 })).toMatchObject({
      allowed: true,
      reason: 'within_entitlement',
      entitled: { valueType: 'integer', quantity: 10 },
      overage: 0,
    });
    expect(decideAccess(onContract(e), { dimension: 'seats', quantity: 11 })).toMatchObject({
      allowed: false,
      reason: 'exceeds_entitlement',
      entitled: { quantity: 10 },
    });
    expect(decideAccess(onContract(e), { dimension: 'seats' })).toMatchObject({ allowed: true, reason: 'within_entitlement' });
    expect(decideAccess(onContract(e), {})).toMatchObject({ allowed: true, reason: 'subscribed' });
  });

  it('a boolean entitlement switches a feature; string and valueless entitlements grant it', () => {
    const e: Entitlement[] = [
      { dimension: 'sso', value: { type: 'boolean', value: false }, expirationDate: null },
      { dimension: 'tier', value: { type: 'string', value: 'gold' }, expirationDate: null },
      { dimension: 'archive', value: { type: 'none' }, expirationDate: null },
      int('seats', 1),
    ];
    expect(decideAccess(onContract(e), { dimension: 'sso' })).toMatchObject({ allowed: false, reason: 'feature_disabled' });
    expect(decideAccess(onContract([{ ...e[0]!, value: { type: 'boolean', value: true } }]), { dimension: 'sso' })).toMatchObject({
      allowed: true,
      reason: 'feature_enabled',
    });
    expect(decideAccess(onContract(e), { dimension: 'tier' })).toMatchObject({
      allowed: true,
      reason: 'within_entitlement',
      entitled: { valueType: 'string', quantity: null },
    });
    expect(decideAccess(onContract(e), { dimension: 'archive' })).toMatchObject({
      allowed: true,
      reason: 'within_entitlement',
      entitled: { valueType: 'none' },
    });
  });

  it('a dimension the contract does not list, or lists only expired, is not entitled', () => {
    expect(decideAccess(onContract([int('seats', 5)]), { dimension: 'sso' })).toMatchObject({ allowed: false, reason: 'not_entitled' });
    const lapsed = decideAccess(onContract([int('seats', 5), int('sso', 1, 30)]), { dimension: 'sso' });
    expect(lapsed).toMatchObject({ allowed: false, reason: 'not_entitled' });
    expect(lapsed.message).toContain('expired');
  });

  it('an entitlement counts until its expiration, not at it', () => {
    expect(decideAccess(onContract([int('seats', 5, 61)]), { dimension: 'seats', quantity: 5 }).allowed).toBe(true);
    expect(decideAccess(onContract([int('seats', 5, 60)]), { dimension: 'seats', quantity: 5 })).toMatchObject({
      allowed: false,
      reason: 'contract_ended',
    });
  });

  it('a contract never read from AWS is not guessed at; an empty or wholly expired one grants nothing', () => {
    const unread = customer([['subscribe-success', 2]], { entitlementsFetchedAt: null });
    expect(decideAccess(onContract([], { customer: unread }), { dimension: 'seats' })).toMatchObject({
      allowed: false,
      reason: 'entitlements_unknown',
    });
    expect(decideAccess(onContract([]), {})).toMatchObject({ allowed: false, reason: 'contract_ended' });
    expect(decideAccess(onContract([int('seats', 5, 10)]), {})).toMatchObject({ allowed: false, reason: 'contract_ended' });
  });

  it('the subscription state still decides first: a cancelled contract with entitlements left is refused', () => {
    const cancelled = customer([
      ['license-updated', 2],
      ['agreement-ended', 20],
    ]);
    expect(decideAccess(onContract([int('seats', 10)], { customer: cancelled }), { dimension: 'seats', quantity: 1 })).toMatchObject({
      allowed: false,
      reason: 'subscription_ending',
    });
  });
});

describe('access decisions: contracts with consumption bill what exceeds the entitlement', () => {
  const onCwc = (entitlements: Entitlement[]) => facts({ product: withConsumption, entitlements });

  it('above the entitled quantity of a metered dimension: allowed, the excess billed as overage', () => {
    expect(decideAccess(onCwc([int('seats', 10)]), { dimension: 'seats', quantity: 14 })).toMatchObject({
      allowed: true,
      reason: 'billed_as_overage',
      overage: 4,
      entitled: { quantity: 10 },
    });
    expect(decideAccess(onCwc([int('seats', 10)]), { dimension: 'seats', quantity: 9 })).toMatchObject({
      allowed: true,
      reason: 'within_entitlement',
      overage: 0,
    });
  });

  it('a metered dimension with no entitlement is billed entirely; an unmetered one is refused', () => {
    expect(decideAccess(onCwc([int('seats', 10)]), { dimension: 'gb', quantity: 3 })).toMatchObject({
      allowed: true,
      reason: 'billed_as_overage',
      overage: 3,
      entitled: null,
    });
    expect(decideAccess(onCwc([int('seats', 10)]), { dimension: 'support', quantity: 1 })).toMatchObject({
      allowed: false,
      reason: 'not_entitled',
    });
  });
});

describe('access decisions: MeterUsage fail policy', () => {
  it('refuses while metering is failing past its limit with fail-closed; SaaS products ignore it', () => {
    expect(decideAccess(facts({ product: meterUsage, metering: { allowed: false } }), {})).toMatchObject({
      allowed: false,
      reason: 'metering_unavailable',
    });
    expect(decideAccess(facts({ product: meterUsage, metering: { allowed: true } }), {})).toMatchObject({ allowed: true });
    expect(decideAccess(facts({ product: subscription, metering: { allowed: false } }), {})).toMatchObject({ allowed: true });
  });

  it('a cancelled customer is refused for that reason, not for metering', () => {
    const ended = customer([
      ['subscribe-success', 2],
      ['unsubscribe-pending', 30],
      ['unsubscribe-success', 40],
    ]);
    expect(decideAccess(facts({ product: meterUsage, customer: ended, metering: { allowed: false } }), {})).toMatchObject({
      reason: 'subscription_ended',
    });
  });
});
