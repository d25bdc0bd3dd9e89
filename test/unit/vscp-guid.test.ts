// GUID text (protocol §3.3).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GUID_SIZE,
  copyGuid,
  formatGuid,
  formatGuidPrefix,
  guidEquals,
  parseGuid,
  zeroGuid,
} from '../../lib/vscp/index.js';

const ZERO_TEXT = '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0';

function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}

test('§3.3: zeroGuid is 16 zero bytes, fresh each call', () => {
  const a = zeroGuid();
  assert.equal(GUID_SIZE, 16);
  assert.equal(a.length, 16);
  assert.ok(a.every((b) => b === 0));
  a[0] = 1;
  assert.equal(zeroGuid()[0], 0);
});

test('§9 #37: the default GUID prints as 0:0:...:0', () => {
  assert.equal(formatGuid(zeroGuid()), ZERO_TEXT);
});

test('§9 #38: -g FF:EE:...:11:00 prints FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:0', () => {
  const g = parseGuid('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00');
  assert.ok(g);
  assert.deepEqual(g, bytes(0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0));
  assert.equal(formatGuid(g), 'FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:0');
});

test('§9 #39: wrong group counts and 3-digit groups are invalid', () => {
  assert.equal(parseGuid('1:2:3'), null);
  assert.equal(parseGuid('0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null); // 15 groups
  assert.equal(parseGuid('0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null); // 17 groups
  assert.equal(parseGuid('0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:abc'), null);
  assert.equal(parseGuid('abc:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null);
  assert.equal(parseGuid('000:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null);
});

test('§9 #40: one trailing colon is tolerated; lower case reads; output is upper case', () => {
  const g = parseGuid('0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:');
  assert.ok(g);
  assert.equal(formatGuid(g), '0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:F');
  assert.deepEqual(parseGuid('0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:F'), g);
});

test('§3.3: groups of 1 or 2 digits, padded or not, mixed case', () => {
  const g = parseGuid('00:01:0a:0B:fF:Ab:1:2:3:4:5:6:7:8:9:10');
  assert.deepEqual(g, bytes(0, 1, 10, 11, 255, 0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x10));
  assert.deepEqual(parseGuid('00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00'), zeroGuid());
});

test('§3.3: everything else is invalid (-, ::, {..}, UUID, empty groups, two trailing colons)', () => {
  const bad = [
    '',
    '-',
    ':',
    '::',
    '::1',
    'FF:FF::',
    '{00000000-0000-0000-0000-000000000000}',
    '00000000-0000-0000-0000-000000000000',
    '00000000000000000000000000000000',
    ':0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
    '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0::',
    '0:0:0:0:0:0:0:0::0:0:0:0:0:0:0:0',
    '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0 ',
    ' 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
    '0;0;0;0;0;0;0;0;0;0;0;0;0;0;0;0',
    '0x1:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
    'g:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
    '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\u0000',
    '０:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
    '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:'.repeat(1000),
    'f'.repeat(1000000),
  ];
  for (const t of bad) assert.equal(parseGuid(t), null, JSON.stringify(t.slice(0, 60)));
});

test('§3.3: a group written "+f" reads as 0x0F, as the original\'s sscanf("%2x") does; "-" signs stay invalid', () => {
  const g = parseGuid('+f:0:0:0:0:0:0:0:0:0:0:0:0:0:0:+A');
  assert.ok(g !== null);
  assert.equal(g[0], 0x0f);
  assert.equal(g[15], 0x0a);
  assert.equal(parseGuid('0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:+f:')?.[15], 0x0f, 'with the trailing colon');
  assert.equal(parseGuid('+ff:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null, 'the sign takes one of the two characters');
  assert.equal(parseGuid('+:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null);
  assert.equal(parseGuid('0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:+'), null);
  assert.equal(parseGuid('++:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null);
  assert.equal(parseGuid('+g:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null);
  assert.equal(parseGuid('-f:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null);
  assert.equal(parseGuid('-1:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), null);
});

test('§3.3: formatGuid is "%X" per byte, unpadded, colon-joined', () => {
  const g = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
  assert.equal(formatGuid(g), '0:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF');
  assert.equal(formatGuid(bytes(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)), '1:2:3:4:5:6:7:8:9:A:B:C:D:E:F:10');
});

test('§3.4: formatGuidPrefix + nickname hex completes the GUID', () => {
  const g = parseGuid('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00');
  assert.ok(g);
  assert.equal(formatGuidPrefix(g), 'FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:');
  assert.equal(formatGuidPrefix(zeroGuid()) + 'A', '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A');
  for (let nick = 0; nick < 256; nick++) {
    const h = copyGuid(g);
    h[15] = nick;
    assert.equal(formatGuidPrefix(g) + nick.toString(16).toUpperCase(), formatGuid(h));
  }
});

test('§3.3: parse(format(g)) = g, and the padded form parses to the same bytes', () => {
  let seed = 7;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  };
  for (let n = 0; n < 2000; n++) {
    const g = Uint8Array.from({ length: 16 }, next);
    assert.deepEqual(parseGuid(formatGuid(g)), g);
    assert.deepEqual(parseGuid(formatGuid(g) + ':'), g);
    const padded = Array.from(g, (b) => b.toString(16).padStart(2, '0')).join(':');
    assert.deepEqual(parseGuid(padded), g);
    assert.deepEqual(parseGuid(padded.toUpperCase()), g);
  }
});

test('copyGuid / guidEquals', () => {
  const g = parseGuid('1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:10');
  assert.ok(g);
  const c = copyGuid(g);
  assert.notEqual(c, g);
  assert.ok(guidEquals(c, g));
  c[15] = 0;
  assert.ok(!guidEquals(c, g));
  assert.equal(copyGuid(new Uint8Array(3)).length, 16);
  assert.equal(copyGuid(new Uint8Array(40)).length, 16);
});

test('GUID: non-string input gives null; short arrays format as zero-filled', () => {
  for (const b of [undefined, null, 16, {}] as unknown as string[]) assert.equal(parseGuid(b), null);
  assert.equal(formatGuid(new Uint8Array(0)), ZERO_TEXT);
});
