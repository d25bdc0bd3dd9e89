#!/usr/bin/env node
// The binding beside node-can (and python-can): the same receiver and sender written with
// each, measured one after the other on vcan in one run (bench/README.md, "binding").
// Runs where SocketCAN works, as root (scripts/run-bench.js --only binding starts it in the
// CAN guest, after installing node-can into a scratch folder on the host).
//
//   node bench/binding/compare.js [--node-can DIR] [--iface vcan0] [--rates 10000,8000]
//        [--seconds 5] [--drain 50000] [--tx 100000] [--strace N] [--no-python] [--coalesce 5000]
// (--rates 0, --drain 0, --tx 0: skip that part)
//
// Paced: bench/tools/canpgen sends RATE frames/s for SECONDS to one receiver process at a
// time. Drain: N frames queued while the receiver does not read, then read as fast as it
// can. Send: COUNT frames from each sender, counted on the bus by bench/tools/canrx.
// Per process, from /proc: CPU = utime + stime (/proc/PID/stat), wake-ups = voluntary +
// involuntary context switches summed over /proc/PID/task/*/status. Figures are printed,
// never asserted (exit status 0 unless the bench could not run).

'use strict';

const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { buildTools, parseKv, parseStraceSummary } = require('../tool-helpers.js');

const here = __dirname;
const TICK_US = 1e6 / 100; // USER_HZ: /proc/<pid>/stat counts 10 ms ticks
const BIG_RCVBUF = 8 * 1024 * 1024;
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const IFACE = opt('--iface', 'vcan0');
const RATES = opt('--rates', '10000,8000').split(',').map(Number).filter((r) => r > 0); // --rates 0: no paced part
const SECONDS = Number(opt('--seconds', 5));
const DRAIN = Number(opt('--drain', 50000));
const TX = Number(opt('--tx', 100000));
const STRACE = Number(opt('--strace', 0));
const COALESCE_US = Number(opt('--coalesce', 5000));
const NODE_CAN_DIR = opt('--node-can', process.env.NODE_CAN_DIR || '');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (v, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : 'NA');

function print(text) {
  process.stdout.write(text);
}
function note(text) {
  print(`# ${text}\n`);
}

// ---- the programs compared ---------------------------------------------------------------

const hasNodeCan = NODE_CAN_DIR !== '' && fs.existsSync(path.join(NODE_CAN_DIR, 'node_modules', 'socketcan'));
const hasPython = !argv.includes('--no-python') && spawnSync(PYTHON, ['-c', 'import can'], { stdio: 'ignore' }).status === 0;
const nodeEnv = { ...process.env, NODE_CAN_DIR };

/** name -> command (argv without IFACE COUNT and the mode words, which are appended). */
const RECEIVERS = [
  hasNodeCan && { name: 'node-can', cmd: [process.execPath, path.join(here, 'rx-nodecan.js')], words: [] },
  { name: 'ours batch', cmd: [process.execPath, path.join(here, 'rx-ours.js')], words: ['batch'], ours: true },
  { name: `ours batch window=${COALESCE_US}`, cmd: [process.execPath, path.join(here, 'rx-ours.js')], words: ['batch', `coalesce=${COALESCE_US}`, 'always'], ours: true },
  { name: 'ours objects', cmd: [process.execPath, path.join(here, 'rx-ours.js')], words: ['objects'], ours: true },
  { name: `ours objects window=${COALESCE_US}`, cmd: [process.execPath, path.join(here, 'rx-ours.js')], words: ['objects', `coalesce=${COALESCE_US}`, 'always'], ours: true },
  hasPython && { name: 'python-can', cmd: [PYTHON, path.join(here, 'rx-python.py')], words: [] },
].filter(Boolean);

const SENDERS = [
  hasNodeCan && { name: 'node-can send()', cmd: [process.execPath, path.join(here, 'tx-nodecan.js')], words: [] },
  { name: 'ours sendMany x256', cmd: [process.execPath, path.join(here, 'tx-ours.js')], words: ['many'], ours: true },
  { name: 'ours await send()', cmd: [process.execPath, path.join(here, 'tx-ours.js')], words: ['send'], ours: true },
].filter(Boolean);

// ---- C tools (bench/tools) -----------------------------------------------------------------

const toolDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscpd-bench-binding-'));

/** A child speaking the READY / DONE line protocol (tally.js; the C tools print READY and end). */
function child(cmd, args, env = process.env) {
  const c = spawn(cmd[0], [...cmd.slice(1), ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  const waiters = [];
  const check = () => {
    for (const w of waiters.splice(0)) if (!w(out)) waiters.push(w);
  };
  c.stdout.on('data', (d) => {
    out += d;
    check();
  });
  c.stderr.on('data', (d) => (err += d));
  const closed = new Promise((resolve) => c.on('close', (code) => resolve(code)));
  c.on('close', () => {
    out += '\nCLOSED\n';
    check();
  });
  /** Resolves when `word` has been printed (or the child ended), false after timeoutMs. */
  const waitFor = (word, timeoutMs) =>
    Promise.race([
      new Promise((resolve) => {
        const w = (o) => (o.includes(word) || o.includes('\nCLOSED\n') ? (resolve(o.includes(word)), true) : false);
        if (!w(out)) waiters.push(w);
      }),
      sleep(timeoutMs).then(() => false),
    ]);
  const end = async () => {
    c.stdin.end();
    const code = await Promise.race([closed, sleep(10000).then(() => 'timeout')]);
    if (code === 'timeout') c.kill('SIGKILL');
    if (code !== 0 && code !== null) note(`${path.basename(cmd[cmd.length - 1])} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`);
  };
  return { c, pid: c.pid, waitFor, end, go: () => c.stdin.write('GO\n'), results: () => parseKv(out), stderr: () => err, closed };
}

/** Runs a C tool to its end; resolves with its key=value figures. */
async function tool(name, args) {
  const t = child([path.join(toolDir, name)], args);
  await t.closed;
  return t.results();
}

// ---- /proc --------------------------------------------------------------------------------

/** CPU ticks (utime + stime, all threads) and context switches summed over the threads. */
function sample(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let cs = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      cs += Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(s)[1]) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(s)[1]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return { ticks: Number(f[11]) + Number(f[12]), cs, at: performance.now() };
}

function delta(a, b) {
  return { cpuUs: (b.ticks - a.ticks) * TICK_US, cs: b.cs - a.cs, ms: b.at - a.at };
}

/** strace -c -f attached to pid while `work` runs: { total, bySyscall }. */
async function straced(pid, work) {
  const out = path.join(toolDir, `strace-${pid}.txt`);
  const st = spawn('strace', ['-c', '-f', '-q', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const closed = new Promise((res) => st.on('close', res));
  await sleep(1500); // attached to every thread
  const r = await work();
  st.kill('SIGINT');
  await Promise.race([closed, sleep(10000)]);
  return { r, ...parseStraceSummary(fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '') };
}

// ---- scenarios ----------------------------------------------------------------------------

const SETTLE_MS = 1000; // after READY: module loading and the first compilations are over

/** One receiver, paced frames (rate > 0) or a drain (rate 0: frames queued first, then GO). */
async function receive(rx, count, rate, { strace = false } = {}) {
  const drain = rate === 0;
  const p = child(rx.cmd, [IFACE, count, ...rx.words, ...(drain ? ['drain'] : [])], nodeEnv);
  if (!(await p.waitFor('READY', 60000))) {
    note(`${rx.name} did not start: ${p.stderr().trim().split('\n').slice(-2).join(' | ')}`);
    await p.end();
    return null;
  }
  await sleep(SETTLE_MS);
  let gen;
  let s0;
  let s1;
  const work = async () => {
    if (drain) {
      gen = await tool('canpgen', [IFACE, count, 0]);
      await sleep(300);
      s0 = sample(p.pid);
      p.go();
    } else {
      s0 = sample(p.pid);
      gen = await tool('canpgen', [IFACE, count, rate]);
    }
    await p.waitFor('DONE', 120000);
    s1 = sample(p.pid);
  };
  const st = strace ? await straced(p.pid, work) : (await work(), null);
  const r = p.results();
  await p.end();
  const d = delta(s0, s1);
  const received = r.received ?? 0;
  const sent = gen.sent ?? count;
  return {
    name: rx.name,
    ours: rx.ours === true,
    sent,
    received,
    lost: sent - received,
    duplicates: r.duplicates ?? 0,
    cpuPerFrame: d.cpuUs / Math.max(1, received),
    // paced: per second of traffic; drain: per 1000 frames (the drain has no rate)
    wakeups: drain ? (d.cs * 1000) / Math.max(1, received) : d.cs / (gen.elapsed_us / 1e6),
    perDelivery: received / Math.max(1, r.deliveries ?? 0),
    drainMs: d.ms,
    syscallsPerFrame: st ? st.total / Math.max(1, received) : NaN,
    top: st ? Object.entries(st.bySyscall).sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${k} ${fmt(v / Math.max(1, received), 2)}`).join(', ') : '',
  };
}

/** One sender of `count` frames; canrx counts them on the bus. */
async function transmit(tx, count) {
  // The counter sleeps between drains (it must not take the CPU from the sender), so its
  // buffer holds the whole run (about 1 KiB per frame in the kernel).
  const counter = child([path.join(toolDir, 'canrx')], [IFACE, count, Math.max(BIG_RCVBUF, count * 1024), 2000, 120000, 20000]);
  await counter.waitFor('READY', 10000);
  const p = child(tx.cmd, [IFACE, count, ...tx.words], nodeEnv);
  if (!(await p.waitFor('READY', 60000))) {
    note(`${tx.name} did not start: ${p.stderr().trim().split('\n').slice(-2).join(' | ')}`);
    await p.end();
    counter.c.kill();
    return null;
  }
  await sleep(SETTLE_MS);
  const s0 = sample(p.pid);
  p.go();
  await p.waitFor('DONE', 300000);
  const s1 = sample(p.pid);
  const r = p.results();
  await p.end();
  await counter.closed;
  const bus = counter.results();
  const d = delta(s0, s1);
  return {
    name: tx.name,
    ours: tx.ours === true,
    sent: r.sent ?? 0,
    onBus: bus.received ?? 0,
    lost: count - (bus.received ?? 0),
    counterDrops: bus.kernel_drops ?? 0,
    cpuPerFrame: d.cpuUs / Math.max(1, r.sent ?? 0),
    fps: (r.sent ?? 0) / ((r.elapsed_us ?? NaN) / 1e6),
    wakeups: d.cs / (d.ms / 1000),
    retries: r.retries,
  };
}

// ---- report -------------------------------------------------------------------------------

function table(title, head, rows) {
  print(`\n${title}\n`);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |\n`;
  print(line(head));
  print(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n`);
  for (const r of rows) print(line(r));
}

function key(name) {
  return name.replace(/[^a-z0-9]+/gi, '_').replace(/_+$/, '').toLowerCase();
}

function receiveTable(title, results, drain) {
  const base = results.find((r) => r.name === 'node-can');
  const ratio = (r, f) => (base ? fmt(r[f] / base[f], 2) : 'NA');
  const rows = results.map((r) => [
    r.name,
    r.received,
    r.lost,
    fmt(r.cpuPerFrame, 1),
    ratio(r, 'cpuPerFrame'),
    fmt(r.wakeups, drain ? 2 : 0),
    ratio(r, 'wakeups'),
    fmt(r.perDelivery, 1),
    ...(drain ? [fmt(r.drainMs, 0)] : []),
  ]);
  table(
    title,
    ['receiver', 'received', 'lost', 'CPU µs/frame', '× node-can', drain ? 'wake-ups/1000 frames' : 'wake-ups/s', '× node-can', 'frames/delivery', ...(drain ? ['drain ms'] : [])],
    rows,
  );
  const tag = drain ? 'drain' : `rx${results.rate}`;
  for (const r of results) {
    print(`binding.${tag}.${key(r.name)}=received:${r.received},lost:${r.lost},cpu_us_per_frame:${fmt(r.cpuPerFrame, 2)},wakeups:${fmt(r.wakeups, 2)},frames_per_delivery:${fmt(r.perDelivery, 2)}\n`);
  }
  if (base) {
    for (const r of results.filter((x) => x.ours)) {
      const ok = r.cpuPerFrame <= 0.25 * base.cpuPerFrame && r.lost === 0;
      print(`# target (CPU/frame ≤ 0.25 × node-can, nothing lost) ${r.name}: ${ok ? 'PASS' : 'MISS'} (${fmt(r.cpuPerFrame / base.cpuPerFrame, 2)}×, lost ${r.lost})\n`);
    }
  }
}

async function main() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) note('not root: the drain needs larger socket buffers (/proc/sys/net/core), expect losses');
  buildTools(toolDir, ['canpgen', 'canrx']);
  note(`node ${process.version}; node-can: ${hasNodeCan ? require(path.join(NODE_CAN_DIR, 'node_modules', 'socketcan', 'package.json')).version : 'NOT INSTALLED (pass --node-can DIR)'}; python-can: ${hasPython ? spawnSync(PYTHON, ['-c', 'import can; print(can.__version__)'], { encoding: 'utf8' }).stdout.trim() : 'not installed (optional)'}`);
  note(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${os.cpus().length} CPU(s)`);
  const t0 = Date.now();

  for (const rate of RATES) {
    const results = [];
    for (const rx of RECEIVERS) {
      const r = await receive(rx, rate * SECONDS, rate);
      if (r) results.push(r);
    }
    results.rate = rate;
    receiveTable(`Receiving ${rate} frames/s for ${SECONDS} s (${rate * SECONDS} frames)`, results, false);
  }

  if (DRAIN > 0) {
    // Every receiver's socket must hold the whole drain: raise the default buffer for this part.
    const knobs = ['/proc/sys/net/core/rmem_default', '/proc/sys/net/core/rmem_max'];
    const saved = knobs.map((k) => (fs.existsSync(k) ? fs.readFileSync(k, 'utf8').trim() : null));
    const need = String(Math.max(DRAIN * 1024, 1 << 20));
    for (const k of knobs) {
      try {
        fs.writeFileSync(k, need);
      } catch (e) {
        note(`cannot raise ${k}: ${e.message}`);
      }
    }
    const results = [];
    try {
      for (const rx of RECEIVERS) {
        const r = await receive(rx, DRAIN, 0);
        if (r) results.push(r);
      }
    } finally {
      knobs.forEach((k, i) => saved[i] !== null && fs.writeFileSync(k, saved[i]));
    }
    results.rate = 0;
    receiveTable(`Drain: ${DRAIN} frames queued while the receiver waits, then read as fast as it goes (default receive buffer ${need} bytes for this part)`, results, true);
  }

  if (TX > 0) {
    const results = [];
    for (const tx of SENDERS) {
      const r = await transmit(tx, TX);
      if (r) results.push(r);
    }
    const base = results.find((r) => r.name.startsWith('node-can'));
    const ratio = (r, f) => (base ? fmt(r[f] / base[f], 2) : 'NA');
    table(
      `Sending ${TX} frames as fast as each goes (canrx counts them on the bus)`,
      ['sender', 'on the bus', 'lost', 'CPU µs/frame', '× node-can', 'frames/s', 'wake-ups/s', '× node-can'],
      results.map((r) => [r.name, r.onBus, r.lost, fmt(r.cpuPerFrame, 1), ratio(r, 'cpuPerFrame'), fmt(r.fps, 0), fmt(r.wakeups, 0), ratio(r, 'wakeups')]),
    );
    for (const r of results) {
      print(`binding.tx.${key(r.name)}=on_bus:${r.onBus},lost:${r.lost},cpu_us_per_frame:${fmt(r.cpuPerFrame, 2)},fps:${fmt(r.fps, 0)},wakeups_per_s:${fmt(r.wakeups, 1)},counter_drops:${r.counterDrops}${r.retries !== undefined ? `,retries:${r.retries}` : ''}\n`);
    }
    for (const r of results.filter((x) => x.counterDrops > 0)) {
      note(`${r.name}: the counter's own buffer overflowed (${r.counterDrops} kernel drops): 'lost' includes frames that reached the bus uncounted`);
    }
    if (base) {
      for (const r of results.filter((x) => x.ours)) {
        const ok = r.cpuPerFrame <= 0.25 * base.cpuPerFrame && r.lost === 0;
        print(`# target (CPU/frame ≤ 0.25 × node-can, nothing lost) ${r.name}: ${ok ? 'PASS' : 'MISS'} (${fmt(r.cpuPerFrame / base.cpuPerFrame, 2)}×, lost ${r.lost})\n`);
      }
    }
  }

  if (STRACE > 0) {
    if (spawnSync('strace', ['-V'], { stdio: 'ignore' }).status !== 0) {
      note('strace is not installed: no system-call counts');
    } else {
      const rate = RATES.length > 0 ? Math.min(...RATES) : 8000;
      const results = [];
      for (const rx of RECEIVERS) {
        const r = await receive(rx, STRACE, rate, { strace: true });
        if (r) results.push(r);
      }
      table(
        `System calls per frame (strace -c -f, ${STRACE} frames at ${rate} frames/s; strace slows each receiver, so its batches grow)`,
        ['receiver', 'received', 'syscalls/frame', 'frames/delivery', 'most frequent (per frame)'],
        results.map((r) => [r.name, r.received, fmt(r.syscallsPerFrame, 2), fmt(r.perDelivery, 1), r.top]),
      );
      for (const r of results) print(`binding.strace.${key(r.name)}=syscalls_per_frame:${fmt(r.syscallsPerFrame, 3)}\n`);
    }
  }
  note(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${Math.round((Date.now() - t0) / 1000)} s`);
  fs.rmSync(toolDir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`compare.js failed: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
