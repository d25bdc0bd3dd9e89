// SocketCAN binding on real vcan: what a record says about who sent a frame
// (RECORD_FLAG_LOCAL / RECORD_FLAG_OWN, the shared nanosecond receive time) and
// pause()/resume() (the reactor stops reading; the kernel buffers, drops, counts).
// Runs as root where vcan works (the CAN guest: test/can-vm.sh).

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import type { FrameBatch } from '../../lib/can/record.js';
import { RECORD_FLAG_LOCAL, RECORD_FLAG_OWN } from '../../lib/can/record.js';
import { socketCanBus } from '../../lib/can/socketcan.js';
import type { SocketCanSocket } from '../../lib/can/socketcan.js';
import type { CanSocketOptions } from '../../lib/can/types.js';
import { cansend, createVcan, delay, deleteVcan, withTimeout } from '../helpers/vcan.js';

const TIMEOUT = { timeout: 30_000 };
const open: SocketCanSocket[] = [];
const ifaces: string[] = [];

function openSock(iface: string, options?: CanSocketOptions): SocketCanSocket {
  const s = socketCanBus.open(iface, options);
  open.push(s);
  return s;
}

function freshVcan(): string {
  const name = createVcan();
  ifaces.push(name);
  return name;
}

after(() => {
  for (const s of open) s.close();
  for (const i of ifaces) deleteVcan(i);
});

interface Rec {
  flags: number;
  us: number;
  ns: number;
  first: number;
}

function records(sock: SocketCanSocket): Rec[] {
  const out: Rec[] = [];
  sock.on('frames', (b: FrameBatch) => {
    for (let i = 0; i < b.count; i++) out.push({ flags: b.flags(i), us: b.timestamp(i), ns: b.subMicroNs(i), first: b.buffer[b.dataOffset(i)]! });
  });
  return out;
}

async function until(cond: () => boolean, what: () => string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await delay(10);
  }
}

describe('SocketCAN binding: sender flags and shared receive times', () => {
  it('a frame sent by a socket is LOCAL to others, LOCAL|OWN to its sender; cansend frames are LOCAL only', TIMEOUT, async () => {
    const iface = freshVcan();
    const a = openSock(iface, { receiveOwnMessages: true });
    const b = openSock(iface);
    const c = openSock(iface);
    const ra = records(a);
    const rb = records(b);
    const rc = records(c);
    await a.send({ id: 0x0c140300, extended: true, data: Uint8Array.of(1) });
    cansend(iface, '0C140300#02');
    await until(() => ra.length >= 2 && rb.length >= 2 && rc.length >= 2, () => `${ra.length} ${rb.length} ${rc.length}`);
    assert.deepEqual(ra.map((r) => [r.first, r.flags]), [[1, RECORD_FLAG_LOCAL | RECORD_FLAG_OWN], [2, RECORD_FLAG_LOCAL]]);
    assert.deepEqual(rb.map((r) => [r.first, r.flags]), [[1, RECORD_FLAG_LOCAL], [2, RECORD_FLAG_LOCAL]]);
    // Every receiver of one frame has the same receive time, nanoseconds included.
    for (let k = 0; k < 2; k++) {
      assert.deepEqual([ra[k]!.us, ra[k]!.ns], [rb[k]!.us, rb[k]!.ns], `frame ${k}`);
      assert.deepEqual([rc[k]!.us, rc[k]!.ns], [rb[k]!.us, rb[k]!.ns], `frame ${k}`);
      assert.ok(rb[k]!.ns >= 0 && rb[k]!.ns <= 999);
      assert.ok(Math.abs(rb[k]!.us / 1000 - Date.now()) < 10_000, 'wall-clock microseconds');
    }
    // Without receiveOwnMessages the sender gets nothing of its own (the kernel default).
    const quiet = records(c);
    await c.send({ id: 0x0c140300, extended: true, data: Uint8Array.of(3) });
    await until(() => rb.length >= 3, () => `${rb.length}`);
    await delay(100);
    assert.deepEqual(quiet, []);
  });

  it('a burst of frames sent in one call has distinct receive times', TIMEOUT, async () => {
    const iface = freshVcan();
    const tx = openSock(iface);
    const rx = openSock(iface);
    const got = records(rx);
    const frames = Array.from({ length: 200 }, (_, i) => ({ id: 0x100, extended: true, data: Uint8Array.of(i & 0xff) }));
    for (let k = 0; k < 200; k += 50) await tx.sendMany(frames.slice(k, k + 50));
    await until(() => got.length >= 200, () => `${got.length} of 200`);
    const keys = new Set(got.map((r) => `${r.us}.${r.ns}`));
    assert.equal(keys.size, 200, 'nanosecond receive times tell the frames apart');
  });
});

describe('SocketCAN binding: pause() and resume()', () => {
  it('a paused socket is not read: the kernel buffers, then drops and counts; resume() delivers the kept frames first', TIMEOUT, async () => {
    const iface = freshVcan();
    const tx = openSock(iface);
    const rx = openSock(iface, { receiveBufferSize: 4096 });
    const other = openSock(iface);
    const got = records(rx);
    const seenOther = records(other);
    assert.equal(rx.pause(), rx);
    assert.equal(rx.isPaused(), true);
    const total = 500;
    for (let i = 0; i < total; i += 50) {
      await tx.sendMany(Array.from({ length: 50 }, (_, k) => ({ id: 0x200, extended: true, data: Uint8Array.of((i + k) & 0xff, (i + k) >> 8) })));
      await delay(5);
    }
    await until(() => seenOther.length >= total, () => `other socket ${seenOther.length} of ${total}`);
    await delay(200);
    assert.equal(got.length, 0, 'nothing was read while paused');
    const drops = rx.getStats().kernelDrops;
    assert.ok(drops > 0, 'the kernel dropped and counted');
    rx.resume();
    assert.equal(rx.isPaused(), false);
    await until(() => got.length + drops >= total, () => `${got.length} + ${drops} of ${total}`);
    await delay(100);
    assert.equal(got.length + drops, total, `kept ${got.length} + dropped ${drops}`);
    // What the buffer kept is the oldest, in order.
    assert.deepEqual(got.map((r) => r.first), Array.from({ length: got.length }, (_, i) => i & 0xff));
    // And it reads new frames again.
    await tx.send({ id: 0x200, extended: true, data: Uint8Array.of(0xaa) });
    await withTimeout(until(() => got.at(-1)?.first === 0xaa, () => 'new frame'), 5000, 'a frame after resume');
  });

  it('pause() and resume() are idempotent; a paused socket still reports the interface going down', TIMEOUT, async () => {
    const iface = freshVcan();
    const rx = openSock(iface);
    rx.pause();
    rx.pause();
    const errors: string[] = [];
    rx.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? '?'));
    deleteVcan(iface);
    await until(() => errors.length > 0, () => 'an error event');
    assert.ok(['ENETDOWN', 'ENODEV'].includes(errors[0]!), errors.join(','));
    rx.resume();
    rx.resume();
    rx.close();
    assert.equal(rx.isPaused(), false);
  });
});
