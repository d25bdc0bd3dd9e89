// SocketCAN binding: a full kernel TX queue (ENOBUFS / EAGAIN) and the native TX queue.
//
// vcan has no queue of its own (qdisc noqueue) and never refuses a frame. To make the
// kernel refuse, these tests put a `plug` qdisc on a private vcan: while plugged it
// holds frames (they count against the socket's send buffer -> EAGAIN once it is full)
// and drops frames beyond its byte limit (-> ENOBUFS, as a full real CAN TX queue does).
// `tc qdisc change ... plug release_indefinite` then lets everything through.
// Note: the CAN core loops a frame back to local sockets when the kernel *accepts* it
// (before the qdisc), so a local receiver sees exactly the frames whose send succeeded.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import { socketCanBus } from '../../lib/can/socketcan.js';
import type { SocketCanSocket } from '../../lib/can/socketcan.js';
import type { CanError, CanFrame } from '../../lib/can/types.js';
import { createVcan, delay, deleteVcan, frameCollector, framesWithin, modprobe, tc, withTimeout } from '../helpers/vcan.js';

function frame(i: number): CanFrame {
  const data = Buffer.alloc(4);
  data.writeUInt32LE(i, 0);
  return { id: 0x300, data };
}

/** Under valgrind (scripts/asan.sh sets UVSCPD_TEST_SLOW) everything is ~30x slower. */
const SLOW = process.env['UVSCPD_TEST_SLOW'] ? 10 : 1;

/** Marks a promise as handled (a failing test must not leave unhandled rejections behind). */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Settles every promise; returns the outcome of each ('ok' or the error code). */
function outcomes(ps: Promise<void>[]): Promise<string[]> {
  return Promise.all(ps.map((p) => p.then(() => 'ok', (e: CanError) => e.code)));
}

function cpuMsDuring(ms: number): Promise<number> {
  const start = process.cpuUsage();
  return delay(ms).then(() => {
    const d = process.cpuUsage(start);
    return (d.user + d.system) / 1000;
  });
}

describe('SocketCAN binding: TX queue', () => {
  before(() => {
    modprobe('sch_plug');
  });

  it('parks frames on ENOBUFS, flushes them in order, and rejects beyond txQueueLimit', { timeout: 60_000 * SLOW }, async () => {
    const iface = createVcan();
    // Plugged, room for 10 frames of 16 bytes.
    tc('qdisc', 'add', 'dev', iface, 'root', 'plug', 'limit', '160');
    const tx: SocketCanSocket = socketCanBus.open(iface, { txQueueLimit: 50 });
    const rx = socketCanBus.open(iface);
    try {
      const got = frameCollector(rx, 60);
      const early = framesWithin(rx, 300 * SLOW);
      // 10 frames fit in the qdisc; the next 40 are refused by the kernel and parked.
      const first: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) first.push(handled(tx.send(frame(i))));
      await delay(50 * SLOW);
      const st = tx.getStats();
      assert.equal(st.txQueueDepth, 40, 'parked frames are visible in the statistics');
      assert.equal(st.txFrames, 10);
      // 20 more: 10 fit in the native queue (limit 50), 10 are rejected at once.
      const second: Promise<void>[] = [];
      for (let i = 50; i < 70; i++) second.push(handled(tx.send(frame(i))));
      const rejected = await withTimeout(outcomes(second.slice(10)), 2000 * SLOW, 'immediate ENOBUFS');
      assert.deepEqual(rejected, new Array(10).fill('ENOBUFS'));
      await assert.rejects(tx.sendMany([frame(70)]), (e: CanError) => e.code === 'ENOBUFS' && /txQueueLimit/.test(e.message));
      assert.equal(tx.getStats().txQueueDepth, 50);
      assert.equal((await early).length, 10, 'local sockets see exactly the accepted frames');
      // The reactor retries on a timer (the socket polls writable on ENOBUFS): no spinning.
      const cpu = await cpuMsDuring(500);
      assert.ok(cpu < 250 * SLOW, `CPU while parked: ${cpu} ms in 500 ms`);
      // Unplug: everything flows, in order; every parked promise resolves.
      tc('qdisc', 'change', 'dev', iface, 'root', 'plug', 'release_indefinite');
      const settled = await withTimeout(outcomes([...first, ...second.slice(0, 10)]), 20_000 * SLOW, 'parked frames settle');
      assert.deepEqual(settled, new Array(60).fill('ok'));
      const frames = await withTimeout(got.done, 30_000 * SLOW, () => `60 frames (got ${got.frames.length})`);
      assert.deepEqual(
        frames.map((f) => f.data.readUInt32LE(0)),
        Array.from({ length: 60 }, (_, i) => i),
      );
      const end = tx.getStats();
      assert.equal(end.txQueueDepth, 0);
      assert.equal(end.txFrames, 60);
      assert.equal(end.txErrors, 11);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });

  it('parks a send whole or not at all: a refused send leaves nothing parked (no duplicates on retry)', { timeout: 60_000 * SLOW }, async () => {
    // Regression: sendMany(80) with 18 frames parked and txQueueLimit 50 parked 32 of the
    // 80 (later sent) and still rejected, so a caller retrying the send duplicated them.
    const iface = createVcan();
    tc('qdisc', 'add', 'dev', iface, 'root', 'plug', 'limit', '160'); // room for 10 frames
    const tx: SocketCanSocket = socketCanBus.open(iface, { txQueueLimit: 50 });
    const rx = socketCanBus.open(iface);
    const range = (from: number, n: number): CanFrame[] => Array.from({ length: n }, (_, i) => frame(from + i));
    try {
      const early = framesWithin(rx, 300 * SLOW);
      // One sendMany larger than the queue: 10 taken by the kernel, the other 60 do not
      // fit (limit 50): none of them is parked.
      await assert.rejects(tx.sendMany(range(1000, 70)), (e: CanError) => e.code === 'ENOBUFS');
      assert.equal(tx.getStats().txQueueDepth, 0);
      assert.equal(tx.getStats().txFrames, 10);
      // 18 singles are parked.
      const parked = range(0, 18).map((f) => handled(tx.send(f)));
      await delay(20 * SLOW);
      assert.equal(tx.getStats().txQueueDepth, 18);
      await assert.rejects(tx.sendMany(range(100, 80)), (e: CanError) => e.code === 'ENOBUFS');
      assert.equal(tx.getStats().txQueueDepth, 18, 'a refused sendMany parks nothing');
      // Several sends in one tick (one native call): parked in order while each fits
      // whole; the first that does not fit and those after it are refused whole.
      const fits = handled(tx.sendMany(range(200, 20))); // 18 + 20 = 38
      const tooBig = handled(tx.sendMany(range(300, 20))); // 38 + 20 > 50
      const after = handled(tx.send(frame(400)));
      assert.deepEqual(await outcomes([tooBig, after]), ['ENOBUFS', 'ENOBUFS']);
      assert.equal(tx.getStats().txQueueDepth, 38);
      const earlyFrames = await early; // still plugged: only what the kernel took so far
      // Retry what was refused once the queue has room again: each frame goes out once.
      const got = frameCollector(rx, 18 + 20 + 12);
      tc('qdisc', 'change', 'dev', iface, 'root', 'plug', 'release_indefinite');
      assert.deepEqual(await withTimeout(outcomes([...parked, fits]), 20_000 * SLOW, 'parked sends settle'), new Array(19).fill('ok'));
      await tx.sendMany(range(300, 12));
      assert.deepEqual(
        (await withTimeout(got.done, 30_000 * SLOW, () => `50 frames (got ${got.frames.length})`)).map((f) => f.data.readUInt32LE(0)),
        [...Array.from({ length: 18 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 200 + i), ...Array.from({ length: 12 }, (_, i) => 300 + i)],
      );
      assert.deepEqual(
        earlyFrames.map((f) => f.data.readUInt32LE(0)),
        Array.from({ length: 10 }, (_, i) => 1000 + i),
        'only the frames the kernel took of the refused sendMany went out',
      );
      const end = tx.getStats();
      assert.equal(end.txQueueDepth, 0);
      assert.equal(end.txFrames, 10 + 18 + 20 + 12);
      assert.equal(end.txErrors, 60 + 80 + 20 + 1);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });

  it('parks frames on EAGAIN (send buffer full) and flushes them on EPOLLOUT', { timeout: 60_000 * SLOW }, async () => {
    const iface = createVcan();
    // Plugged with a large limit: frames pile up until the socket's send buffer is full.
    tc('qdisc', 'add', 'dev', iface, 'root', 'plug', 'limit', String(16 << 20));
    const tx = socketCanBus.open(iface, { txQueueLimit: 10_000 });
    const rx = socketCanBus.open(iface, { receiveBufferSize: 8 << 20 });
    try {
      const N = 3000;
      const frames = Array.from({ length: N }, (_, i) => frame(i));
      // Frames the kernel takes reach rx at once; the rest after the release below.
      const got = frameCollector(rx, N);
      const sending = handled(tx.sendMany(frames));
      await delay(100 * SLOW);
      const st = tx.getStats();
      assert.ok(st.txQueueDepth > 0 && st.txFrames > 0, `some taken (${st.txFrames}), some parked (${st.txQueueDepth})`);
      assert.equal(st.txFrames + st.txQueueDepth, N);
      const cpu = await cpuMsDuring(300);
      assert.ok(cpu < 150 * SLOW, `CPU while parked on EAGAIN: ${cpu} ms in 300 ms`);
      tc('qdisc', 'change', 'dev', iface, 'root', 'plug', 'release_indefinite');
      await withTimeout(sending, 30_000 * SLOW, () => `sendMany settles (tx ${JSON.stringify(tx.getStats())})`);
      const received = await withTimeout(got.done, 30_000 * SLOW, () => `${N} frames (got ${got.frames.length})`);
      received.forEach((f, i) => assert.equal(f.data.readUInt32LE(0), i));
      assert.equal(tx.getStats().txQueueDepth, 0);
      assert.equal(tx.getStats().txFrames, N);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });

  it('close() with frames parked and frames in flight: no crash, pending sends reject with ECANCELED', { timeout: 30_000 * SLOW }, async () => {
    const iface = createVcan();
    tc('qdisc', 'add', 'dev', iface, 'root', 'plug', 'limit', '160');
    const tx = socketCanBus.open(iface);
    const rx = socketCanBus.open(iface);
    try {
      const seen = framesWithin(rx, 500 * SLOW);
      const parked: Promise<void>[] = [];
      for (let i = 0; i < 30; i++) parked.push(handled(tx.send(frame(i))));
      await delay(20 * SLOW);
      assert.equal(tx.getStats().txQueueDepth, 20);
      // Queued in this tick, not yet handed to the addon:
      const queued = handled(tx.send(frame(99)));
      tx.close();
      tx.close();
      const res = await outcomes([...parked, queued]);
      assert.deepEqual(res.slice(0, 10), new Array(10).fill('ok'));
      assert.deepEqual(res.slice(10), new Array(21).fill('ECANCELED'));
      assert.equal(tx.getStats().txQueueDepth, 0);
      // Only the 10 accepted frames were looped back to the local receiver.
      tc('qdisc', 'change', 'dev', iface, 'root', 'plug', 'release_indefinite');
      assert.deepEqual(
        (await seen).map((f) => f.data.readUInt32LE(0)),
        Array.from({ length: 10 }, (_, i) => i),
      );
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });
});
