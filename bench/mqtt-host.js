#!/usr/bin/env node
// The MQTT bridge's own cost on this machine, without CAN (bench/README.md, "MQTT on the host"):
// the bridge on the in-memory bus, frames injected at a paced rate in the same process, a real
// Mosquitto started here, and subscribers as separate mosquitto_sub processes. CPU is this
// process's (process.cpuUsage: getrusage, exact on a normal kernel, unlike the UML guest's
// 10 ms samples), per published event. Everything in one run, printed as ratios:
//
//   fan-out  1 against 100 subscribers (the broker fans out; the bridge should not notice)
//   qos      QoS 0 against QoS 1 at the same rate (what the acknowledgements cost)
//
//   node bench/mqtt-host.js [--rate 200] [--seconds 10] [--fanout 100 (0: no fan-out rows)] [--qos-rate 1000]
// Needs `npm run build:ts` and Debian's mosquitto and mosquitto-clients. Figures are printed,
// never asserted.

'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { once } = require('node:events');
const { performance } = require('node:perf_hooks');

const { VirtualCanBus, MqttBridge, silentLogger } = require(path.join(__dirname, '..', 'dist', 'lib', 'index.js'));

const argv = process.argv.slice(2);
const opt = (name, dflt) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : dflt);
const RATE = opt('--rate', 200);
const SECONDS = opt('--seconds', 10);
const FANOUT = opt('--fanout', 100);
const QOS_RATE = opt('--qos-rate', 1000);
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => fs.existsSync(p));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** This process's main thread (the event loop): how often it went to sleep and was woken. */
function loopSleeps() {
  const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m === null ? NaN : Number(m[1]);
}

async function freePort() {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  return port;
}

async function startBroker() {
  if (MOSQUITTO === undefined) throw new Error('mosquitto not found (apt-get install mosquitto mosquitto-clients)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvscpd-mqtt-host-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_inflight_messages 0', ''].join('\n'));
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return { port, child, dir };
    await sleep(50);
  }
  child.kill();
  throw new Error('mosquitto did not start');
}

/** n mosquitto_sub processes on vscp/#; the first counts what it gets, the others discard it. */
async function startSubscribers(port, n, expected) {
  const subs = [];
  let counted = 0;
  for (let i = 0; i < n; i++) {
    const child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'vscp/#', '-q', '0'], {
      stdio: ['ignore', i === 0 ? 'pipe' : 'ignore', 'ignore'],
    });
    if (i === 0) {
      child.stdout.on('data', (chunk) => {
        for (const b of chunk) if (b === 0x0a) counted++;
      });
    }
    subs.push(child);
  }
  await sleep(1000 + 20 * n); // every subscription in place before the first frame
  return {
    counted: () => counted,
    async done() {
      for (let i = 0; i < 300 && counted < expected; i++) await sleep(100);
      for (const c of subs) c.kill();
    },
  };
}

/** Inject `count` VSCP frames at `rate` frames/s, one timer per frame due (the same per-event
 *  overhead in every configuration); resolves when all are in. */
function injectPaced(bus, rate, count) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const data = Buffer.alloc(8);
    let sent = 0;
    const tick = () => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        data.writeUInt32LE(sent, 0);
        // class 20, type 3, nickname 1: a VSCP frame the bridge publishes
        bus.inject('vcan0', { id: ((3 << 26) | (20 << 16) | (3 << 8) | 1) >>> 0, extended: true, data });
      }
      if (sent >= count) resolve();
      else setTimeout(tick, Math.max(0, t0 + (sent * 1000) / rate - performance.now()));
    };
    tick();
  });
}

async function measure(port, { qos, rate, subscribers }) {
  const count = Math.round(rate * SECONDS);
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const bridge = new MqttBridge({ url: `mqtt://127.0.0.1:${port}`, bus, canInterface: 'vcan0', qos, logger: silentLogger, queueSize: count });
  const connected = once(bridge, 'connect');
  await bridge.start();
  await connected;
  const subs = await startSubscribers(port, subscribers, count);
  const cpu0 = process.cpuUsage();
  const sleeps0 = loopSleeps();
  await injectPaced(bus, rate, count);
  // Until the bridge has handed everything to the broker (QoS 1: acknowledged too).
  for (let i = 0; i < 600; i++) {
    const s = bridge.stats();
    if (s.published >= count && s.queued === 0 && s.inflight === 0) break;
    await sleep(10);
  }
  const cpu = process.cpuUsage(cpu0);
  const sleeps = loopSleeps() - sleeps0;
  const stats = bridge.stats();
  await subs.done();
  await bridge.stop();
  const usPerEvent = (cpu.user + cpu.system) / count;
  return { count, usPerEvent, wakeupsPerEvent: sleeps / count, published: stats.published, delivered: subs.counted() };
}

function line(name, r) {
  const pct = ((100 * r.delivered) / r.count).toFixed(2);
  process.stdout.write(
    `${name.padEnd(34)} ${r.usPerEvent.toFixed(1).padStart(8)} µs/event  ${r.wakeupsPerEvent.toFixed(2)} loop wake-ups/event  published ${r.published}/${r.count}  delivered ${pct} %\n`,
  );
  const key = name.replace(/[^a-z0-9]+/gi, '_').replace(/_$/, '').toLowerCase();
  process.stdout.write(
    `mqtthost.${key}.us_per_event=${r.usPerEvent.toFixed(2)}\nmqtthost.${key}.wakeups_per_event=${r.wakeupsPerEvent.toFixed(3)}\nmqtthost.${key}.delivered_pct=${pct}\n`,
  );
}

async function main() {
  const broker = await startBroker();
  process.stdout.write(`# node ${process.version}; ${os.cpus().length} CPUs; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; mosquitto port ${broker.port}\n`);
  try {
    if (FANOUT > 0) {
      const one = await measure(broker.port, { qos: 0, rate: RATE, subscribers: 1 });
      line(`fan-out QoS 0 @${RATE} fps, 1 sub`, one);
      const many = await measure(broker.port, { qos: 0, rate: RATE, subscribers: FANOUT });
      line(`fan-out QoS 0 @${RATE} fps, ${FANOUT} subs`, many);
      process.stdout.write(`mqtthost.fanout_ratio=${(many.usPerEvent / one.usPerEvent).toFixed(2)}\n`);
    }
    const q0 = await measure(broker.port, { qos: 0, rate: QOS_RATE, subscribers: 1 });
    line(`QoS 0 @${QOS_RATE} fps`, q0);
    const q1 = await measure(broker.port, { qos: 1, rate: QOS_RATE, subscribers: 1 });
    line(`QoS 1 @${QOS_RATE} fps`, q1);
    process.stdout.write(`mqtthost.qos1_over_qos0=${(q1.usPerEvent / q0.usPerEvent).toFixed(2)}\n`);
    process.stdout.write(`mqtthost.qos1_over_qos0_wakeups=${(q1.wakeupsPerEvent / q0.wakeupsPerEvent).toFixed(2)}\n`);
  } finally {
    broker.child.kill();
    fs.rmSync(broker.dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`mqtt-host: ${err.stack ?? err}\n`);
  process.exit(1);
});
