#!/usr/bin/env node
// Runs the benchmark (`npm run bench`, after `npm run build:ts`): bench/bench.js.
//
// It needs real SocketCAN (a vcan interface) and, for the large receive buffers, root.
// With vcan usable here (a normal Linux), it runs here. Otherwise, as root on x86_64 Linux,
// it runs inside a User-Mode Linux guest (test/can-vm.sh, as scripts/run-tests.js does).
// Figures are reported, never asserted: the exit status is 0 unless the bench could not run.
//
// Usage: node scripts/run-bench.js [--quick] [--only startup,idle,memory,rx,fanout,send,syscalls,kernel,mqtt,mqttout,base]
//                                  [--repeat N] [--cpu-prof DIR] [--no-strace] [--in-guest]

'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const IFACE = 'vcan0';
const GUEST_TIMEOUT_S = 1200;
const args = process.argv.slice(2).filter((a) => a !== '--in-guest');
const inGuest = process.argv.includes('--in-guest');

function log(message) {
  process.stdout.write(`[run-bench] ${message}\n`);
}

function vcanUsableHere() {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  if (!fs.existsSync('/proc/net/can') && spawnSync('modprobe', ['-q', 'vcan'], { stdio: 'ignore' }).status !== 0) {
    return { ok: false, why: 'this kernel has no SocketCAN' };
  }
  if (spawnSync('ip', ['link', 'show', IFACE], { stdio: 'ignore' }).status !== 0) {
    if (spawnSync('ip', ['link', 'add', 'dev', IFACE, 'type', 'vcan'], { stdio: 'ignore' }).status !== 0) {
      return { ok: false, why: `no ${IFACE}, and it cannot be created here` };
    }
  }
  spawnSync('ip', ['link', 'set', IFACE, 'up'], { stdio: 'ignore' });
  const probe = spawnSync(
    process.execPath,
    ['-e', `const {SocketCanBus}=require(${JSON.stringify(path.join(root, 'dist/lib/can/socketcan.js'))});new SocketCanBus().open(${JSON.stringify(IFACE)}).close();`],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return { ok: false, why: `cannot open a CAN socket on ${IFACE}: ${(probe.stderr || '').trim().split('\n').slice(-1)[0]}` };
  return { ok: true };
}

function guestAvailable() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { ok: false, why: 'the CAN guest needs x86_64 Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, why: 'the CAN guest needs root' };
  return { ok: true };
}

function run(command, commandArgs, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main() {
  if (!fs.existsSync(path.join(root, 'dist', 'cli-bundle.js'))) {
    log('dist/ is missing: run `npm run build:ts` first (npm run bench does)');
    return 1;
  }
  if (spawnSync('gcc', ['--version'], { stdio: 'ignore' }).status !== 0) {
    log('gcc is needed to build the load tools (bench/tools/*.c)');
    return 1;
  }
  const bench = path.join(root, 'bench', 'bench.js');
  const here = vcanUsableHere();
  if (here.ok) return run(process.execPath, [bench, ...args]);
  if (inGuest) {
    log(`inside the CAN guest but SocketCAN is not usable: ${here.why}`);
    return 1;
  }
  const guest = guestAvailable();
  if (!guest.ok) {
    log(`bench NOT RUN: ${here.why}; and no CAN guest: ${guest.why}. On Linux: sudo modprobe vcan, then run as root.`);
    return 1;
  }
  log(`SocketCAN is not usable here (${here.why}): running the bench in a User-Mode Linux guest (1 CPU; ~5.7 us per syscall)`);
  // Other guests on this host add noise: say how busy the host was.
  log(`host load average before: ${require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')} (${require('node:os').cpus().length} CPUs)`);
  const code = await run(path.join(root, 'test', 'can-vm.sh'), [process.execPath, __filename, '--in-guest', ...args], {
    CANVM_IFACES: IFACE,
    CANVM_TIMEOUT: String(GUEST_TIMEOUT_S),
  });
  log(`host load average after: ${require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (code !== 0) log(`CAN guest exited with status ${code}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`failed: ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
