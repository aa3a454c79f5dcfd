import { createHash } from 'node:crypto';
import { agreementTimes, CONTRACT_DURATION, FREE_TRIAL_DURATION } from '../marketplace/agreement-times';
import type { SubscriptionState } from '../marketplace/catalog';
import type { SimProduct } from '../types';
import { seconds } from './agreement-input';

type Obj = Record<string, unknown>;

/** A stable term id per agreement and term type (`term-` + 24 hex), so repeated reads agree. */
function termId(s: SubscriptionState, type: string): string {
  return `term-${createHash('sha256').update(`${s.agreementId}|${type}`).digest('hex').slice(0, 24)}`;
}

function term(s: SubscriptionState, member: string, type: string, body: Obj): Obj {
  return { [member]: { type, id: termId(s, type), ...body } };
}

/** Whole-number entitlements of a contract, as ConfigurableUpfrontPricingTerm dimensions. */
function contractDimensions(s: SubscriptionState, product: SimProduct): Array<{ dimensionKey: string; dimensionValue: number }> {
  return product.dimensions.flatMap((d) => {
    const e = s.entitlements.find((x) => x.dimension === d.name);
    const value = e?.integerValue ?? (e?.booleanValue === true ? 1 : undefined);
    return value === undefined ? [] : [{ dimensionKey: d.name, dimensionValue: value }];
  });
}

/** What the contract costs: the sum of entitled quantities × unit price, as a 2-decimal string. */
export function contractValue(s: SubscriptionState, product: SimProduct): string {
  if (product.pricingModel === 'subscription') return '0.00';
  const total = contractDimensions(s, product).reduce(
    (sum, d) => sum + d.dimensionValue * Number(product.dimensions.find((x) => x.name === d.dimensionKey)?.price ?? 0),
    0,
  );
  return total.toFixed(2);
}

/**
 * The accepted terms of an agreement (GetAgreementTerms `acceptedTerms`, §5.5): a union, each element
 * with exactly one member. Every agreement has a `legalTerm` (Standard Contract), a `supportTerm` and a
 * `validityTerm`. By pricing model (the simulator's choice of what such an offer holds):
 * - subscription: `usageBasedPricingTerm` (a rate card per dimension);
 * - contract: `configurableUpfrontPricingTerm` (the bought quantities, 12 months) and a `renewalTerm`;
 * - contract-with-consumption: both, plus the `renewalTerm`.
 * A free trial adds `freeTrialPricingTerm` (31 days, a grant per dimension), which is how a seller
 * tells a free trial from the Agreement API.
 */
export function acceptedTerms(s: SubscriptionState, product: SimProduct): Obj[] {
  const { startTime, endTime } = agreementTimes(s, product);
  const rateCard = product.dimensions.map((d) => ({ dimensionKey: d.name, price: d.price }));
  const contract = product.pricingModel !== 'subscription';
  const terms: Obj[] = [
    term(s, 'legalTerm', 'LegalTerm', { documents: [{ type: 'StandardEula', version: '2022-07-14' }] }),
    term(s, 'supportTerm', 'SupportTerm', { refundPolicy: 'Refunds are handled by the seller on request.' }),
  ];
  if (s.freeTrial) {
    terms.push(
      term(s, 'freeTrialPricingTerm', 'FreeTrialPricingTerm', {
        duration: FREE_TRIAL_DURATION,
        grants: product.dimensions.map((d) => ({ dimensionKey: d.name })),
      }),
    );
  }
  if (contract) {
    terms.push(
      term(s, 'configurableUpfrontPricingTerm', 'ConfigurableUpfrontPricingTerm', {
        currencyCode: 'USD',
        rateCards: [
          {
            selector: { type: 'Duration', value: CONTRACT_DURATION },
            constraints: { multipleDimensionSelection: 'Allowed', quantityConfiguration: 'Allowed' },
            rateCard,
          },
        ],
        configuration: { selectorValue: CONTRACT_DURATION, dimensions: contractDimensions(s, product) },
      }),
      term(s, 'renewalTerm', 'RenewalTerm', { configuration: { enableAutoRenew: s.autoRenew } }),
    );
  }
  if (product.pricingModel !== 'contract') {
    terms.push(term(s, 'usageBasedPricingTerm', 'UsageBasedPricingTerm', { currencyCode: 'USD', rateCards: [{ rateCard }] }));
  }
  terms.push(
    term(s, 'validityTerm', 'ValidityTerm', {
      ...(contract ? { agreementDuration: CONTRACT_DURATION } : {}),
      agreementStartDate: seconds(startTime),
      agreementEndDate: seconds(endTime),
    }),
  );
  return terms;
}
