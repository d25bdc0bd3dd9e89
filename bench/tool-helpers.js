// What bench/bench.js and bench/binding/compare.js both need: building the C load tools
// (bench/tools/*.c) and reading the output of the tools and of `strace -c`.

'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Compiles bench/tools/<name>.c for each name into `toolDir` (gcc -O2); throws with gcc's errors. */
function buildTools(toolDir, names) {
  fs.mkdirSync(toolDir, { recursive: true });
  for (const t of names) {
    const src = path.join(__dirname, 'tools', `${t}.c`);
    const r = spawnSync('gcc', ['-O2', '-Wall', '-o', path.join(toolDir, t), src], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`gcc ${t}.c failed:\n${r.stderr}`);
  }
}

/** key=value lines to an object (numbers where the value is one). */
function parseKv(out) {
  const kvs = {};
  for (const line of out.split('\n')) {
    const m = /^([a-z_0-9]+)=(.*)$/.exec(line.trim());
    if (m) kvs[m[1]] = Number.isNaN(Number(m[2])) ? m[2] : Number(m[2]);
  }
  return kvs;
}

/** The table of `strace -c` as { total, bySyscall } (calls per system call). */
function parseStraceSummary(text) {
  const bySyscall = {};
  let total = 0;
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (m && m[3] !== 'total') {
      bySyscall[m[3]] = Number(m[1]);
      total += Number(m[1]);
    }
  }
  return { total, bySyscall };
}

module.exports = { buildTools, parseKv, parseStraceSummary };
