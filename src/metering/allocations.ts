/**
 * Usage tags → BatchMeterUsage `UsageAllocations`. Pure.
 *
 * AWS rules (facts §1.6, §6 "Usage allocations", "Tag characters"):
 *  - at most 2,500 allocations per record, at most 5 tags per allocation, no two allocations with
 *    the same tag set, and the sum of `AllocatedUsageQuantity` must equal the record `Quantity`
 *    (else `InvalidUsageAllocationsException` rejects the whole batch);
 *  - tag key 1–100 chars, value 1–256 chars;
 *  - characters: the service regex `^[a-zA-Z0-9+ -=._:\/@]+$` technically admits the range
 *    0x20–0x3D; we accept only the literal set the Seller Guide lists (letters, digits, space and
 *    `+ - = . _ : / @`), the safe choice (facts §1.6);
 *  - the untagged allocation is the one without `Tags`.
 */

/** Allocation in the SDK's `UsageAllocation` shape, with members always present. */
export interface UsageAllocationInput {
  AllocatedUsageQuantity: number;
  /** Omitted for the untagged allocation. Sorted by key. */
  Tags?: { Key: string; Value: string }[];
}

/** Usage tags as the SaaS app reports them: key → value. */
export type UsageTags = Readonly<Record<string, string>>;

export const MAX_TAGS_PER_ALLOCATION = 5;
export const MAX_ALLOCATIONS_PER_RECORD = 2500;
export const MAX_TAG_KEY_LENGTH = 100;
export const MAX_TAG_VALUE_LENGTH = 256;
/** Largest integer AWS accepts for `Quantity` and `AllocatedUsageQuantity` (facts §0.2). */
export const MAX_QUANTITY = 2_147_483_647;
/** The safe literal character set of facts §1.6 (no 0x20–0x3D range surprise). */
export const TAG_CHARS = /^[a-zA-Z0-9+ \-=._:/@]+$/;
/** {@link allocationKey} of the untagged allocation. */
export const UNTAGGED_KEY = '';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Validate one usage's tag set. Returns human-readable errors; empty means valid.
 * `undefined` and `{}` are valid (untagged).
 */
export function validateTags(tags: unknown): string[] {
  if (tags === undefined) return [];
  if (!isPlainObject(tags)) return ['tags must be an object of string keys to string values'];
  const errors: string[] = [];
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS_PER_ALLOCATION) errors.push(`at most ${MAX_TAGS_PER_ALLOCATION} tags are allowed, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length < 1 || key.length > MAX_TAG_KEY_LENGTH)
      errors.push(`tag key "${key.slice(0, 40)}" must be 1-${MAX_TAG_KEY_LENGTH} characters`);
    else if (!TAG_CHARS.test(key)) errors.push(`tag key "${key.slice(0, 40)}" may contain only letters, digits, space and + - = . _ : / @`);
    if (typeof value !== 'string') {
      errors.push(`tag "${key.slice(0, 40)}" must have a string value`);
      continue;
    }
    if (value.length < 1 || value.length > MAX_TAG_VALUE_LENGTH)
      errors.push(`tag "${key.slice(0, 40)}" value must be 1-${MAX_TAG_VALUE_LENGTH} characters`);
    else if (!TAG_CHARS.test(value))
      errors.push(`tag "${key.slice(0, 40)}" value may contain only letters, digits, space and + - = . _ : / @`);
  }
  return errors;
}

/**
 * Canonical key of a tag set: `''` for no tags, else the JSON of the `[key, value]` pairs sorted
 * by key. JSON (not `k=v;…`) because `=`, `:` and `/` are legal tag characters. Decode with
 * {@link parseAllocationKey}.
 */
export function allocationKey(tags?: UsageTags | null): string {
  if (!tags) return UNTAGGED_KEY;
  const pairs = Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.length === 0 ? UNTAGGED_KEY : JSON.stringify(pairs);
}

/** Inverse of {@link allocationKey}: `undefined` for the untagged key. */
export function parseAllocationKey(key: string): Record<string, string> | undefined {
  if (key === UNTAGGED_KEY) return undefined;
  const pairs = JSON.parse(key) as [string, string][];
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) out[k] = v;
  return out;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Split `total` over `weights` proportionally, using the largest-remainder (Hamilton) method so
 * the parts are integers that sum to `total` exactly. Ties in remainder go to the larger weight,
 * then to the smaller key, so the result does not depend on insertion order. BigInt arithmetic
 * keeps `total * weight` exact. All weights zero: everything goes to the untagged key.
 */
export function apportion(weights: ReadonlyMap<string, number>, total: number): Map<string, number> {
  if (!Number.isSafeInteger(total) || total < 0) throw new RangeError('apportion: total must be a non-negative safe integer');
  const entries = [...weights.entries()].filter(([, w]) => w > 0).sort(([a], [b]) => compareKeys(a, b));
  const out = new Map<string, number>();
  const sumW = entries.reduce((s, [, w]) => s + BigInt(w), 0n);
  if (sumW === 0n) {
    if (total > 0) out.set(UNTAGGED_KEY, total);
    return out;
  }
  const T = BigInt(total);
  let given = 0n;
  const rems: { key: string; weight: number; rem: bigint }[] = [];
  for (const [key, w] of entries) {
    const num = T * BigInt(w);
    const q = num / sumW;
    out.set(key, Number(q));
    given += q;
    rems.push({ key, weight: w, rem: num % sumW });
  }
  rems.sort((a, b) =>
    a.rem !== b.rem ? (a.rem > b.rem ? -1 : 1) : a.weight !== b.weight ? b.weight - a.weight : compareKeys(a.key, b.key),
  );
  for (let left = T - given, i = 0; left > 0n; left--, i++) {
    const r = rems[i % rems.length]!;
    out.set(r.key, (out.get(r.key) ?? 0) + 1);
  }
  return out;
}

/** Options for {@link toUsageAllocations}. */
export interface AllocationLimits {
  /** Max allocations in one record (AWS: 2,500). Default {@link MAX_ALLOCATIONS_PER_RECORD}. */
  maxAllocations?: number;
  /**
   * Max JSON bytes of the `UsageAllocations` array. AWS allows 2,500 allocations of 5 long tags
   * (≈ 4.7 MB) but a request must be < 1 MB (facts §1.6), so a record must stay well under it to be
   * sendable at all. Default 900,000.
   */
  maxBytes?: number;
}

function toAllocation(key: string, quantity: number): UsageAllocationInput {
  const tags = parseAllocationKey(key);
  if (!tags) return { AllocatedUsageQuantity: quantity };
  return { AllocatedUsageQuantity: quantity, Tags: Object.keys(tags).map((k) => ({ Key: k, Value: tags[k]! })) };
}

function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

/**
 * Turn per-tag-set quantities (keyed by {@link allocationKey}) into `UsageAllocations`.
 *
 * - Zero-quantity allocations are dropped (they change nothing for the buyer).
 * - Over the count or byte limit, the largest tag sets stay tagged and the rest are folded into
 *   the untagged allocation: the sum is unchanged and the record stays sendable.
 * - If only the untagged allocation is left, returns `undefined`: omit `UsageAllocations`.
 * - Order: descending quantity, then key; the untagged allocation last. Tags sorted by key.
 *
 * The caller guarantees the parts sum to the record quantity; this function preserves the sum.
 */
export function toUsageAllocations(parts: ReadonlyMap<string, number>, limits: AllocationLimits = {}): UsageAllocationInput[] | undefined {
  const maxAllocations = Math.max(1, Math.min(limits.maxAllocations ?? MAX_ALLOCATIONS_PER_RECORD, MAX_ALLOCATIONS_PER_RECORD));
  const maxBytes = limits.maxBytes ?? 900_000;
  let untagged = 0;
  const tagged: [string, number][] = [];
  for (const [key, q] of parts) {
    if (!Number.isSafeInteger(q) || q < 0) throw new RangeError(`allocation quantity must be a non-negative integer, got ${q}`);
    if (key === UNTAGGED_KEY) untagged += q;
    else if (q > 0) tagged.push([key, q]);
  }
  tagged.sort(([ka, a], [kb, b]) => (a !== b ? b - a : compareKeys(ka, kb)));
  const kept: UsageAllocationInput[] = [];
  // Reserve room for the untagged allocation and the array brackets.
  let bytes = 2 + jsonBytes({ AllocatedUsageQuantity: MAX_QUANTITY }) + 1;
  for (const [key, q] of tagged) {
    const a = toAllocation(key, q);
    const size = jsonBytes(a) + 1;
    if (kept.length < maxAllocations - 1 && bytes + size <= maxBytes) {
      kept.push(a);
      bytes += size;
    } else {
      untagged += q;
    }
  }
  if (kept.length === 0) return undefined;
  if (untagged > 0) kept.push({ AllocatedUsageQuantity: untagged });
  return kept;
}

/** Sum of `AllocatedUsageQuantity` (for checks). */
export function allocatedTotal(allocations: readonly UsageAllocationInput[] | undefined): number {
  return (allocations ?? []).reduce((s, a) => s + a.AllocatedUsageQuantity, 0);
}

/**
 * Check a `UsageAllocations` list against the AWS rules for a record of `quantity`.
 * Returns errors; empty means AWS should accept it.
 */
export function validateUsageAllocations(allocations: readonly UsageAllocationInput[] | undefined, quantity: number): string[] {
  if (allocations === undefined) return [];
  const errors: string[] = [];
  if (allocations.length < 1 || allocations.length > MAX_ALLOCATIONS_PER_RECORD)
    errors.push(`UsageAllocations must have 1-${MAX_ALLOCATIONS_PER_RECORD} entries, got ${allocations.length}`);
  const seen = new Set<string>();
  let sum = 0;
  for (const a of allocations) {
    const q = a.AllocatedUsageQuantity;
    if (!Number.isInteger(q) || q < 0 || q > MAX_QUANTITY)
      errors.push(`AllocatedUsageQuantity must be an integer 0-${MAX_QUANTITY}, got ${q}`);
    sum += q;
    if (a.Tags !== undefined && (a.Tags.length < 1 || a.Tags.length > MAX_TAGS_PER_ALLOCATION))
      errors.push(`an allocation must have 1-${MAX_TAGS_PER_ALLOCATION} tags`);
    const tags: Record<string, string> = {};
    for (const t of a.Tags ?? []) {
      if (Object.prototype.hasOwnProperty.call(tags, t.Key)) errors.push(`tag key "${t.Key}" repeated in one allocation`);
      tags[t.Key] = t.Value;
    }
    errors.push(...validateTags(tags));
    const key = allocationKey(tags);
    if (seen.has(key)) errors.push(`two allocations have the same tag set ${key || '(untagged)'}`);
    seen.add(key);
  }
  if (sum !== quantity) errors.push(`allocations sum to ${sum} but the record quantity is ${quantity}`);
  return errors;
}
