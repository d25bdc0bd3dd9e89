#!/usr/bin/env node
'use strict';
// The `uvscpd` command. Everything is in lib/cli.ts, compiled to dist/lib/ and bundled
// into dist/cli-bundle.js (one file to read and resolve at start: scripts/bundle.js).
// Node >= 22.1 can keep V8's compiled code of our modules on disk between starts
// (faster start-up); older Node has no such API and this is a no-op. Failure to
// use the cache (read-only file system...) is not an error.
try {
  require('node:module').enableCompileCache?.();
} catch {
  // no cache: start as usual
}
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
