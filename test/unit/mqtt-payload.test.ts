// lib/mqtt/payload.ts: events written as JSON, string and XML payloads,
// and payloads of every VSCP form read back into frames under SEND's rules.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectFormat, frameFormatter, parsePayload } from '../../lib/mqtt/payload.js';
import type { ParsedPayload } from '../../lib/mqtt/payload.js';
import { parseGuid } from '../../lib/vscp/guid.js';
import { parseSendEvent } from '../../lib/vscp/send.js';

const GUID = parseGuid('FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00')!;
const GUID_BYTES = [...GUID];
const ID = ((3 << 26) | (10 << 16) | (6 << 8) | 0x2a) >>> 0;
// 2026-08-10T12:00:01.5Z in microseconds; mod 2^32 is the event timestamp.
const TS = Date.UTC(2026, 7, 10, 12, 0, 1, 500) * 1000 + 123;
const TS32 = TS % 2 ** 32;
const DATA = Uint8Array.from([0xaa, 0x80, 0x02, 0x1b, 0x22]);

test('JSON: the current field names, numbers as numbers, data an array, datetime UTC, timestamp in microseconds', () => {
  const text = frameFormatter('json', GUID)(ID, DATA, 1, 4, TS);
  assert.equal(
    text,
    `{"head":96,"obid":0,"datetime":"2026-08-10T12:00:01Z","timestamp":${TS32},"class":10,"type":6,"guid":"FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:2A","data":[128,2,27,34],"note":""}`,
  );
  assert.deepEqual(JSON.parse(frameFormatter('json', GUID)(ID, DATA, 0, 0, TS)).data, []);
});

test('string and XML carry the same fields', () => {
  assert.equal(frameFormatter('string', GUID)(ID, DATA, 1, 4, TS), `96,10,6,0,2026-08-10T12:00:01Z,${TS32},FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:2A,128,2,27,34`);
  assert.equal(frameFormatter('string', GUID)(ID, DATA, 0, 0, TS), `96,10,6,0,2026-08-10T12:00:01Z,${TS32},FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:2A`);
  assert.equal(
    frameFormatter('xml', GUID)(ID, DATA, 1, 4, TS),
    `<event head="96" obid="0" datetime="2026-08-10T12:00:01Z" timestamp="${TS32}" class="10" type="6" guid="FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:2A" sizedata="4" data="0x80,0x02,0x1B,0x22" />`,
  );
});

test('what the bridge writes, it reads back as the same frame (nickname 0, as SEND sends)', () => {
  for (const format of ['json', 'string', 'xml'] as const) {
    const text = frameFormatter(format, GUID)(ID, DATA, 1, 4, TS);
    const parsed = parsePayload(Buffer.from(text), GUID);
    assert.deepEqual(parsed, { ok: true, format, id: ID & ~0xff, data: Uint8Array.from([128, 2, 27, 34]) }, format);
  }
});

test('the format is detected by the first non-blank character', () => {
  assert.equal(detectFormat(' \n{"a":1}'), 'json');
  assert.equal(detectFormat('\t<event/>'), 'xml');
  assert.equal(detectFormat('\u0000abc'), 'binary');
  assert.equal(detectFormat('0,10,6'), 'string');
  assert.equal(detectFormat('  '), null);
});

const ok = (p: ParsedPayload): { id: number; data: number[] } => {
  assert.ok(p.ok, p.ok ? '' : p.reason);
  return { id: p.id, data: [...p.data] };
};
const refused = (p: ParsedPayload): string => {
  assert.equal(p.ok, false);
  return p.ok ? '' : p.reason;
};

test('JSON: current and vscp-prefixed keys, defaults for head and data', () => {
  assert.deepEqual(ok(parsePayload('{"class":20,"type":3}', GUID)), { id: 0x00140300, data: [] });
  assert.deepEqual(ok(parsePayload('{"vscpHead":224,"vscpClass":20,"vscpType":3,"vscpData":[1,255],"vscpGuid":"-","vscpNote":"n"}', GUID)), { id: 0x1c140300, data: [1, 255] });
  assert.deepEqual(ok(parsePayload('{"head":352,"timestamp":1786000000000000000,"timestamp_ns":"0x18f","class":20,"type":3}', GUID)), { id: 0x0c140300, data: [] });
  assert.deepEqual(ok(parsePayload('{"class":20,"type":3,"measurement":{"value":1.5}}', GUID)), { id: 0x00140300, data: [] });
});

test('Level I over Level II: GUID bytes first, compared with this gateway GUID', () => {
  assert.deepEqual(ok(parsePayload(JSON.stringify({ class: 522, type: 6, data: [...GUID_BYTES, 1, 2] }), GUID)), { id: 0x000a0600, data: [1, 2] });
  assert.match(refused(parsePayload(JSON.stringify({ class: 522, type: 6, data: [...GUID_BYTES.slice(0, 15), 0x99] }), GUID)), /GUID/);
  assert.match(refused(parsePayload(JSON.stringify({ class: 522, type: 6, data: [...GUID_BYTES, 1, 2, 3, 4, 5, 6, 7, 8, 9] }), GUID)), /at most (8|24)/);
});

test('refusals say why', () => {
  const cases: [string, RegExp][] = [
    ['{"class":1024,"type":1}', /Level II/],
    ['{"class":20,"type":256}', /larger than 255/],
    ['{"class":20,"type":3,"data":[1,2,3,4,5,6,7,8,9]}', /at most 8/],
    ['{"class":20,"type":3,"data":[-1]}', /integers 0\.\.255/],
    ['{"class":20,"type":3,"data":[1.5]}', /integers 0\.\.255/],
    ['{"class":20,"type":3,"data":"1,2"}', /array/],
    ['{"class":20}', /no "class" or no "type"/],
    ['{"class":"20","type":3}', /"class" must be an integer/],
    ['{"head":512,"class":20,"type":3}', /bits above 0x1FF/],
    ['{"class":20,"type":3,"guid":"zz"}', /"guid" must be a GUID/],
    ['{"class":20,"type":3,"datetime":5}', /"datetime" must be a string/],
    ['{"class":20,"type":3,"obid":-1}', /"obid"/],
    ['{"class":20', /not JSON/],
    ['[1]', /at least 7 are needed/], // '[' is not '{': the string form
    ['null', /at least 7 are needed/],
    ['{"a":1', /not JSON/],
    ['{}', /no "class"/],
    ['<event class="20" />', /no type/],
    ['<event class="20" type="3" data="1,300" />', /not a byte/],
    ['<event class="20" type="3" data="1" sizedata="2" />', /sizedata/],
    ['<event class="20" type="3" class="21" />', /twice/],
    ['<event class="20" type="3" note="&bogus;" />', /entity/],
    ['<event class="20" type="3"> junk', /well-formed/],
    ['<events class="20" type="3" />', /not an <event>/],
    ['0,1024,1,0,,0,-', /Level II/],
    ['0,20,1', /7 are needed/],
    ['0,20,1,0,,0,-,1,2,3,4,5,6,7,8,9', /at most 8/],
    ['', /empty/],
  ];
  for (const [payload, reason] of cases) assert.match(refused(parsePayload(payload, GUID)), reason, payload);
  assert.match(refused(parsePayload(Buffer.from([0, 1, 2]), GUID)), /binary/);
  assert.match(refused(parsePayload(Buffer.alloc(20000, 0x20), GUID)), /longer than/);
});

test('XML: attributes in either naming, entities, hex and decimal data, optional prologue and closing tag', () => {
  assert.deepEqual(ok(parsePayload('<?xml version="1.0"?>\n<event vscpHead="96" vscpClass="10" vscpType="6" vscpData="0x01, 2 ,0X0a" vscpSizeData="3" note="a &amp; b"></event>', GUID)), {
    id: 0x0c0a0600,
    data: [1, 2, 10],
  });
  assert.deepEqual(ok(parsePayload("<event class='10' type='6' data='' />", GUID)), { id: 0x000a0600, data: [] });
});

test('the string form is exactly SEND: every frame parsePayload gives, parseSendEvent gives too', () => {
  const lines = ['0,20,3,0,,0,-', '96,10,6,0,2026-01-01T00:00:00Z,0,FF:FF,1,2,3,', `0,600,1,0,,0,-,${GUID_BYTES.join(',')},7`, '0x20,0x14,0x3,x,y,z,w,0x1'];
  for (const line of lines) {
    const send = parseSendEvent(line, GUID);
    const mqtt = parsePayload(line, GUID);
    assert.ok(send.ok && mqtt.ok, line);
    assert.equal(mqtt.id, send.id);
    assert.deepEqual([...mqtt.data], [...send.data]);
  }
});

test('payloads are ASCII: the bridge writes them as bytes, one per character (packet.ts)', () => {
  const all = Uint8Array.from({ length: 8 }, (_, i) => 255 - i);
  for (const format of ['json', 'string', 'xml'] as const) {
    const text = frameFormatter(format, Uint8Array.from({ length: 16 }, () => 0xff))(0x1fffffff, all, 0, 8, Number.MAX_SAFE_INTEGER);
    assert.match(text, /^[\x20-\x7e]+$/, format);
  }
});
