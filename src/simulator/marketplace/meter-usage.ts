import { AwsError } from '../aws-error';
import { InputReader } from '../json-input';
import type { ResolvedOptions } from '../options';
import type { SimProduct } from '../types';
import type { BillingLedger } from './billing-ledger';
import type { Catalog } from './catalog';
import { checkAllocations, PRODUCT_CODE, readAllocations } from './usage-input';
import { hourIso, timestampProblem } from './usage-window';

type Obj = Record<string, unknown>;

/**
 * MeterUsage and RegisterUsage (AMI/container products, §1.7, §1.8). The buyer is whoever signs
 * the call; the simulator identifies it by the access key id and treats it as entitled when the
 * product has at least one active (or unsubscribe-pending) subscription.
 */
export class MeterUsageHandler {
  /** ClientToken → request fingerprint and record id (§1.7 IdempotencyConflictException). */
  private readonly clientTokens = new Map<string, { fingerprint: string; id: string }>();
  /** (product, dimension, hour, caller) → quantity and record id (§1.7 DuplicateRequestException). */
  private readonly emitted = new Map<string, { quantity: number; id: string }>();
  private readonly publicKeyRotation: number;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly catalog: Catalog,
    private readonly ledger: BillingLedger,
    private readonly jwt: (payload: Obj) => string,
  ) {
    this.publicKeyRotation = options.now();
  }

  private product(code: string): SimProduct {
    const p = this.catalog.product(code);
    if (!p) throw new AwsError('InvalidProductCodeException', `Product code ${code} is invalid.`);
    return p;
  }

  private entitled(productCode: string): boolean {
    return this.catalog.all().some((s) => s.productCode === productCode && (s.status === 'active' || s.status === 'unsubscribe-pending'));
  }

  meterUsage(body: Obj, caller: string): Obj {
    const r = new InputReader();
    const productCode = r.string(body, 'ProductCode', 'productCode', { required: true, min: 1, max: 255, pattern: PRODUCT_CODE });
    const timestamp = r.timestamp(body, 'Timestamp', 'timestamp', { required: true });
    const dimension = r.string(body, 'UsageDimension', 'usageDimension', { required: true, min: 1, max: 255 });
    const quantity = r.integer(body, 'UsageQuantity', 'usageQuantity', { min: 0, max: 2_147_483_647 }) ?? 0;
    const dryRun = r.boolean(body, 'DryRun', 'dryRun') ?? false;
    const allocations = readAllocations(r, body, 'meterUsageRequest');
    const clientToken = r.string(body, 'ClientToken', 'clientToken', { min: 1, max: 64 });
    r.finish();
    const product = this.product(productCode!);
    if (!product.dimensions.some((d) => d.name === dimension)) {
      throw new AwsError('InvalidUsageDimensionException', `Dimension ${dimension} is not defined for product ${productCode}.`);
    }
    checkAllocations(allocations, quantity);
    const problem = timestampProblem(timestamp!, this.options.now(), this.options.window.meterUsageMaxAgeMs, false);
    if (problem) throw new AwsError('TimestampOutOfBoundsException', `Timestamp ${new Date(timestamp!).toISOString()} ${problem}.`);
    if (!this.entitled(productCode!)) throw new AwsError('CustomerNotEntitledException', 'The customer is not entitled to the product.');
    if (dryRun) throw new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.');

    const hour = hourIso(timestamp!);
    const fingerprint = JSON.stringify([productCode, dimension, hour, quantity, allocations ?? null]);
    if (clientToken !== undefined) {
      const seen = this.clientTokens.get(clientToken);
      if (seen && seen.fingerprint !== fingerprint)
        throw new AwsError('IdempotencyConflictException', 'ClientToken was already used with different parameters.', 409);
      if (seen) return { MeteringRecordId: seen.id };
    }
    // "The Timestamp is rounded down to the hour for idempotency"; once per hour per dimension per caller.
    const key = `${productCode}|${dimension}|${hour}|${caller}`;
    const previous = this.emitted.get(key);
    if (previous && previous.quantity !== quantity) {
      this.ledger.note('MeterUsage', 'DuplicateRequestException', { dimension, hour, quantity, billedQuantity: previous.quantity });
      throw new AwsError(
        'DuplicateRequestException',
        'A metering record has already been emitted for this dimension and hour with a different quantity.',
      );
    }
    let id = previous?.id;
    if (!id) {
      const outcome = this.ledger.accept({
        productCode: productCode!,
        family: 'product',
        subscriptionId: `caller:${caller}`,
        customerKey: `caller:${caller}`,
        licenseArn: '',
        dimension: dimension!,
        hour,
        quantity,
        ...(allocations ? { allocations } : {}),
        operation: 'MeterUsage',
      });
      id = outcome.status === 'Success' ? outcome.meteringRecordId : outcome.original.meteringRecordId;
      this.emitted.set(key, { quantity, id });
    }
    this.ledger.note('MeterUsage', 'Success', { dimension, hour, quantity, meteringRecordId: id, replay: previous !== undefined });
    if (clientToken !== undefined) this.clientTokens.set(clientToken, { fingerprint, id });
    return { MeteringRecordId: id };
  }

  registerUsage(body: Obj): Obj {
    const r = new InputReader();
    const productCode = r.string(body, 'ProductCode', 'productCode', { required: true, min: 1, max: 255, pattern: PRODUCT_CODE });
    const version = r.integer(body, 'PublicKeyVersion', 'publicKeyVersion', { required: true, min: 1 });
    const nonce = r.string(body, 'Nonce', 'nonce', { max: 255 });
    r.finish();
    this.product(productCode!);
    if (version !== 1)
      throw new AwsError('InvalidPublicKeyVersionException', `Public key version ${version} is invalid; the current version is 1.`);
    if (!this.entitled(productCode!)) throw new AwsError('CustomerNotEntitledException', 'The customer is not entitled to the product.');
    const now = this.options.now();
    return {
      Signature: this.jwt({ productCode, publicKeyVersion: version, ...(nonce ? { nonce } : {}), timestamp: new Date(now).toISOString() }),
      PublicKeyRotationTimestamp: this.publicKeyRotation / 1000,
    };
  }
}
