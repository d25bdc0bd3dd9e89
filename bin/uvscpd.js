#!/usr/bin/env node
'use strict';
// The `uvscpd` command. Everything is in lib/cli/ (main.ts), compiled to dist/lib/ and
// bundled into dist/cli-bundle.js (one file to read and resolve at start: scripts/bundle.js).
// V8's on-disk compile cache is for those who want it: NODE_COMPILE_CACHE=<dir>.
let cli;
try {
  cli = require('../dist/cli-bundle.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli-bundle.js')) {
    process.stderr.write("uvscpd: dist/cli-bundle.js is missing: run 'npm run build' first\n");
    process.exit(1);
  }
  throw err;
}
cli.run(process.argv.slice(2));
