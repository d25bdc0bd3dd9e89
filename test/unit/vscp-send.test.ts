// SEND argument parsing and CAN mapping (protocol §3.1, §3.2, §3.5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SendParseResult } from '../../lib/vscp/index.js';
import { parseGuid, parseSendEvent, zeroGuid } from '../../lib/vscp/index.js';

const Z = zeroGuid();
const ZEROS16 = Array(16).fill('0').join(',');

function ok(text: string, guid: Uint8Array = Z): { id: number; data: number[] } {
  const r: SendParseResult = parseSendEvent(text, guid);
  assert.ok(r.ok, `expected ${JSON.stringify(text.slice(0, 80))} to parse`);
  return { id: r.id, data: Array.from(r.data) };
}
function bad(text: string, guid: Uint8Array = Z): void {
  assert.deepEqual(parseSendEvent(text, guid), { ok: false }, JSON.stringify(String(text).slice(0, 80)));
}

test('§9 #51: 0,20,3,,,,-,0,1,35 is accepted', () => {
  assert.deepEqual(ok('0,20,3,,,,-,0,1,35'), { id: 0x00140300, data: [0, 1, 35] });
});

test('§3.5 examples: 255,20,3,... -> 0x1E140300 DLC 3; 0xE0,0x1FF,0xff -> 0x1DFFFF00 DLC 0', () => {
  assert.deepEqual(ok('255,20,3,,,,-,0,1,35'), { id: 0x1e140300, data: [0, 1, 0x23] });
  assert.deepEqual(ok('0xE0,0x1FF,0xff,,,,-'), { id: 0x1dffff00, data: [] });
});

test('§9 #52: a space-split piece of an event is not an event', () => {
  bad('0,');
  bad('20,3,,,,-');
  bad('');
});

test('§9 #53: 7 fields are required; one trailing comma does not make a field', () => {
  bad('0,20,3,,,,'); // 6 fields + trailing comma
  bad('0,20,3,,,'); // 6 fields
  bad('0,20,3');
  assert.deepEqual(ok('0,20,3,0,,0,,'), { id: 0x00140300, data: [] }); // 7th field empty, trailing comma
  assert.deepEqual(ok('0,20,3,,,,,'), { id: 0x00140300, data: [] }); // 7 fields (4 empty) + trailing comma
  assert.deepEqual(ok('0,20,3,,,,-'), { id: 0x00140300, data: [] });
});

test('§9 #54: 8 data values are accepted, 9 are a format error', () => {
  assert.deepEqual(ok('0,20,3,,,,-,1,2,3,4,5,6,7,8').data, [1, 2, 3, 4, 5, 6, 7, 8]);
  bad('0,20,3,,,,-,1,2,3,4,5,6,7,8,9');
  assert.deepEqual(ok('0,20,3,,,,-,1,2,3,4,5,6,7,8,').data, [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('§9 #55: data 256 is an error; 0x1F,0XfF is accepted; empty data field is an error; one trailing comma is fine', () => {
  bad('0,20,3,,,,-,256');
  bad('0,20,3,,,,-,4294967295');
  assert.deepEqual(ok('0,20,3,,,,-,0x1F,0XfF').data, [31, 255]);
  bad('0,20,3,,,,-,,1');
  bad('0,20,3,,,,-,1,,2');
  bad('0,20,3,,,,-,1,,'); // the trailing comma is removed once only
  assert.deepEqual(ok('0,20,3,,,,-,0,1,35,').data, [0, 1, 35]);
  assert.deepEqual(ok('0,20,3,,,,-,4294967296').data, [0]); // wraps before the range check (§3.2)
});

test('§9 #56 (changed by the frame version): head 512, class 1024, type 256 are errors; head 256 (0x100) is now accepted', () => {
  bad('512,20,3,,,,-');
  bad('0x1ff00,20,3,,,,-');
  assert.deepEqual(ok('256,20,3,,,,-'), { id: 0x00140300, data: [] });
  bad('0,1024,3,,,,-');
  bad('0,20,256,,,,-');
  bad('-1,20,3,,,,-'); // wraps to 4294967295, out of range
  assert.deepEqual(ok('0,1023,255,,,,-'), { id: 0x01ffff00, data: [] });
  assert.deepEqual(ok('255,511,255,,,,-'), { id: 0x1fffff00, data: [] });
});

test('§9 #57: bare hex ff in head is a format error; 0x is 0; -0,+20 are accepted', () => {
  bad('ff,20,3,,,,-');
  bad('0,ff,3,,,,-');
  bad('0,20,ff,,,,-');
  bad('0,20,3,,,,-,ff');
  assert.deepEqual(ok('0x,20,3,,,,-'), { id: 0x00140300, data: [] });
  assert.deepEqual(ok('-0,+20,3,,,,-'), { id: 0x00140300, data: [] });
  assert.deepEqual(ok('0,20,3,,,,-,0x'), { id: 0x00140300, data: [0] });
  bad('0b1,20,3,,,,-');
  bad('1e3,20,3,,,,-');
  bad(',20,3,,,,-');
  bad('0,,3,,,,-');
  bad('0,20,,,,,-');
});

test('§9 #58: obid, datetime, timestamp and GUID fields are not parsed', () => {
  for (const f of ['0,2020-03-08T19:15:53.000Z,0,-', '{x},$v,junk,{…}', 'x,y,z,0:0:0', ',,,', 'ÿ,\u0000,😀,FF:FF', '-,-,-,-']) {
    assert.deepEqual(ok(`0,20,3,${f},0,1,35`), { id: 0x00140300, data: [0, 1, 35] }, f);
  }
  // a very long unparsed field is fine
  assert.deepEqual(ok(`0,20,3,${'x'.repeat(100000)},,,-,7`).data, [7]);
});

test('§9 #59/#64: class 532 with the 16 connection-GUID values plus payload -> class 20, payload only', () => {
  assert.deepEqual(ok(`96,532,9,,,,-,${ZEROS16},3,208`), { id: 0x0c140900, data: [3, 0xd0] });
  const g = parseGuid('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00');
  assert.ok(g);
  const gv = Array.from(g).join(',');
  assert.deepEqual(ok(`0,532,3,,,,-,${gv},1,2,3,4,5,6,7,8`, g), { id: 0x00140300, data: [1, 2, 3, 4, 5, 6, 7, 8] });
  // compared as numbers: hex and padded decimal forms of the GUID values also match
  const gHex = Array.from(g, (b) => '0x' + b.toString(16)).join(',');
  assert.deepEqual(ok(`0,532,3,,,,-,${gHex},9`, g).data, [9]);
});

test('§9 #59: GUID mismatch and 16+9 values are format errors', () => {
  bad(`0,532,3,,,,-,0,0,0,1`); // against the all-zero GUID
  bad(`0,532,3,,,,-,${ZEROS16},1,2,3,4,5,6,7,8,9`);
  const g = parseGuid('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00');
  assert.ok(g);
  bad(`0,532,3,,,,-,${ZEROS16}`, g);
  bad(`0,532,3,,,,-,${Array.from(g).join(',')},256`, g);
});

test('§3.1: class 512..1023 with fewer than 16 GUID values is allowed and sends no data', () => {
  assert.deepEqual(ok('0,532,3,,,,-'), { id: 0x00140300, data: [] });
  assert.deepEqual(ok('0,532,3,,,,-,0,0,0'), { id: 0x00140300, data: [] });
  assert.deepEqual(ok(`0,532,3,,,,-,${ZEROS16}`), { id: 0x00140300, data: [] });
  assert.deepEqual(ok('0,512,0,,,,-'), { id: 0, data: [] });
});

test('§9 #63: the nickname is always 0, whatever GUID field or connection GUID is given', () => {
  const g = parseGuid('1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:aa');
  assert.ok(g);
  assert.equal(ok('0,20,3,0,0,0,1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:aa,1', g).id & 0xff, 0);
  assert.equal(ok(`0,532,3,,,,-,${Array.from(g).join(',')}`, g).id & 0xff, 0);
});

test('§9 #94: two SENDs of 3 and 0 data bytes count txData 11, txFrames 2 (dlc + 4 each)', () => {
  const sends = ['0,20,3,,,,-,0,1,35', '0,20,3,,,,-'].map((t) => parseSendEvent(t, Z));
  let txData = 0;
  let txFrames = 0;
  for (const r of sends) {
    assert.ok(r.ok);
    txData += r.data.length + 4;
    txFrames++;
  }
  assert.equal(txData, 11);
  assert.equal(txFrames, 2);
});

test('§3.1: the payload is a fresh array of exactly DLC bytes', () => {
  const r = parseSendEvent('0,20,3,,,,-,1,2', Z);
  assert.ok(r.ok);
  assert.equal(r.data.length, 2);
  assert.equal(r.data.buffer.byteLength, 2);
});

test('§3.1: hostile input never throws and is rejected', () => {
  const hostile = [
    ','.repeat(100000),
    '0,20,3,,,,-,' + '1,'.repeat(100000),
    '9'.repeat(100000) + ',20,3,,,,-',
    '0,20,3,,,,-,' + '0'.repeat(100000) + '1,2',
    '\u0000,\u0000,\u0000,,,,-',
    '０,２０,３,,,,-',
    '😀,20,3,,,,-',
    '\ud800,20,3,,,,-',
    '0;20;3;;;;-',
    '0 20 3',
  ];
  for (const t of hostile.slice(0, 3)) bad(t);
  assert.deepEqual(ok(hostile[3] as string).data, [1, 2]); // leading zeros are decimal
  for (const t of hostile.slice(4)) bad(t);
  for (const t of [undefined, null, 42, {}] as unknown as string[]) bad(t);
});

test('§3.1: connection GUID shorter than 16 bytes compares missing bytes as 0', () => {
  assert.deepEqual(ok(`0,532,3,,,,-,${ZEROS16},5`, new Uint8Array(4)).data, [5]);
});

test('frame version: head bit 0x100 (nanosecond form) is accepted and the frame is the one head & 0xff gives', () => {
  // As today's vscphelper writes it: empty datetime, 64-bit nanosecond timestamp, two-digit GUID bytes.
  const guid = '00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00';
  assert.deepEqual(ok(`256,20,3,0,,1786000000000000000,${guid},0,1,35`), ok('0,20,3,,,,-,0,1,35'));
  assert.deepEqual(ok(`0x1E0,20,3,0,,18446744073709551615,${guid},7`), ok('0xE0,20,3,,,,-,7'));
  assert.deepEqual(ok(`${0x100 | 0x75},0x1ff,0xff,0,,1786000000000000000,${guid}`), ok(`${0x75},0x1ff,0xff,,,,-`));
});

test('frame version: any other head bit above 7 stays a format error', () => {
  for (const head of [0x200, 0x300, 0x400, 0x800, 0x1000, 0x8000, 0x10000, 0x80000000, 0x1100]) {
    bad(`${head},20,3,0,,1786000000000000000,-,1`);
    bad(`${head | 0x100 | 0x60},20,3,0,,0,-,1`);
  }
});
