/**
 * Per-dimension aggregation of one bucket (customer identity × dimension × hour). Pure: every
 * function returns a new value; the aggregate is plain JSON so the store can keep it in a column.
 *
 * Why we aggregate at all: AWS does not add up records for the same customer/dimension/hour; a
 * second record with a different quantity is a `DuplicateRecord` and the first quantity stands
 * (facts §6 "Same key sent twice", "Different quantity for the same key"). So exactly one record
 * per bucket, carrying the hour's aggregate.
 *
 * Modes (design §3.2; seed 002 "Consommation": provisioned, concurrent, accumulated):
 *  - `sum`      accumulated consumption (data processed): running total.
 *  - `max`      provisioned or concurrent resources: the peak reported value in the hour.
 *  - `latest`   a sampled gauge: the value with the latest timestamp; ties → greatest idempotency key.
 *  - `distinct` unique users/hosts in the hour: the count of distinct `distinctId`s (quantity ignored).
 *  - `overage`  contracts: only usage above the entitled quantity is billed (seed 002 "Mesure de
 *               l'utilisation": for SaaS contracts, meter only usage above the contract volume).
 *               `entitled` is passed at billing time. Its basis says what is compared:
 *                 `sum` (default, cumulative): the hour's total, and the caller passes what is
 *                 still unused of the entitlement period (so the period's running total is
 *                 billed only above the entitlement);
 *                 `max` / `latest` (peak, e.g. seats): the hour's peak or latest value, and the
 *                 caller passes the entitlement itself (each hour bills its own excess).
 *
 * For sum, max, latest and distinct the aggregate is independent of the order usage arrives in
 * (including its JSON text: keys and lists are kept in canonical order). Idempotency (the same
 * usage twice) is the ledger's job: it must not call {@link addUsage} twice for one key.
 *
 * Allocations (facts §1.6: allocations must sum to the record quantity). The rule per mode:
 *  - `sum`      exact per-tag-set totals.
 *  - `overage`  cumulative basis: the billed quantity split over the per-tag-set totals in
 *               proportion, with the largest-remainder method so the parts are integers that sum
 *               exactly. Peak basis: all of it to the tag set of the picked usage, as for max/latest.
 *  - `max`      all of it to the tag set of the usage that set the peak (ties: smallest idempotency
 *               key). The billed number IS that usage's number, so that is the honest attribution.
 *  - `latest`   all of it to the tag set of the latest usage, for the same reason.
 *  - `distinct` each distinct id counted once, under the tag set of its first report (earliest
 *               timestamp, then smallest idempotency key); per-tag-set counts sum to the count.
 *
 * A stored `distinct` aggregate keeps only the count of its ids (`count`, `ids` empty): the ids are
 * rows of `meter_bucket_distinct_ids`, one per id, so a write costs the same at any count. They are
 * loaded into `ids` for billing (`BucketRepository.withDistinctIds`); billing an aggregate
 * whose `ids` were not loaded throws rather than bill 0.
 */
import { z } from 'zod';
import {
  MAX_QUANTITY,
  allocationKey,
  apportion,
  toUsageAllocations,
  validateTags,
  type AllocationLimits,
  type UsageAllocationInput,
  type UsageTags,
} from './allocations';

export const AGGREGATION_MODES = ['sum', 'max', 'latest', 'distinct', 'overage'] as const;
export type AggregationMode = (typeof AGGREGATION_MODES)[number];

/** What an `overage` bucket compares with the entitlement (module doc). */
export type OverageBasis = 'sum' | 'max' | 'latest';

/** One usage report as the aggregation sees it (already validated and deduplicated by the ledger). */
export interface UsageInput {
  /** Integer 0..2147483647. Ignored for `distinct`. */
  quantity: number;
  timestamp: Date;
  idempotencyKey: string;
  /** Required for `distinct`: the user/host id counted once per hour. */
  distinctId?: string | undefined;
  tags?: UsageTags | undefined;
}

/** A single chosen usage (peak or latest): enough to bill and allocate it. */
export interface PickedUsage {
  quantity: number;
  /** Usage timestamp, epoch ms. */
  at: number;
  idempotencyKey: string;
  /** {@link allocationKey} of its tags. */
  tagKey: string;
}

/** `sum` and cumulative `overage`: running total plus the total per tag set (keys: {@link allocationKey}, sorted). */
export interface TotalAggregate {
  mode: 'sum' | 'overage';
  total: number;
  parts: Record<string, number>;
}
export interface PickAggregate {
  mode: 'max' | 'latest';
  /** `null` until the first usage. */
  pick: PickedUsage | null;
}
/** Peak `overage` (basis `max` or `latest`): the pick, as for those modes. */
export interface PeakOverageAggregate {
  mode: 'overage';
  basis: 'max' | 'latest';
  pick: PickedUsage | null;
}
/** One distinct id of a bucket with its first report. */
export interface DistinctEntry {
  id: string;
  /** Usage timestamp of the first report, epoch ms. */
  at: number;
  idempotencyKey: string;
  /** {@link allocationKey} of its tags. */
  tagKey: string;
}
/**
 * `distinct`: one entry per id, sorted by id; each keeps its first report. `count`: how many ids the
 * bucket has; as stored, `ids` is empty and the ids are rows of their own (module doc).
 */
export interface DistinctAggregate {
  mode: 'distinct';
  ids: DistinctEntry[];
  count?: number;
}
/** Serializable aggregate state of one bucket. */
export type BucketAggregate = TotalAggregate | PickAggregate | DistinctAggregate | PeakOverageAggregate;

/** True for an `overage` aggregate on a peak basis. */
export function isPeakOverage(a: BucketAggregate): a is PeakOverageAggregate {
  return a.mode === 'overage' && 'basis' in a && (a.basis === 'max' || a.basis === 'latest');
}

/**
 * The hour's value before any entitlement: the total (sum, cumulative overage), the picked
 * quantity (max, latest, peak overage) or the distinct count.
 */
export function hourValue(a: BucketAggregate): number {
  if (a.mode === 'distinct') return a.count ?? a.ids.length;
  if ('pick' in a) return a.pick?.quantity ?? 0;
  return a.total;
}

/** The aggregate of a bucket with no usage (bills 0). `basis`: overage only, default `sum`. */
export function emptyAggregate(mode: AggregationMode, basis: OverageBasis = 'sum'): BucketAggregate {
  switch (mode) {
    case 'overage':
      return basis === 'sum' ? { mode, total: 0, parts: {} } : { mode, basis, pick: null };
    case 'sum':
      return { mode, total: 0, parts: {} };
    case 'max':
    case 'latest':
      return { mode, pick: null };
    case 'distinct':
      return { mode, ids: [], count: 0 };
    default:
      throw new RangeError(`unknown aggregation mode ${String(mode)}`);
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkMode(aggregate: BucketAggregate, mode: AggregationMode): void {
  if (!aggregate || aggregate.mode !== mode) throw new RangeError(`aggregate is for mode ${String(aggregate?.mode)}, not ${mode}`);
}

/**
 * Why `usage` cannot be added to `aggregate`, or `null` if it can. The ledger calls this inside its
 * transaction to answer the SaaS app with a clear error instead of storing an unbillable hour.
 */
export function usageRejection(aggregate: BucketAggregate, mode: AggregationMode, usage: UsageInput): string | null {
  if (aggregate.mode !== mode) return `aggregate is for mode ${aggregate.mode}, not ${mode}`;
  if (!(usage.timestamp instanceof Date) || Number.isNaN(usage.timestamp.getTime())) return 'timestamp must be a valid date';
  if (typeof usage.idempotencyKey !== 'string' || usage.idempotencyKey.length === 0) return 'idempotencyKey must be a non-empty string';
  const tagErrors = validateTags(usage.tags);
  if (tagErrors.length > 0) return tagErrors.join('; ');
  if (mode === 'distinct') {
    return typeof usage.distinctId === 'string' && usage.distinctId.length > 0 ? null : 'distinctId is required for a distinct dimension';
  }
  const q = usage.quantity;
  if (!Number.isInteger(q) || q < 0 || q > MAX_QUANTITY) return `quantity must be an integer 0-${MAX_QUANTITY}`;
  // AWS Quantity is at most 2147483647 (facts §0.2); an hour whose total exceeds it cannot be billed.
  if ((mode === 'sum' || mode === 'overage') && 'total' in aggregate && aggregate.total + q > MAX_QUANTITY) {
    return `the hour's total for this dimension would exceed ${MAX_QUANTITY}`;
  }
  return null;
}

/** Add one usage; returns a new aggregate. @throws RangeError with {@link usageRejection}'s reason. */
export function addUsage(aggregate: BucketAggregate, mode: AggregationMode, usage: UsageInput): BucketAggregate {
  checkMode(aggregate, mode);
  const why = usageRejection(aggregate, mode, usage);
  if (why) throw new RangeError(why);
  const tagKey = allocationKey(usage.tags);
  const at = usage.timestamp.getTime();
  if (isPeakOverage(aggregate)) {
    const cand: PickedUsage = { quantity: usage.quantity, at, idempotencyKey: usage.idempotencyKey, tagKey };
    const cur = aggregate.pick;
    return { mode: 'overage', basis: aggregate.basis, pick: !cur || beats(aggregate.basis, cand, cur) ? cand : cur };
  }
  switch (aggregate.mode) {
    case 'sum':
    case 'overage': {
      const parts: Record<string, number> = {};
      const keys = new Set([...Object.keys(aggregate.parts), tagKey]);
      for (const k of [...keys].sort(cmp)) parts[k] = (aggregate.parts[k] ?? 0) + (k === tagKey ? usage.quantity : 0);
      return { mode: aggregate.mode, total: aggregate.total + usage.quantity, parts };
    }
    case 'max':
    case 'latest': {
      const cand: PickedUsage = { quantity: usage.quantity, at, idempotencyKey: usage.idempotencyKey, tagKey };
      const cur = aggregate.pick;
      return { mode: aggregate.mode, pick: !cur || beats(aggregate.mode, cand, cur) ? cand : cur };
    }
    case 'distinct': {
      const id = usage.distinctId!;
      const entry = { id, at, idempotencyKey: usage.idempotencyKey, tagKey };
      const ids = aggregate.ids.slice();
      let lo = 0;
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmp(ids[mid]!.id, id) < 0) lo = mid + 1;
        else hi = mid;
      }
      const found = ids[lo];
      if (found && found.id === id) {
        // Keep the first report (earliest, then smallest key): order-independent.
        if (at < found.at || (at === found.at && cmp(usage.idempotencyKey, found.idempotencyKey) < 0)) ids[lo] = entry;
      } else {
        ids.splice(lo, 0, entry);
      }
      return aggregate.count === undefined ? { mode: 'distinct', ids } : { mode: 'distinct', ids, count: ids.length };
    }
  }
}

/** True when `a` should replace `b` as the bucket's pick. Total orders, so the result is order-independent. */
function beats(mode: 'max' | 'latest', a: PickedUsage, b: PickedUsage): boolean {
  if (mode === 'max') {
    if (a.quantity !== b.quantity) return a.quantity > b.quantity;
    return cmp(a.idempotencyKey, b.idempotencyKey) < 0;
  }
  if (a.at !== b.at) return a.at > b.at;
  if (a.idempotencyKey !== b.idempotencyKey) return cmp(a.idempotencyKey, b.idempotencyKey) > 0;
  return a.quantity > b.quantity;
}

/** Billing-time options. */
export interface BillingOptions {
  /**
   * `overage` only, required: the included quantity available to THIS hour (integer ≥ 0, or
   * Infinity). Cumulative basis: the caller passes what is still unused of the entitlement period,
   * `max(0, entitlement - usageCountedInEarlierHoursOfThePeriod)` (the sealer keeps that count
   * durably). Peak basis: the entitlement itself. No default: guessing 0 would bill included usage.
   */
  entitled?: number;
  /** Allocation limits, see {@link AllocationLimits}. */
  limits?: AllocationLimits;
}

/** The quantity to put in the record. */
export function billedQuantity(aggregate: BucketAggregate, mode: AggregationMode, opts: BillingOptions = {}): number {
  checkMode(aggregate, mode);
  switch (aggregate.mode) {
    case 'sum':
      return aggregate.total;
    case 'overage': {
      const e = opts.entitled;
      if (e === undefined || Number.isNaN(e) || e < 0 || !(Number.isInteger(e) || e === Infinity)) {
        throw new RangeError('overage billing needs opts.entitled: an integer >= 0 (or Infinity)');
      }
      return Math.max(0, hourValue(aggregate) - e);
    }
    case 'max':
    case 'latest':
      return aggregate.pick?.quantity ?? 0;
    case 'distinct':
      return distinctIdsOf(aggregate).length;
  }
}

/** The ids of a distinct aggregate. @throws RangeError when they were not loaded (the stored form keeps only their count). */
function distinctIdsOf(a: DistinctAggregate): DistinctEntry[] {
  if (a.count !== undefined && a.count !== a.ids.length) {
    throw new RangeError(`the ${a.count} distinct ids of this bucket are not loaded (${a.ids.length} are): load them to bill it`);
  }
  return a.ids;
}

/** Quantity per tag set (keys: {@link allocationKey}) summing exactly to {@link billedQuantity}; rules in the module doc. */
export function allocationParts(aggregate: BucketAggregate, mode: AggregationMode, opts: BillingOptions = {}): Map<string, number> {
  const billed = billedQuantity(aggregate, mode, opts);
  switch (aggregate.mode) {
    case 'sum':
      return new Map(Object.entries(aggregate.parts));
    case 'overage':
      if (isPeakOverage(aggregate)) return aggregate.pick ? new Map([[aggregate.pick.tagKey, billed]]) : new Map<string, number>();
      return apportion(new Map(Object.entries(aggregate.parts)), billed);
    case 'max':
    case 'latest':
      return aggregate.pick ? new Map([[aggregate.pick.tagKey, billed]]) : new Map<string, number>();
    case 'distinct': {
      const m = new Map<string, number>();
      for (const e of distinctIdsOf(aggregate)) m.set(e.tagKey, (m.get(e.tagKey) ?? 0) + 1);
      return m;
    }
  }
}

/** `UsageAllocations` for the bucket's record, or `undefined` when only the untagged allocation would remain. */
export function billedAllocations(
  aggregate: BucketAggregate,
  mode: AggregationMode,
  opts: BillingOptions = {},
): UsageAllocationInput[] | undefined {
  return toUsageAllocations(allocationParts(aggregate, mode, opts), opts.limits);
}

const picked = z.object({ quantity: z.number().int().min(0), at: z.number(), idempotencyKey: z.string(), tagKey: z.string() });
const aggregateSchema = z.union([
  z.object({ mode: z.literal('overage'), basis: z.enum(['max', 'latest']), pick: picked.nullable() }),
  z.discriminatedUnion('mode', [
    z.object({ mode: z.enum(['sum', 'overage']), total: z.number().int().min(0), parts: z.record(z.string(), z.number().int().min(0)) }),
    z.object({ mode: z.enum(['max', 'latest']), pick: picked.nullable() }),
    z.object({
      mode: z.literal('distinct'),
      ids: z.array(z.object({ id: z.string(), at: z.number(), idempotencyKey: z.string(), tagKey: z.string() })),
      count: z.number().int().min(0).optional(),
    }),
  ]),
]);

/** Check a stored aggregate (e.g. parsed from a JSON column) and that it matches `mode`. @throws RangeError */
export function parseBucketAggregate(value: unknown, mode: AggregationMode): BucketAggregate {
  const r = aggregateSchema.safeParse(value);
  if (!r.success) throw new RangeError(`stored aggregate is malformed: ${r.error.message}`);
  checkMode(r.data, mode);
  return r.data;
}
