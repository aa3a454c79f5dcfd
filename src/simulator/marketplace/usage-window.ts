const HOUR_MS = 3_600_000;

/** Floors epoch ms to the start of its UTC hour (the metering dedupe granularity, §6). */
export function floorHour(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

export function hourIso(ms: number): string {
  return new Date(floorHour(ms)).toISOString();
}

/**
 * Why a usage timestamp is outside the accepted window, or `undefined` if it is inside.
 * - No future timestamps.
 * - "Usage records aren't accepted 24 hours or more after an event" (BatchMeterUsage, §1.6);
 *   6 hours for MeterUsage (§1.7). `maxAgeMs` carries the figure.
 * - Month end (BatchMeterUsage, §1.6): "We accept usage records for the previous billing month
 *   until 06:00 UTC on the first day of the next month … After 06:00 UTC on April 1, March
 *   records are rejected regardless of the normal 24-hour submission window."
 */
export function timestampProblem(timestampMs: number, nowMs: number, maxAgeMs: number, monthEndGrace: boolean): string | undefined {
  if (timestampMs > nowMs) return 'is in the future';
  if (nowMs - timestampMs >= maxAgeMs)
    return `is ${Math.round((nowMs - timestampMs) / 60_000)} minutes old; the limit is under ${maxAgeMs / 60_000} minutes`;
  if (monthEndGrace) {
    const now = new Date(nowMs);
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    if (timestampMs < monthStart && nowMs >= monthStart + 6 * HOUR_MS) {
      return 'belongs to a billing month that closed at 06:00 UTC on the first day of this month';
    }
  }
  return undefined;
}
