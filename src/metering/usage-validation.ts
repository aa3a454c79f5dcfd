/**
 * Validation of one usage report from the SaaS app (`POST /v1/usage`, design §3.1). Pure: the
 * product configuration, the window and `now` are passed in. Customer status is checked elsewhere.
 *
 * Rules: quantity is an integer 0..2147483647 (facts §0.2: AWS quantities are integers; the SDK
 * would send 1.5 or -1 unchecked, facts §0.1); the dimension is one of the product's; the timestamp
 * is not in the future beyond a small clock skew and its hour can still be sent (facts §1.6 window,
 * computed from the hour start because records carry the hour start); tags follow the AWS tag rules
 * (facts §1.6); `distinctId` is required for, and only allowed on, `distinct` dimensions.
 */
import { AGGREGATION_MODES, type AggregationMode } from './aggregation';
import { MAX_QUANTITY, validateTags } from './allocations';
import { hourStart } from './hours';
import { batchMeterUsageWindow, windowDeadline, type WindowPolicy } from './windows';

/** One metered dimension of a product. */
export interface DimensionConfig {
  /** How the hour's usage is aggregated into one record. */
  mode: AggregationMode;
}

/** What validation needs to know about a product. */
export interface ProductMeteringConfig {
  /** Keyed by the dimension's AWS API name. */
  dimensions: Readonly<Record<string, DimensionConfig>>;
}

/** Validation settings. */
export interface UsageValidationOptions {
  /** Submission window. Default {@link batchMeterUsageWindow} (24 h, month-end cut-off). */
  window?: WindowPolicy;
  /** How far in the future a timestamp may be (the app's clock may run ahead). Default 300,000 ms (5 min). */
  clockSkewMs?: number;
}

/** A problem with one field of the report. */
export interface FieldError {
  field: string;
  message: string;
}

/** A report that passed validation, normalised. */
export interface ValidatedUsage {
  customer: string;
  dimension: string;
  mode: AggregationMode;
  quantity: number;
  timestamp: Date;
  /** Start of the UTC hour of `timestamp`. */
  hour: Date;
  idempotencyKey: string;
  tags?: Record<string, string>;
  distinctId?: string;
}

export type UsageValidationResult = { ok: true; usage: ValidatedUsage; errors: [] } | { ok: false; errors: FieldError[] };

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function text(v: unknown, field: string, max: number, errors: FieldError[]): string | undefined {
  if (typeof v !== 'string' || v.trim().length === 0)
    errors.push({ field, message: `${field} is required and must be a non-empty string` });
  else if (v.length > max) errors.push({ field, message: `${field} must be at most ${max} characters` });
  else if (CONTROL.test(v)) errors.push({ field, message: `${field} must not contain control characters` });
  else return v;
  return undefined;
}

function parseTimestamp(v: unknown): Date | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
  const m = typeof v === 'string' ? ISO_8601.exec(v) : null;
  if (!m) return undefined;
  // JS Date rolls 30 February over to 2 March; refuse impossible calendar fields instead.
  const [y, mo, d0, h, mi, se, oh, om] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  const daysInMonth = new Date(Date.UTC(y!, mo!, 0)).getUTCDate();
  if (mo! < 1 || mo! > 12 || d0! < 1 || d0! > daysInMonth || h! > 23 || mi! > 59 || se! > 59 || oh! > 23 || om! > 59) return undefined;
  const d = new Date(v as string);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Validate one usage report. Returns every problem found, one entry per field issue. */
export function validateUsage(
  input: unknown,
  product: ProductMeteringConfig,
  now: Date,
  opts: UsageValidationOptions = {},
): UsageValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '', message: 'usage must be a JSON object' }] };
  }
  const u = input as Record<string, unknown>;
  const errors: FieldError[] = [];
  const window = opts.window ?? batchMeterUsageWindow;
  const skew = opts.clockSkewMs ?? 300_000;

  const customer = text(u.customer, 'customer', 255, errors);
  const idempotencyKey = text(u.idempotencyKey, 'idempotencyKey', 255, errors);

  let mode: AggregationMode | undefined;
  const dimension = text(u.dimension, 'dimension', 255, errors);
  if (dimension !== undefined) {
    const cfg = Object.prototype.hasOwnProperty.call(product.dimensions, dimension) ? product.dimensions[dimension] : undefined;
    if (!cfg || !(AGGREGATION_MODES as readonly string[]).includes(cfg.mode)) {
      const known = Object.keys(product.dimensions).slice(0, 24).join(', ');
      errors.push({ field: 'dimension', message: `unknown dimension "${dimension.slice(0, 64)}"; configured: ${known || '(none)'}` });
    } else mode = cfg.mode;
  }

  // Quantity: optional only for distinct dimensions, where each report counts one id.
  let quantity: number | undefined;
  if (u.quantity === undefined && mode === 'distinct') quantity = 1;
  else if (typeof u.quantity !== 'number' || !Number.isInteger(u.quantity)) {
    errors.push({
      field: 'quantity',
      message: `quantity must be a whole number (AWS accepts integers only), got ${u.quantity === undefined ? 'nothing' : (JSON.stringify(u.quantity) ?? String(u.quantity))}`,
    });
  } else if (u.quantity < 0 || u.quantity > MAX_QUANTITY) {
    errors.push({ field: 'quantity', message: `quantity must be between 0 and ${MAX_QUANTITY}, got ${u.quantity}` });
  } else quantity = u.quantity === 0 ? 0 : u.quantity; // normalises -0

  let timestamp: Date | undefined;
  const ts = parseTimestamp(u.timestamp);
  if (!ts) {
    errors.push({
      field: 'timestamp',
      message: 'timestamp is required: an ISO-8601 date-time with a time zone, e.g. 2026-06-01T10:15:00Z',
    });
  } else if (ts.getTime() > now.getTime() + skew) {
    errors.push({
      field: 'timestamp',
      message: `timestamp ${ts.toISOString()} is in the future (now ${now.toISOString()}, allowed clock skew ${skew} ms)`,
    });
  } else {
    const deadline = windowDeadline(hourStart(ts), window);
    if (now.getTime() > deadline.getTime()) {
      errors.push({
        field: 'timestamp',
        message: `timestamp ${ts.toISOString()} is too old: AWS accepts records for that hour only until ${deadline.toISOString()}`,
      });
    } else timestamp = ts;
  }

  let tags: Record<string, string> | undefined;
  if (u.tags !== undefined && u.tags !== null) {
    const tagErrors = validateTags(u.tags);
    for (const message of tagErrors) errors.push({ field: 'tags', message });
    if (tagErrors.length === 0) tags = { ...(u.tags as Record<string, string>) };
  }

  let distinctId: string | undefined;
  if (mode === 'distinct') distinctId = text(u.distinctId, 'distinctId', 255, errors);
  else if (mode !== undefined && u.distinctId !== undefined) {
    errors.push({ field: 'distinctId', message: `distinctId is only allowed for distinct dimensions; "${dimension}" is ${mode}` });
  }

  if (errors.length > 0 || !customer || !idempotencyKey || !dimension || !mode || quantity === undefined || !timestamp) {
    return { ok: false, errors };
  }
  const usage: ValidatedUsage = { customer, dimension, mode, quantity, timestamp, hour: hourStart(timestamp), idempotencyKey };
  if (tags && Object.keys(tags).length > 0) usage.tags = tags;
  if (distinctId !== undefined) usage.distinctId = distinctId;
  return { ok: true, usage, errors: [] };
}
