import { AwsError } from '../aws-error';
import { InputReader } from '../json-input';

type Obj = Record<string, unknown>;

/** Model constraints from the service model (§1.5, §1.6, BOTO). */
export const PRODUCT_CODE = /^[-a-zA-Z0-9/=:_.@]*$/;
export const ACCOUNT_ID = /^[0-9]+$/;
export const LICENSE_ARN =
  /^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$/;
const MAX_INT = 2_147_483_647;
/**
 * Tag characters. The model's `^[a-zA-Z0-9+ -=._:\/@]+$` makes ` -=` a range (0x20–0x3D); the
 * Seller Guide lists the characters literally (§1.6). The simulator enforces the literal list,
 * the strict reading, so a client that passes here passes on AWS.
 */
const TAG_CHARS = /^[a-zA-Z0-9+ \-=._:/@]+$/;

export interface Allocation {
  quantity: number;
  tags?: Array<{ key: string; value: string }>;
}

/** One parsed UsageRecord; `raw` is echoed back in results. */
export interface ParsedUsageRecord {
  raw: Obj;
  timestamp: number;
  dimension: string;
  quantity: number;
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  licenseArn?: string;
  allocations?: Allocation[];
}

/** Reads a `UsageAllocations` list (§1.6: 1–2500 allocations, 1–5 tags each, sum = quantity, unique tag sets). */
export function readAllocations(r: InputReader, o: Obj, path: string): Allocation[] | undefined {
  const list = r.list(o, 'UsageAllocations', `${path}.usageAllocations`, { min: 1, max: 2500 });
  if (!list) return undefined;
  return list.map((item, j) => {
    const ap = `${path}.usageAllocations.${j + 1}.member`;
    const a = r.element(item, ap);
    const quantity = r.integer(a, 'AllocatedUsageQuantity', `${ap}.allocatedUsageQuantity`, { required: true, min: 0, max: MAX_INT }) ?? 0;
    const tagList = r.list(a, 'Tags', `${ap}.tags`);
    if (!tagList) return { quantity };
    const tags = tagList.map((t, k) => {
      const tag = r.element(t, `${ap}.tags.${k + 1}.member`);
      const key = tag.Key;
      const value = tag.Value;
      if (typeof key !== 'string' || typeof value !== 'string')
        throw new AwsError('InvalidTagException', 'Each tag needs a string Key and Value.');
      return { key, value };
    });
    return { quantity, tags };
  });
}

/**
 * Rules of `InvalidTagException` ("The tag is invalid, or the number of tags is greater than 5")
 * and `InvalidUsageAllocationsException` ("Sum of allocated usage quantities is not equal to the
 * usage quantity"; allocations must have unique tag sets, §1.7 / §6).
 */
export function checkAllocations(allocations: Allocation[] | undefined, quantity: number): void {
  if (!allocations) return;
  const seen = new Set<string>();
  let sum = 0;
  for (const a of allocations) {
    sum += a.quantity;
    const tags = a.tags ?? [];
    if (a.tags && (tags.length < 1 || tags.length > 5))
      throw new AwsError('InvalidTagException', `An allocation has ${tags.length} tags; 1 to 5 are allowed.`);
    for (const t of tags) {
      if (t.key.length < 1 || t.key.length > 100 || !TAG_CHARS.test(t.key))
        throw new AwsError('InvalidTagException', `Tag key ${JSON.stringify(t.key)} is invalid.`);
      if (t.value.length < 1 || t.value.length > 256 || !TAG_CHARS.test(t.value))
        throw new AwsError('InvalidTagException', `Tag value ${JSON.stringify(t.value)} is invalid.`);
    }
    if (new Set(tags.map((t) => t.key)).size !== tags.length)
      throw new AwsError('InvalidTagException', 'Tag keys must be unique within an allocation.');
    const set = JSON.stringify(tags.map((t) => [t.key, t.value]).sort());
    if (seen.has(set)) throw new AwsError('InvalidUsageAllocationsException', 'Each allocation must have a unique set of tags.');
    seen.add(set);
  }
  if (sum !== quantity) {
    throw new AwsError(
      'InvalidUsageAllocationsException',
      `Sum of allocated usage quantities (${sum}) is not equal to the usage quantity (${quantity}).`,
    );
  }
}

/** Parses a BatchMeterUsage body: ≤25 records, model types and constraints (§1.6). */
export function readBatchMeterUsage(body: Obj): { productCode?: string; records: ParsedUsageRecord[] } {
  const r = new InputReader();
  const productCode = r.string(body, 'ProductCode', 'productCode', { max: 255, pattern: PRODUCT_CODE });
  const list = r.list(body, 'UsageRecords', 'usageRecords', { required: true, max: 25 }) ?? [];
  const records: ParsedUsageRecord[] = [];
  list.forEach((item, i) => {
    const p = `usageRecords.${i + 1}.member`;
    const o = r.element(item, p);
    const timestamp = r.timestamp(o, 'Timestamp', `${p}.timestamp`, { required: true });
    const dimension = r.string(o, 'Dimension', `${p}.dimension`, { required: true, min: 1, max: 255 });
    const customerIdentifier = r.string(o, 'CustomerIdentifier', `${p}.customerIdentifier`, { max: 255 });
    const quantity = r.integer(o, 'Quantity', `${p}.quantity`, { min: 0, max: MAX_INT });
    const customerAWSAccountId = r.string(o, 'CustomerAWSAccountId', `${p}.customerAWSAccountId`, {
      min: 1,
      max: 255,
      pattern: ACCOUNT_ID,
    });
    const licenseArn = r.string(o, 'LicenseArn', `${p}.licenseArn`, { pattern: LICENSE_ARN });
    const allocations = readAllocations(r, o, p);
    records.push({
      raw: o,
      timestamp: timestamp ?? 0,
      dimension: dimension ?? '',
      quantity: quantity ?? 0,
      ...(customerIdentifier ? { customerIdentifier } : {}),
      ...(customerAWSAccountId ? { customerAWSAccountId } : {}),
      ...(licenseArn ? { licenseArn } : {}),
      ...(allocations ? { allocations } : {}),
    });
  });
  r.finish();
  return { ...(productCode ? { productCode } : {}), records };
}
