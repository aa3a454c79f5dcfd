'use strict';
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');
/** Gives every test worker one file where suites record why they skipped themselves. */
module.exports = async function globalSetup() {
  const file = path.join(os.tmpdir(), `marketplace-bridge-skips-${process.pid}.txt`);
  fs.rmSync(file, { force: true });
  process.env.MARKETPLACE_BRIDGE_SKIP_FILE = file;
};
