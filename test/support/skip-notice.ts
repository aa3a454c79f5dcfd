import { appendFileSync } from 'node:fs';

/**
 * Records why a suite skipped itself. The summary reporter prints every notice before the
 * closing count, so a skipped suite is visible in the last lines of the run.
 */
export function announceSkip(notice: string): void {
  // eslint-disable-next-line no-console
  console.warn(`SKIPPED: ${notice}`);
  const file = process.env.MARKETPLACE_BRIDGE_SKIP_FILE;
  if (file) appendFileSync(file, `${notice}\n`);
}
