// SocketCAN binding: bursts, batching, back-pressure and the kernel drop counter.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

import { socketCanBus } from '../../lib/can/socketcan.js';
import type { FrameBatch } from '../../lib/can/record.js';
import type { CanFrame } from '../../lib/can/types.js';
import { createVcan, deleteVcan, withTimeout } from '../helpers/vcan.js';

// UVSCPD_TEST_BURST_FRAMES makes the bursts smaller (scripts/asan.sh does under valgrind).
const TOTAL = Number(process.env['UVSCPD_TEST_BURST_FRAMES'] ?? 100_000);

interface ReceiveState {
  received: number;
  outOfOrder: number;
  batches: number;
  maxBatch: number;
  lastSeq: number;
}

/** Receives until `total` frames are received or accounted for as kernel drops. */
function receiveAll(
  sock: ReturnType<typeof socketCanBus.open>,
  total: number,
  timeoutMs: number,
  seqOf: (batch: FrameBatch, i: number) => number,
): { state: ReceiveState; done: Promise<ReceiveState> } {
  const state: ReceiveState = { received: 0, outOfOrder: 0, batches: 0, maxBatch: 0, lastSeq: -1 };
  const done = withTimeout(
    new Promise<ReceiveState>((resolve) => {
      const check = (): void => {
        if (state.received + sock.getStats().kernelDrops >= total) resolve(state);
      };
      sock.on('frames', (batch: FrameBatch) => {
        state.batches++;
        state.maxBatch = Math.max(state.maxBatch, batch.count);
        for (let i = 0; i < batch.count; i++) {
          const seq = seqOf(batch, i);
          if (seq <= state.lastSeq) state.outOfOrder++;
          state.lastSeq = seq;
        }
        state.received += batch.count;
        check();
      });
      const t = setInterval(check, 200);
      t.unref();
    }),
    timeoutMs,
    () => `receiving ${total} frames: got ${state.received} in ${state.batches} events, last seq ${state.lastSeq}, stats ${JSON.stringify(sock.getStats())}`,
  );
  return { state, done };
}

describe('SocketCAN binding: bursts', () => {
  it(`receives a ${TOTAL}-frame burst from sendMany: every frame, in order, batched`, { timeout: 180_000 }, async () => {
    const iface = createVcan();
    const tx = socketCanBus.open(iface);
    const rx = socketCanBus.open(iface, { receiveBufferSize: 16 << 20 });
    try {
      const { state, done } = receiveAll(rx, TOTAL, 170_000, (b, i) => b.buffer.readUInt32LE(b.dataOffset(i)));
      const CHUNK = 2000;
      // Sender and receiver share this thread, which takes at most two batches per
      // loop turn while a chunk goes out in one: unpaced, the receiver falls behind
      // by nearly the whole burst, and whether 100,000 frames fit in the kernel's
      // buffer depends on its per-frame overhead. A real program paces on its
      // receiver the same way; 20,000 frames stay far inside 16 MiB.
      const MAX_LAG = 20_000;
      let sentChunks = 0;
      const progress = setInterval(() => {
        // Only printed when a run stalls (it normally ends in about a second).
        console.log(`burst progress: ${sentChunks} chunks sent, tx ${JSON.stringify(tx.getStats())}, rx ${JSON.stringify(rx.getStats())}`);
      }, 20_000);
      progress.unref();
      for (let base = 0; base < TOTAL; base += CHUNK) {
        const frames: CanFrame[] = [];
        for (let i = base; i < Math.min(base + CHUNK, TOTAL); i++) {
          const data = Buffer.alloc(8);
          data.writeUInt32LE(i, 0);
          frames.push({ id: 0x1000000 | (i & 0xffff), extended: true, data });
        }
        await tx.sendMany(frames);
        sentChunks++;
        do await new Promise((r) => setImmediate(r));
        while (base + CHUNK - state.received > MAX_LAG && state.received + rx.getStats().kernelDrops < base + CHUNK);
      }
      const r = await done.finally(() => clearInterval(progress));
      const st = rx.getStats();
      console.log(`sendMany burst: received ${r.received}, kernelDrops ${st.kernelDrops}, batches ${r.batches} (max ${r.maxBatch})`);
      assert.equal(r.received + st.kernelDrops, TOTAL);
      assert.equal(r.outOfOrder, 0);
      assert.equal(st.kernelDrops, 0, 'a 16 MiB receive buffer absorbs the burst');
      assert.equal(r.received, TOTAL);
      assert.equal(st.rxFrames, TOTAL);
      assert.equal(tx.getStats().txFrames, TOTAL);
      assert.ok(r.batches < TOTAL / 4, `frames arrive batched (${r.batches} batches)`);
      // One event per delivery: at most kMaxReadyBatches (2) recvmmsg batches of 64 frames.
      assert.ok(r.maxBatch <= 2 * 64 && r.maxBatch > 1, `largest event ${r.maxBatch} frames`);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });

  it(`counts every frame of a ${TOTAL}-frame cangen burst: received + kernelDrops == sent`, { timeout: 180_000 }, async () => {
    const iface = createVcan();
    const rx = socketCanBus.open(iface, { receiveBufferSize: 16 << 20 });
    try {
      // cangen -D i: the payload is an incrementing little-endian counter.
      const { done } = receiveAll(rx, TOTAL, 170_000, (b, i) => b.buffer.readUInt32LE(b.dataOffset(i)));
      const gen = spawn('cangen', [iface, '-g', '0', '-n', String(TOTAL), '-I', '123', '-L', '8', '-D', 'i'], { stdio: 'ignore' });
      const exit = new Promise<number | null>((resolve) => gen.on('close', resolve));
      const r = await done;
      assert.equal(await exit, 0);
      const st = rx.getStats();
      console.log(`cangen burst: received ${r.received}, kernelDrops ${st.kernelDrops}, batches ${r.batches} (max ${r.maxBatch})`);
      assert.equal(r.received + st.kernelDrops, TOTAL);
      assert.equal(r.outOfOrder, 0);
    } finally {
      rx.close();
      deleteVcan(iface);
    }
  });

  it('stops reading while JavaScript is blocked; the kernel drop counter tells the truth', { timeout: 60_000 }, async () => {
    const iface = createVcan();
    const rx = socketCanBus.open(iface);
    const granted = rx.setReceiveBufferSize(32 * 1024); // small: a few dozen frames
    const tx = socketCanBus.open(iface);
    try {
      const N = 5000;
      let received = 0;
      let lastSeq = -1;
      let outOfOrder = 0;
      rx.on('frames', (b: FrameBatch) => {
        for (let i = 0; i < b.count; i++) {
          const seq = b.buffer.readUInt32LE(b.dataOffset(i));
          if (seq <= lastSeq) outOfOrder++;
          lastSeq = seq;
        }
        received += b.count;
      });
      // Send all frames synchronously in one tick: the JS thread cannot take any
      // batch meanwhile, so the reactor fills its ready queue, pauses, and the
      // socket's small kernel buffer overflows.
      const frames: CanFrame[] = [];
      for (let i = 0; i < N; i++) {
        const data = Buffer.alloc(4);
        data.writeUInt32LE(i, 0);
        frames.push({ id: 0x10, data });
      }
      await tx.sendMany(frames);
      const t0 = Date.now();
      while (Date.now() - t0 < 300) {
        /* keep the JS thread busy */
      }
      const deadline = Date.now() + 30_000;
      while (received + rx.getStats().kernelDrops < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const st = rx.getStats();
      console.log(`blocked reader (rcvbuf ${granted}): received ${received}, kernelDrops ${st.kernelDrops}`);
      assert.ok(st.kernelDrops > 0, 'frames were dropped by the kernel, not by us');
      assert.equal(received + st.kernelDrops, N);
      assert.equal(st.rxFrames, received);
      assert.equal(outOfOrder, 0);
    } finally {
      rx.close();
      tx.close();
      deleteVcan(iface);
    }
  });
});
