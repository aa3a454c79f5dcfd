/**
 * Small, total helpers for reading untrusted JSON. None of them throws.
 */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON.parse that returns a result instead of throwing. */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : 'invalid JSON' };
  }
}

/**
 * The first of `keys` that holds a non-empty string, trimmed. Keys are tried in order, so list the
 * kebab-case name first and PascalCase/camelCase fallbacks after it (facts §5.2 key-name discrepancy).
 * Doc examples show a leading space in identifiers (" X01EXAMPLEX"), hence the trim.
 */
export function readString(obj: JsonObject, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const value = obj[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return undefined;
}

/** A nested string, e.g. `readPath(detail, ['license', 'arn'])`. */
export function readPath(obj: JsonObject, path: readonly string[]): string | undefined {
  let cur: unknown = obj;
  for (const key of path.slice(0, -1)) {
    if (!isJsonObject(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
    cur = cur[key];
  }
  const last = path[path.length - 1];
  return isJsonObject(cur) && last !== undefined ? readString(cur, [last]) : undefined;
}

/**
 * `isFreeTrialTermPresent` is documented as the *string* "true"/"false" (facts §5.2); accept a boolean
 * too. Anything else is "unknown" (undefined), not an error.
 */
export function readBooleanish(obj: JsonObject, keys: readonly string[]): boolean | undefined {
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const value = obj[key];
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string') {
      const v = value.trim().toLowerCase();
      if (v === 'true') return true;
      if (v === 'false') return false;
    }
  }
  return undefined;
}

/** An ISO-8601 date string, or undefined when absent or not a valid date. */
export function readDate(obj: JsonObject, keys: readonly string[]): Date | undefined {
  const text = readString(obj, keys);
  if (text === undefined) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
