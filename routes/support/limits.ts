import { ValidationError } from '../../src/platform/errors';

/**
 * A page size, strictly: digits only, from 1 to `max`. The request validator coerces `1e400` and
 * `Infinity` to a number, which would reach the query; they are refused here.
 */
export function parseLimit(raw: unknown, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const text = String(raw);
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ValidationError(`limit must be an integer from 1 to ${max}`, {
      errors: [{ path: '/query/limit', message: `an integer from 1 to ${max}` }],
    });
  }
  return n;
}
