// lib/mqtt/puback.ts: the bridge's own PUBACKs (MQTT 3.1.1 and 5.0 §3.4)
// taken out of the incoming bytes, everything else handed on unchanged,
// however the bytes are cut into chunks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PubackExtractor } from '../../lib/mqtt/puback.js';

const OWN_MAX = 60000;

interface Split {
  acks: Array<[number, number]>;
  passed: Buffer;
}

/** Feed `chunks` to one extractor; the acknowledgements it reported and the bytes it handed on. */
function run(chunks: Buffer[], ownMax = OWN_MAX): Split {
  const x = new PubackExtractor(ownMax);
  const acks: Array<[number, number]> = [];
  const passed: Buffer[] = [];
  for (const c of chunks) x.feed(c, (id, rc) => acks.push([id, rc]), (b) => passed.push(Buffer.from(b)));
  return { acks, passed: Buffer.concat(passed) };
}

/** The same bytes cut at every split point into two chunks, and one byte per chunk. */
function everyCut(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[bytes], [...bytes].map((b) => Buffer.from([b]))];
  for (let k = 1; k < bytes.length; k++) ways.push([bytes.subarray(0, k), bytes.subarray(k)]);
  return ways;
}

const puback = (id: number): number[] => [0x40, 0x02, id >> 8, id & 0xff];
const pingresp = [0xd0, 0x00];
const suback = [0x90, 0x03, 0xea, 0x61, 0x01];
/** A PUBLISH from the broker (QoS 0, topic "t", payload "hi"). */
const publish = [0x30, 0x05, 0x00, 0x01, 0x74, 0x68, 0x69];

test('own 3.1.1 PUBACKs are reported with reason code 0 and not handed on', () => {
  const r = run([Buffer.from([...puback(1), ...puback(2), ...puback(60000)])]);
  assert.deepEqual(r.acks, [
    [1, 0],
    [2, 0],
    [60000, 0],
  ]);
  assert.equal(r.passed.length, 0);
});

test('other packets, and PUBACKs for ids above the own range, reach MQTT.js byte for byte, in order', () => {
  const theirs = puback(60001);
  const bytes = Buffer.from([...pingresp, ...puback(7), ...suback, ...theirs, ...publish, ...puback(8)]);
  for (const chunks of everyCut(bytes)) {
    const r = run(chunks);
    assert.deepEqual(r.acks, [
      [7, 0],
      [8, 0],
    ]);
    assert.deepEqual([...r.passed], [...pingresp, ...suback, ...theirs, ...publish]);
  }
});

test('MQTT 5 forms: a reason code alone, and a reason code with properties', () => {
  // 0x97 quota exceeded with no properties; 0x87 not authorized with a reason string "no".
  const withReason = [0x40, 0x03, 0x00, 0x05, 0x97];
  const withProperties = [0x40, 0x09, 0x00, 0x06, 0x87, 0x05, 0x1f, 0x00, 0x02, 0x6e, 0x6f];
  const ok5 = [0x40, 0x04, 0x00, 0x09, 0x00, 0x00]; // success with an empty property list
  const bytes = Buffer.from([...withReason, ...publish, ...withProperties, ...ok5, ...pingresp]);
  for (const chunks of everyCut(bytes)) {
    const r = run(chunks);
    assert.deepEqual(r.acks, [
      [5, 0x97],
      [6, 0x87],
      [9, 0],
    ]);
    assert.deepEqual([...r.passed], [...publish, ...pingresp]);
  }
});

test('a large PUBLISH split across many chunks is handed on whole, and a PUBACK after it is still found', () => {
  const payload = Buffer.alloc(300, 0x41);
  const remaining = 2 + 1 + payload.length; // topic length, "t", payload
  const big = Buffer.concat([Buffer.from([0x30, (remaining & 0x7f) | 0x80, remaining >> 7, 0x00, 0x01, 0x74]), payload]);
  const bytes = Buffer.concat([big, Buffer.from(puback(3))]);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 7) chunks.push(bytes.subarray(at, at + 7));
  const r = run(chunks);
  assert.deepEqual(r.acks, [[3, 0]]);
  assert.deepEqual(r.passed, big);
});

test('a PUBACK with bad flags, a short one or id 0 is not taken: MQTT.js sees it (and reports it)', () => {
  const badFlags = [0x42, 0x02, 0x00, 0x01];
  const short = [0x40, 0x01, 0x00];
  const idZero = [0x40, 0x02, 0x00, 0x00];
  const bytes = Buffer.from([...badFlags, ...idZero, ...short]);
  for (const chunks of everyCut(bytes)) {
    const r = run(chunks);
    assert.deepEqual(r.acks, []);
    assert.deepEqual(r.passed, bytes);
  }
});

test('garbage framing (a fifth remaining-length byte): from there on everything goes to MQTT.js', () => {
  const garbage = [0x40, 0xff, 0xff, 0xff, 0xff, 0x7f];
  const bytes = Buffer.from([...puback(1), ...garbage, ...puback(2), ...pingresp]);
  for (const chunks of everyCut(bytes)) {
    const r = run(chunks);
    assert.deepEqual(r.acks, [[1, 0]], 'only the PUBACK before the garbage');
    assert.deepEqual([...r.passed], [...garbage, ...puback(2), ...pingresp]);
  }
});

test('random bytes never throw and never lose or invent a byte', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 16;
  };
  for (let round = 0; round < 200; round++) {
    const bytes = Buffer.alloc(1 + (rnd() % 200));
    for (let i = 0; i < bytes.length; i++) bytes[i] = rnd() & 0xff;
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + (rnd() % 9);
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    const r = run(chunks);
    const whole = run([bytes]);
    assert.deepEqual(r, whole, 'the same however it is cut');
    // Own PUBACKs are 4..n bytes each; the rest is all there.
    assert.ok(r.passed.length <= bytes.length);
    assert.ok(r.passed.length + 4 * r.acks.length <= bytes.length);
  }
});

test('the own range is bounded', () => {
  assert.throws(() => new PubackExtractor(0), RangeError);
  assert.throws(() => new PubackExtractor(65536), RangeError);
  const r = run([Buffer.from([...puback(10), ...puback(11)])], 10);
  assert.deepEqual(r.acks, [[10, 0]]);
  assert.deepEqual([...r.passed], puback(11));
});
