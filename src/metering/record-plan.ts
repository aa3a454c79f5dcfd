/**
 * What a bucket's record is made of when its hour is over, as far as it can be known. Pure: the
 * sealer reads the customer, the product and the entitlement, and writes what this decides.
 *
 * Each part of a record is known (freeze it now), already frozen, or waited for (the bucket is
 * `held`): an overage dimension's quantity waits for an integer entitlement (it is never billed
 * as if nothing were included), a BatchMeterUsage record waits for the customer's metering
 * identity. A cumulative overage quantity is `charge`d against its entitlement period in the
 * transaction that freezes it (see `metering-state.repository.ts`).
 */
import { meteringIdentity, type Customer, type Entitlement } from '../customers/customer';
import type { ProductConfig } from '../products/product-config';
import { billedAllocations, billedQuantity, hourValue, isPeakOverage } from './aggregation';
import type { FrozenQuantity, MeterBucket } from './bucket';
import { HOUR_MS } from './hours';
import type { RecordIdentity } from './record-batching';

export type QuantityPlan =
  | { readonly kind: 'known'; readonly value: FrozenQuantity }
  | { readonly kind: 'charge'; readonly entitled: number; readonly period: string }
  | { readonly kind: 'hold'; readonly reason: string }
  | { readonly kind: 'frozen' };

export type IdentityPlan =
  | { readonly kind: 'known'; readonly identity: RecordIdentity | null }
  | { readonly kind: 'hold'; readonly reason: string }
  | { readonly kind: 'frozen' };

export interface RecordPlan {
  readonly quantity: QuantityPlan;
  readonly identity: IdentityPlan;
  readonly recordTimestamp: Date;
}

/** The hour can never be billed: its product is no longer configured, or its customer row is gone. */
export interface Unbillable {
  readonly unbillable: string;
}

/** True when the bucket's quantity depends on the customer's entitlement (read it before planning). */
export function needsEntitlement(bucket: Pick<MeterBucket, 'mode' | 'aggregate' | 'quantity'>): boolean {
  // Nothing lies above any entitlement (≥ 0) when the hour's value is 0: no need to know it.
  return bucket.quantity === null && bucket.mode === 'overage' && hourValue(bucket.aggregate) > 0;
}

/** Quantity and allocations of the bucket under its mode, `entitled` being what is still included (overage). */
export function quantityOf(bucket: Pick<MeterBucket, 'aggregate' | 'mode'>, entitled: number | undefined): FrozenQuantity {
  const opts = entitled === undefined ? {} : { entitled };
  return {
    quantity: billedQuantity(bucket.aggregate, bucket.mode, opts),
    allocations: billedAllocations(bucket.aggregate, bucket.mode, opts),
  };
}

/**
 * The plan of `bucket`'s record. Parts already frozen on the bucket are `frozen` (never recomputed:
 * a resend stays byte-identical). `entitlement` is the customer's entitlement for the bucket's
 * dimension, when {@link needsEntitlement}.
 */
export function planRecord(
  bucket: MeterBucket,
  customer: Customer | undefined,
  product: ProductConfig | undefined,
  entitlement: Entitlement | undefined,
): RecordPlan | Unbillable {
  if (!customer) return { unbillable: 'customer row missing' };
  if (!product) return { unbillable: `product ${bucket.productCode} is no longer configured` };
  let identity: IdentityPlan = { kind: 'known', identity: null };
  if (bucket.api === 'batch' && bucket.identity !== null) identity = { kind: 'frozen' };
  else if (bucket.api === 'batch') {
    const id = identityFor(customer, product, bucket.hour);
    const wanted = identityStyleFor(product, bucket.hour) === 'license' ? 'CustomerAWSAccountId and LicenseArn' : 'CustomerIdentifier';
    identity = id
      ? { kind: 'known', identity: id }
      : {
          kind: 'hold',
          reason: `waiting for the customer's metering identity (${wanted}); the record is sent once it is known, until the AWS window closes`,
        };
  }
  // Facts §1.6: "Make sure the timestamp value is not before the start of the software usage".
  const activated = customer.subscription.activatedAt;
  const inActivationHour =
    activated !== null && activated.getTime() > bucket.hour.getTime() && activated.getTime() < bucket.hour.getTime() + HOUR_MS;
  const recordTimestamp = bucket.state === 'open' ? (inActivationHour ? activated : bucket.hour) : bucket.recordTimestamp;
  return { quantity: planQuantity(bucket, entitlement), identity, recordTimestamp };
}

function planQuantity(bucket: MeterBucket, e: Entitlement | undefined): QuantityPlan {
  if (bucket.quantity !== null) return { kind: 'frozen' };
  if (!needsEntitlement(bucket)) return { kind: 'known', value: quantityOf(bucket, bucket.mode === 'overage' ? Infinity : undefined) };
  // Contracts: bill only above the entitled quantity (seed 002 "Mesure de l'utilisation").
  const value = e && e.value.type === 'integer' ? e.value.value : undefined;
  if (!e || value === undefined || !Number.isInteger(value) || value < 0) {
    const what = !e
      ? 'none is known'
      : e.value.type === 'integer'
        ? `it is ${String(value)}`
        : `it is a ${e.value.type}${'value' in e.value ? ` (${String(e.value.value)})` : ''}`;
    return {
      kind: 'hold',
      reason: `waiting for an integer entitlement for overage dimension ${bucket.dimension}: ${what}; never billed as if nothing were included`,
    };
  }
  if (isPeakOverage(bucket.aggregate)) return { kind: 'known', value: quantityOf(bucket, value) };
  return { kind: 'charge', entitled: value, period: e.expirationDate ? e.expirationDate.toISOString() : 'open-ended' };
}

/** What the record still waits for, in words (null: nothing). */
export function holdReasonOf(plan: RecordPlan): string | null {
  const holds = [
    plan.quantity.kind === 'hold' ? plan.quantity.reason : null,
    plan.identity.kind === 'hold' ? plan.identity.reason : null,
  ].filter((x): x is string => x !== null);
  return holds.length > 0 ? holds.join('; ') : null;
}

/**
 * The identity style of `hour` for the product: its configured one, except for a legacy listing
 * with an identity cut-over, which is licence style from the cut-over hour on (facts §1.6: sending
 * both styles for one customer and hour double-bills; so one style per hour, for every customer).
 */
export function identityStyleFor(product: ProductConfig, hour: Date): 'license' | 'customer-identifier' {
  if (product.identity === 'customer-identifier' && product.identityCutoverAt !== undefined)
    return hour.getTime() >= new Date(product.identityCutoverAt).getTime() ? 'license' : 'customer-identifier';
  return product.identity;
}

/** The identity the product meters with for `hour` (facts §1.6, §6: licence style for listings from June 2026). */
export function identityFor(customer: Customer, product: ProductConfig, hour: Date): RecordIdentity | null {
  const id = meteringIdentity(customer);
  if (identityStyleFor(product, hour) === 'license') {
    return customer.customerAWSAccountId && customer.licenseArn
      ? { kind: 'license', customerAWSAccountId: customer.customerAWSAccountId, licenseArn: customer.licenseArn }
      : null;
  }
  if (customer.customerIdentifier) return { kind: 'customer-identifier', customerIdentifier: customer.customerIdentifier };
  return id?.kind === 'customer-identifier' ? id : null;
}
