// QoS 1 and the broker's window (docs/mqtt.md "QoS 1 and the broker's
// window"): against a Mosquitto that lets a client have only 5 QoS 1
// publications unacknowledged (max_inflight_messages 5, its MQTT 5 Receive
// Maximum), thousands of bus events all reach a subscriber, in order, with
// never more than 5 in flight and on one connection; the bridge reads the
// acknowledgements itself (lib/mqtt/puback.ts).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { MqttBridge } from '../../lib/mqtt/bridge.js';
import { Broker, killAllBrokers, mosquittoSub } from '../helpers/mosquitto.js';
import { connectedBridge, injectNumbered, numbersOf, waitUntil } from '../helpers/bridge.js';

const EVENTS = 5000;
const WINDOW = 5;

let broker: Broker;
const bridges: MqttBridge[] = [];

before(async () => {
  broker = await Broker.start({ extra: [`max_inflight_messages ${WINDOW}`] });
});

after(async () => {
  for (const b of bridges) await b.stop();
  killAllBrokers();
});

for (const protocolVersion of [5, 4] as const) {
  test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: ${EVENTS} QoS 1 events through a broker window of ${WINDOW}, every one, in order`, async () => {
    const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
    const topic = `win${protocolVersion}/{class}/{type}`;
    const sub = await mosquittoSub(broker, [`win${protocolVersion}/#`], ['-q', '1']);
    const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', qos: 1, protocolVersion, topic, clientId: `window-${protocolVersion}`, queueSize: EVENTS });
    bridges.push(bridge);
    // The most publications in flight, sampled between every few events and while they drain.
    let most = 0;
    const sample = (): void => {
      most = Math.max(most, bridge.stats().inflight);
    };
    const sampler = setInterval(sample, 1);
    for (let i = 0; i < EVENTS; i++) {
      injectNumbered(bus, i);
      if (i % 50 === 49) {
        sample();
        await new Promise((r) => setImmediate(r));
      }
    }
    const lines = await sub.waitFor(EVENTS, 60_000);
    clearInterval(sampler);
    const seqs = numbersOf(lines);
    assert.deepEqual(seqs, Array.from({ length: EVENTS }, (_, i) => i), 'every event once, in bus order');
    await waitUntil(() => bridge.stats().acknowledged === EVENTS, 10_000, 'every publication acknowledged');
    const stats = bridge.stats();
    assert.equal(stats.published, EVENTS);
    assert.equal(stats.inflight, 0);
    assert.equal(stats.dropped, 0);
    assert.equal(stats.connections, 1, 'never reconnected');
    if (protocolVersion === 5) {
      assert.ok(most <= WINDOW, `at most ${WINDOW} in flight (the broker's Receive Maximum), saw ${most}`);
      assert.ok(most > 0, 'the sampler saw publications in flight');
    }
    sub.stop();
  });
}
