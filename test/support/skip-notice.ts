import { appendFileSync } from 'node:fs';

/**
 * Records why cases were skipped. Nothing is printed here: the summary reporter prints each
 * notice once, just above the closing `N passed, N failed, N skipped` line, and Jest counts the
 * cases themselves as skipped (declare them with `describe.skip`, see `describeDialects`).
 * Notices of one `group` are printed as one line that names every suite.
 */
export function announceSkip(notice: string, grouped?: { group: string; suite: string }): void {
  const file = process.env.MARKETPLACE_BRIDGE_SKIP_FILE;
  const line = grouped ? { notice, group: grouped.group, suite: grouped.suite } : { notice, group: notice };
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
}
