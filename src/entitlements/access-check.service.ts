import type { Customer } from '../customers/customer';
import type { CustomerRepository } from '../customers/customer.repository';
import type { Clock } from '../platform/clock';
import { AppError } from '../platform/errors';
import type { ProductCatalog } from '../products/product-config';
import { decideAccess, type AccessDecision, type MeteringHealth } from './access-decision';

/** A 12-digit AWS account id (CustomerAWSAccountId). */
const AWS_ACCOUNT_ID = /^[0-9]{12}$/;

export interface AccessQuery {
  /** Our customer id, the LicenseArn, the CustomerIdentifier or the buyer's AWS account id. */
  readonly customer: string;
  /** The product code, when a CustomerIdentifier names the buyer on several products. */
  readonly product?: string;
  readonly dimension?: string;
  readonly quantity?: number;
}

export interface AccessAnswer {
  readonly customer: Customer;
  readonly decision: AccessDecision;
  readonly checkedAt: Date;
}

/**
 * Answers the SaaS product's question "may this customer use N of dimension D now?" from the
 * stored subscription state and entitlement snapshot (kept current by the notification handlers
 * and the reconciler), without calling AWS: the answer is as fresh as the last event or read.
 */
export class AccessCheckService {
  constructor(
    private readonly deps: {
      customers: CustomerRepository;
      catalog: ProductCatalog;
      /** MeterUsage health now (fail-closed policy); SaaS products ignore it. */
      metering: () => MeteringHealth;
      clock: Clock;
    },
  ) {}

  async check(query: AccessQuery): Promise<AccessAnswer> {
    return this.decide(await this.findOne(query), query, this.deps.clock.now());
  }

  /**
   * Concurrent agreements (facts §1.6): every licence an AWS account holds of one product is its
   * own customer, with its own contract and status, so the answer is one decision per licence
   * (newest first, at most 20). 404 `unknown_customer` when the account holds none.
   */
  async checkAccount(query: { awsAccountId: string; product: string; dimension?: string; quantity?: number }): Promise<AccessAnswer[]> {
    const now = this.deps.clock.now();
    const found = await this.deps.customers.findByAccount(query.awsAccountId, query.product);
    if (found.length === 0) {
      throw new AppError(`Account ${query.awsAccountId} holds no licence of product ${query.product} known here.`, {
        code: 'unknown_customer',
        httpStatus: 404,
      });
    }
    const out: AccessAnswer[] = [];
    for (const customer of found) out.push(await this.decide(customer, query, now));
    return out;
  }

  private async decide(customer: Customer, query: { dimension?: string; quantity?: number }, now: Date): Promise<AccessAnswer> {
    const product = this.deps.catalog.find(customer.productCode);
    if (!product) {
      throw new AppError(`The customer's product ${customer.productCode} is not configured.`, {
        code: 'unknown_product',
        httpStatus: 404,
        details: { productCode: customer.productCode },
      });
    }
    if (query.dimension !== undefined && !product.dimensions.some((d) => d.name === query.dimension)) {
      throw new AppError(`Product ${product.code} has no dimension "${query.dimension}".`, {
        code: 'unknown_dimension',
        httpStatus: 400,
        details: { productCode: product.code, dimensions: product.dimensions.map((d) => d.name) },
      });
    }
    const entitlements = product.pricingModel === 'subscription' ? [] : await this.deps.customers.listEntitlements(customer.id);
    const decision = decideAccess(
      { customer, product, entitlements, metering: this.deps.metering(), now },
      { dimension: query.dimension, quantity: query.quantity },
    );
    return { customer, decision, checkedAt: now };
  }

  private async findOne(query: AccessQuery): Promise<Customer> {
    let found = (await this.deps.customers.findByReference(query.customer)).filter(
      (c) => query.product === undefined || c.productCode === query.product,
    );
    if (found.length === 0 && AWS_ACCOUNT_ID.test(query.customer)) {
      found = await this.deps.customers.findByAccount(query.customer, query.product);
      if (found.length > 1) {
        // Concurrent agreements: every licence is its own customer, answered on its own.
        throw new AppError(
          `Account ${query.customer} holds ${found.length} licences${query.product ? ` of product ${query.product}` : ''}; send one LicenseArn or our customer id.`,
          {
            code: 'several_licences',
            httpStatus: 409,
            details: {
              licences: found.map((c) => ({
                customerId: c.id,
                productCode: c.productCode,
                licenseArn: c.licenseArn,
                status: c.subscription.status,
              })),
            },
          },
        );
      }
    }
    if (found.length === 0) {
      throw new AppError(
        `No customer is known as "${query.customer.slice(0, 80)}"${query.product ? ` for product ${query.product}` : ''}.`,
        { code: 'unknown_customer', httpStatus: 404 },
      );
    }
    if (found.length > 1) {
      throw new AppError(
        `"${query.customer.slice(0, 80)}" names customers of several products; add the product, or send our customer id or the LicenseArn.`,
        {
          code: 'ambiguous_customer',
          httpStatus: 409,
          details: { productCodes: found.map((c) => c.productCode) },
        },
      );
    }
    return found[0]!;
  }
}
