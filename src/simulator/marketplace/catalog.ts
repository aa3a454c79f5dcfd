import { randomBytes } from 'node:crypto';
import * as ids from '../ids';
import type { ScheduledTask } from '../clock';
import type {
  AgreementIntent,
  AgreementStatus,
  CreateProductInput,
  SimEntitlement,
  SimProduct,
  SimSubscription,
  SubscriptionStatus,
} from '../types';

/**
 * Internal state of one subscription, which is one agreement (the public {@link SimSubscription} is a
 * copy of it). With concurrent agreements one buyer account holds several of these per product.
 */
export interface SubscriptionState {
  id: string;
  productCode: string;
  productId: string;
  registrationToken: string;
  customerIdentifier?: string;
  customerAWSAccountId: string;
  licenseArn: string;
  agreementId: string;
  offerId: string;
  freeTrial: boolean;
  status: SubscriptionStatus;
  agreementStatus: AgreementStatus;
  intent: AgreementIntent;
  initialAgreementId: string;
  previousAgreementId?: string;
  autoRenew: boolean;
  activatedAt?: number;
  agreementEndedAt?: number;
  endedAt?: number;
  /** Last change of anything the Agreement API shows (its `lastUpdateTime`). */
  updatedAt: number;
  entitlements: SimEntitlement[];
  createdAt: number;
  /** Pending confirm/end step on the simulator clock, cancelled when the state moves on. */
  timer?: ScheduledTask;
}

interface TokenState {
  subscriptionId: string;
  expiresAt: number;
}

const PRODUCT_CODE = /^[-a-zA-Z0-9/=:_.@]{1,255}$/; // §1.5 ProductCode pattern

/**
 * Products, subscriptions, registration tokens and customer identifiers. Pure bookkeeping: no
 * timers fire here and nothing is published (see `lifecycle.ts`).
 */
export class Catalog {
  private readonly productsByCode = new Map<string, SimProduct>();
  private readonly subscriptionsById = new Map<string, SubscriptionState>();
  private readonly tokens = new Map<string, TokenState>();
  /** "The customer identifier … is universal between products" (§1.5): one per buyer account. */
  private readonly identifiers = new Map<string, string>();
  private readonly issuedIdentifiers = new Set<string>();
  // Indexes over the identity fields, which never change after a subscription is added: lookups
  // per metering record stay O(1) with tens of thousands of buyers.
  private readonly byAccount = new Map<string, SubscriptionState[]>();
  private readonly byIdentifier = new Map<string, SubscriptionState[]>();
  private readonly byLicense = new Map<string, SubscriptionState>();
  private readonly byAgreement = new Map<string, SubscriptionState>();
  private sequence = 0;

  constructor(
    private readonly region: string,
    private readonly topicOwner: string,
  ) {}

  createProduct(input: CreateProductInput): SimProduct {
    if (!PRODUCT_CODE.test(input.productCode)) throw new Error(`invalid product code ${JSON.stringify(input.productCode)}`);
    if (this.productsByCode.has(input.productCode)) throw new Error(`product ${input.productCode} already exists`);
    if (!input.dimensions?.length) throw new Error('a product needs at least one dimension');
    const names = new Set(input.dimensions.map((d) => d.name));
    if (names.size !== input.dimensions.length) throw new Error('dimension names must be unique');
    const arn = (kind: string) => `arn:aws:sns:${this.region}:${this.topicOwner}:aws-mp-${kind}-notification-${input.productCode}`;
    const product: SimProduct = {
      productCode: input.productCode,
      productId: input.productId ?? ids.productId(),
      pricingModel: input.pricingModel,
      identity: input.identity,
      dimensions: input.dimensions.map((d) => ({ name: d.name, type: d.type ?? 'Integer', price: price(d.price) })),
      // §5.4: EventBridge replaces SNS for new (license-identity) listings.
      notifications: input.notifications ?? (input.identity === 'license' ? 'eventbridge' : 'sns'),
      subscriptionTopicArn: arn('subscription'),
      entitlementTopicArn: arn('entitlement'),
    };
    this.productsByCode.set(product.productCode, product);
    return product;
  }

  product(productCode: string): SimProduct | undefined {
    return this.productsByCode.get(productCode);
  }

  products(): SimProduct[] {
    return [...this.productsByCode.values()];
  }

  /** The buyer account's customer identifier, created on first use. */
  customerIdentifierFor(accountId: string): string {
    let id = this.identifiers.get(accountId);
    if (!id) {
      id = ids.customerIdentifier();
      this.identifiers.set(accountId, id);
      this.issuedIdentifiers.add(id);
    }
    return id;
  }

  /** True if the identifier was ever issued to any buyer (for any product). */
  isKnownCustomerIdentifier(identifier: string): boolean {
    return this.issuedIdentifiers.has(identifier);
  }

  addSubscription(state: Omit<SubscriptionState, 'id' | 'registrationToken'>): SubscriptionState {
    this.sequence += 1;
    const full: SubscriptionState = {
      ...state,
      id: `sub-${String(this.sequence).padStart(4, '0')}-${ids.randomHex(8)}`,
      registrationToken: '',
    };
    this.subscriptionsById.set(full.id, full);
    push(this.byAccount, `${full.productCode}|${full.customerAWSAccountId}`, full);
    if (full.customerIdentifier !== undefined) push(this.byIdentifier, `${full.productCode}|${full.customerIdentifier}`, full);
    this.byLicense.set(full.licenseArn, full);
    this.byAgreement.set(full.agreementId, full);
    return full;
  }

  get(subscriptionId: string): SubscriptionState {
    const s = this.subscriptionsById.get(subscriptionId);
    if (!s) throw new Error(`unknown subscription ${subscriptionId}`);
    return s;
  }

  all(): SubscriptionState[] {
    return [...this.subscriptionsById.values()];
  }

  /** Subscriptions of one product and buyer account, newest first. */
  forAccount(productCode: string, accountId: string): SubscriptionState[] {
    return newestFirst(this.byAccount.get(`${productCode}|${accountId}`));
  }

  /** Subscriptions of one product and customer identifier, newest first. */
  forCustomerIdentifier(productCode: string, customerIdentifier: string): SubscriptionState[] {
    return newestFirst(this.byIdentifier.get(`${productCode}|${customerIdentifier}`));
  }

  byLicenseArn(arn: string): SubscriptionState | undefined {
    return this.byLicense.get(arn);
  }

  /** The subscription holding an agreement id (current or past: a legacy re-subscription keeps its old ids). */
  byAgreementId(agreementId: string): SubscriptionState | undefined {
    return this.byAgreement.get(agreementId);
  }

  /** Registers a new agreement id for a subscription (a legacy re-subscription starts a new agreement). */
  indexAgreement(s: SubscriptionState): void {
    this.byAgreement.set(s.agreementId, s);
  }

  /** Mints a registration token for the subscription; older tokens stay valid until they expire. */
  mintToken(subscriptionId: string, now: number, ttlMs: number): string {
    const sub = this.get(subscriptionId);
    // Opaque, long and URL-unsafe characters included, like real tokens (they are form-encoded).
    const token = randomBytes(96).toString('base64');
    this.tokens.set(token, { subscriptionId, expiresAt: now + ttlMs });
    sub.registrationToken = token;
    return token;
  }

  /** Looks a token up: `undefined` if never issued, else its subscription and expiry. */
  token(token: string): (TokenState & { subscription: SubscriptionState }) | undefined {
    const t = this.tokens.get(token);
    return t ? { ...t, subscription: this.get(t.subscriptionId) } : undefined;
  }

  /** The public copy of a subscription. */
  view(s: SubscriptionState, baseUrl: string): SimSubscription {
    return {
      id: s.id,
      productCode: s.productCode,
      productId: s.productId,
      registrationToken: s.registrationToken,
      ...(s.customerIdentifier !== undefined ? { customerIdentifier: s.customerIdentifier } : {}),
      customerAWSAccountId: s.customerAWSAccountId,
      licenseArn: s.licenseArn,
      agreementId: s.agreementId,
      offerId: s.offerId,
      freeTrial: s.freeTrial,
      status: s.status,
      agreementStatus: s.agreementStatus,
      intent: s.intent,
      initialAgreementId: s.initialAgreementId,
      ...(s.previousAgreementId !== undefined ? { previousAgreementId: s.previousAgreementId } : {}),
      autoRenew: s.autoRenew,
      createdAt: s.createdAt,
      ...(s.activatedAt !== undefined ? { activatedAt: s.activatedAt } : {}),
      ...(s.agreementEndedAt !== undefined ? { agreementEndedAt: s.agreementEndedAt } : {}),
      ...(s.endedAt !== undefined ? { endedAt: s.endedAt } : {}),
      entitlements: s.entitlements.map((e) => ({ ...e })),
      buyerPageUrl: `${baseUrl}/simulator/buyer/${encodeURIComponent(s.id)}`,
    };
  }
}

const PRICE = /^[0-9]{1,9}(\.[0-9]{1,8})?$/;

/** A dimension's unit price: a decimal string, default `'1.00'`. */
function price(value: string | undefined): string {
  if (value === undefined) return '1.00';
  if (typeof value !== 'string' || !PRICE.test(value))
    throw new Error(`invalid dimension price ${JSON.stringify(value)}: a decimal string such as "0.05"`);
  return value;
}

function push(index: Map<string, SubscriptionState[]>, key: string, s: SubscriptionState): void {
  const list = index.get(key);
  if (list) list.push(s);
  else index.set(key, [s]);
}

function newestFirst(list: SubscriptionState[] | undefined): SubscriptionState[] {
  return [...(list ?? [])].sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
}
