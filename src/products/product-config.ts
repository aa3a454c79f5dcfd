import { z } from 'zod';
import demoProductsJson from '../demo-products.json';

/**
 * The seller's Marketplace products, as configured (`MARKETPLACE_PRODUCTS` or
 * `MARKETPLACE_PRODUCTS_FILE`). One service instance may serve several products.
 */

/** How usage reported within one hour is turned into the hour's quantity (design §3.2). */
export const aggregationModes = ['sum', 'max', 'latest', 'distinct', 'overage'] as const;

/** What an `overage` dimension compares with its entitlement (see {@link dimensionConfigSchema}). */
export const overageBases = ['sum', 'max', 'latest'] as const;

export const pricingModels = ['subscription', 'contract', 'contract-with-consumption'] as const;
export type PricingModel = (typeof pricingModels)[number];

/** `batch`: BatchMeterUsage from the seller's account (SaaS). `meter-usage`: MeterUsage from the buyer's account. */
export const meteringApis = ['batch', 'meter-usage'] as const;

const dimensionName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'a dimension API name: letters, digits, _ . : -');

export const dimensionConfigSchema = z.object({
  name: dimensionName,
  description: z.string().max(200).optional(),
  aggregation: z.enum(aggregationModes).default('sum'),
  /**
   * `overage` only: what the entitlement is compared with. `sum` (cumulative, e.g. GB processed):
   * the running total over the entitlement period, billed only above the entitled quantity.
   * `max` / `latest` (peak, e.g. seats): each hour's peak or latest value, minus the entitled
   * quantity. Default `sum` (the behaviour of configurations written before this field existed).
   */
  overageBasis: z.enum(overageBases).optional(),
  /** Send a zero-quantity record every hour even without usage (AWS recommends it, facts §6). */
  heartbeat: z.boolean().default(true),
  /** Metered through the usage API (false for contract-only entitlement dimensions). */
  metered: z.boolean().default(true),
});
export type DimensionConfig = z.infer<typeof dimensionConfigSchema>;

export const productConfigSchema = z
  .object({
    code: z
      .string()
      .min(1)
      .max(255)
      .regex(/^[-a-zA-Z0-9/=:_.@]*$/, 'an AWS product code (letters, digits, - / = : _ . @)'),
    name: z.string().min(1).max(200),
    pricingModel: z.enum(pricingModels),
    meteringApi: z.enum(meteringApis).default('batch'),
    /**
     * The buyer identity AWS uses for this listing: `license` (CustomerAWSAccountId + LicenseArn,
     * required for listings from June 2026, facts §6) or `customer-identifier` (older listings).
     */
    identity: z.enum(['license', 'customer-identifier']).default('license'),
    /**
     * Identity migration of a live `customer-identifier` listing (facts §1.6: "stop sending ProductCode
     * before you start sending LicenseArn"): hours before this whole UTC hour are metered with
     * CustomerIdentifier + ProductCode, this hour and every later one with CustomerAWSAccountId +
     * LicenseArn only. Each hour has exactly one identity; a customer whose licence is not known yet
     * is held (never sent the old way after the cut-over). Unset: no migration.
     */
    identityCutoverAt: z.iso
      .datetime({ offset: true })
      .refine((v) => new Date(v).getTime() % 3_600_000 === 0, 'a whole UTC hour, e.g. 2026-12-01T00:00:00Z')
      .optional(),
    dimensions: z.array(dimensionConfigSchema).default([]),
  })
  .superRefine((product, ctx) => {
    if (product.identityCutoverAt !== undefined && product.identity !== 'customer-identifier')
      ctx.addIssue({
        code: 'custom',
        path: ['identityCutoverAt'],
        message: 'an identity cut-over applies to identity customer-identifier only',
      });
    const seen = new Set<string>();
    for (const [index, dimension] of product.dimensions.entries()) {
      if (seen.has(dimension.name)) {
        ctx.addIssue({ code: 'custom', path: ['dimensions', index, 'name'], message: `dimension "${dimension.name}" is listed twice` });
      }
      seen.add(dimension.name);
      if (dimension.overageBasis !== undefined && dimension.aggregation !== 'overage') {
        ctx.addIssue({
          code: 'custom',
          path: ['dimensions', index, 'overageBasis'],
          message: 'overageBasis applies only to aggregation overage',
        });
      }
      if (dimension.aggregation === 'overage' && product.pricingModel !== 'contract-with-consumption') {
        ctx.addIssue({
          code: 'custom',
          path: ['dimensions', index, 'aggregation'],
          message: 'overage needs pricingModel contract-with-consumption',
        });
      }
    }
  });
export type ProductConfig = z.infer<typeof productConfigSchema>;

export const productsSchema = z
  .array(productConfigSchema)
  .min(1, 'at least one product')
  .superRefine((products, ctx) => {
    const codes = new Set<string>();
    for (const [index, product] of products.entries()) {
      if (codes.has(product.code))
        ctx.addIssue({ code: 'custom', path: [index, 'code'], message: `product code "${product.code}" is listed twice` });
      codes.add(product.code);
    }
  });

/** True for the pricing models whose buyers hold a contract read through GetEntitlements. */
export function hasContract(model: PricingModel): boolean {
  return model === 'contract' || model === 'contract-with-consumption';
}

/** A lookup over the configured products. */
export class ProductCatalog {
  private readonly byCode: ReadonlyMap<string, ProductConfig>;

  constructor(readonly products: readonly ProductConfig[]) {
    this.byCode = new Map(products.map((p) => [p.code, p]));
  }

  find(code: string | undefined): ProductConfig | undefined {
    return code === undefined ? undefined : this.byCode.get(code);
  }

  dimension(code: string, dimension: string): DimensionConfig | undefined {
    return this.byCode.get(code)?.dimensions.find((d) => d.name === dimension);
  }
}

/**
 * The products `npm start` shows when nothing is configured (simulator mode only): a legacy
 * customer-identifier subscription and a license-identity contract with consumption (`seats` billed
 * above the contract, `api_calls` pay-as-you-go). They live in `src/demo-products.json`, which
 * `npm run simulator` reads too, so both show the same demo products.
 */
export const demoProducts: ProductConfig[] = productsSchema.parse(demoProductsJson);
