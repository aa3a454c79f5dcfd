/**
 * Polls `probe` until it answers something truthy and returns that answer; fails with "timed out
 * waiting for <what>" after `timeoutMs`. For outcomes that arrive asynchronously (queues, HTTP
 * deliveries) where the test cannot await the cause itself.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
