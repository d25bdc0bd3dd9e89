// Bus to broker, against a real Mosquitto (test/helpers/mosquitto.ts): every
// VSCP frame on the bus is one message, with the topic and payload
// docs/mqtt.md describes, as a third-party client (mosquitto_sub) sees it.
// The bus is the in-memory one; test/socketcan/mqtt-bridge.test.ts does the
// same on vcan.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { CAN_ERR_FLAG } from '../../lib/can/types.js';
import type { MqttBridge } from '../../lib/mqtt/bridge.js';
import { parseGuid } from '../../lib/vscp/guid.js';
import { formatDateTime, timestampFromMicros } from '../../lib/vscp/event-line.js';
import { Broker, killAllBrokers, mosquittoSub } from '../helpers/mosquitto.js';
import { captureLogger, connectedBridge, recordFrames, sleep, waitUntil } from '../helpers/bridge.js';

const GUID_TEXT = 'FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00';
const GUID = parseGuid(GUID_TEXT)!;
/** The GUID with nickname `n` in byte 15, as topics and payloads write it. */
const guidWith = (n: number): string => GUID_TEXT.slice(0, -2) + n.toString(16).toUpperCase().padStart(2, '0');

let broker: Broker;
const bridges: MqttBridge[] = [];

before(async () => {
  broker = await Broker.start();
});

after(async () => {
  for (const b of bridges) await b.stop();
  killAllBrokers();
});

function vscpId(priority: number, vscpClass: number, vscpType: number, nickname: number): number {
  return ((priority << 26) | (vscpClass << 16) | (vscpType << 8) | nickname) >>> 0;
}

test('every VSCP frame is one message: topic vscp/{guid}/{class}/{type}/{nickname}, JSON fields exact and typed', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const sub = await mosquittoSub(broker, ['vscp/#']);
  const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', guid: GUID });
  bridges.push(bridge);
  const observer = bus.open('vcan0');
  const seen = recordFrames(observer);

  bus.inject('vcan0', { id: vscpId(3, 10, 6, 0x2a), extended: true, data: Uint8Array.from([0x80, 0x02, 0x1b, 0x22]) });
  bus.inject('vcan0', { id: vscpId(7, 511, 255, 0xff), extended: true, data: new Uint8Array(0) });
  bus.inject('vcan0', { id: vscpId(0, 20, 3, 0x01), extended: true, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
  // Not VSCP: a standard frame, an RTR frame, an error frame.
  bus.inject('vcan0', { id: 0x123, data: Uint8Array.from([1]) });
  bus.inject('vcan0', { id: vscpId(3, 10, 6, 0x2a), extended: true, rtr: true, data: new Uint8Array(1) });
  bus.inject('vcan0', { rawId: (CAN_ERR_FLAG | 0x04) >>> 0, data: new Uint8Array(8) });

  const lines = await sub.waitFor(3);
  await sleep(300); // nothing else may follow
  assert.equal(sub.lines.length, 3, `exactly three messages: ${JSON.stringify(sub.lines)}`);
  const vscpFrames = seen.filter((f) => (f.rawId & 0x80000000) !== 0 && (f.rawId & 0x60000000) === 0);
  assert.equal(vscpFrames.length, 3);

  const expected = [
    { nick: 0x2a, cls: 10, type: 6, head: 96, data: [0x80, 0x02, 0x1b, 0x22] },
    { nick: 0xff, cls: 511, type: 255, head: 224, data: [] },
    { nick: 0x01, cls: 20, type: 3, head: 0, data: [1, 2, 3, 4, 5, 6, 7, 8] },
  ];
  for (let i = 0; i < 3; i++) {
    const e = expected[i]!;
    const line = lines[i]!;
    const space = line.indexOf(' ');
    const topic = line.slice(0, space);
    // {nickname} = 256 * GUID[14] + GUID[15]: byte 14 of this GUID is 0x01.
    assert.equal(topic, `vscp/${guidWith(e.nick)}/${e.cls}/${e.type}/${256 + e.nick}`);
    const payload = JSON.parse(line.slice(space + 1)) as Record<string, unknown>;
    const ts = vscpFrames[i]!.timestamp;
    assert.deepEqual(payload, {
      head: e.head,
      obid: 0,
      datetime: formatDateTime(ts / 1000) + 'Z',
      timestamp: timestampFromMicros(ts),
      class: e.cls,
      type: e.type,
      guid: guidWith(e.nick),
      data: e.data,
      note: '',
    });
    assert.match(payload.datetime as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.ok(Math.abs(Date.parse(payload.datetime as string) - Date.now()) < 10_000, 'datetime is UTC now');
  }
  const stats = bridge.stats();
  assert.equal(stats.published, 3);
  assert.equal(stats.acknowledged, 3, 'QoS 1 by default: every publication acknowledged');
  sub.stop();
  observer.close();
});

test('string and XML payloads carry the same fields; QoS 0 and 2 publish too', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const observer = bus.open('vcan0');
  const seen = recordFrames(observer);
  const sub = await mosquittoSub(broker, ['fmt/#']);
  const asString = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', guid: GUID, format: 'string', qos: 0, topic: 'fmt/string/{class}', clientId: 'fmt-string' });
  const asXml = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', guid: GUID, format: 'xml', qos: 2, topic: 'fmt/xml/{class}', clientId: 'fmt-xml' });
  bridges.push(asString, asXml);
  bus.inject('vcan0', { id: vscpId(3, 10, 6, 0x2a), extended: true, data: Uint8Array.from([0x48, 0x34, 0x35]) });
  const lines = (await sub.waitFor(2)).sort();
  const ts = seen[0]!.timestamp;
  const dt = formatDateTime(ts / 1000) + 'Z';
  const t = timestampFromMicros(ts);
  assert.deepEqual(lines, [
    `fmt/string/10 96,10,6,0,${dt},${t},${guidWith(0x2a)},72,52,53`,
    `fmt/xml/10 <event head="96" obid="0" datetime="${dt}" timestamp="${t}" class="10" type="6" guid="${guidWith(0x2a)}" sizedata="3" data="0x48,0x34,0x35" />`,
  ]);
  await waitUntil(() => asXml.stats().acknowledged === 1, 2000, 'QoS 2 publication completed');
  sub.stop();
  observer.close();
});

test('a topic template with every placeholder, in either brace style', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const sub = await mosquittoSub(broker, ['tpl/#']);
  const bridge = await connectedBridge({
    url: broker.url,
    bus,
    canInterface: 'vcan0',
    guid: GUID,
    topic: 'tpl/{ifguid}/{{guid}}/{head}/{class}/{type}/{{nickname}}',
    clientId: 'tpl',
  });
  bridges.push(bridge);
  bus.inject('vcan0', { id: vscpId(5, 30, 5, 0x07), extended: true, data: Uint8Array.from([9]) });
  const [line] = await sub.waitFor(1);
  assert.equal(line!.split(' ')[0], `tpl/${GUID_TEXT}/${guidWith(7)}/160/30/5/263`);
  sub.stop();
});

test('gateway state: retained online status and information, offline after stop; info lines for the server', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan3'] });
  const log = captureLogger();
  const bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan3', guid: GUID, clientId: 'state', logger: log });
  assert.equal(bridge.statusTopicName, `uvscpd/${GUID_TEXT}/status`);
  // Retained: a subscriber that comes later still gets both.
  const sub = await mosquittoSub(broker, [`uvscpd/${GUID_TEXT}/#`]);
  const lines = await sub.waitFor(2);
  const status = lines.find((l) => l.startsWith(`uvscpd/${GUID_TEXT}/status `));
  const info = lines.find((l) => l.startsWith(`uvscpd/${GUID_TEXT}/info `));
  assert.equal(status, `uvscpd/${GUID_TEXT}/status online`);
  const facts = JSON.parse(info!.slice(info!.indexOf(' ') + 1)) as Record<string, unknown>;
  assert.equal(facts.name, 'uvscpd');
  assert.match(String(facts.version), /^\d+\.\d+\.\d+/);
  assert.equal(facts.interface, 'vcan3');
  assert.equal(facts.guid, GUID_TEXT);
  assert.ok(Math.abs(Date.parse(String(facts.started)) - Date.now()) < 10_000);

  const info0 = bridge.statusLines();
  assert.equal(info0[0], `mqtt: connected to ${broker.url} as state (QoS 1, json)`);
  assert.match(info0[1]!, /^mqtt out: 0 published, 0 unacknowledged, 0 refused by the broker, queue 0 of 10000, 0 dropped when full$/);
  assert.match(info0[2]!, /^mqtt in: 0 received, 0 sent to the bus, 0 refused, 0 own echoes ignored, 0 bus errors$/);

  await bridge.stop();
  await sub.waitFor(3);
  assert.equal(sub.lines[2], `uvscpd/${GUID_TEXT}/status offline`);
  assert.equal(bridge.stats().state, 'stopped');
  assert.ok(log.lines.some((l) => l === 'info mqtt: stopped'));
  sub.stop();
});
