// Event model: parseEventLine / formatEvent / canFrameToEvent (protocol §3.4, §3.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../helpers/fuzz.js';
import type { VscpEvent } from '../../lib/vscp/index.js';
import {
  canFrameToEvent,
  formatEvent,
  formatEventLine,
  formatGuidPrefix,
  parseEventLine,
  parseGuid,
  parseSendEvent,
  zeroGuid,
} from '../../lib/vscp/index.js';

const EFF = 0x80000000;
const RTR = 0x40000000;
const ERR = 0x20000000;
const SPEC_LINE = '112,20,3,0,2020-12-19T20:48:53,1515346304,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A,0,1,35';

/** Seeded uniform numbers in [0, 1) (the fuzz helpers' PRNG) so failures reproduce. */
const prng = (seed: number): (() => number) => {
  const rng = new Rng(seed);
  return () => rng.float();
};

test('§3.4: the protocol example line parses into its fields', () => {
  const e = parseEventLine(SPEC_LINE + '\r\n');
  assert.ok(e);
  const g = zeroGuid();
  g[15] = 0x0a;
  assert.deepEqual(e, {
    head: 112,
    vscpClass: 20,
    vscpType: 3,
    obid: 0,
    datetime: '2020-12-19T20:48:53',
    timestamp: 1515346304,
    guid: g,
    data: Uint8Array.from([0, 1, 35]),
  } satisfies VscpEvent);
  assert.equal(formatEvent(e), SPEC_LINE);
});

test('§3.4: CRLF, LF or no terminator; padded GUID and 0x data are read too (vscpd 2020 form)', () => {
  assert.deepEqual(parseEventLine(SPEC_LINE), parseEventLine(SPEC_LINE + '\r\n'));
  assert.deepEqual(parseEventLine(SPEC_LINE + '\n'), parseEventLine(SPEC_LINE));
  const v = parseEventLine('0x70,0x14,0x03,0,2020-12-19T20:48:53.123Z,1515346304,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0A,0x00,0x01,0x23\r\n');
  assert.ok(v);
  assert.equal(formatEvent(v), '112,20,3,0,2020-12-19T20:48:53.123Z,1515346304,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A,0,1,35');
  const noDate = parseEventLine('0,20,3,0,,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0');
  assert.ok(noDate);
  assert.equal(noDate.datetime, '');
  assert.equal(noDate.data.length, 0);
});

test('§3.4: Level II class/type values and proxy-class data (16 GUID bytes + payload) are kept', () => {
  const line = `0,532,9,0,2020-12-19T20:48:53,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0,${Array(16).fill('0').join(',')},3,208`;
  const e = parseEventLine(line);
  assert.ok(e);
  assert.equal(e.vscpClass, 532);
  assert.equal(e.data.length, 18);
  assert.equal(formatEvent(e), line);
  const l2 = parseEventLine('0,65535,65535,4294967295,,4294967295,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0');
  assert.ok(l2);
  assert.equal(l2.vscpClass, 65535);
});

test('§3.4: malformed lines give null, never throw', () => {
  const bad = [
    '',
    '\r\n',
    '112,20,3,0,2020-12-19T20:48:53,1515346304', // no GUID
    '112,20,3,0,2020-12-19T20:48:53,1515346304,0:0:0', // short GUID
    '112,20,3,0,2020-12-19T20:48:53,1515346304,-', // '-' GUID
    SPEC_LINE + ',', // trailing comma
    SPEC_LINE.replace(',0,1,35', ',0,,35'), // empty data field
    SPEC_LINE.replace(',0,1,35', ',0,256,35'),
    SPEC_LINE.replace(',0,1,35', ',0,-1,35'),
    SPEC_LINE.replace(',0,1,35', ',0,ff,35'),
    SPEC_LINE.replace('112,', '256,'),
    SPEC_LINE.replace('112,', '-1,'),
    SPEC_LINE.replace('112,', ','),
    SPEC_LINE.replace(',20,', ',65536,'),
    SPEC_LINE.replace(',3,0,', ',3,4294967296,'),
    SPEC_LINE.replace('1515346304', '4294967296'),
    SPEC_LINE.replace('1515346304', ''),
    SPEC_LINE.replace('2020-12-19T20:48:53', '2020-12-19 20:48:53'),
    SPEC_LINE.replace('2020-12-19T20:48:53', 'yesterday'),
    SPEC_LINE + '\r\n\r\n',
    SPEC_LINE + '\r',
    ' ' + SPEC_LINE,
    '+OK',
    '-OK - No event(s) available',
    SPEC_LINE.replace(/,/g, ';'),
    SPEC_LINE + ',1'.repeat(600), // more than 512 data values
    SPEC_LINE + ','.repeat(100000),
    'x'.repeat(1000000),
    '\u0000'.repeat(100),
    SPEC_LINE.replace('112', '１１２'),
    SPEC_LINE.replace('A,', '😀,'),
    '\ud800' + SPEC_LINE,
  ];
  for (const t of bad) assert.equal(parseEventLine(t), null, JSON.stringify(t.slice(0, 100)));
  for (const t of [undefined, null, 7, {}] as unknown as string[]) assert.equal(parseEventLine(t), null);
});

test('§3.6: canFrameToEvent: protocol example, GUID byte 15 = nickname, data copied', () => {
  const conn = parseGuid('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00');
  assert.ok(conn);
  const data = Uint8Array.from([0, 1, 0x23]);
  const e = canFrameToEvent((EFF | 0x1c14030a) >>> 0, data, 1608410933123456, 1608410933123, conn);
  assert.ok(e);
  assert.equal(e.head, 224);
  assert.equal(e.vscpClass, 20);
  assert.equal(e.vscpType, 3);
  assert.equal(e.obid, 0);
  assert.equal(e.datetime, '2020-12-19T20:48:53');
  assert.equal(e.timestamp, 1515346304);
  assert.equal(e.guid[15], 0x0a);
  assert.equal(conn[15], 0, 'connection GUID is not modified');
  data[0] = 99;
  assert.equal(e.data[0], 0, 'data is copied');
  assert.equal(formatEvent(e), '224,20,3,0,2020-12-19T20:48:53,1515346304,FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:A,0,1,35');
});

test('§9 #69: canFrameToEvent drops standard, RTR, error and >8-byte frames', () => {
  const z = zeroGuid();
  assert.equal(canFrameToEvent(0x123, new Uint8Array(1), 0, 0, z), null);
  assert.equal(canFrameToEvent((EFF | RTR | 0x1c14030a) >>> 0, new Uint8Array(0), 0, 0, z), null);
  assert.equal(canFrameToEvent((EFF | ERR | 0x4) >>> 0, new Uint8Array(8), 0, 0, z), null);
  assert.equal(canFrameToEvent((EFF | 0x1c14030a) >>> 0, new Uint8Array(9), 0, 0, z), null);
  assert.notEqual(canFrameToEvent((EFF | 0x1c14030a) >>> 0, new Uint8Array(8), 0, 0, z), null);
});

test('§9 #95: one 8-byte frame counts rxData 12 (dlc + 4), rxFrames 1', () => {
  const e = canFrameToEvent((EFF | 0x1c14030a) >>> 0, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 0, 0, zeroGuid());
  assert.ok(e);
  assert.equal(e.data.length + 4, 12);
});

test('§3.4/§3.6 property: formatEventLine = formatEvent(canFrameToEvent) + CRLF, and parse inverts both', () => {
  const rnd = prng(42);
  for (let n = 0; n < 5000; n++) {
    const id = (EFF | Math.floor(rnd() * 0x20000000)) >>> 0;
    const len = Math.floor(rnd() * 9);
    const data = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
    const conn = Uint8Array.from({ length: 16 }, () => Math.floor(rnd() * 256));
    const us = rnd() * 2e15;
    const ms = Math.floor(rnd() * 4e12);
    const ev = canFrameToEvent(id, data, us, ms, conn);
    assert.ok(ev);
    const line = formatEventLine(id, data, 0, len, us, ms, formatGuidPrefix(conn));
    assert.equal(line, formatEvent(ev) + '\r\n');
    assert.deepEqual(parseEventLine(line), ev);
    assert.equal(formatEvent(parseEventLine(line) as VscpEvent), line.slice(0, -2));
  }
});

test('§3.1/§3.5 property: an event line is a valid SEND argument mapping back to the same id (nickname 0)', () => {
  const rnd = prng(7);
  for (let n = 0; n < 3000; n++) {
    const id = (EFF | Math.floor(rnd() * 0x20000000)) >>> 0;
    const data = Uint8Array.from({ length: Math.floor(rnd() * 9) }, () => Math.floor(rnd() * 256));
    const ev = canFrameToEvent(id, data, rnd() * 1e15, rnd() * 1e12, zeroGuid());
    assert.ok(ev);
    const r = parseSendEvent(formatEvent(ev), zeroGuid());
    assert.ok(r.ok);
    assert.equal(r.id, (id & 0x1fffff00) >>> 0);
    assert.deepEqual(r.data, data);
  }
});

test('§3.4 property: parse(format(e)) = e for random events (Level I and II values)', () => {
  const rnd = prng(9);
  const dates = ['', '2020-12-19T20:48:53', '1999-01-01T00:00:00.5Z', '2020-03-08T19:15:53.000Z'];
  for (let n = 0; n < 3000; n++) {
    const e: VscpEvent = {
      head: Math.floor(rnd() * 256),
      vscpClass: Math.floor(rnd() * 65536),
      vscpType: Math.floor(rnd() * 65536),
      obid: Math.floor(rnd() * 4294967296),
      datetime: dates[n % dates.length] as string,
      timestamp: Math.floor(rnd() * 4294967296),
      guid: Uint8Array.from({ length: 16 }, () => Math.floor(rnd() * 256)),
      data: Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)),
    };
    assert.deepEqual(parseEventLine(formatEvent(e)), e);
    assert.deepEqual(parseEventLine(formatEvent(e) + '\r\n'), e);
  }
});

test('§3.4 property: random mutations of a valid line never throw', () => {
  const rnd = prng(11);
  const alphabet = '0123456789,:xXaAfF-T .Z\r\n\u0000😀';
  for (let n = 0; n < 20000; n++) {
    const chars = Array.from(SPEC_LINE);
    const edits = 1 + Math.floor(rnd() * 4);
    for (let k = 0; k < edits; k++) {
      const pos = Math.floor(rnd() * (chars.length + 1));
      const c = Array.from(alphabet)[Math.floor(rnd() * Array.from(alphabet).length)] as string;
      const op = rnd();
      if (op < 0.33) chars.splice(pos, 1);
      else if (op < 0.66) chars.splice(pos, 0, c);
      else chars[pos] = c;
    }
    const text = chars.join('');
    const e = parseEventLine(text);
    if (e !== null) assert.deepEqual(parseEventLine(formatEvent(e)), e);
    parseSendEvent(text, zeroGuid());
  }
});
