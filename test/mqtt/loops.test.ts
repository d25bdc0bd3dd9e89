// No loops, exactly once (docs/mqtt.md "Loops"), against a real Mosquitto:
// the bridge never publishes the frames it put on the bus, its own
// publications coming back through a broad subscription (vscp/#) are never
// sent to the bus (MQTT 5: the broker's no-local; MQTT 3.1.1: the bridge's
// memory of what it published), and two gateways on two buses carry each
// other's events exactly once. On the in-memory bus here; on vcan in
// test/socketcan/mqtt-bridge.test.ts.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { MqttBridge } from '../../lib/mqtt/bridge.js';
import { DEFAULT_PUBLISH_TOPIC, DEFAULT_SUBSCRIBE_TOPIC, filterMayMatchTemplate } from '../../lib/mqtt/topic.js';
import { parseGuid } from '../../lib/vscp/guid.js';
import { Broker, killAllBrokers, mosquittoPub, mosquittoSub } from '../helpers/mosquitto.js';
import type { SeenFrame } from '../helpers/bridge.js';
import { connectedBridge, recordFrames, sleep, waitUntil } from '../helpers/bridge.js';

const GUID_A = parseGuid('FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:0A:00')!;
const GUID_B = parseGuid('FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:0B:00')!;

let broker: Broker;
const bridges: MqttBridge[] = [];

before(async () => {
  broker = await Broker.start();
});

after(async () => {
  for (const b of bridges) await b.stop();
  killAllBrokers();
});

/** Frame `seq` of a test stream: class 20 type 3 from `nickname`, seq in two data bytes. */
function inject(bus: VirtualCanBus, iface: string, nickname: number, seq: number): void {
  const id = ((3 << 26) | (20 << 16) | (3 << 8) | nickname) >>> 0;
  bus.inject(iface, { id, extended: true, data: Uint8Array.from([seq >> 8, seq & 0xff]) });
}

const seqOf = (f: SeenFrame): number => (f.data[0]! << 8) | f.data[1]!;
const nicknameOf = (f: SeenFrame): number => f.rawId & 0xff;

test('the default subscription cannot match the default publications', () => {
  assert.equal(filterMayMatchTemplate(DEFAULT_SUBSCRIBE_TOPIC.replace('{ifguid}', '00:11'), DEFAULT_PUBLISH_TOPIC), false);
  assert.equal(filterMayMatchTemplate('vscp/#', DEFAULT_PUBLISH_TOPIC), true);
});

test('frames the bridge put on the bus are not published', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const seen = recordFrames(bus.open('vcan0'));
  const sub = await mosquittoSub(broker, ['vscp/#']);
  const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', guid: GUID_A, clientId: 'own' });
  bridges.push(bridge);
  for (let i = 0; i < 10; i++) mosquittoPub(broker, bridge.subscriptions[0]!.replace('#', 'x'), `{"class":20,"type":3,"data":[0,${i}]}`);
  await waitUntil(() => seen.length === 10, 3000, () => `${seen.length} of 10 frames on the bus`);
  await sleep(300);
  assert.deepEqual(sub.lines, [], 'nothing published');
  assert.equal(bridge.stats().published, 0);
  sub.stop();
});

for (const protocolVersion of [5, 4] as const) {
  test(`own publications coming back through vscp/# are not sent to the bus (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
    const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
    const seen = recordFrames(bus.open('vcan0'));
    const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', guid: GUID_A, subscribe: ['vscp/#'], protocolVersion, clientId: `echo${protocolVersion}` });
    bridges.push(bridge);
    for (let i = 0; i < 50; i++) inject(bus, 'vcan0', 0x11, i);
    await waitUntil(() => bridge.stats().acknowledged === 50, 3000, () => JSON.stringify(bridge.stats()));
    await sleep(400);
    const stats = bridge.stats();
    assert.equal(stats.published, 50);
    assert.equal(stats.sentToBus, 0, 'none went back to the bus');
    assert.equal(seen.length, 50, 'the bus carries the 50 injected frames and nothing else');
    // MQTT 5: the broker never sends them back (no-local); 3.1.1 has no such option: the memory catches all.
    assert.equal(stats.echoes, protocolVersion === 5 ? 0 : 50);
    // Another gateway's event on the same broad subscription does go to the bus.
    mosquittoPub(broker, 'vscp/FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:0C:05/20/3/3077', '{"class":20,"type":3,"data":[1,2]}');
    await waitUntil(() => seen.length === 51, 3000, 'the foreign event on the bus');
    assert.deepEqual(seen[50]!.data, [1, 2]);
  });
}

for (const protocolVersion of [5, 4] as const) {
  test(`two gateways on two buses through one broker, both on vscp/#: exactly once both ways, nothing circulates (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
    const bus = new VirtualCanBus({ interfaces: ['vcan0', 'vcan1'] });
    const seen0 = recordFrames(bus.open('vcan0'));
    const seen1 = recordFrames(bus.open('vcan1'));
    const common = { url: broker.url, bus, subscribe: ['vscp/#'], protocolVersion } as const;
    const a = await connectedBridge({ ...common, canInterface: 'vcan0', guid: GUID_A, clientId: `a${protocolVersion}` });
    const b = await connectedBridge({ ...common, canInterface: 'vcan1', guid: GUID_B, clientId: `b${protocolVersion}` });
    bridges.push(a, b);
    const N = 200;
    for (let i = 0; i < N; i++) {
      inject(bus, 'vcan0', 0x21, i);
      inject(bus, 'vcan1', 0x22, i);
      if (i % 20 === 19) await sleep(5);
    }
    // Frames the other gateway wrote carry nickname 0 (SEND's).
    const arrived0 = (): SeenFrame[] => seen0.filter((f) => nicknameOf(f) === 0);
    const arrived1 = (): SeenFrame[] => seen1.filter((f) => nicknameOf(f) === 0);
    await waitUntil(() => arrived0().length >= N && arrived1().length >= N, 5000, () => `vcan0 got ${arrived0().length}, vcan1 got ${arrived1().length} of ${N}`);
    await sleep(500); // anything circulating would show up now
    assert.deepEqual(arrived1().map(seqOf), Array.from({ length: N }, (_, i) => i), 'vcan0 -> vcan1 exactly once, in order');
    assert.deepEqual(arrived0().map(seqOf), Array.from({ length: N }, (_, i) => i), 'vcan1 -> vcan0 exactly once, in order');
    assert.equal(seen0.length, 2 * N);
    assert.equal(seen1.length, 2 * N);
    for (const g of [a, b]) {
      const s = g.stats();
      assert.equal(s.published, N, 'each publishes only its own bus');
      assert.equal(s.sentToBus, N, 'each writes only the other bus');
    }
  });
}
