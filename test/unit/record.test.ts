// The record codec shared by the native reactor and the in-memory bus.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as record from '../../lib/can/record.js';
import {
  FrameBatch,
  RECORD_DATA_OFFSET,
  RECORD_FLAG_BRS,
  RECORD_FLAG_ESI,
  RECORD_FLAG_FD,
  RECORD_FLAG_HW_TIMESTAMP,
  RECORD_SIZE,
  decodeRecord,
  encodeRecord,
  frameToRawId,
} from '../../lib/can/record.js';
import { CAN_EFF_FLAG, CAN_ERR_FLAG, CAN_RTR_FLAG } from '../../lib/can/types.js';

test('record layout is 80 bytes with the payload at 16, sized for CAN FD', () => {
  assert.equal(RECORD_SIZE, 80);
  assert.equal(RECORD_DATA_OFFSET, 16);
});

test('encode then decode keeps id, flags, payload and timestamp', () => {
  const buf = Buffer.alloc(RECORD_SIZE * 3);
  const ts = 1608410933123456;
  encodeRecord(buf, 0, (0x0c140300 | CAN_EFF_FLAG) >>> 0, Uint8Array.of(0, 1, 0x23), ts);
  encodeRecord(buf, RECORD_SIZE, 0x123 | CAN_RTR_FLAG, new Uint8Array(0), ts + 1);
  encodeRecord(buf, 2 * RECORD_SIZE, (0x04 | CAN_ERR_FLAG) >>> 0, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), ts + 2);
  const batch = new FrameBatch(buf, 3);
  const [a, b, c] = batch.frames();
  const classic = { hardwareTimestamp: false, fd: false, brs: false, esi: false };
  assert.deepEqual(a, {
    id: 0x0c140300,
    extended: true,
    rtr: false,
    error: false,
    data: Buffer.from([0, 1, 0x23]),
    timestamp: ts,
    timestampNs: BigInt(ts) * 1000n,
    ...classic,
  });
  assert.deepEqual(b, {
    id: 0x123,
    extended: false,
    rtr: true,
    error: false,
    data: Buffer.alloc(0),
    timestamp: ts + 1,
    timestampNs: BigInt(ts + 1) * 1000n,
    ...classic,
  });
  assert.equal(c!.error, true);
  assert.equal(c!.id, 0x04);
  assert.equal(c!.data.length, 8);
  assert.equal(batch.rawId(0), (0x0c140300 | CAN_EFF_FLAG) >>> 0);
  assert.equal(batch.length(2), 8);
  assert.equal(batch.timestamp(1), ts + 1);
  assert.equal(batch.dataOffset(1), RECORD_SIZE + RECORD_DATA_OFFSET);
});

test('the layout is little-endian whatever the host', () => {
  const buf = Buffer.alloc(RECORD_SIZE);
  encodeRecord(buf, 0, 0x80000001, Uint8Array.of(9), 1);
  assert.deepEqual([...buf.subarray(0, 6)], [0x01, 0, 0, 0x80, 1, 0]);
  assert.equal(buf.readDoubleLE(8), 1);
});

test('decoded payload is a copy, not a view of the reused batch buffer', () => {
  const buf = Buffer.alloc(RECORD_SIZE);
  encodeRecord(buf, 0, 1, Uint8Array.of(7), 0);
  const frame = decodeRecord(buf, 0);
  buf.fill(0);
  assert.equal(frame.data[0], 7);
});

test('decoded payloads of every length are exact, separate copies', () => {
  const buf = Buffer.alloc(RECORD_SIZE * 65);
  for (let len = 0; len <= 64; len++) {
    encodeRecord(buf, len * RECORD_SIZE, len, Uint8Array.from({ length: len }, (_, k) => (len + k) & 0xff), 0);
  }
  const frames = new FrameBatch(buf, 65).frames();
  frames.forEach((f, len) => {
    assert.ok(Buffer.isBuffer(f.data));
    assert.deepEqual([...f.data], Array.from({ length: len }, (_, k) => (len + k) & 0xff));
  });
  // Small Buffers share a pool: writing one payload must leave its neighbours alone.
  frames[8]!.data.fill(0xee);
  assert.deepEqual([...frames[7]!.data], [7, 8, 9, 10, 11, 12, 13]);
  assert.deepEqual([...frames[9]!.data], [9, 10, 11, 12, 13, 14, 15, 16, 17]);
  assert.equal(buf[8 * RECORD_SIZE + RECORD_DATA_OFFSET], 8);
});

test('a record cut short by its buffer decodes only the bytes that are there', () => {
  const buf = Buffer.alloc(RECORD_SIZE);
  encodeRecord(buf, 0, 1, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 0);
  assert.deepEqual([...decodeRecord(buf.subarray(0, RECORD_DATA_OFFSET + 3), 0).data], [1, 2, 3]);
});

test('a batch that does not fit its buffer is refused'
, () => {
  assert.throws(() => new FrameBatch(Buffer.alloc(RECORD_SIZE), 2), RangeError);
  assert.throws(() => new FrameBatch(Buffer.alloc(RECORD_SIZE), -1), RangeError);
});

test('encodeRecord refuses payloads over 64 bytes and out-of-range offsets', () => {
  assert.throws(() => encodeRecord(Buffer.alloc(RECORD_SIZE), 0, 1, new Uint8Array(65), 0), RangeError);
  assert.throws(() => encodeRecord(Buffer.alloc(RECORD_SIZE), 1, 1, new Uint8Array(1), 0), RangeError);
});

test('frameToRawId sets flags and range-checks ids', () => {
  assert.equal(frameToRawId({ id: 0x7ff, data: new Uint8Array() }), 0x7ff);
  assert.equal(frameToRawId({ id: 0x1fffffff, extended: true, data: new Uint8Array() }), 0x9fffffff);
  assert.equal(frameToRawId({ id: 1, rtr: true, data: new Uint8Array() }), (1 | CAN_RTR_FLAG) >>> 0);
  assert.throws(() => frameToRawId({ id: 0x800, data: new Uint8Array() }), RangeError);
  assert.throws(() => frameToRawId({ id: 0x20000000, extended: true, data: new Uint8Array() }), RangeError);
  assert.throws(() => frameToRawId({ id: -1, data: new Uint8Array() }), RangeError);
  assert.throws(() => frameToRawId({ id: 1.5, data: new Uint8Array() }), RangeError);
});

test('an FD record carries 64 bytes and its brs/esi flags; isFd and frame(i) say it is FD', () => {
  const buf = Buffer.alloc(RECORD_SIZE * 2);
  const payload = Uint8Array.from({ length: 64 }, (_, i) => i ^ 0x5a);
  encodeRecord(buf, 0, 0x123, payload, 5, RECORD_FLAG_FD | RECORD_FLAG_BRS);
  encodeRecord(buf, RECORD_SIZE, 0x124, Uint8Array.of(1), 6, RECORD_FLAG_FD | RECORD_FLAG_ESI);
  const batch = new FrameBatch(buf, 2);
  const [a, b] = batch.frames();
  assert.equal(batch.isFd(0), true);
  assert.deepEqual([a!.fd, a!.brs, a!.esi], [true, true, false]);
  assert.deepEqual([b!.fd, b!.brs, b!.esi], [true, false, true]);
  assert.deepEqual([...a!.data], [...payload]);
  assert.equal(batch.length(0), 64);
});

test('timestampNs joins the microseconds and the nanoseconds below them; the hardware flag is reported', () => {
  const buf = Buffer.alloc(RECORD_SIZE);
  const us = 1_765_000_000_123_456; // above 2^50: the bigint keeps every nanosecond
  encodeRecord(buf, 0, 1, Uint8Array.of(), us, RECORD_FLAG_HW_TIMESTAMP, 789);
  const batch = new FrameBatch(buf, 1);
  assert.equal(batch.timestampNs(0), 1_765_000_000_123_456_789n);
  assert.equal(batch.frame(0).timestampNs, 1_765_000_000_123_456_789n);
  assert.equal(batch.hardwareTimestamp(0), true);
  assert.equal(batch.frame(0).hardwareTimestamp, true);
  assert.equal(batch.isFd(0), false);
});

test('the record flag bits are distinct single bits', () => {
  const bits = Object.entries(record)
    .filter(([name]) => name.startsWith('RECORD_FLAG_'))
    .map(([, value]) => value as number);
  assert.equal(bits.length, 6);
  assert.equal(bits.reduce((a, b) => a | b, 0), bits.reduce((a, b) => a + b, 0));
  for (const b of bits) assert.equal(b & (b - 1), 0, `0x${b.toString(16)} is one bit`);
});
