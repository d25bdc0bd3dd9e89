// Broker faults (docs/mqtt.md "Broker faults"), with a real Mosquitto that
// the test stops and starts: the bridge starts without a broker and
// connects when one comes up; events from an outage wait in the bounded
// queue and go out in order; a restart mid-stream loses nothing at QoS 1;
// a full queue drops the oldest, counted and logged; the last will marks a
// dead gateway offline.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { MqttBridge } from '../../lib/mqtt/bridge.js';
import { Broker, freePort, killAllBrokers, mosquittoSub } from '../helpers/mosquitto.js';
import type { Subscriber } from '../helpers/mosquitto.js';
import { captureLogger, injectNumbered, numbersOf, sleep, waitUntil } from '../helpers/bridge.js';
import { REPO_ROOT } from '../helpers/cli.js';

const bridges: MqttBridge[] = [];

after(async () => {
  for (const b of bridges) await b.stop();
  killAllBrokers();
});

/**
 * A subscriber whose session (and QoS 1 queue) lives on the broker across
 * its own and the broker's restarts, so it misses nothing published while
 * it was not connected.
 */
async function persistentSubscriber(broker: Broker, id: string): Promise<Subscriber> {
  return mosquittoSub(broker, ['vscp/#'], ['-c', '-i', id, '-q', '1']);
}

test('starts while the broker is down, queues, and publishes everything in order once the broker is up', async () => {
  const port = await freePort();
  // First create the subscriber's persistent session, then take the broker down.
  const broker = await Broker.start({ port, persistence: true });
  (await persistentSubscriber(broker, 'late-sub')).stop();
  await broker.stop();

  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const log = captureLogger();
  const bridge = new MqttBridge({ url: `mqtt://127.0.0.1:${port}`, bus, canInterface: 'vcan0', logger: log, reconnectMinMs: 100, reconnectMaxMs: 400 });
  bridges.push(bridge);
  await bridge.start(); // resolves without a broker
  for (let i = 0; i < 300; i++) injectNumbered(bus, i);
  await waitUntil(() => bridge.stats().queued === 300, 2000, () => JSON.stringify(bridge.stats()));
  assert.equal(bridge.stats().state !== 'connected', true);
  await sleep(600);
  const refusedLines = log.lines.filter((l) => l.startsWith('error mqtt:'));
  assert.equal(refusedLines.length, 1, `one line for the unreachable broker, not one per attempt: ${JSON.stringify(refusedLines)}`);

  await broker.restart();
  await waitUntil(() => bridge.stats().state === 'connected' && bridge.stats().acknowledged === 300, 5000, () => JSON.stringify(bridge.stats()));
  const sub = await persistentSubscriber(broker, 'late-sub');
  const lines = await sub.waitFor(300);
  assert.deepEqual(numbersOf(lines), Array.from({ length: 300 }, (_, i) => i));
  assert.equal(bridge.stats().dropped, 0);
  sub.stop();
  await bridge.stop();
});

test('a broker restart mid-stream at QoS 1: nothing lost, in order (re-sent duplicates allowed)', async () => {
  const broker = await Broker.start({ persistence: true });
  const sub = await persistentSubscriber(broker, 'restart-sub');
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const log = captureLogger();
  const bridge = new MqttBridge({ url: broker.url, bus, canInterface: 'vcan0', logger: log, reconnectMinMs: 100, reconnectMaxMs: 400 });
  bridges.push(bridge);
  await bridge.start();
  await waitUntil(() => bridge.stats().state === 'connected', 3000, 'connected');
  const N = 2000;
  let restarted: Promise<void> | null = null;
  for (let i = 0; i < N; i++) {
    injectNumbered(bus, i);
    if (i % 25 === 24) await sleep(10);
    if (i === N / 2) restarted = broker.restart();
  }
  await restarted;
  await waitUntil(() => bridge.stats().queued === 0 && bridge.stats().inflight === 0 && bridge.stats().state === 'connected', 8000, () => JSON.stringify(bridge.stats()));
  // mosquitto_sub reconnects by itself and gets what its session queued meanwhile.
  await waitUntil(() => new Set(numbersOf(sub.lines)).size === N, 8000, () => `${new Set(numbersOf(sub.lines)).size} distinct of ${N}`);
  const got = numbersOf(sub.lines);
  const firsts: number[] = [];
  const seenSeq = new Set<number>();
  for (const s of got) {
    if (!seenSeq.has(s)) firsts.push(s);
    seenSeq.add(s);
  }
  assert.deepEqual(firsts, Array.from({ length: N }, (_, i) => i), 'every event, first copies in order');
  assert.equal(bridge.stats().dropped, 0);
  assert.ok(bridge.stats().connections >= 2, 'reconnected');
  assert.ok(log.lines.some((l) => /connection to .* lost/.test(l)));
  sub.stop();
  await bridge.stop();
});

test('a full queue drops the oldest events, counted and logged; the newest go out in order', async () => {
  const port = await freePort();
  const broker = await Broker.start({ port, persistence: true });
  (await persistentSubscriber(broker, 'drop-sub')).stop();
  await broker.stop();
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const log = captureLogger();
  const bridge = new MqttBridge({ url: `mqtt://127.0.0.1:${port}`, bus, canInterface: 'vcan0', logger: log, queueSize: 50, reconnectMinMs: 100, reconnectMaxMs: 400 });
  bridges.push(bridge);
  await bridge.start();
  for (let i = 0; i < 80; i++) injectNumbered(bus, i);
  await waitUntil(() => bridge.stats().dropped === 30, 2000, () => JSON.stringify(bridge.stats()));
  assert.equal(bridge.stats().queued, 50);
  assert.ok(bridge.statusLines()[1]!.endsWith('queue 50 of 50, 30 dropped when full'));
  assert.equal(log.lines.filter((l) => /queue full/.test(l)).length, 1, 'one line, not one per drop');
  await broker.restart(); // same directory: the subscriber's session is still there
  await waitUntil(() => bridge.stats().acknowledged === 50, 5000, () => JSON.stringify(bridge.stats()));
  const sub = await persistentSubscriber(broker, 'drop-sub');
  assert.deepEqual(numbersOf(await sub.waitFor(50)), Array.from({ length: 50 }, (_, i) => 30 + i));
  sub.stop();
  await bridge.stop();
});

test('SIGKILL of a gateway: the broker publishes its last will, the retained status turns offline', async () => {
  const broker = await Broker.start();
  const script = [
    `const { VirtualCanBus, MqttBridge } = require(${JSON.stringify(join(REPO_ROOT, 'dist', 'lib', 'index.js'))});`,
    `const b = new MqttBridge({ url: ${JSON.stringify(broker.url)}, bus: new VirtualCanBus(), canInterface: 'vcan0', clientId: 'doomed', gatewayTopic: 'doomed' });`,
    `b.on('connect', () => console.log('connected'));`,
    `b.start();`,
  ].join('\n');
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil(() => out.includes('connected'), 5000, 'child bridge connected');
  const sub = await mosquittoSub(broker, ['doomed/status']);
  assert.deepEqual(await sub.waitFor(1), ['doomed/status online']);
  child.kill('SIGKILL');
  assert.deepEqual(await sub.waitFor(2), ['doomed/status online', 'doomed/status offline']);
  sub.stop();
});

test('stop() while the broker is down finishes promptly and says what was not published', async () => {
  const port = await freePort();
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const log = captureLogger();
  const bridge = new MqttBridge({ url: `mqtt://127.0.0.1:${port}`, bus, canInterface: 'vcan0', logger: log, reconnectMinMs: 100 });
  await bridge.start();
  for (let i = 0; i < 5; i++) injectNumbered(bus, i);
  await waitUntil(() => bridge.stats().queued === 5, 2000, 'queued');
  const t0 = Date.now();
  await bridge.stop();
  assert.ok(Date.now() - t0 < 3500, `stopped in ${Date.now() - t0} ms`);
  assert.ok(log.lines.includes('warn mqtt: 5 queued events were not published'));
  assert.equal(bridge.stats().state, 'stopped');
});
