#!/usr/bin/env node
// Runs the benchmark (`npm run bench`, after `npm run build:ts`): bench/bench.js.
//
// It needs real SocketCAN (a vcan interface) and, for the large receive buffers, root.
// With vcan usable here (a normal Linux), it runs here. Otherwise, as root on x86_64 Linux,
// it runs inside a User-Mode Linux guest (test/can-vm.sh, as scripts/run-tests.js does).
// Figures are reported, never asserted: the exit status is 0 unless the bench could not run.
//
// Usage: node scripts/run-bench.js [--quick] [--only startup,idle,memory,rx,fanout,send,syscalls,kernel,mqtt,mqttout,base,binding]
//                                  [--repeat N] [--cpu-prof DIR] [--no-strace] [--no-jitter] [--in-guest]
//
// `binding` (only when named in --only: it installs from npm) compares the SocketCAN binding
// with node-can: node-can is installed here, on the host, into a scratch folder
// ($TMPDIR/uvscpd-bench-node-can, never a dependency of this package), then
// bench/binding/compare.js runs where the CAN is (its options: --drain N, --tx N, --strace N,
// --seconds S, --rates, --no-python).

'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const IFACE = 'vcan0';
/** A whole `npm run bench` took 52 minutes in a slow guest (bench/README.md); CANVM_TIMEOUT overrides. */
const GUEST_TIMEOUT_S = Number(process.env.CANVM_TIMEOUT) > 0 ? Number(process.env.CANVM_TIMEOUT) : 3600;
const args = process.argv.slice(2).filter((a) => a !== '--in-guest');
const inGuest = process.argv.includes('--in-guest');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? '').split(',') : null;
const wantBinding = only !== null && only.includes('binding');
const others = only === null ? null : only.filter((s) => s !== 'binding');
/** node-can as the binding comparison uses it: `socketcan@4` resolves to 4.0.7 on Node 20 (the 4.3 line declares Node 22), so the version is pinned. */
const NODE_CAN = 'socketcan@4.3.1';
const NODE_CAN_DIR = process.env.NODE_CAN_DIR || path.join(require('node:os').tmpdir(), 'uvscpd-bench-node-can');

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

/**
 * Installs node-can into NODE_CAN_DIR (a scratch folder with its own package.json) and builds
 * its addon with node-gyp against this Node's headers. Reused while version and Node match.
 * Returns an error text, or null.
 */
function prepareNodeCan() {
  const stamp = path.join(NODE_CAN_DIR, 'built-for.txt');
  const want = `${NODE_CAN} ${process.version} ${process.arch}`;
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === want) {
    log(`node-can: ${NODE_CAN} already built in ${NODE_CAN_DIR}`);
    return null;
  }
  log(`node-can: installing ${NODE_CAN} into ${NODE_CAN_DIR} (npm, then node-gyp)`);
  fs.mkdirSync(NODE_CAN_DIR, { recursive: true });
  fs.writeFileSync(path.join(NODE_CAN_DIR, 'package.json'), `${JSON.stringify({ name: 'uvscpd-bench-node-can', private: true })}\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const steps = [
    ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', NODE_CAN],
    // Built explicitly: the package ships a prebuilt addon, and newer npm skips install scripts.
    ['rebuild', 'socketcan', '--foreground-scripts'],
  ];
  for (const step of steps) {
    const r = spawnSync(npm, step, { cwd: NODE_CAN_DIR, encoding: 'utf8', timeout: 600000 });
    if (r.status !== 0) return `npm ${step[0]} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-5).join(' | ')}`;
  }
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(NODE_CAN_DIR, 'node_modules', 'socketcan'))})`], { encoding: 'utf8' });
  if (probe.status !== 0) return `node-can does not load: ${(probe.stderr || '').trim().split('\n').slice(-3).join(' | ')}`;
  fs.writeFileSync(stamp, want);
  return null;
}

/** What runs where the CAN is: bench.js for the daemon's scenarios, compare.js for `binding`. */
async function runHere() {
  let code = 0;
  if (others === null || others.length > 0) {
    const benchArgs = others === null ? args : args.map((a, i) => (i === onlyIndex + 1 ? others.join(',') : a));
    code = await run(process.execPath, [path.join(root, 'bench', 'bench.js'), ...benchArgs]);
  }
  if (wantBinding) {
    const compareArgs = args.filter((_, i) => i !== onlyIndex && i !== onlyIndex + 1);
    const c = await run(process.execPath, [path.join(root, 'bench', 'binding', 'compare.js'), '--node-can', NODE_CAN_DIR, ...compareArgs]);
    code = code || c;
  }
  return code;
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
  if (wantBinding && !inGuest) {
    const why = prepareNodeCan();
    if (why !== null) log(`node-can NOT available (${why}): the binding comparison runs without it`);
  }
  const here = vcanUsableHere();
  if (here.ok) return runHere();
  if (inGuest) {
    log(`inside the CAN guest but SocketCAN is not usable: ${here.why}`);
    return 1;
  }
  const guest = guestAvailable();
  if (!guest.ok) {
    log(`bench NOT RUN: ${here.why}; and no CAN guest: ${guest.why}. On Linux: sudo modprobe vcan, then run as root.`);
    return 1;
  }
  log(`SocketCAN is not usable here (${here.why}): running the bench in a User-Mode Linux guest (1 CPU; every system call, clock reads included, is a trip through the host: meta.start.syscall_us says what one costs in this run)`);
  // Other guests on this host add noise: say how busy the host was.
  log(`host load average before: ${require('node:os').loadavg().map((x) => x.toFixed(2)).join(' ')} (${require('node:os').cpus().length} CPUs)`);
  const code = await run(path.join(root, 'test', 'can-vm.sh'), [process.execPath, __filename, '--in-guest', ...args], {
    CANVM_IFACES: IFACE,
    CANVM_TIMEOUT: String(GUEST_TIMEOUT_S),
    NODE_CAN_DIR,
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
