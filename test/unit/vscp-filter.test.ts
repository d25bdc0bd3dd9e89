// SFLT / SMSK arguments (protocol §2.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilterArgument, vscpToCanId } from '../../lib/vscp/index.js';

const ZG = '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0';
const guidWith15 = (b: string): string => `0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:${b}`;

/** Kernel filter semantics (linux/can.h): pass when (rx & mask) == (id & mask). */
function passes(rxId: number, id: number, mask: number): boolean {
  return ((rxId & mask) >>> 0) === ((id & mask) >>> 0);
}

test('§2.2: smsk 7,1023,255,...:ff gives mask 0x1DFFFFFF (verified example)', () => {
  assert.equal(parseFilterArgument(`7,1023,255,${guidWith15('ff')}`), 0x1dffffff);
});

test('§2.2: value = (p<<26) | ((class mod 512)<<16) | (type<<8) | guid[15], no EFF flag', () => {
  assert.equal(parseFilterArgument(`0,0,0,${ZG}`), 0);
  assert.equal(parseFilterArgument(`1,0,0,${ZG}`), 1 << 26);
  assert.equal(parseFilterArgument(`0,20,0,${ZG}`), 20 << 16);
  assert.equal(parseFilterArgument(`0,532,0,${ZG}`), 20 << 16);
  assert.equal(parseFilterArgument(`0,511,0,${ZG}`), 511 << 16);
  assert.equal(parseFilterArgument(`0,512,0,${ZG}`), 0);
  assert.equal(parseFilterArgument(`0,0,3,${ZG}`), 3 << 8);
  assert.equal(parseFilterArgument(`0,0,0,${guidWith15('A')}`), 10);
  assert.equal(parseFilterArgument('0,0,0,FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:00'), 0); // only byte 15 is used
  for (let p = 0; p < 8; p++) {
    for (const c of [0, 1, 20, 511, 512, 1023]) {
      for (const t of [0, 1, 255]) {
        const v = parseFilterArgument(`${p},${c},${t},${guidWith15('7f')}`);
        assert.equal(v, vscpToCanId(p << 5, c % 512, t, 0x7f));
        assert.ok(v !== null && v >= 0 && v <= 0x1fffffff && (v & (1 << 25)) === 0); // bit 25 never set
      }
    }
  }
});

test('§2.2: numbers follow §3.2 (hex, signs, wrap); GUID follows §3.3 (padded, trailing colon)', () => {
  assert.equal(parseFilterArgument(`0x7,0x3FF,0xff,${guidWith15('FF')}`), 0x1dffffff);
  assert.equal(parseFilterArgument(`0X7,0X3ff,0XFF,${guidWith15('ff')}:`), 0x1dffffff);
  assert.equal(parseFilterArgument(`+7,+0,-0,${ZG}`), 7 << 26);
  assert.equal(parseFilterArgument(`4294967296,0,0,${ZG}`), 0);
  assert.equal(parseFilterArgument(`0,0,0,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0a`), 10);
  // node-vscp-tcp form: 0x values and a two-digit GUID
  assert.equal(
    parseFilterArgument('0x0,0x14,0x0,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00'),
    20 << 16,
  );
});

test('§9 #79: sflt class 20 + smsk class 511 passes only class-20 frames', () => {
  const id = parseFilterArgument(`0,20,0,${ZG}`);
  const mask = parseFilterArgument(`0,511,0,${ZG}`);
  assert.equal(id, 0x00140000);
  assert.equal(mask, 0x01ff0000);
  assert.ok(id !== null && mask !== null);
  assert.ok(passes(0x1c14030a, id, mask));
  assert.ok(passes(0x00140000, id, mask));
  assert.ok(passes(0x0c14ffff, id, mask));
  assert.ok(!passes(0x1c15030a, id, mask));
  assert.ok(!passes(0x00000000, id, mask));
  assert.ok(!passes(0x00340000, id, mask)); // class 52: bit 21 differs
});

test('§9 #80: priority 8, 3 fields, 5 fields, empty fields are format errors', () => {
  assert.equal(parseFilterArgument(`8,0,0,${ZG}`), null);
  assert.equal(parseFilterArgument('0,0,0'), null);
  assert.equal(parseFilterArgument(`0,0,0,${ZG},0`), null);
  assert.equal(parseFilterArgument(`0,0,0,${ZG},`), null); // trailing comma = 5th empty field
  assert.equal(parseFilterArgument(`,0,0,${ZG}`), null);
  assert.equal(parseFilterArgument(`0,,0,${ZG}`), null);
  assert.equal(parseFilterArgument(`0,0,,${ZG}`), null);
  assert.equal(parseFilterArgument('0,0,0,'), null);
  assert.equal(parseFilterArgument(`0,1024,0,${ZG}`), null);
  assert.equal(parseFilterArgument(`0,0,256,${ZG}`), null);
  assert.equal(parseFilterArgument(`-1,0,0,${ZG}`), null);
  assert.equal(parseFilterArgument(`0,0xffff,0xffff,${ZG}`), null); // node-vscp-tcp default mask
  assert.equal(parseFilterArgument(`0,0,0,1:2:3`), null);
  assert.equal(parseFilterArgument(`0,0,0,-`), null);
  assert.equal(parseFilterArgument(`ff,0,0,${ZG}`), null);
  assert.equal(parseFilterArgument(''), null);
  assert.equal(parseFilterArgument(',,,'), null);
});

test('§9 #81: nickname filter: sflt byte15 0A + smsk byte15 FF passes only nickname 0x0A', () => {
  const id = parseFilterArgument(`0,0,0,${guidWith15('0A')}`);
  const mask = parseFilterArgument(`0,0,0,${guidWith15('FF')}`);
  assert.equal(id, 0x0a);
  assert.equal(mask, 0xff);
  assert.ok(id !== null && mask !== null);
  assert.ok(passes(0x1c14030a, id, mask));
  assert.ok(passes(0x0000000a, id, mask));
  assert.ok(!passes(0x1c14030b, id, mask));
  assert.ok(!passes(0x1c140300, id, mask));
});

test('§2.2: hostile input never throws', () => {
  for (const t of [',,,,,,,,'.repeat(10000), `0,0,0,${'f'.repeat(100000)}`, '\u0000,\u0000,\u0000,\u0000', '７,0,0,' + ZG, '😀']) {
    assert.equal(parseFilterArgument(t), null);
  }
  for (const t of [undefined, null, 1] as unknown as string[]) assert.equal(parseFilterArgument(t), null);
});
