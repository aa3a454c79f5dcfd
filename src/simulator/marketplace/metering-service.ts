import { AwsError } from '../aws-error';
import type { FaultDecision, FaultInjector } from '../faults/fault-injector';
import { InputReader } from '../json-input';
import type { ResolvedOptions } from '../options';
import type { SimProduct } from '../types';
import type { BillingLedger } from './billing-ledger';
import type { Catalog, SubscriptionState } from './catalog';
import { checkAllocations, readBatchMeterUsage, type ParsedUsageRecord } from './usage-input';
import { floorHour, hourIso, timestampProblem } from './usage-window';
import { MeterUsageHandler } from './meter-usage';

type Obj = Record<string, unknown>;

/** The caller's identity (the access key of the SigV4 credential). */
export interface CallerContext {
  accessKeyId: string;
  faults: FaultDecision;
}

/**
 * Is the subscription billable for a record of this hour? The call must happen while the
 * subscription is active or unsubscribe-pending (after subscribe-success, before
 * unsubscribe-success, §6), and the record's hour must not precede the hour of activation
 * ("Records that you send before this notification aren't metered").
 */
export function billable(s: SubscriptionState | undefined, timestampMs: number): boolean {
  if (!s || (s.status !== 'active' && s.status !== 'unsubscribe-pending') || s.activatedAt === undefined) return false;
  return floorHour(timestampMs) >= floorHour(s.activatedAt);
}

/** AWS Marketplace Metering Service: ResolveCustomer, BatchMeterUsage, MeterUsage, RegisterUsage. */
export class MeteringService {
  private readonly meterUsageHandler: MeterUsageHandler;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly catalog: Catalog,
    private readonly ledger: BillingLedger,
    private readonly faults: FaultInjector,
    jwt: (payload: Obj) => string,
  ) {
    this.meterUsageHandler = new MeterUsageHandler(options, catalog, ledger, jwt);
  }

  call(operation: string, body: Obj, ctx: CallerContext): Obj {
    switch (operation) {
      case 'ResolveCustomer':
        return this.resolveCustomer(body);
      case 'BatchMeterUsage':
        return this.batchMeterUsage(body, ctx);
      case 'MeterUsage':
        return this.meterUsageHandler.meterUsage(body, ctx.accessKeyId);
      case 'RegisterUsage':
        return this.meterUsageHandler.registerUsage(body);
      default:
        throw new AwsError('UnknownOperationException', `Unknown operation AWSMPMeteringService.${operation}`);
    }
  }

  /** §1.5: token minted by the buyer redirect; the same token resolves repeatedly until it expires. */
  private resolveCustomer(body: Obj): Obj {
    const r = new InputReader();
    const token = r.string(body, 'RegistrationToken', 'registrationToken', { required: true, min: 1 });
    r.finish();
    const found = this.catalog.token(token!);
    if (!found) throw new AwsError('InvalidTokenException', 'Registration token is invalid');
    if (this.options.now() >= found.expiresAt) throw new AwsError('ExpiredTokenException', 'Registration token is expired');
    const s = found.subscription;
    const product = this.catalog.product(s.productCode)!;
    // Legacy products: CustomerIdentifier + ProductCode (+ account); new products: no CustomerIdentifier,
    // LicenseArn instead ("Not populated for new SaaS product integrations", §1.5).
    if (product.identity === 'customer-identifier') {
      return { CustomerIdentifier: s.customerIdentifier, ProductCode: s.productCode, CustomerAWSAccountId: s.customerAWSAccountId };
    }
    return { ProductCode: s.productCode, CustomerAWSAccountId: s.customerAWSAccountId, LicenseArn: s.licenseArn };
  }

  private batchMeterUsage(body: Obj, ctx: CallerContext): Obj {
    const { productCode, records } = readBatchMeterUsage(body);
    let product: SimProduct | undefined;
    if (productCode !== undefined) {
      product = this.catalog.product(productCode);
      if (!product)
        throw new AwsError('InvalidProductCodeException', `Product code ${productCode} is invalid or not owned by this seller.`);
    }
    // Identity, product and dimension checks reject the whole call (§1.6 error table).
    const resolved = records.map((rec) => this.identify(rec, productCode));
    const requested = product;
    for (const { product: p } of resolved) {
      if (requested && p.productCode !== requested.productCode) {
        throw new AwsError('InvalidLicenseException', `A LicenseArn in this request is not for product ${requested.productCode}.`);
      }
      // "Each BatchMeterUsage request is for only one product" (§1.6).
      product ??= p;
      if (p.productCode !== product.productCode)
        throw new AwsError(
          'InvalidLicenseException',
          'Each BatchMeterUsage request is for only one product; these LicenseArns belong to different products.',
        );
    }
    for (const rec of records) {
      if (!product!.dimensions.some((d) => d.name === rec.dimension)) {
        throw new AwsError(
          'InvalidUsageDimensionException',
          `Dimension ${rec.dimension} is not defined for product ${product!.productCode}.`,
        );
      }
      checkAllocations(rec.allocations, rec.quantity);
    }
    const now = this.options.now();
    for (const rec of records) {
      const problem = timestampProblem(rec.timestamp, now, this.options.window.batchMeterUsageMaxAgeMs, this.options.window.monthEndGrace);
      // "if any of the records are outside of the allowed range, the entire batch is not processed" (§1.6).
      if (problem) throw new AwsError('TimestampOutOfBoundsException', `Timestamp ${new Date(rec.timestamp).toISOString()} ${problem}.`);
    }
    const Results: Obj[] = [];
    const UnprocessedRecords: Obj[] = [];
    resolved.forEach(({ subscription, family }, i) => {
      const rec = records[i]!;
      if (ctx.faults.allUnprocessed || this.faults.unprocessed('BatchMeterUsage')) {
        UnprocessedRecords.push(rec.raw);
        this.ledger.note('BatchMeterUsage', 'Unprocessed', { dimension: rec.dimension, hour: hourIso(rec.timestamp) });
        return;
      }
      Results.push({ UsageRecord: rec.raw, ...this.meter(rec, subscription, family, product!) });
    });
    return { Results, UnprocessedRecords };
  }

  private meter(rec: ParsedUsageRecord, s: SubscriptionState | undefined, family: 'product' | 'license', product: SimProduct): Obj {
    const hour = hourIso(rec.timestamp);
    const who = rec.customerIdentifier ?? rec.licenseArn ?? rec.customerAWSAccountId;
    if (!s || !billable(s, rec.timestamp)) {
      this.ledger.note('BatchMeterUsage', 'CustomerNotSubscribed', {
        customer: who,
        dimension: rec.dimension,
        hour,
        status: s?.status ?? 'none',
      });
      return { Status: 'CustomerNotSubscribed' };
    }
    const outcome = this.ledger.accept({
      productCode: product.productCode,
      family,
      subscriptionId: s.id,
      customerKey: s.customerAWSAccountId,
      licenseArn: s.licenseArn,
      ...(rec.customerIdentifier ? { customerIdentifier: rec.customerIdentifier } : {}),
      customerAWSAccountId: s.customerAWSAccountId,
      dimension: rec.dimension,
      hour,
      quantity: rec.quantity,
      ...(rec.allocations ? { allocations: rec.allocations } : {}),
      operation: 'BatchMeterUsage',
    });
    if (outcome.status === 'DuplicateRecord') {
      this.ledger.note('BatchMeterUsage', 'DuplicateRecord', {
        customer: who,
        dimension: rec.dimension,
        hour,
        quantity: rec.quantity,
        billedQuantity: outcome.original.quantity,
      });
      return { Status: 'DuplicateRecord' };
    }
    this.ledger.note('BatchMeterUsage', 'Success', {
      customer: who,
      dimension: rec.dimension,
      hour,
      quantity: rec.quantity,
      meteringRecordId: outcome.meteringRecordId,
      replay: outcome.replay,
    });
    return { MeteringRecordId: outcome.meteringRecordId, Status: 'Success' };
  }

  /** Works out which product and subscription a record names, rejecting invalid identities. */
  private identify(
    rec: ParsedUsageRecord,
    productCode: string | undefined,
  ): { product: SimProduct; subscription?: SubscriptionState; family: 'product' | 'license' } {
    const { customerIdentifier: ci, customerAWSAccountId: account, licenseArn } = rec;
    if (ci !== undefined && (account !== undefined || licenseArn !== undefined)) {
      // "These parameters are mutually exclusive" (§1.6).
      throw new AwsError(
        'ValidationException',
        'CustomerIdentifier and CustomerAWSAccountId/LicenseArn are mutually exclusive in a UsageRecord.',
      );
    }
    if (ci === undefined && account === undefined) {
      throw new AwsError('ValidationException', 'Each UsageRecord needs either CustomerIdentifier or CustomerAWSAccountId.');
    }
    if (licenseArn !== undefined) {
      const s = this.catalog.byLicenseArn(licenseArn);
      if (!s || s.customerAWSAccountId !== account) {
        throw new AwsError('InvalidLicenseException', 'Ensure the LicenseArn is valid and matches the customer.');
      }
      return { product: this.catalog.product(s.productCode)!, subscription: s, family: 'license' };
    }
    if (productCode === undefined) {
      throw new AwsError('InvalidProductCodeException', 'ProductCode is required for records that do not carry a LicenseArn.');
    }
    const product = this.catalog.product(productCode)!;
    if (ci !== undefined) {
      if (!this.catalog.isKnownCustomerIdentifier(ci)) {
        throw new AwsError('InvalidCustomerIdentifierException', `CustomerIdentifier ${ci} does not exist.`);
      }
      return { product, subscription: current(this.catalog.forCustomerIdentifier(productCode, ci)), family: 'product' };
    }
    if (product.identity === 'license') {
      // New listings meter with CustomerAWSAccountId + LicenseArn (§1.10, §6).
      throw new AwsError('InvalidLicenseException', `Product ${productCode} requires a LicenseArn with CustomerAWSAccountId.`);
    }
    return { product, subscription: current(this.catalog.forAccount(productCode, account!)), family: 'product' };
  }
}

/** The subscription that counts now: an active/unsubscribe-pending one, else the newest. */
function current(subs: SubscriptionState[]): SubscriptionState | undefined {
  return (
    subs.find((s) => s.status === 'active' || s.status === 'unsubscribe-pending') ?? [...subs].sort((a, b) => b.createdAt - a.createdAt)[0]
  );
}
