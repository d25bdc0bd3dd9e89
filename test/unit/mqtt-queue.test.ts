// lib/mqtt/queue.ts (bounded drop-oldest frame queue), echo.ts (memory of
// own publications) and log-limit.ts (one line per interval).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentPublications } from '../../lib/mqtt/echo.js';
import { LogLimiter } from '../../lib/mqtt/log-limit.js';
import { FrameQueue, MAX_QUEUE_CAPACITY } from '../../lib/mqtt/queue.js';

function drain(q: FrameQueue): { id: number; data: number[]; ts: number }[] {
  const out = [];
  while (q.size > 0) {
    const off = q.peekDataOffset();
    out.push({ id: q.peekRawId(), data: [...q.buffer.subarray(off, off + q.peekLength())], ts: q.peekTimestamp() });
    q.shift();
  }
  return out;
}

test('frames come out in order with their id, payload and timestamp', () => {
  const q = new FrameQueue(4);
  const src = Uint8Array.from([9, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(q.push(0x8c0a0601, src, 1, 8, 1.5e15), true);
  assert.equal(q.push(0x80000002, src, 0, 0, 2), true);
  assert.deepEqual(drain(q), [
    { id: 0x8c0a0601, data: [1, 2, 3, 4, 5, 6, 7, 8], ts: 1.5e15 },
    { id: 0x80000002, data: [], ts: 2 },
  ]);
  assert.equal(q.dropped, 0);
});

test('a full queue drops the oldest and counts it; it wraps around any number of times', () => {
  const q = new FrameQueue(3);
  const d = new Uint8Array(1);
  for (let i = 0; i < 10; i++) {
    d[0] = i;
    assert.equal(q.push(i, d, 0, 1, i), i < 3);
  }
  assert.equal(q.size, 3);
  assert.equal(q.dropped, 7);
  assert.deepEqual(drain(q).map((f) => f.data[0]), [7, 8, 9]);
  for (let i = 0; i < 5; i++) {
    d[0] = 100 + i;
    q.push(i, d, 0, 1, i);
    if (i % 2 === 1) q.shift();
  }
  assert.deepEqual(drain(q).map((f) => f.data[0]), [102, 103, 104]);
});

test('capacity is checked; an empty queue refuses peek and shift', () => {
  assert.throws(() => new FrameQueue(0), RangeError);
  assert.throws(() => new FrameQueue(1.5), RangeError);
  assert.throws(() => new FrameQueue(MAX_QUEUE_CAPACITY + 1), RangeError);
  const q = new FrameQueue(1);
  assert.throws(() => q.peekRawId(), RangeError);
  assert.throws(() => q.shift(), RangeError);
});

test('RecentPublications remembers the last N (topic, payload) pairs, duplicates included', () => {
  const r = new RecentPublications(3);
  r.remember('t', 'a');
  r.remember('t', 'b');
  r.remember('t', 'a');
  assert.equal(r.has('t', 'a'), true);
  assert.equal(r.has('u', 'a'), false, 'same payload on another topic is not ours');
  r.remember('t', 'c'); // evicts the first 'a'; the second is still there
  assert.equal(r.has('t', 'a'), true);
  r.remember('t', 'd'); // evicts 'b'
  assert.equal(r.has('t', 'b'), false);
  r.remember('t', 'e'); // evicts the second 'a'
  assert.equal(r.has('t', 'a'), false);
  assert.equal(r.size, 3);
});

test('LogLimiter: the first occurrence logs, the rest of the interval is counted', () => {
  let now = 1000;
  const l = new LogLimiter(10_000, () => now);
  assert.equal(l.take(), 0);
  assert.equal(l.take(), null);
  assert.equal(l.take(), null);
  now += 9_999;
  assert.equal(l.take(), null);
  now += 1;
  assert.equal(l.take(), 3);
  assert.equal(l.take(), null);
});
