#!/usr/bin/env node
// Summarises V8 .cpuprofile files (from `node bench/bench.js --cpu-prof DIR`, which runs the
// main daemon under `node --cpu-prof`): self time per function, top N, with file:line.
//
//   node bench/profile-summary.js DIR_OR_FILE [TOP]

'use strict';

const fs = require('node:fs');
const path = require('node:path');

const target = process.argv[2];
const top = Number(process.argv[3] ?? 25);
if (!target) {
  process.stderr.write('usage: node bench/profile-summary.js DIR_OR_FILE [TOP]\n');
  process.exit(2);
}
const files = fs.statSync(target).isDirectory()
  ? fs.readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(target, f))
  : [target];

for (const file of files) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const dt = prof.timeDeltas;
  for (let i = 0; i < prof.samples.length; i++) {
    const n = byId.get(prof.samples[i]);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? path.basename(cf.url) + ':' + (cf.lineNumber + 1) : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + (dt[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = self.get('(idle)') ?? 0;
  process.stdout.write(`\n${path.basename(file)}: ${(total / 1000).toFixed(0)} ms sampled, ${((total - idle) / 1000).toFixed(0)} ms busy\n`);
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, v] of rows) {
    const busyPct = k === '(idle)' ? '' : `${((v / Math.max(1, total - idle)) * 100).toFixed(1).padStart(5)}% of busy`;
    process.stdout.write(`${(v / 1000).toFixed(1).padStart(9)} ms  ${busyPct.padEnd(13)}  ${k}\n`);
  }
}
