// Event line formatting, the hot path (protocol §3.4, §3.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatDateTime,
  formatEventLine,
  formatGuidPrefix,
  parseGuid,
  timestampFromMicros,
  zeroGuid,
} from '../../lib/vscp/index.js';

const EFF = 0x80000000;
const ZP = formatGuidPrefix(zeroGuid());
const RX_MS = 1608410933123;
const RX_US = 1608410933123456;

test('§3.4: the verified protocol example, byte for byte', () => {
  const id = (EFF | (3 << 26) | (1 << 25) | (20 << 16) | (3 << 8) | 0x0a) >>> 0;
  assert.equal(
    formatEventLine(id, Uint8Array.from([0x00, 0x01, 0x23]), 0, 3, RX_US, RX_MS, ZP),
    '112,20,3,0,2020-12-19T20:48:53,1515346304,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A,0,1,35\r\n',
  );
});

test('§9 #65: head 96 class 20 type 3 from another client, receiver GUID with byte 15 = 0', () => {
  const g = parseGuid('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00');
  assert.ok(g);
  const line = formatEventLine((EFF | 0x0c140300) >>> 0, Uint8Array.from([0, 1, 0x23]), 0, 3, RX_US, RX_MS, formatGuidPrefix(g));
  assert.equal(line, '96,20,3,0,2020-12-19T20:48:53,1515346304,FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:0,0,1,35\r\n');
});

test('§9 #67: cansend 1C14030A#000123 -> 224,20,3,0,...,...:A,0,1,35', () => {
  const line = formatEventLine((EFF | 0x1c14030a) >>> 0, Uint8Array.from([0, 1, 0x23]), 0, 3, RX_US, RX_MS, ZP);
  assert.match(line, /^224,20,3,0,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d+,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A,0,1,35\r\n$/);
});

test('§9 #68: hard-coded bit: id 0x1E14030A -> head 240', () => {
  const line = formatEventLine((EFF | 0x1e14030a) >>> 0, new Uint8Array(0), 0, 0, 0, 0, ZP);
  assert.equal(line, '240,20,3,0,1970-01-01T00:00:00,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A\r\n');
});

test('§9 #70: an 8-byte frame gives 8 decimal data values; no data means the line ends at the GUID', () => {
  const data = Uint8Array.from([0, 9, 10, 99, 100, 127, 128, 255]);
  const line = formatEventLine((EFF | 0x00140300) >>> 0, data, 0, 8, RX_US, RX_MS, ZP);
  assert.ok(line.endsWith(',0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0,0,9,10,99,100,127,128,255\r\n'), line);
  const empty = formatEventLine((EFF | 0x00140300) >>> 0, data, 0, 0, RX_US, RX_MS, ZP);
  assert.ok(empty.endsWith(',0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\r\n'), empty);
});

test('§3.4: data is read at an offset inside a larger (batch) buffer, never past its end', () => {
  const batch = new Uint8Array(100);
  batch.set([7, 8, 9], 16);
  const line = formatEventLine((EFF | 0x00140300) >>> 0, batch, 16, 3, 0, 0, ZP);
  assert.ok(line.endsWith(':0,7,8,9\r\n'), line);
  const short = formatEventLine((EFF | 0x00140300) >>> 0, Uint8Array.from([1, 2]), 1, 8, 0, 0, ZP);
  assert.ok(short.endsWith(':0,2\r\n'), short);
  assert.ok(!formatEventLine((EFF | 0x00140300) >>> 0, Uint8Array.from([1]), -5, 8, 0, 0, ZP).includes('undefined'));
});

test('§9 #71: datetime is UTC with no Z or fraction; timestamp is decimal and below 2^32', () => {
  const rnd = (() => {
    let a = 99;
    return () => ((a = (Math.imul(a, 1664525) + 1013904223) >>> 0) / 4294967296);
  })();
  for (let n = 0; n < 2000; n++) {
    const ms = Math.floor(rnd() * 4e12);
    const us = ms * 1000 + Math.floor(rnd() * 1000) + rnd();
    const line = formatEventLine((EFF | 0x00140300) >>> 0, new Uint8Array(0), 0, 0, us, ms, ZP);
    const f = line.slice(0, -2).split(',');
    assert.equal(f[4], new Date(ms).toISOString().slice(0, 19));
    assert.doesNotMatch(f[4] as string, /Z|\./);
    assert.match(f[5] as string, /^\d+$/);
    assert.equal(Number(f[5]), Number(BigInt(Math.floor(us)) % 2n ** 32n));
    assert.ok(Number(f[5]) < 2 ** 32);
  }
});

test('§9 #72: the GUID follows the session GUID (prefix recomputed after SGID)', () => {
  const g = parseGuid('0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:');
  assert.ok(g);
  const line = formatEventLine((EFF | 0x001403ff) >>> 0, new Uint8Array(0), 0, 0, 0, 0, formatGuidPrefix(g));
  assert.ok(line.endsWith(',0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:FF\r\n'), line);
});

test('§3.4: lines longer than 119 characters are written whole (D6: 126 with all-FF GUID and 8 values >= 100)', () => {
  const g = new Uint8Array(16).fill(0xff);
  const line = formatEventLine(
    (EFF | 0x1fffffff) >>> 0,
    Uint8Array.from([200, 201, 202, 203, 204, 205, 206, 255]),
    0,
    8,
    4294967295,
    RX_MS,
    formatGuidPrefix(g),
  );
  assert.equal(line, '240,511,255,0,2020-12-19T20:48:53,4294967295,FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF,200,201,202,203,204,205,206,255\r\n');
  assert.equal(line.length, 126);
});

test('§3.4: formatDateTime matches Date#toISOString (UTC) across years 0..9999 and the cache never goes stale', () => {
  assert.equal(formatDateTime(0), '1970-01-01T00:00:00');
  assert.equal(formatDateTime(999), '1970-01-01T00:00:00');
  assert.equal(formatDateTime(1000), '1970-01-01T00:00:01');
  assert.equal(formatDateTime(-1), '1969-12-31T23:59:59');
  assert.equal(formatDateTime(951782400000), '2000-02-29T00:00:00');
  assert.equal(formatDateTime(RX_MS), '2020-12-19T20:48:53');
  assert.equal(formatDateTime(253402300799999), '9999-12-31T23:59:59');
  assert.equal(formatDateTime(-62167219200000), '0000-01-01T00:00:00');
  let a = 5;
  for (let n = 0; n < 20000; n++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    // alternate between nearby and far-away times to exercise the one-entry cache
    const ms = n % 3 === 0 ? RX_MS + (a % 3000) : -62167219200000 + (a / 4294967296) * (253402300799999 + 62167219200000);
    assert.equal(formatDateTime(ms), new Date(Math.floor(ms)).toISOString().slice(0, 19), String(ms));
  }
});

test('§3.4: formatDateTime never throws (NaN/Infinity/huge read as epoch or extended year)', () => {
  assert.equal(formatDateTime(Number.NaN), '1970-01-01T00:00:00');
  assert.equal(formatDateTime(Infinity), '1970-01-01T00:00:00');
  assert.equal(formatDateTime(-Infinity), '1970-01-01T00:00:00');
  assert.equal(typeof formatDateTime(1e20), 'string');
  assert.equal(typeof formatDateTime(-1e20), 'string');
  assert.match(formatDateTime(-62167219200001), /^-0001-12-31T23:59:59$/);
  assert.match(formatDateTime(253402300800000), /^10000-01-01T00:00:00$/);
});

test('§3.4: timestamp is floor(us) mod 2^32', () => {
  assert.equal(timestampFromMicros(RX_US), 1515346304);
  assert.equal(timestampFromMicros(0), 0);
  assert.equal(timestampFromMicros(4294967295.9), 4294967295);
  assert.equal(timestampFromMicros(4294967296), 0);
  assert.equal(timestampFromMicros(-1), 4294967295);
  assert.equal(timestampFromMicros(Number.NaN), 0);
  assert.equal(timestampFromMicros(Infinity), 0);
  assert.equal(timestampFromMicros(2 ** 60 + 2 ** 33 + 5 * 2 ** 20), 5 * 2 ** 20);
});

test('§3.4: formatting many lines is fast (hot path smoke test)', () => {
  const data = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const start = process.hrtime.bigint();
  let total = 0;
  for (let i = 0; i < 200000; i++) {
    total += formatEventLine((EFF | 0x1c14030a) >>> 0, data, 0, 8, RX_US + i, RX_MS + (i >> 10), ZP).length;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  assert.ok(total > 0);
  assert.ok(ms < 5000, `200k lines took ${ms} ms`);
});
