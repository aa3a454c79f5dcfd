'use strict';
const fs = require('node:fs');
/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, as the last line of the run,
 * preceded by one line per reason cases were skipped (for example the PostgreSQL cases without
 * TEST_DATABASE_URL), so that a skipped case is counted and never silent.
 *
 * Jest runs its own summary and coverage reporters after the custom ones, so the lines are
 * written when the process exits, after everything Jest prints (stdout is synchronous on Linux).
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const lines = [];
    const file = process.env.MARKETPLACE_BRIDGE_SKIP_FILE;
    if (file && fs.existsSync(file)) {
      /** group → { notice, suites } */
      const groups = new Map();
      for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
        const { notice, group, suite } = JSON.parse(line);
        const g = groups.get(group) ?? { notice, suites: new Set() };
        if (suite) g.suites.add(suite);
        groups.set(group, g);
      }
      for (const { notice, suites } of groups.values()) {
        const which = suites.size > 0 ? ` (${suites.size} suite${suites.size > 1 ? 's' : ''}: ${[...suites].sort().join('; ')})` : '';
        lines.push(`SKIPPED: ${notice}${which}`);
      }
      fs.rmSync(file, { force: true });
    }
    const passed = results.numPassedTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    lines.push(`${passed} passed, ${failed} failed, ${skipped} skipped`);
    process.once('exit', () => process.stdout.write(`${lines.join('\n')}\n`));
  }
}
module.exports = SummaryReporter;
