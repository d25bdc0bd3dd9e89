// lib/mqtt/packet.ts: PUBLISH packets as MQTT 3.1.1 and 5.0 lay them out
// (§3.3), the window of QoS 1 publications in flight, and MQTT.js's packet
// ids kept apart from the bridge's.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InflightWindow, OWN_PACKET_ID_MAX, PacketIdsAbove, publishPacketSize, writePublish } from '../../lib/mqtt/packet.js';

function packet(topic: string, payload: string, qos: 0 | 1, id: number, v5: boolean): number[] {
  const t = Buffer.from(topic, 'utf8');
  const buf = Buffer.alloc(publishPacketSize(t.length, payload.length, qos, v5));
  assert.equal(writePublish(buf, 0, t, payload, qos, id, v5), buf.length, 'fills exactly the size it computes');
  return [...buf];
}

test('QoS 0, MQTT 3.1.1: fixed header 0x30, remaining length, topic, payload', () => {
  assert.deepEqual(packet('a/b', 'hi', 0, 0, false), [0x30, 7, 0, 3, 0x61, 0x2f, 0x62, 0x68, 0x69]);
});

test('QoS 1, MQTT 5: 0x32, packet id, an empty property list', () => {
  assert.deepEqual(packet('t', 'x', 1, 0x1234, true), [0x32, 7, 0, 1, 0x74, 0x12, 0x34, 0, 0x78]);
  assert.deepEqual(packet('t', '', 0, 0, true), [0x30, 4, 0, 1, 0x74, 0]);
});

test('the remaining length is a variable byte integer; topics are UTF-8', () => {
  const payload = 'p'.repeat(200);
  const bytes = packet('vscp/é', payload, 0, 0, false);
  // remaining = 2 + 7 (topic bytes) + 200 = 209 = 0xD1 -> 0xD1 0x01
  assert.deepEqual(bytes.slice(0, 5), [0x30, 0xd1, 0x01, 0, 7]);
  assert.equal(bytes.length, 1 + 2 + 209);
  assert.equal(publishPacketSize(10, 16383 - 12, 0, false), 1 + 2 + 16383);
  assert.equal(publishPacketSize(10, 16384 - 12, 0, false), 1 + 3 + 16384);
});

test('many packets back to back in one buffer', () => {
  const t = Buffer.from('x');
  const size = publishPacketSize(1, 1, 1, true) * 3;
  const buf = Buffer.alloc(size);
  let at = 0;
  for (let id = 1; id <= 3; id++) at = writePublish(buf, at, t, String(id), 1, id, true);
  assert.equal(at, size);
  assert.deepEqual([...buf.subarray(0, 9)], [0x32, 7, 0, 1, 0x78, 0, 1, 0, 0x31]);
  assert.deepEqual([...buf.subarray(18)], [0x32, 7, 0, 1, 0x78, 0, 3, 0, 0x33]);
});

test('InflightWindow: in-order and out-of-order acknowledgements, unknown ids, everything back for a new connection', () => {
  const w = new InflightWindow();
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) {
    const id = w.allocate();
    ids.push(id);
    w.add(id, `t${i}`, `p${i}`);
  }
  assert.deepEqual(ids, [1, 2, 3, 4, 5]);
  assert.equal(w.acknowledge(1), true);
  assert.equal(w.acknowledge(4), true, 'out of order');
  assert.equal(w.acknowledge(4), false, 'already acknowledged');
  assert.equal(w.acknowledge(60001), false, "not the bridge's");
  assert.equal(w.size, 3);
  assert.deepEqual(w.takeAll(), { topics: ['t1', 't2', 't4'], payloads: ['p1', 'p2', 'p4'] });
  assert.equal(w.size, 0);
});

test('InflightWindow ids run 1..OWN_PACKET_ID_MAX and wrap; a long run stays small', () => {
  const w = new InflightWindow();
  for (let i = 0; i < OWN_PACKET_ID_MAX + 10; i++) {
    const id = w.allocate();
    assert.equal(id, (i % OWN_PACKET_ID_MAX) + 1);
    w.add(id, 't', 'p');
    if (i >= 20) assert.equal(w.acknowledge(((i - 20) % OWN_PACKET_ID_MAX) + 1), true);
  }
  assert.equal(w.size, 20);
});

test("PacketIdsAbove gives MQTT.js ids above the bridge's, wrapping within them", () => {
  const p = new PacketIdsAbove();
  assert.equal(p.allocate(), OWN_PACKET_ID_MAX + 1);
  assert.equal(p.getLastAllocated(), OWN_PACKET_ID_MAX + 1);
  for (let i = OWN_PACKET_ID_MAX + 2; i <= 65535; i++) assert.equal(p.allocate(), i);
  assert.equal(p.allocate(), OWN_PACKET_ID_MAX + 1);
  assert.equal(p.register(1), false);
  assert.equal(p.register(65535), true);
});
