// The library's createServer({ mqtt }) (lib/gateway.ts): the TCP server and
// the MQTT bridge on one bus, started by listen() and stopped by close(),
// against a real Mosquitto. Requiring the library loads no MQTT.js.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { CanSocketOptions } from '../../lib/can/types.js';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { VscpGateway, createServer } from '../../lib/gateway.js';
import { VscpServer } from '../../lib/server/server.js';
import { parseGuid } from '../../lib/vscp/guid.js';
import { TestClient } from '../helpers/client.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { Broker, killAllBrokers, mosquittoPub, mosquittoSub } from '../helpers/mosquitto.js';
import { recordFrames, waitUntil } from '../helpers/bridge.js';

const GUID_TEXT = 'FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:00:00';

after(() => killAllBrokers());

test('createServer without mqtt is the plain server; with mqtt the gateway, whose bridge shares the bus, interface and GUID', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  assert.equal(createServer({ bus, canInterface: 'vcan0' }).constructor, VscpServer);
  const broker = await Broker.start();
  const server = createServer({ bus, canInterface: 'vcan0', host: '127.0.0.1', port: 0, guid: parseGuid(GUID_TEXT)!, mqtt: { url: broker.url, clientId: 'lib-gw' } });
  assert.ok(server instanceof VscpGateway);
  const gateway = server as VscpGateway;
  const sub = await mosquittoSub(broker, ['vscp/#', `uvscpd/${GUID_TEXT}/status`]);
  const address = await gateway.listen();
  await waitUntil(() => gateway.mqtt.stats().state === 'connected', 5000, 'bridge connected');
  const seen = recordFrames(bus.open('vcan0'));

  // A TCP client's SEND reaches the broker through the bridge's own socket.
  const client = await TestClient.connectReady(address.port);
  assert.deepEqual(await client.command('send 0,20,3,0,,0,-,5'), ['+OK']);
  await waitUntil(() => sub.lines.some((l) => l.startsWith('vscp/')), 3000, () => JSON.stringify(sub.lines));
  assert.equal(sub.lines.find((l) => l.startsWith('vscp/'))!.split(' ')[0], `vscp/${GUID_TEXT}/20/3/0`);
  // An event from the broker reaches the bus and the TCP client (not its own SEND: receive-own is off).
  mosquittoPub(broker, `remote-vscp/${GUID_TEXT}/x`, '{"class":30,"type":5,"data":[9]}');
  await waitUntil(() => seen.some((f) => f.data[0] === 9), 3000, 'event from the broker on the bus');
  assert.deepEqual(await client.command('cdta'), ['1 ', '+OK']);
  assert.match((await client.command('retr 1'))[0]!, /^0,30,5,0,[^,]*,\d+,[^,]+,9$/);
  // INFO over TCP shows the bridge: its state, messages out and in.
  const info = await client.command('info');
  assert.ok(info.some((l) => /^mqtt: connected to mqtt:\/\/127\.0\.0\.1:\d+ as lib-gw \(QoS \d, json\)$/.test(l)), info.join('\n'));
  assert.ok(info.some((l) => /^mqtt out: [1-9]\d* published/.test(l)), info.join('\n'));
  assert.ok(info.some((l) => l.startsWith('mqtt in: ')), info.join('\n'));
  assert.equal(info.at(-1), '+OK');

  client.destroy();
  await gateway.close();
  assert.equal(gateway.mqtt.stats().state, 'stopped');
  await waitUntil(() => sub.lines.includes(`uvscpd/${GUID_TEXT}/status offline`), 3000, () => JSON.stringify(sub.lines));
  sub.stop();
  await broker.stop();
});

test("the bridge's CAN socket has its own window: after every read, 5000 us by default, not the sessions' window", async () => {
  for (const [mqtt, expected] of [
    [{}, { receiveCoalesceUs: 5000, receiveCoalesceAlways: true }],
    [{ receiveCoalesceUs: 0 }, { receiveCoalesceUs: 0, receiveCoalesceAlways: true }],
  ] as const) {
    const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
    const seen: CanSocketOptions[] = [];
    const realOpen = bus.open.bind(bus);
    bus.open = (name, socketOptions = {}) => {
      seen.push(socketOptions);
      return realOpen(name, socketOptions);
    };
    // No broker on port 1: the bridge opens its socket all the same (TCP clients are served meanwhile).
    const gateway = createServer({ bus, canInterface: 'vcan0', host: '127.0.0.1', port: 0, receiveCoalesceUs: 250, mqtt: { url: 'mqtt://127.0.0.1:1', ...mqtt } }) as VscpGateway;
    await gateway.listen();
    try {
      // The server's own probe of the interface first, then the bridge's socket.
      await waitUntil(() => seen.length >= 2, 3000, 'bridge socket opened');
      assert.equal(seen.at(-1)?.receiveCoalesceUs, expected.receiveCoalesceUs);
      assert.equal(seen.at(-1)?.receiveCoalesceAlways, expected.receiveCoalesceAlways);
    } finally {
      await gateway.close();
    }
  }
});

test('requiring the library loads neither MQTT.js nor lib/mqtt; its MQTT exports load on first use', () => {
  const lib = JSON.stringify(join(REPO_ROOT, 'dist', 'lib', 'index.js'));
  const count = "Object.keys(require.cache).filter((k) => k.includes('/node_modules/mqtt/') || k.includes('/dist/lib/mqtt/')).length";
  const script = `const u = require(${lib}); const before = ${count}; const ok = typeof u.MqttBridge === 'function' && u.parsePayload('{"class":1,"type":2}', new Uint8Array(16)).ok && u.DEFAULT_MQTT_TOPIC === 'vscp/{guid}/{class}/{type}/{nickname}'; console.log(before, ok, ${count} > 0)`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '0 true true');
});

test('closing a gateway while its first connection attempt is under way leaves nothing running: the process exits', () => {
  const lib = JSON.stringify(join(REPO_ROOT, 'dist', 'lib', 'index.js'));
  // Port 1 refuses at once, so the refused attempt closes after close() has begun.
  const script = `const u = require(${lib}); const g = u.createServer({ bus: new u.VirtualCanBus({ interfaces: ['vcan0'] }), canInterface: 'vcan0', host: '127.0.0.1', port: 0, mqtt: { url: 'mqtt://127.0.0.1:1' } }); g.listen().then(() => g.close()).then(() => console.log('closed'));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.signal, null, 'still running 10 s after close()');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'closed');
});
