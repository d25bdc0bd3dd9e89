#!/usr/bin/env node
// Resource figures for docs/appliance.md ("Resource figures"): start-to-listening time and resident memory of
//   node bin/uvscpd.js -s -c virtual -i 127.0.0.1 -p <port>
// idle and with 5 connected clients (each got the banner and answered a NOOP).
//
//   node scripts/cross/measure.js [--runs N] [--clients N] [--prefix "qemu-aarch64 -L R"] [--node PATH]
//
// --prefix/--node run the daemon in another node, e.g. Debian's ARM node under qemu-user
// (then only the time is meaningful, as a rough ratio: RSS would include qemu itself).
// Start-to-listening = from spawn() to the daemon's "listening on" log line; the port is then
// checked with a real connection. RSS = VmRSS of /proc/<pid>/status after 1 s of quiet.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : dflt);
const RUNS = Number(opt('--runs', '5'));
const CLIENTS = Number(opt('--clients', '5'));
const PREFIX = (opt('--prefix', '') || '').split(' ').filter(Boolean);
const NODE = opt('--node', process.execPath);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function rssKiB(pid) {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(s)[1]);
}

function client(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    let sentNoop = false;
    sock.setEncoding('latin1');
    sock.on('data', (d) => {
      buf += d;
      if (!sentNoop && buf.includes('+OK - Success')) {
        sentNoop = true;
        buf = '';
        sock.write('NOOP\r\n');
      } else if (sentNoop && /\+OK/.test(buf)) {
        resolve(sock);
      }
    });
    sock.on('error', reject);
    setTimeout(() => reject(new Error('client timeout')), 60000).unref();
  });
}

async function once(port, withClients) {
  const args = [...PREFIX.slice(1), NODE, path.join(root, 'bin', 'uvscpd.js'), '-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', String(port)];
  const t0 = process.hrtime.bigint();
  const child = spawn(PREFIX[0] || NODE, PREFIX.length ? args : args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const listenMs = await new Promise((resolve, reject) => {
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      err += d;
      if (/listening on/.test(err)) resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
    child.on('exit', (c) => reject(new Error(`daemon exited ${c}: ${err}`)));
  });
  const out = { listenMs };
  if (withClients) {
    await sleep(1000);
    out.idleKiB = rssKiB(child.pid);
    const socks = [];
    for (let i = 0; i < CLIENTS; i++) socks.push(await client(port));
    await sleep(1000);
    out.clientsKiB = rssKiB(child.pid);
    for (const s of socks) s.destroy();
  } else {
    (await client(port)).destroy(); // the port really accepts
  }
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await exited;
  return out;
}

(async () => {
  const port = 20000 + (process.pid % 20000);
  const times = [];
  let mem;
  for (let i = 0; i < RUNS; i++) {
    const r = await once(port + i, i === 0);
    times.push(r.listenMs);
    if (r.idleKiB) mem = r;
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(
    JSON.stringify({
      daemon: `${PREFIX.length ? PREFIX.join(' ') + ' ' : ''}${NODE.startsWith(root) ? path.relative(root, NODE) : NODE} bin/uvscpd.js -s -c virtual`,
      runs: RUNS,
      startToListeningMs: { median: Math.round(median), min: Math.round(times[0]), max: Math.round(times[times.length - 1]) },
      rssIdleMiB: +(mem.idleKiB / 1024).toFixed(1),
      [`rss${CLIENTS}ClientsMiB`]: +(mem.clientsKiB / 1024).toFixed(1),
    }),
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
