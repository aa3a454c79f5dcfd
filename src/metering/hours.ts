/**
 * UTC hour arithmetic for metering buckets. Pure: no clock, all instants are passed in.
 *
 * AWS deduplicates metering records per customer, dimension and *hour* (facts §6, "Dedupe key"),
 * and MeterUsage rounds the Timestamp down to the hour (facts §1.7). Our buckets are therefore
 * keyed and stamped with the UTC start of their usage hour.
 */

/** One hour in milliseconds. */
export const HOUR_MS = 3_600_000;

function assertValid(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${what}: invalid date`);
  return t;
}

/** Start of the UTC hour containing `d` (floor; also correct before 1970). */
export function hourStart(d: Date): Date {
  const t = assertValid(d, 'hourStart');
  return new Date(Math.floor(t / HOUR_MS) * HOUR_MS);
}

/** Canonical key of the hour containing `d`: the ISO-8601 string of its start, e.g. `2026-03-31T23:00:00.000Z`. */
export function hourKey(d: Date): string {
  return hourStart(d).toISOString();
}

/** Start of the UTC hour after the one containing `d`. */
export function nextHour(d: Date): Date {
  return new Date(hourStart(d).getTime() + HOUR_MS);
}

/** True when `d` is exactly the start of a UTC hour. */
export function isHourStart(d: Date): boolean {
  const t = assertValid(d, 'isHourStart');
  return t % HOUR_MS === 0;
}

/** Default upper bound on the number of hours {@link hoursBetween} returns (a year and a bit). */
export const DEFAULT_MAX_HOURS = 24 * 400;

/**
 * Starts of the UTC hours that lie in `[hourStart(from), hourStart(to))`, oldest first.
 *
 * Half-open on purpose: with `to = now`, the result is exactly the hours that have *finished*
 * (the current hour is excluded), which is what the emitter seals. Empty when `to` is in the same
 * hour as `from` or earlier.
 *
 * @param opts.maxHours refuse (RangeError) to build more than this many entries; default {@link DEFAULT_MAX_HOURS}.
 */
export function hoursBetween(from: Date, to: Date, opts: { maxHours?: number } = {}): Date[] {
  const start = hourStart(from).getTime();
  const end = hourStart(to).getTime();
  const max = opts.maxHours ?? DEFAULT_MAX_HOURS;
  const count = Math.max(0, (end - start) / HOUR_MS);
  if (count > max) throw new RangeError(`hoursBetween: ${count} hours exceeds the limit of ${max}`);
  const out: Date[] = [];
  for (let t = start; t < end; t += HOUR_MS) out.push(new Date(t));
  return out;
}
