/**
 * `npm run test:reliability`: the long-running proof suites (test/reliability) and the long run of
 * the model-based money test. RELIABILITY_FULL=1 runs the full figures; without it, the CI subset.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');
module.exports = {
  ...base,
  testMatch: ['**/test/reliability/**/*.reliability.ts'],
  testTimeout: 1_800_000,
  maxWorkers: 1,
  coverageThreshold: undefined,
};
