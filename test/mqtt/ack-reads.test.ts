// QoS 1 acknowledgements read a batch at a time (lib/mqtt/ack-wakeups.ts),
// against real Mosquittos: one that sends each PUBACK at once
// (set_tcp_nodelay) and one with its default, Nagle's algorithm. Either way
// every event is delivered once, in order, and acknowledged.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { MqttBridge } from '../../lib/mqtt/bridge.js';
import { Broker, killAllBrokers, mosquittoSub } from '../helpers/mosquitto.js';
import { connectedBridge, injectNumbered, numbersOf, waitUntil } from '../helpers/bridge.js';

const BATCH = 200;
const BATCHES = 5;
const bridges: MqttBridge[] = [];

after(async () => {
  for (const b of bridges) await b.stop();
  killAllBrokers();
});

for (const nagle of [false, true]) {
  test(`batches of ${BATCH} QoS 1 events, broker ${nagle ? 'with Nagle (its default)' : 'without Nagle'}: every one delivered and acknowledged${nagle ? '' : ', each batch in a few reads'}`, async () => {
    const broker = await Broker.start({ extra: ['max_inflight_messages 0', ...(nagle ? [] : ['set_tcp_nodelay true'])] });
    const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
    const sub = await mosquittoSub(broker, ['acks/#'], ['-q', '1']);
    const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', qos: 1, topic: 'acks/{class}/{type}', clientId: `acks-${String(nagle)}` });
    bridges.push(bridge);
    const readsBefore = bridge.stats().acknowledgementReads;
    for (let b = 0; b < BATCHES; b++) {
      // One batch on the bus side: the bridge publishes it in one write.
      for (let i = 0; i < BATCH; i++) injectNumbered(bus, b * BATCH + i);
      await waitUntil(() => bridge.stats().acknowledged === (b + 1) * BATCH, 10_000, `batch ${b} acknowledged`);
    }
    const lines = await sub.waitFor(BATCH * BATCHES, 30_000);
    assert.deepEqual(numbersOf(lines), Array.from({ length: BATCH * BATCHES }, (_, i) => i), 'every event once, in bus order');
    const stats = bridge.stats();
    assert.equal(stats.inflight, 0);
    assert.equal(stats.connections, 1);
    const reads = stats.acknowledgementReads - readsBefore;
    assert.ok(reads >= BATCHES, `at least one read per batch, saw ${reads}`);
    if (!nagle) {
      // The mark waits for 64 at a time: two to four reads per batch of 200, not one per acknowledgement.
      assert.ok(reads <= BATCHES * 4, `${BATCH * BATCHES} acknowledgements took ${reads} reads`);
    }
    sub.stop();
  });
}
