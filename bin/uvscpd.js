#!/usr/bin/env node
'use strict';
// The `uvscpd` command. Everything is in lib/cli.ts (compiled to dist/).
let cli;
try {
  cli = require('../dist/lib/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/lib/cli.js')) {
    process.stderr.write("uvscpd: dist/lib/cli.js is missing: run 'npm run build' first\n");
    process.exit(1);
  }
  throw err;
}
cli.run(process.argv.slice(2));
