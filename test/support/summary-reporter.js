'use strict';
const fs = require('node:fs');
/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after Jest's own summary,
 * preceded by every notice a suite recorded when it skipped itself (for example the
 * PostgreSQL suite without TEST_DATABASE_URL), so that a skipped suite is never silent.
 */
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.MARKETPLACE_BRIDGE_SKIP_FILE;
    if (file && fs.existsSync(file)) {
      const notices = new Set(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean));
      for (const notice of notices) process.stdout.write(`SKIPPED: ${notice}\n`);
      fs.rmSync(file, { force: true });
    }
    const passed = results.numPassedTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
module.exports = SummaryReporter;
