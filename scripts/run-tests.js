#!/usr/bin/env node
// Runs every test suite (`npm test`), compiled beforehand by `npm run build:ts`.
//
// - unit, protocol and cli suites run anywhere, on this machine.
// - the mqtt suite runs here too: each test starts its own Mosquitto on a free
//   loopback port (Debian mosquitto + mosquitto-clients, scripts/install-deps.sh);
//   without the broker binary it fails, it is never skipped.
// - socketcan suites need real SocketCAN: vcan interfaces and the native addon.
//   With vcan usable here (a normal Linux), they run here. Otherwise, as root on
//   x86_64 Linux, they run inside a User-Mode Linux guest (test/can-vm.sh) that
//   has CAN. Otherwise they are skipped with a loud message, except when CI is
//   set: then that is a failure, never a silent skip.
// - socketcan suites run once per addon build found (node-gyp's build/Release
//   and cmake-js's build-cmake/Release); in CI both must exist.
//
// Usage: node scripts/run-tests.js [--only unit|native|protocol|robustness|cli|mqtt|socketcan] [--in-guest]
// Ends with a plain `N passed, N failed, N skipped` line.

'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const distTest = path.join(root, 'dist', 'test');
const HOST_SUITES = ['unit', 'native', 'protocol', 'robustness', 'cli', 'mqtt'];
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];
const CAN_IFACES = ['vcan0', 'vcan1'];
const ADDON_BUILDS = [
  { name: 'node-gyp', file: path.join(root, 'build', 'Release', 'uvscpd.node') },
  { name: 'cmake-js', file: path.join(root, 'build-cmake', 'Release', 'uvscpd.node') },
];
const GUEST_TIMEOUT_S = 1500;
/** Wall-clock limit of one test run (a suite, or the socketcan suites of one addon). */
const RUN_LIMIT_S = Number(process.env.UVSCPD_TEST_RUN_LIMIT_S) || 600;

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : null;
const inGuest = args.includes('--in-guest');
const isCI = Boolean(process.env.CI) && process.env.CI !== 'false' && process.env.CI !== '0';

const totals = { pass: 0, fail: 0, skipped: 0, runs: 0, runFailures: 0 };

function log(message) {
  process.stdout.write(`\n[run-tests] ${message}\n`);
}

function loud(message) {
  const bar = '!'.repeat(78);
  process.stderr.write(`\n${bar}\n!! ${message.split('\n').join('\n!! ')}\n${bar}\n\n`);
}

function testFiles(suite) {
  const dir = path.join(distTest, suite);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Run a command, stream its output, and add up node:test's summary lines.
 * A per-test timeout does not end a test file whose handles stay open, so
 * each run also has a wall-clock limit: past it, its whole process group is
 * killed and the run counts as failed (CI must end, not hang).
 */
function run(command, commandArgs, env = {}, limitSeconds = RUN_LIMIT_S) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a hung run can be killed whole
    });
    const limit = setTimeout(() => {
      loud(`${path.basename(command)} ${commandArgs.slice(-1)[0]}: still running after ${limitSeconds} s; killing it (counted as a failure)`);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, limitSeconds * 1000);
    let pending = '';
    const tally = (chunk) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        // node:test spec reporter summary ("ℹ pass 12"), and TAP ("# pass 12").
        const m = /^(?:\u2139|#) (pass|fail|skipped) (\d+)\s*$/.exec(line.trim());
        if (m) totals[m[1]] += Number(m[2]);
      }
    };
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      tally(d);
    });
    child.stderr.on('data', (d) => process.stderr.write(d));
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      totals.runs++;
      if (code !== 0) totals.runFailures++;
      resolve(code === null ? 128 + (os.constants.signals[signal] ?? 0) : code);
    });
  });
}

function nodeTest(files, extra = [], env = {}) {
  return run(process.execPath, ['--test', '--test-reporter=spec', ...extra, ...files], env);
}

async function runHostSuites() {
  for (const suite of HOST_SUITES) {
    if (only && only !== suite) continue;
    const files = testFiles(suite);
    if (files.length === 0) {
      log(`no ${suite} tests found under dist/test/${suite}`);
      continue;
    }
    if (suite === 'mqtt' && !MOSQUITTO.some((p) => fs.existsSync(p))) {
      loud('mqtt suites: no mosquitto binary (Debian packages mosquitto, mosquitto-clients: run scripts/install-deps.sh); they fail without it');
      totals.runFailures++;
    }
    log(`${suite} suites (${files.length} files)`);
    await nodeTest(files);
  }
}

/** Can this kernel open CAN sockets on our vcan interfaces? Creates them when root. */
function vcanUsableHere() {
  if (process.platform !== 'linux') return { ok: false, why: 'not Linux' };
  if (!fs.existsSync('/proc/net/can') && spawnSync('modprobe', ['-q', 'vcan'], { stdio: 'ignore' }).status !== 0) {
    return { ok: false, why: 'this kernel has no SocketCAN (no /proc/net/can; `modprobe vcan` failed)' };
  }
  for (const name of CAN_IFACES) {
    const show = spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' });
    if (show.status !== 0) {
      const add = spawnSync('ip', ['link', 'add', 'dev', name, 'type', 'vcan'], { stdio: 'ignore' });
      if (add.status !== 0) return { ok: false, why: `no ${name}, and it cannot be created here (needs root and the vcan module)` };
    }
    spawnSync('ip', ['link', 'set', name, 'up'], { stdio: 'ignore' });
  }
  // The final word: can a CAN_RAW socket be opened and bound? Ask the addon.
  const probe = spawnSync(
    process.execPath,
    ['-e', `const {SocketCanBus}=require(${JSON.stringify(path.join(root, 'dist/lib/can/socketcan.js'))});new SocketCanBus().open('vcan0').close();`],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return { ok: false, why: `cannot open a CAN socket on vcan0: ${(probe.stderr || '').trim().split('\n').slice(-1)[0]}` };
  return { ok: true };
}

function guestAvailable() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { ok: false, why: 'the CAN guest needs x86_64 Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { ok: false, why: 'the CAN guest needs root' };
  if (!fs.existsSync('/usr/bin/linux.uml') && spawnSync('which', ['apt-get'], { stdio: 'ignore' }).status !== 0) {
    return { ok: false, why: 'no User-Mode Linux kernel (Debian package user-mode-linux) and no apt-get to install it' };
  }
  return { ok: true };
}

/** The newest native source (native/*, binding.gyp, CMakeLists.txt), for the staleness check. */
function newestNativeSource() {
  const files = [path.join(root, 'binding.gyp'), path.join(root, 'CMakeLists.txt')];
  for (const f of fs.readdirSync(path.join(root, 'native'))) files.push(path.join(root, 'native', f));
  let newest = { file: '', mtimeMs: 0 };
  for (const f of files) {
    const m = fs.statSync(f).mtimeMs;
    if (m > newest.mtimeMs) newest = { file: f, mtimeMs: m };
  }
  return newest;
}

function addonsToTest() {
  const found = ADDON_BUILDS.filter((b) => fs.existsSync(b.file));
  const missing = ADDON_BUILDS.filter((b) => !fs.existsSync(b.file));
  if (isCI && missing.length > 0) {
    loud(`CI: addon build(s) missing: ${missing.map((b) => `${b.name} (${path.relative(root, b.file)})`).join(', ')}`);
    totals.runFailures++;
  }
  // A build older than the sources tests yesterday's addon: say so instead of failing obscurely.
  const newest = newestNativeSource();
  const current = [];
  for (const b of found) {
    if (fs.statSync(b.file).mtimeMs + 1000 < newest.mtimeMs) {
      const how = b.name === 'cmake-js' ? 'npm run build:cmake' : 'npm run build:native';
      loud(`${b.name} addon ${path.relative(root, b.file)} is older than ${path.relative(root, newest.file)}: run \`${how}\``);
      totals.runFailures++;
    } else {
      current.push(b);
    }
  }
  return current;
}

async function runSocketCanSuites() {
  const files = testFiles('socketcan');
  if (files.length === 0) {
    log('no socketcan tests found under dist/test/socketcan');
    if (isCI) totals.runFailures++;
    return;
  }
  const here = vcanUsableHere();
  if (here.ok || inGuest) {
    if (!here.ok) {
      loud(`inside the CAN guest but SocketCAN is not usable: ${here.why}`);
      totals.runFailures++;
      return;
    }
    const addons = addonsToTest();
    if (addons.length === 0) {
      loud('no native addon build found: run `npm run build:native` (and `npm run build:cmake`)');
      totals.runFailures++;
      return;
    }
    for (const addon of addons) {
      log(`socketcan suites on real vcan, ${addon.name} addon (${files.length} files)`);
      await nodeTest(files, ['--test-concurrency=1'], { UVSCPD_ADDON: addon.file, UVSCPD_TEST_CAN: '1' });
    }
    return;
  }
  const guest = guestAvailable();
  if (guest.ok) {
    log(`SocketCAN is not usable here (${here.why}): running the socketcan suites in a User-Mode Linux guest`);
    const code = await run(
      path.join(root, 'test', 'can-vm.sh'),
      [process.execPath, __filename, '--only', 'socketcan', '--in-guest'],
      { CANVM_IFACES: CAN_IFACES.join(' '), CANVM_TIMEOUT: String(GUEST_TIMEOUT_S) },
      GUEST_TIMEOUT_S + 60,
    );
    // The guest's own runner reports its failures in the summary lines we tallied;
    // a non-zero exit with no failed test means the guest itself failed.
    if (code !== 0) log(`CAN guest exited with status ${code}`);
    return;
  }
  const message =
    `SocketCAN suites NOT RUN: ${here.why}; and no CAN guest: ${guest.why}.\n` +
    'On Linux: sudo modprobe vcan, then run `npm test` as root (or create vcan0 and vcan1 beforehand).';
  loud(message);
  if (isCI) {
    loud('CI is set: SocketCAN suites must run; failing.');
    totals.runFailures++;
  }
}

async function main() {
  if (!fs.existsSync(distTest)) {
    loud('dist/test is missing: run `npm run build:ts` first (npm test does)');
    process.exit(1);
  }
  if (!inGuest) await runHostSuites();
  if (!only || only === 'socketcan') await runSocketCanSuites();
  if (inGuest) {
    // The outer runner prints the totals; only the exit status matters here.
    process.exit(totals.runFailures > 0 || totals.fail > 0 ? 1 : 0);
  }
  log(`summary: ${totals.runs} test runs, ${totals.runFailures} with a non-zero status`);
  process.stdout.write(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped\n`);
  process.exit(totals.runFailures > 0 || totals.fail > 0 ? 1 : 0);
}

main().catch((err) => {
  loud(`test runner failed: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
