// Broker to bus, against a real Mosquitto: messages a third-party client
// (mosquitto_pub) publishes on the bridge's subscriptions, in every VSCP
// format, reach the bus as SEND would put them there (docs/protocol.md §3.1);
// bad messages are counted and logged, never reach the bus, never crash.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { MqttBridge, MqttRefusal } from '../../lib/mqtt/bridge.js';
import { parseGuid } from '../../lib/vscp/guid.js';
import { Broker, clientArgs, killAllBrokers, mosquittoPub } from '../helpers/mosquitto.js';
import type { CapturedLogger, SeenFrame } from '../helpers/bridge.js';
import { captureLogger, connectedBridge, recordFrames, sleep, waitUntil } from '../helpers/bridge.js';

const GUID_TEXT = 'FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00';
const GUID = parseGuid(GUID_TEXT)!;
const IN_TOPIC = `remote-vscp/${GUID_TEXT}/in`;
const GUID_BYTES = GUID_TEXT.split(':').map((h) => parseInt(h, 16));

let broker: Broker;
let bus: VirtualCanBus;
let bridge: MqttBridge;
let log: CapturedLogger;
let seen: SeenFrame[];
const refusals: MqttRefusal[] = [];

before(async () => {
  broker = await Broker.start();
  bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  seen = recordFrames(bus.open('vcan0'));
  log = captureLogger();
  // The default subscription: remote-vscp/{ifguid}/#.
  bridge = await connectedBridge({ url: broker.url, bus, canInterface: 'vcan0', guid: GUID, logger: log });
  bridge.on('refused', (r: MqttRefusal) => refusals.push(r));
  assert.deepEqual(bridge.subscriptions, [`remote-vscp/${GUID_TEXT}/#`]);
});

after(async () => {
  await bridge.stop();
  killAllBrokers();
});

const frame = (f: SeenFrame): string => `${(f.rawId & 0x1fffffff).toString(16).padStart(8, '0')}#${f.data.join('.')}`;

async function sendAndSee(payloads: readonly string[], count: number): Promise<string[]> {
  const before = seen.length;
  for (const p of payloads) mosquittoPub(broker, IN_TOPIC, p, ['-q', '1']);
  await waitUntil(() => seen.length >= before + count, 3000, () => `${seen.length - before} of ${count} frames on the bus`);
  await sleep(100);
  return seen.slice(before).map(frame);
}

test('JSON (current and vscp-prefixed keys), XML and string payloads reach the bus as SEND frames (nickname 0)', async () => {
  const frames = await sendAndSee(
    [
      '{"head":96,"obid":0,"datetime":"2026-08-10T12:00:01Z","timestamp":123456,"class":20,"type":3,"guid":"FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:00:2A","data":[0,1,35],"note":""}',
      '{"vscpHead":0,"vscpObId":1,"vscpDateTime":"2017-01-13T10:16:02","vscpTimeStamp":50817,"vscpClass":10,"vscpType":6,"vscpGuid":"00:00:00:00:00:00:00:00:00:00:00:00:00:01:00:02","vscpData":[1,2],"vscpNote":"x"}',
      '  {"class":30,"type":5}',
      '<event head="3" obid="1234" datetime="2017-01-13T10:16:02" timestamp="50817" class="10" type="6" guid="00:00:00:00:00:00:00:00:00:00:00:00:00:01:00:02" sizedata="7" data="0x48,0x34,0x35,0x2E,0x34,0x36,0x34" />',
      '0,20,3,0,2026-08-10T12:00:01Z,0,FF:FF:FF:FF:FF:FF:FF:FE:00:00:00:00:00:00:00:2A,0x10,17',
      // The frame-version bit (nanosecond timestamps) is accepted and has no place on CAN.
      '{"head":352,"timestamp":1786000000000000000,"class":20,"type":9,"data":[4]}',
    ],
    6,
  );
  assert.deepEqual(frames, ['0c140300#0.1.35', '000a0600#1.2', '001e0500#', '000a0600#72.52.53.46.52.54.52', '00140300#16.17', '0c140900#4']);
  await waitUntil(() => bridge.stats().sentToBus === 6, 1000, 'six frames written');
  assert.equal(bridge.stats().refused, 0);
});

test('Level I over Level II (class 512..1023): the first 16 data bytes must be this gateway GUID, the rest is the frame', async () => {
  const good = JSON.stringify({ class: 522, type: 6, data: [...GUID_BYTES, 0x80, 0x02] });
  const frames = await sendAndSee([good, `0,522,6,0,,0,-,${GUID_BYTES.join(',')},9`], 2);
  assert.deepEqual(frames, ['000a0600#128.2', '000a0600#9']);
});

test('bad messages are counted, logged at most once per interval, never reach the bus, never stop the bridge', async () => {
  const before = seen.length;
  const refusedBefore = bridge.stats().refused;
  const warningsBefore = log.lines.filter((l) => l.startsWith('warn mqtt: refused')).length;
  refusals.length = 0;
  const bad = [
    'not an event',
    '{"class":20,"type":3,',
    '{"class":1024,"type":3}',
    '{"class":20,"type":3,"data":[1,2,3,4,5,6,7,8,9]}',
    '{"class":20,"type":3,"data":[256]}',
    '{"class":"20","type":3}',
    '{"type":3}',
    '[1,2,3]',
    JSON.stringify({ class: 522, type: 6, data: [...GUID_BYTES.slice(0, 15), 0x01, 1] }),
    '<event class="10" type="6" data="1,2" sizedata="3" />',
    '<event class="10" type="300" />',
    '<notevent class="10" type="6" />',
    '0,1024,3,0,,0,-',
    '0,20,3,0,,0,-,1,2,3,4,5,6,7,8,9',
    '0,20',
    '',
  ];
  for (const p of bad) mosquittoPub(broker, IN_TOPIC, p, ['-q', '1']);
  await waitUntil(() => bridge.stats().refused - refusedBefore >= bad.length, 3000, () => `${bridge.stats().refused - refusedBefore} of ${bad.length} refused`);
  await sleep(200);
  assert.equal(seen.length, before, 'nothing reached the bus');
  assert.equal(refusals.length, bridge.stats().refused - refusedBefore);
  assert.ok(refusals.some((r) => /Level II/.test(r.reason)));
  assert.ok(refusals.some((r) => /at most 8/.test(r.reason)));
  assert.ok(refusals.some((r) => /GUID/.test(r.reason)));
  assert.ok(refusals.some((r) => /not JSON/.test(r.reason)));
  assert.ok(refusals.some((r) => /sizedata/.test(r.reason)));
  assert.ok(refusals.some((r) => /empty/.test(r.reason)));
  const warnings = log.lines.filter((l) => l.startsWith('warn mqtt: refused'));
  assert.ok(warnings.length - warningsBefore <= 1, `rate-limited: ${warnings.length - warningsBefore} lines for ${bad.length} bad messages`);
  // Still working.
  const frames = await sendAndSee(['{"class":20,"type":3,"data":[7]}'], 1);
  assert.deepEqual(frames, ['00140300#7']);
});

test('a binary payload (first byte 0x00, the encrypted UDP frame) is refused', async () => {
  const refusedBefore = bridge.stats().refused;
  refusals.length = 0;
  const file = join(broker.dir, 'binary');
  writeFileSync(file, Buffer.from([0x00, 0x01, 0x02, 0x03]));
  // mosquitto_pub -f sends a file's bytes as they are.
  execFileSync('mosquitto_pub', [...clientArgs(broker), '-t', IN_TOPIC, '-f', file]);
  await waitUntil(() => bridge.stats().refused - refusedBefore >= 1, 3000, 'refused');
  assert.equal(refusals.length, 1);
  assert.match(refusals[0]!.reason, /binary/);
});

test('a retained message is not replayed onto the bus when the bridge subscribes', async () => {
  const topic = `remote-vscp/${GUID_TEXT}/retained`;
  mosquittoPub(broker, topic, '{"class":20,"type":3,"data":[42]}', ['-r', '-q', '1']);
  const bus2 = new VirtualCanBus({ interfaces: ['vcan0'] });
  const seen2 = recordFrames(bus2.open('vcan0'));
  const late = await connectedBridge({ url: broker.url, bus: bus2, canInterface: 'vcan0', guid: GUID, clientId: 'late' });
  await sleep(400);
  assert.deepEqual(seen2, []);
  await late.stop();
  mosquittoPub(broker, topic, '', ['-r']);
});
