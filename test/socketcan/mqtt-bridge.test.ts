// The MQTT bridge on real SocketCAN (vcan, in the CAN guest) with a real
// Mosquitto in the same guest (its root is this machine's /, so the same
// binary runs there): every VSCP frame on vcan is published once; events
// published by a third-party client (mosquitto_pub) reach vcan, as candump
// sees them; two gateways on two vcan buses through one broker carry each
// other's events exactly once, both ways, and nothing circulates
// (docs/mqtt.md "Loops").
//
//   CANVM_IFACES="vcan0 vcan1" test/can-vm.sh node --test dist/test/socketcan/mqtt-bridge.test.js

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { socketCanBus } from '../../lib/can/socketcan.js';
import type { CanSocket } from '../../lib/can/types.js';
import type { MqttBridge } from '../../lib/mqtt/bridge.js';
import { parseGuid } from '../../lib/vscp/guid.js';
import { Broker, killAllBrokers, mosquittoPub, mosquittoSub } from '../helpers/mosquitto.js';
import type { SeenFrame } from '../helpers/bridge.js';
import { connectedBridge, recordFrames, sleep, waitUntil } from '../helpers/bridge.js';
import { candump, cansend, createVcan, deleteVcan, uniqueVcanName } from '../helpers/vcan.js';

const GUID_A_TEXT = 'FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:0A:00';
const GUID_A = parseGuid(GUID_A_TEXT)!;
const GUID_B = parseGuid('FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:0B:00')!;

let broker: Broker;
let vcanA: string;
let vcanB: string;
const bridges: MqttBridge[] = [];
const sockets: CanSocket[] = [];

before(async () => {
  broker = await Broker.start();
  vcanA = createVcan(uniqueVcanName('mqa'));
  vcanB = createVcan(uniqueVcanName('mqb'));
});

after(async () => {
  for (const b of bridges) await b.stop();
  for (const s of sockets) s.close();
  killAllBrokers();
  deleteVcan(vcanA);
  deleteVcan(vcanB);
});

function open(iface: string): CanSocket {
  const s = socketCanBus.open(iface);
  sockets.push(s);
  return s;
}

const testId = (nickname: number): number => ((3 << 26) | (20 << 16) | (3 << 8) | nickname) >>> 0;
const seqOf = (f: SeenFrame): number => (f.data[0]! << 8) | f.data[1]!;

test('vcan to broker: each VSCP frame once, standard and RTR frames never; the bridge publishes none of its own writes', async (t) => {
  const sub = await mosquittoSub(broker, ['vscp/#']);
  const bridge = await connectedBridge({ url: broker.url, bus: socketCanBus, canInterface: vcanA, guid: GUID_A, clientId: 'sc-pub' }, 30_000);
  bridges.push(bridge);
  t.after(() => bridge.stop()); // also on failure: a bridge left on the bus would publish into the next test
  cansend(vcanA, '0C0A062A#80021B22'); // class 10 type 6 from nickname 0x2A
  cansend(vcanA, '123#01'); // standard
  cansend(vcanA, '0C0A062A#R'); // RTR
  cansend(vcanA, '00140301#'); // class 20 type 3, no data
  const lines = await sub.waitFor(2, 20_000);
  // The bridge's own write (from a subscription) reaches vcan but is not published.
  mosquittoPub(broker, bridge.subscriptions[0]!.replace('#', 'cmd'), '{"class":30,"type":5,"data":[1]}');
  await waitUntil(() => bridge.stats().sentToBus === 1, 20_000, 'the event from the broker written on vcan');
  await sleep(400);
  assert.equal(sub.lines.length, 2, JSON.stringify(sub.lines));
  assert.equal(lines[0]!.split(' ')[0], 'vscp/FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:0A:2A/10/6/2602');
  const p0 = JSON.parse(lines[0]!.slice(lines[0]!.indexOf(' ') + 1)) as { data: number[]; head: number; class: number; type: number; timestamp: number };
  assert.deepEqual([p0.head, p0.class, p0.type, p0.data], [96, 10, 6, [0x80, 0x02, 0x1b, 0x22]]);
  assert.ok(Number.isInteger(p0.timestamp) && p0.timestamp >= 0 && p0.timestamp < 2 ** 32);
  assert.equal(lines[1]!.split(' ')[0], 'vscp/FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:0A:01/20/3/2561');
  assert.equal(bridge.stats().published, 2);
  sub.stop();
  await bridge.stop();
});

test('broker to vcan: mosquitto_pub events in JSON, XML and string form, as candump sees them', async (t) => {
  const bridge = await connectedBridge({ url: broker.url, bus: socketCanBus, canInterface: vcanA, guid: GUID_A, clientId: 'sc-sub' }, 30_000);
  bridges.push(bridge);
  t.after(() => bridge.stop());
  const dump = candump(vcanA, 3, 20_000);
  await dump.ready;
  const topic = `remote-vscp/${GUID_A_TEXT}/x`;
  mosquittoPub(broker, topic, '{"head":96,"class":20,"type":3,"data":[0,1,35]}');
  mosquittoPub(broker, topic, '<event class="10" type="6" data="0x48,0x34" />');
  mosquittoPub(broker, topic, '0,30,5,0,,0,-,7');
  const lines = (await dump.lines).map((l) => l.replace(/^\(\d+\.\d+\)\s+\S+\s+/, ''));
  assert.deepEqual(lines, ['0C140300#000123', '000A0600#4834', '001E0500#07']);
  await bridge.stop();
});

for (const protocolVersion of [5, 4] as const) {
  test(`two gateways on ${'two vcan buses'}, one broker, both subscribed to vscp/#: exactly once both ways, nothing circulates (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, { timeout: 60_000 }, async () => {
    const common = { url: broker.url, bus: socketCanBus, subscribe: ['vscp/#'], protocolVersion } as const;
    const a = await connectedBridge({ ...common, canInterface: vcanA, guid: GUID_A, clientId: `sc-a${protocolVersion}` }, 30_000);
    const b = await connectedBridge({ ...common, canInterface: vcanB, guid: GUID_B, clientId: `sc-b${protocolVersion}` }, 30_000);
    bridges.push(a, b);
    try {
      const nodeA = open(vcanA);
      const nodeB = open(vcanB);
      const seenA = recordFrames(open(vcanA));
      const seenB = recordFrames(open(vcanB));
      const N = 300;
      for (let i = 0; i < N; i += 10) {
        const burst = (nick: number) => Array.from({ length: 10 }, (_, k) => ({ id: testId(nick), extended: true, data: Uint8Array.from([(i + k) >> 8, (i + k) & 0xff]) }));
        await nodeA.sendMany(burst(0x21));
        await nodeB.sendMany(burst(0x22));
        await sleep(10);
      }
      // What a gateway writes carries nickname 0 (SEND's); the nodes use 0x21 and 0x22.
      const fromBridge = (seen: SeenFrame[]): SeenFrame[] => seen.filter((f) => (f.rawId & 0xff) === 0);
      await waitUntil(() => fromBridge(seenA).length >= N && fromBridge(seenB).length >= N, 30_000, () => `vcan A got ${fromBridge(seenA).length}, vcan B ${fromBridge(seenB).length} of ${N}; ${JSON.stringify([a.stats(), b.stats()])}`);
      await sleep(1000); // anything circulating would arrive now
      const expected = Array.from({ length: N }, (_, i) => i);
      assert.deepEqual(fromBridge(seenB).map(seqOf), expected, 'A -> B exactly once, in order');
      assert.deepEqual(fromBridge(seenA).map(seqOf), expected, 'B -> A exactly once, in order');
      assert.equal(seenA.length, 2 * N, 'vcan A: its node and B, nothing else');
      assert.equal(seenB.length, 2 * N);
      for (const g of [a, b]) {
        const s = g.stats();
        assert.equal(s.published, N);
        assert.equal(s.sentToBus, N);
        assert.equal(s.dropped, 0);
        if (protocolVersion === 4) assert.equal(s.echoes, N, 'MQTT 3.1.1: every own publication came back and was recognised');
      }
    } finally {
      // Still subscribed, they would add to the next test's buses.
      await a.stop();
      await b.stop();
    }
  });
}
