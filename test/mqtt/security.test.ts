// Security (docs/mqtt.md "Security"), each against a Mosquitto that demands
// it: user and password (a mosquitto_passwd file), TLS with a CA made here,
// a client certificate. Refused credentials and a certificate the bridge
// does not trust give one clear log line and no tight reconnect loop; the
// password never appears in a log line.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { MqttBridge } from '../../lib/mqtt/bridge.js';
import { Broker, killAllBrokers, makeCertificates, mosquittoSub } from '../helpers/mosquitto.js';
import type { TestCertificates } from '../helpers/mosquitto.js';
import type { CapturedLogger } from '../helpers/bridge.js';
import { captureLogger, connectedBridge, sleep } from '../helpers/bridge.js';
import type { MqttBridgeOptions } from '../../lib/mqtt/options.js';

const PASSWORD = 'S3cret-Pa55word';
let certs: TestCertificates;
const bridges: MqttBridge[] = [];

before(() => {
  certs = makeCertificates();
});

after(async () => {
  for (const b of bridges) await b.stop();
  killAllBrokers();
});

const pem = (path: string): string => readFileSync(path, 'utf8');

/**
 * A bridge that cannot get in (`options` make it fail) for 3.2 s, with a 50 ms
 * minimum back-off: exactly one error line, which `pattern` matches, and no
 * more than 3 connection attempts (a loop would make ~60).
 */
async function failsOnceNoLoop(broker: Broker, options: Partial<MqttBridgeOptions>, pattern: RegExp): Promise<{ bridge: MqttBridge; log: CapturedLogger }> {
  const log = captureLogger();
  const bridge = new MqttBridge({ url: broker.url, bus: new VirtualCanBus({ interfaces: ['vcan0'] }), canInterface: 'vcan0', logger: log, reconnectMinMs: 50, reconnectMaxMs: 1500, ...options });
  bridges.push(bridge);
  await bridge.start();
  await sleep(3200);
  const errors = log.lines.filter((l) => l.startsWith('error '));
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0]!, pattern);
  assert.ok(broker.connectionAttempts() <= 3, `${broker.connectionAttempts()} attempts in 3.2 s`);
  return { bridge, log };
}

function inject(bus: VirtualCanBus): void {
  bus.inject('vcan0', { id: ((3 << 26) | (10 << 16) | (6 << 8) | 1) >>> 0, extended: true, data: Uint8Array.from([1, 2]) });
}

test('user and password: accepted with the right password, and events flow', async () => {
  const broker = await Broker.start({ users: { gateway: PASSWORD } });
  const sub = await mosquittoSub(broker, ['vscp/#']);
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const log = captureLogger();
  const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', username: 'gateway', password: PASSWORD, logger: log });
  bridges.push(bridge);
  inject(bus);
  assert.equal((await sub.waitFor(1)).length, 1);
  assert.ok(log.lines.every((l) => !l.includes(PASSWORD)), 'the password is never logged');
  assert.ok(bridge.statusLines().every((l) => !l.includes(PASSWORD)));
  sub.stop();
  await bridge.stop();
  await broker.stop();
});

test('refused credentials: one clear log line, then retries no faster than the longest back-off', async () => {
  const broker = await Broker.start({ users: { gateway: PASSWORD } });
  const { bridge, log } = await failsOnceNoLoop(
    broker,
    { username: 'gateway', password: 'wrong-' + PASSWORD },
    /broker refused the connection: .*(Not authorized|Bad User Name or Password).*; trying again in 2 s and then at that interval/,
  );
  assert.equal(bridge.stats().state, 'connecting');
  assert.match(bridge.statusLines().at(-1)!, /^mqtt problem: broker refused the connection/);
  assert.ok(log.lines.every((l) => !l.includes(PASSWORD)), 'neither password is logged');
  await bridge.stop();
  await broker.stop();
});

test('TLS: mqtts:// with the CA that signed the broker certificate', async () => {
  const broker = await Broker.start({ tls: certs });
  assert.match(broker.url, /^mqtts:\/\/localhost:/);
  const sub = await mosquittoSub(broker, ['vscp/#']);
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', ca: pem(certs.caCert) });
  bridges.push(bridge);
  inject(bus);
  assert.equal((await sub.waitFor(1)).length, 1);
  sub.stop();
  await bridge.stop();
  await broker.stop();
});

test('TLS: a broker certificate the bridge does not trust gives one clear line and no tight loop', async () => {
  const broker = await Broker.start({ tls: certs });
  const { bridge } = await failsOnceNoLoop(broker, { ca: pem(certs.otherCaCert) }, /TLS failed: .*certificate/i);
  await bridge.stop();
  await broker.stop();
});

test('TLS with a client certificate: refused without one, accepted with it', async () => {
  const broker = await Broker.start({ tls: certs, requireClientCert: true });
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const log = captureLogger();
  const without = new MqttBridge({ url: broker.url, bus, canInterface: 'vcan0', ca: pem(certs.caCert), logger: log, clientId: 'no-cert', reconnectMinMs: 50, reconnectMaxMs: 1500 });
  bridges.push(without);
  await without.start();
  await sleep(1500);
  assert.notEqual(without.stats().state, 'connected');
  assert.equal(without.stats().connections, 0);
  assert.ok(log.lines.filter((l) => l.startsWith('error ')).length >= 1);
  await without.stop();

  const sub = await mosquittoSub(broker, ['vscp/#']);
  const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', ca: pem(certs.caCert), cert: pem(certs.clientCert), key: pem(certs.clientKey), clientId: 'with-cert' });
  bridges.push(bridge);
  inject(bus);
  assert.equal((await sub.waitFor(1)).length, 1);
  sub.stop();
  await bridge.stop();
  await broker.stop();
});

test('a password in the broker URL is refused before anything starts', () => {
  const bus = new VirtualCanBus();
  assert.throws(() => new MqttBridge({ url: `mqtt://gateway:${PASSWORD}@127.0.0.1:1883`, bus }), (err: Error) => {
    assert.ok(err instanceof RangeError);
    assert.match(err.message, /url must not contain a password/);
    assert.ok(!err.message.includes(PASSWORD));
    return true;
  });
});
