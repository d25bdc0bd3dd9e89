// FrameOrigins: which session sent a received frame (docs/design.md "Channel ids").
// Pure: batches are built with encodeRecord, time is a fake clock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameBatch, RECORD_FLAG_LOCAL, RECORD_FLAG_OWN, RECORD_SIZE, encodeRecord } from '../../lib/can/record.js';
import { FrameOrigins, IN_FLIGHT_TTL_MS } from '../../lib/server/origins.js';

const ID = 0x8c140300;

interface Rec {
  id?: number;
  data: number[];
  us: number;
  ns?: number;
  flags?: number;
}

function batch(...records: Rec[]): FrameBatch {
  const buffer = Buffer.alloc(records.length * RECORD_SIZE);
  records.forEach((r, i) =>
    encodeRecord(buffer, i * RECORD_SIZE, r.id ?? ID, Uint8Array.from(r.data), r.us, r.flags ?? RECORD_FLAG_LOCAL, r.ns ?? 0),
  );
  return new FrameBatch(buffer, records.length);
}

function fixture(): { origins: FrameOrigins; clock: { now: number } } {
  const clock = { now: 1000 };
  return { origins: new FrameOrigins(() => clock.now), clock };
}

test('origins: an echoed frame names its sender exactly, by time, id and data', () => {
  const { origins } = fixture();
  assert.equal(origins.empty, true);
  origins.sent(7, ID, Uint8Array.of(1, 2, 3));
  origins.echo(7, batch({ data: [1, 2, 3], us: 5_000_000, ns: 17, flags: RECORD_FLAG_LOCAL | RECORD_FLAG_OWN }), 0);
  assert.equal(origins.empty, false);
  assert.equal(origins.senderOf(batch({ data: [1, 2, 3], us: 5_000_000, ns: 17 }), 0, 9), 7);
  // Same id and data, another time (another program's frame, after the echo): 0.
  assert.equal(origins.senderOf(batch({ data: [1, 2, 3], us: 5_000_000, ns: 18 }), 0, 9), 0);
  assert.equal(origins.senderOf(batch({ data: [1, 2, 3], us: 5_000_001, ns: 17 }), 0, 9), 0);
  // Same time, other content: 0.
  assert.equal(origins.senderOf(batch({ data: [1, 2, 4], us: 5_000_000, ns: 17 }), 0, 9), 0);
  assert.equal(origins.senderOf(batch({ data: [1, 2], us: 5_000_000, ns: 17 }), 0, 9), 0);
  assert.equal(origins.senderOf(batch({ id: ID + 1, data: [1, 2, 3], us: 5_000_000, ns: 17 }), 0, 9), 0);
});

test('origins: before the sender\'s echo is read, a frame in flight names its sender; its echo ends that', () => {
  const { origins } = fixture();
  origins.sent(3, ID, Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2));
  const rx = batch({ data: [9, 8, 7, 6, 5, 4, 3, 2], us: 42, ns: 1 });
  assert.equal(origins.senderOf(rx, 0, 4), 3);
  assert.equal(origins.senderOf(batch({ data: [9, 8, 7, 6, 5, 4, 3, 1], us: 42, ns: 1 }), 0, 4), 0, 'byte 8 differs');
  origins.echo(3, batch({ data: [9, 8, 7, 6, 5, 4, 3, 2], us: 42, ns: 1, flags: RECORD_FLAG_LOCAL | RECORD_FLAG_OWN }), 0);
  assert.equal(origins.senderOf(rx, 0, 4), 3, 'now by the echo');
  assert.equal(origins.senderOf(batch({ data: [9, 8, 7, 6, 5, 4, 3, 2], us: 43 }), 0, 4), 0, 'a later identical frame is not it');
});

test('origins: identical frames from two sessions in flight are told apart by their echoes', () => {
  const { origins } = fixture();
  origins.sent(1, ID, Uint8Array.of(5));
  origins.sent(2, ID, Uint8Array.of(5));
  origins.echo(2, batch({ data: [5], us: 10, flags: RECORD_FLAG_LOCAL | RECORD_FLAG_OWN }), 0);
  origins.echo(1, batch({ data: [5], us: 11, flags: RECORD_FLAG_LOCAL | RECORD_FLAG_OWN }), 0);
  assert.equal(origins.senderOf(batch({ data: [5], us: 10 }), 0, 3), 2);
  assert.equal(origins.senderOf(batch({ data: [5], us: 11 }), 0, 3), 1);
  assert.equal(origins.senderOf(batch({ data: [5], us: 12 }), 0, 3), 0);
});

test('origins: a refused send is forgotten; an unechoed one stops counting after the TTL', () => {
  const { origins, clock } = fixture();
  const forget = origins.sent(1, ID, Uint8Array.of(1));
  forget();
  assert.equal(origins.senderOf(batch({ data: [1], us: 1 }), 0, 2), 0);
  origins.sent(1, ID, Uint8Array.of(2));
  clock.now += IN_FLIGHT_TTL_MS - 1;
  assert.equal(origins.senderOf(batch({ data: [2], us: 2 }), 0, 2), 1);
  clock.now += 2;
  assert.equal(origins.senderOf(batch({ data: [2], us: 2 }), 0, 2), 0);
  origins.sent(1, ID, Uint8Array.of(3)); // expires the old one on the way
  assert.equal(origins.senderOf(batch({ data: [3], us: 3 }), 0, 2), 1);
});

test('origins: memory stays bounded under a flood of sends that never echo, and of echoes', () => {
  const { origins, clock } = fixture();
  for (let i = 0; i < 100_000; i++) {
    origins.sent(1, ID, Uint8Array.of(i & 0xff, (i >> 8) & 0xff));
    if (i % 1000 === 0) clock.now += 1;
  }
  const internals = origins as unknown as { inFlightOrder: unknown[]; inFlight: Map<number, unknown[]>; echoedOrder: unknown[]; echoed: Map<number, unknown[]> };
  assert.ok(internals.inFlightOrder.length <= 2 * 4096 + 1024, `order list ${internals.inFlightOrder.length}`);
  assert.ok((internals.inFlight.get(ID >>> 0)?.length ?? 0) <= 4096);
  for (let i = 0; i < 100_000; i++) origins.echo(1, batch({ data: [i & 0xff], us: i, flags: RECORD_FLAG_LOCAL | RECORD_FLAG_OWN }), 0);
  assert.ok(internals.echoed.size <= 8192, `echoed keys ${internals.echoed.size}`);
  assert.ok(internals.echoedOrder.length <= 2 * 8192 + 1024, `echo order ${internals.echoedOrder.length}`);
  // The newest are still known.
  assert.equal(origins.senderOf(batch({ data: [99_999 & 0xff], us: 99_999 }), 0, 2), 1);
});
