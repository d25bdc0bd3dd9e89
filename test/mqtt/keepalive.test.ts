// The keep-alive under load (docs/mqtt.md "QoS 1 and the broker's window"):
// a broker seconds behind answers a PINGREQ seconds late. Between the
// bridge and a real Mosquitto sits a proxy that, once the bridge is
// connected, holds everything the broker sends for 4 s, so every PINGRESP
// comes long after the keep-alive (2 s) would give up; meanwhile the bridge
// publishes and the broker takes it. The connection must stay, and every
// event must arrive.

import assert from 'node:assert/strict';
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { MqttBridge } from '../../lib/mqtt/bridge.js';
import { Broker, killAllBrokers, mosquittoSub } from '../helpers/mosquitto.js';
import { captureLogger, connectedBridge, injectNumbered, numbersOf, sleep } from '../helpers/bridge.js';

const BROKER_DELAY_MS = 4000;
const KEEPALIVE_S = 2;
const EVENTS = 400;

const bridges: MqttBridge[] = [];
const servers: Server[] = [];
const sockets = new Set<Socket>();

after(async () => {
  for (const b of bridges) await b.stop();
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  killAllBrokers();
});

interface SlowProxy {
  port: number;
  /** How long the broker's bytes are held; 0 passes them at once. */
  delayMs: number;
}

/** A TCP proxy to `port` that passes the client's bytes at once and the broker's after `delayMs`. */
async function slowAnswers(port: number): Promise<SlowProxy> {
  const proxy: SlowProxy = { port: 0, delayMs: 0 };
  const server = createServer((client) => {
    const broker = createConnection(port, '127.0.0.1');
    sockets.add(client).add(broker);
    client.pipe(broker);
    broker.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
      }, proxy.delayMs);
    });
    broker.on('close', () => setTimeout(() => client.destroy(), proxy.delayMs));
    client.on('close', () => broker.destroy());
    client.on('error', () => broker.destroy());
    broker.on('error', () => client.destroy());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as { port: number }).port;
  return proxy;
}

test('a PINGRESP far behind the keep-alive does not drop a connection the broker keeps taking publications on', async () => {
  const broker = await Broker.start();
  const proxy = await slowAnswers(broker.port);
  const sub = await mosquittoSub(broker, ['ka/#']);
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const log = captureLogger();
  const bridge = await connectedBridge({ url: `mqtt://127.0.0.1:${proxy.port}`, bus, canInterface: 'vcan0', qos: 0, topic: 'ka/{class}', keepaliveSeconds: KEEPALIVE_S, clientId: 'keepalive', logger: log });
  bridges.push(bridge);
  proxy.delayMs = BROKER_DELAY_MS;
  // 8 s of events: four keep-alive periods, each PINGRESP 4 s late.
  for (let i = 0; i < EVENTS; i++) {
    injectNumbered(bus, i);
    await sleep(20);
  }
  const lines = await sub.waitFor(EVENTS, 10_000);
  assert.deepEqual(numbersOf(lines), Array.from({ length: EVENTS }, (_, i) => i));
  assert.equal(bridge.stats().connections, 1, `never reconnected: ${log.lines.join(' | ')}`);
  assert.ok(!log.lines.some((l) => /lost/.test(l)), 'no lost connection logged');
  sub.stop();
});
