/**
 * Building BatchMeterUsage requests from pending bucket records. Pure.
 *
 * AWS rules (facts §1.6, §6):
 *  - at most 25 `UsageRecords` per call, and the request "less than 1 MB";
 *  - one product per call;
 *  - legacy identity: `CustomerIdentifier` in the record and `ProductCode` on the request; new
 *    identity (mandatory for SaaS products from 1 June 2026): `CustomerAWSAccountId` + `LicenseArn`
 *    in the record and NO request `ProductCode`. Sending both styles for one customer-hour
 *    double-bills, so a call never mixes styles (which style a customer uses is the store's
 *    decision: one per customer, never both);
 *  - the SDK validates nothing (facts §0.1), so everything is checked here before sending;
 *  - oldest first, so records nearest their window deadline go out first.
 * Size is the exact JSON body the SDK sends (facts §1.2: members in model order, `Timestamp` as
 * epoch seconds, undefined members left out); a test checks it against the real SDK's bytes.
 */
import { MAX_QUANTITY, validateUsageAllocations, type UsageAllocationInput } from './allocations';
import { hourStart } from './hours';
import { batchMeterUsageWindow, isWithinWindow, type WindowPolicy } from './windows';

export type { UsageAllocationInput } from './allocations';

/** Who a record bills: legacy CustomerIdentifier, or account id + licence (concurrent agreements). */
export type RecordIdentity =
  { kind: 'customer-identifier'; customerIdentifier: string } | { kind: 'license'; customerAWSAccountId: string; licenseArn: string };

/** One sealed bucket ready to send: exactly one UsageRecord. */
export interface PendingRecord {
  bucketId: string;
  productCode: string;
  identity: RecordIdentity;
  dimension: string;
  /**
   * The record Timestamp: the start of the usage hour (UTC), or in the activation hour the
   * activation time (facts §1.6: not before the start of the software usage). AWS dedupes per hour,
   * so matching and batching floor it to the hour.
   */
  hour: Date;
  /** Integer 0..2147483647. */
  quantity: number;
  /** Must sum to `quantity`; omit when everything is untagged. */
  allocations?: UsageAllocationInput[] | undefined;
}

/** One BatchMeterUsage call. */
export interface MeteringBatch {
  /** Only for the legacy style (AWS: never with LicenseArn records). */
  productCode?: string;
  style: RecordIdentity['kind'];
  /** Oldest hour first. */
  records: PendingRecord[];
  /** JSON body size in bytes as the SDK will send it (headers not included). */
  approxBytes: number;
}

/** Options for {@link planBatches}. */
export interface BatchingOptions {
  /** Records per call, 1..25. Default 25 (AWS maximum). */
  maxRecords?: number;
  /** Body bytes per call: every batch is strictly smaller. Default 1,000,000 ("less than 1 MB"), never more. */
  maxBytes?: number;
  /** When given, records outside the submission window at `now` are rejected as `expired`/`not-yet`. */
  now?: Date;
  /** Window used with `now`. Default {@link batchMeterUsageWindow}. */
  window?: WindowPolicy;
}

/** A record {@link planBatchesDetailed} will not send, and why. */
export interface RejectedRecord {
  record: PendingRecord;
  /** `invalid`: AWS would reject it (fix the data, alert); `oversized`: cannot fit in one request;
   *  `expired`: past its window; `not-yet`: timestamp after `now`. */
  kind: 'invalid' | 'oversized' | 'expired' | 'not-yet';
  reason: string;
}

export const MAX_RECORDS_PER_BATCH = 25;
export const MAX_REQUEST_BYTES = 1_000_000;

const PRODUCT_CODE = /^[-a-zA-Z0-9/=:_.@]*$/;
const ACCOUNT_ID = /^[0-9]+$/;
const LICENSE_ARN =
  /^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$/;

/**
 * One record as BatchMeterUsage carries it (the SDK's `UsageRecord`), members in model order
 * (facts §1.2), undefined members left out. The AWS adapter sends exactly this object.
 */
export interface WireUsageRecord {
  Timestamp: Date;
  Dimension: string;
  CustomerIdentifier?: string;
  Quantity: number;
  UsageAllocations?: Array<{ AllocatedUsageQuantity: number; Tags?: Array<{ Key: string; Value: string }> }>;
  CustomerAWSAccountId?: string;
  LicenseArn?: string;
}

/** The wire form of a pending record (see {@link WireUsageRecord}). */
export function wireRecord(r: PendingRecord): WireUsageRecord {
  const legacy = r.identity.kind === 'customer-identifier' ? r.identity : undefined;
  const license = r.identity.kind === 'license' ? r.identity : undefined;
  // Built member by member: insertion order is the JSON order the size is measured on.
  const ordered: Partial<WireUsageRecord> = { Timestamp: r.hour, Dimension: r.dimension };
  if (legacy) ordered.CustomerIdentifier = legacy.customerIdentifier;
  ordered.Quantity = r.quantity;
  if (r.allocations !== undefined) {
    ordered.UsageAllocations = r.allocations.map((a) =>
      a.Tags === undefined
        ? { AllocatedUsageQuantity: a.AllocatedUsageQuantity }
        : { AllocatedUsageQuantity: a.AllocatedUsageQuantity, Tags: a.Tags.map((t) => ({ Key: t.Key, Value: t.Value })) },
    );
  }
  if (license) {
    ordered.CustomerAWSAccountId = license.customerAWSAccountId;
    ordered.LicenseArn = license.licenseArn;
  }
  return ordered as WireUsageRecord;
}

/**
 * The JSON body the SDK sends for these records: AWS JSON 1.1, members in model order
 * (UsageRecords, then ProductCode), `Timestamp` as epoch seconds with a millisecond fraction,
 * undefined members left out (facts §1.2). A test compares it with the real SDK's bytes.
 */
export function serializeRequest(productCode: string | undefined, records: readonly PendingRecord[]): string {
  const UsageRecords = records.map((r) => {
    const u = wireRecord(r);
    return { ...u, Timestamp: u.Timestamp.getTime() / 1000 };
  });
  return JSON.stringify(productCode === undefined ? { UsageRecords } : { UsageRecords, ProductCode: productCode });
}

/** Exact byte size of {@link serializeRequest} (UTF-8). */
export function requestBytes(productCode: string | undefined, records: readonly PendingRecord[]): number {
  return Buffer.byteLength(serializeRequest(productCode, records), 'utf8');
}

/** The parts of a record that AWS echoes back in its results. */
export interface EchoedRecord {
  readonly customerIdentifier?: string | undefined;
  readonly customerAWSAccountId?: string | undefined;
  readonly licenseArn?: string | undefined;
  readonly dimension?: string | undefined;
  readonly timestamp?: Date | undefined;
}

/**
 * Match key of a record: identity, dimension and hour. AWS dedupes per customer/dimension/hour
 * (facts §6), so two records with one key must never share a call, and results are matched back
 * to records by this key, not by position.
 */
export function echoedRecordKey(u: EchoedRecord): string {
  const t = u.timestamp instanceof Date ? hourStart(u.timestamp).getTime() : Number.NaN;
  return JSON.stringify([u.customerIdentifier ?? null, u.customerAWSAccountId ?? null, u.licenseArn ?? null, u.dimension ?? null, t]);
}

/** {@link echoedRecordKey} of a pending record. */
export function pendingRecordKey(r: PendingRecord): string {
  const id = r.identity;
  return echoedRecordKey({
    customerIdentifier: id.kind === 'customer-identifier' ? id.customerIdentifier : undefined,
    customerAWSAccountId: id.kind === 'license' ? id.customerAWSAccountId : undefined,
    licenseArn: id.kind === 'license' ? id.licenseArn : undefined,
    dimension: r.dimension,
    timestamp: r.hour,
  });
}

function len(v: unknown, min: number, max: number): boolean {
  return typeof v === 'string' && v.length >= min && v.length <= max;
}

/** Everything AWS would reject in this record on its own (facts §1.6, [BOTO] constraints). Empty: valid. */
export function validatePendingRecord(r: PendingRecord): string[] {
  const e: string[] = [];
  if (!len(r.bucketId, 1, Infinity)) e.push('bucketId must be a non-empty string');
  if (!len(r.productCode, 1, 255) || !PRODUCT_CODE.test(r.productCode))
    e.push('productCode must be 1-255 characters of [-a-zA-Z0-9/=:_.@]');
  if (!len(r.dimension, 1, 255)) e.push('dimension must be 1-255 characters');
  if (!(r.hour instanceof Date) || Number.isNaN(r.hour.getTime())) e.push('hour must be a valid date');
  if (!Number.isInteger(r.quantity) || r.quantity < 0 || r.quantity > MAX_QUANTITY)
    e.push(`quantity must be an integer 0-${MAX_QUANTITY}, got ${String(r.quantity)}`);
  const id = r.identity;
  if (id?.kind === 'customer-identifier') {
    if (!len(id.customerIdentifier, 1, 255)) e.push('customerIdentifier must be 1-255 characters');
  } else if (id?.kind === 'license') {
    if (!len(id.customerAWSAccountId, 1, 255) || !ACCOUNT_ID.test(id.customerAWSAccountId))
      e.push('customerAWSAccountId must be 1-255 digits');
    if (typeof id.licenseArn !== 'string' || !LICENSE_ARN.test(id.licenseArn)) e.push('licenseArn is not a valid licence ARN');
  } else {
    e.push('identity.kind must be customer-identifier or license');
  }
  if (Number.isInteger(r.quantity)) e.push(...validateUsageAllocations(r.allocations, r.quantity));
  return e;
}

function limit(v: number | undefined, dflt: number, max: number, what: string): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer`);
  return Math.min(n, max);
}

/**
 * Plan BatchMeterUsage calls. Every sendable record is in exactly one batch; each batch holds one
 * product and one identity style, at most `maxRecords` records, a body under `maxBytes`, never two
 * records with the same {@link usageRecordKey}. Records are sorted by hour (stable); batches come
 * out in the order of their oldest record. Records that cannot be sent are returned in `rejected`.
 */
export function planBatchesDetailed(
  records: readonly PendingRecord[],
  opts: BatchingOptions = {},
): { batches: MeteringBatch[]; rejected: RejectedRecord[] } {
  const maxRecords = limit(opts.maxRecords, MAX_RECORDS_PER_BATCH, MAX_RECORDS_PER_BATCH, 'maxRecords');
  const maxBytes = limit(opts.maxBytes, MAX_REQUEST_BYTES, MAX_REQUEST_BYTES, 'maxBytes');
  const rejected: RejectedRecord[] = [];
  const seenBuckets = new Set<string>();
  const ok: { r: PendingRecord; size: number; key: string }[] = [];
  for (const r of records) {
    const errors = validatePendingRecord(r);
    if (errors.length === 0 && seenBuckets.has(r.bucketId)) errors.push(`bucketId ${r.bucketId} appears twice`);
    if (errors.length > 0) {
      rejected.push({ record: r, kind: 'invalid', reason: errors.join('; ') });
      continue;
    }
    seenBuckets.add(r.bucketId);
    if (opts.now && !isWithinWindow(r.hour, opts.now, opts.window ?? batchMeterUsageWindow)) {
      const future = r.hour.getTime() > opts.now.getTime();
      rejected.push({
        record: r,
        kind: future ? 'not-yet' : 'expired',
        reason: future ? 'timestamp is after now' : 'past the AWS submission window',
      });
      continue;
    }
    const pc = r.identity.kind === 'customer-identifier' ? r.productCode : undefined;
    const alone = requestBytes(pc, [r]);
    if (alone >= maxBytes) {
      rejected.push({ record: r, kind: 'oversized', reason: `a request with only this record is ${alone} bytes, limit < ${maxBytes}` });
      continue;
    }
    ok.push({ r, size: alone - requestBytes(pc, []), key: pendingRecordKey(r) });
  }
  ok.sort((a, b) => a.r.hour.getTime() - b.r.hour.getTime());

  const batches: MeteringBatch[] = [];
  const open = new Map<string, { batch: MeteringBatch; keys: Set<string> }>();
  for (const { r, size, key } of ok) {
    const style = r.identity.kind;
    const group = JSON.stringify([style, r.productCode]);
    let cur = open.get(group);
    const fits = cur && cur.batch.records.length < maxRecords && cur.batch.approxBytes + size + 1 < maxBytes && !cur.keys.has(key);
    if (!cur || !fits) {
      const productCode = style === 'customer-identifier' ? r.productCode : undefined;
      const batch: MeteringBatch = { style, records: [], approxBytes: requestBytes(productCode, []) };
      if (productCode !== undefined) batch.productCode = productCode;
      cur = { batch, keys: new Set() };
      open.set(group, cur);
      batches.push(batch);
    }
    cur.batch.approxBytes += size + (cur.batch.records.length > 0 ? 1 : 0);
    cur.batch.records.push(r);
    cur.keys.add(key);
  }
  return { batches, rejected };
}

/**
 * {@link planBatchesDetailed} without the rejected list. Records that cannot be sent (invalid,
 * oversized, outside the window when `now` is given) are LEFT OUT: use the detailed form to mark them.
 */
export function planBatches(records: readonly PendingRecord[], opts: BatchingOptions = {}): MeteringBatch[] {
  return planBatchesDetailed(records, opts).batches;
}

/**
 * Halve a batch that AWS rejected as a whole (e.g. `TimestampOutOfBoundsException`: "the entire
 * batch is not processed", facts §1.6), so the bad record can be found by bisection. Order is
 * kept; `null` for a single record (nothing left to split).
 */
export function splitForIsolation(batch: MeteringBatch): [MeteringBatch, MeteringBatch] | null {
  if (batch.records.length <= 1) return null;
  const mid = Math.ceil(batch.records.length / 2);
  const half = (records: PendingRecord[]): MeteringBatch => {
    const b: MeteringBatch = { style: batch.style, records, approxBytes: requestBytes(batch.productCode, records) };
    if (batch.productCode !== undefined) b.productCode = batch.productCode;
    return b;
  };
  return [half(batch.records.slice(0, mid)), half(batch.records.slice(mid))];
}
