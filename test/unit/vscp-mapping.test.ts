// CAN4VSCP identifier mapping (protocol §3.5, §3.6).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  classFromCanId,
  headFromCanId,
  isVscpFrame,
  nicknameFromCanId,
  typeFromCanId,
  vscpToCanId,
} from '../../lib/vscp/index.js';

const EFF = 0x80000000;
const RTR = 0x40000000;
const ERR = 0x20000000;

test('§3.5: protocol examples map to the verified ids (EFF flag is the CAN layer\'s)', () => {
  assert.equal(vscpToCanId(255, 20, 3), 0x1e140300); // 0x9E140300 with EFF
  assert.equal(vscpToCanId(0xe0, 0x1ff, 0xff), 0x1dffff00); // 0x9DFFFF00
  assert.equal(vscpToCanId(96, 20, 9), 0x0c140900); // 0x8C140900 (class 532 - 512)
});

test('§9 #61: head 96 class 20 type 3 -> 0x0C140300', () => {
  assert.equal(vscpToCanId(96, 20, 3), 0x0c140300);
  assert.equal((vscpToCanId(96, 20, 3) | EFF) >>> 0, 0x8c140300);
});

test('§9 #62: head 255 sets id bits 28..25; head bits 3..0 have no effect', () => {
  const id = vscpToCanId(255, 20, 3);
  assert.equal(id & 0x1e000000, 0x1e000000);
  assert.equal(id & 0x01ffffff, (20 << 16) | (3 << 8));
  for (let low = 0; low < 16; low++) assert.equal(vscpToCanId(0xf0 | low, 20, 3), id);
});

test('§3.5: head bits 7..5 -> id 28..26, bit 4 -> id 25', () => {
  for (let p = 0; p < 8; p++) {
    assert.equal(vscpToCanId(p << 5, 0, 0), p << 26);
    assert.equal(vscpToCanId((p << 5) | 0x10, 0, 0), ((p << 26) | (1 << 25)) >>> 0);
  }
});

test('§9 #63: the nickname byte defaults to 0; an explicit nickname lands in bits 7..0', () => {
  assert.equal(vscpToCanId(0, 0, 0) & 0xff, 0);
  assert.equal(vscpToCanId(0, 0, 0, 0x0a), 0x0a);
});

test('§9 #67/#68: head from id: priority 7 -> 224, hard-coded bit -> 240', () => {
  assert.equal(headFromCanId(0x1c14030a), 224);
  assert.equal(classFromCanId(0x1c14030a), 20);
  assert.equal(typeFromCanId(0x1c14030a), 3);
  assert.equal(nicknameFromCanId(0x1c14030a), 0x0a);
  assert.equal(headFromCanId(0x1e14030a), 240);
  // flag bits above bit 28 never leak into the fields
  assert.equal(headFromCanId((0x1e14030a | EFF) >>> 0), 240);
  assert.equal(headFromCanId(0x0c140300), 96);
});

test('§3.5/§3.6: to-id and from-id round trip for every field value', () => {
  for (let h = 0; h < 256; h++) {
    const id = vscpToCanId(h, 511, 255, 255);
    assert.equal(headFromCanId(id), h & 0xf0);
    assert.ok(id <= 0x1fffffff && id >= 0);
  }
  for (let c = 0; c < 512; c++) {
    const id = vscpToCanId(0x70, c, 0, 0);
    assert.equal(classFromCanId(id), c);
  }
  for (let t = 0; t < 256; t++) {
    const id = vscpToCanId(0, 0, t, 255 - t);
    assert.equal(typeFromCanId(id), t);
    assert.equal(nicknameFromCanId(id), 255 - t);
  }
  for (let n = 0; n < 10000; n++) {
    const id = (n * 2654435761) % 0x20000000;
    assert.equal(
      vscpToCanId(headFromCanId(id), classFromCanId(id), typeFromCanId(id), nicknameFromCanId(id)),
      id,
    );
  }
});

test('§3.5: class is 9 bits (512 folds to 0, 1023 to 511)', () => {
  assert.equal(classFromCanId(vscpToCanId(0, 512, 0)), 0);
  assert.equal(classFromCanId(vscpToCanId(0, 1023, 0)), 511);
});

test('§9 #69: standard, RTR and error frames are not VSCP frames', () => {
  assert.equal(isVscpFrame(0x123, 3), false); // SFF
  assert.equal(isVscpFrame(0x0c140300, 3), false); // 29-bit value but no EFF flag
  assert.equal(isVscpFrame((EFF | RTR | 0x0c140300) >>> 0, 0), false);
  assert.equal(isVscpFrame((EFF | ERR | 0x4) >>> 0, 8), false);
  assert.equal(isVscpFrame((ERR | 0x4) >>> 0, 8), false);
  assert.equal(isVscpFrame((RTR | 0x123) >>> 0, 0), false);
});

test('§9 #70: extended data frames with 0..8 bytes are VSCP frames; more than 8 is not (§3.6)', () => {
  for (let len = 0; len <= 8; len++) assert.equal(isVscpFrame((EFF | 0x1c14030a) >>> 0, len), true);
  assert.equal(isVscpFrame((EFF | 0x1c14030a) >>> 0, 9), false);
  assert.equal(isVscpFrame((EFF | 0x1c14030a) >>> 0, 64), false);
  assert.equal(isVscpFrame((EFF | 0x1c14030a) >>> 0, -1), false);
  assert.equal(isVscpFrame((EFF | 0x1c14030a) >>> 0, Number.NaN), false);
  // a signed int32 view of the id (as from DataView.getInt32) works the same
  assert.equal(isVscpFrame(EFF | 0x1c14030a, 3), true);
});
