import type { Logger } from '../platform/logger';
import type { Clock } from '../platform/clock';
import { AppError, isAppError } from '../platform/errors';
import { hasContract, type ProductCatalog, type ProductConfig } from '../products/product-config';
import type { Customer, Entitlement } from './customer';
import type { CustomerRepository } from './customer.repository';
import type { CustomerResolver, EntitlementReader } from './ports';

export interface RegistrationResult {
  readonly customer: Customer;
  readonly product: ProductConfig;
  readonly entitlements: readonly Entitlement[];
  /** `unavailable`: GetEntitlements failed for now; the snapshot is refreshed later by events and reconciliation. */
  readonly entitlementsStatus: 'not-applicable' | 'current' | 'unavailable';
}

export interface RegistrationDeps {
  readonly resolver: CustomerResolver;
  readonly entitlements: EntitlementReader;
  readonly customers: CustomerRepository;
  readonly catalog: ProductCatalog;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The registration URL's work (facts §1.5, seed 6939): redeem the token at once, check the product
 * is ours, store or merge the customer, read a contract's entitlements. Repeating it is harmless.
 */
export class RegistrationService {
  constructor(private readonly deps: RegistrationDeps) {}

  async register(registrationToken: string, hints: { freeTrialOffer?: boolean } = {}): Promise<RegistrationResult> {
    const { resolver, catalog, customers, clock, logger } = this.deps;
    const resolved = await resolver.resolveCustomer(registrationToken);
    const product = catalog.find(resolved.productCode);
    if (!product) {
      logger.warn({ productCode: resolved.productCode }, 'registration for a product this service does not serve');
      throw new AppError('This subscription is for a product this service does not serve.', {
        code: 'unknown_product',
        httpStatus: 403,
        details: { productCode: resolved.productCode },
      });
    }
    if (!resolved.customerIdentifier && !(resolved.customerAWSAccountId && resolved.licenseArn)) {
      throw new AppError('AWS Marketplace did not identify the buyer.', { code: 'unidentified_buyer', httpStatus: 502 });
    }
    const customer = await customers.upsert(
      {
        productCode: resolved.productCode,
        customerIdentifier: resolved.customerIdentifier,
        customerAWSAccountId: resolved.customerAWSAccountId,
        licenseArn: resolved.licenseArn,
        freeTrial: hints.freeTrialOffer,
      },
      clock.now(),
      { registered: true },
    );
    logger.info({ customerId: customer.id, productCode: product.code, status: customer.subscription.status }, 'buyer registered');

    if (!hasContract(product.pricingModel)) {
      return { customer, product, entitlements: [], entitlementsStatus: 'not-applicable' };
    }
    try {
      // The snapshot is dated before the read: a slow read must not replace a newer snapshot
      // that an event or the reconciliation stored meanwhile (newest fetch wins).
      const fetchedAt = clock.now();
      const entitlements = await this.deps.entitlements.readEntitlements(product.code, customer);
      await customers.replaceEntitlements(customer.id, entitlements, fetchedAt);
      const refreshed = (await customers.findById(customer.id)) ?? customer;
      return { customer: refreshed, product, entitlements, entitlementsStatus: 'current' };
    } catch (error) {
      // The buyer is stored; a failed read must not lose the registration. Events and the
      // periodic reconciliation fetch the contract again.
      logger.warn(
        { customerId: customer.id, err: isAppError(error) ? error.message : String(error) },
        'GetEntitlements failed during registration',
      );
      const stored = await customers.listEntitlements(customer.id);
      return { customer, product, entitlements: stored, entitlementsStatus: 'unavailable' };
    }
  }
}
