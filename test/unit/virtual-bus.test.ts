// The in-memory bus must behave as the kernel's CAN_RAW does, since the
// protocol suites rely on it where there is no SocketCAN.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { FrameBatch } from '../../lib/can/record.js';
import type { CanError, CanSocket, ReceivedFrame } from '../../lib/can/types.js';
import { CAN_EFF_FLAG, CAN_ERR_FLAG, CAN_INV_FILTER } from '../../lib/can/types.js';
import { RECORD_FLAG_LOCAL, RECORD_FLAG_OWN } from '../../lib/can/record.js';
import type { BusStateChange } from '../../lib/can/bus-state.js';
import {
  CAN_ERR_BUSOFF,
  CAN_ERR_BUS_STATE_MASK,
  CAN_ERR_CRTL,
  CAN_ERR_CRTL_ACTIVE,
  CAN_ERR_CRTL_RX_OVERFLOW,
  CAN_ERR_CRTL_RX_PASSIVE,
  CAN_ERR_CRTL_TX_WARNING,
  CAN_ERR_RESTARTED,
} from '../../lib/can/error-frame.js';

/** Everything a socket receives, batch by batch. */
function collect(socket: CanSocket): { frames: ReceivedFrame[]; batches: number } {
  const seen = { frames: [] as ReceivedFrame[], batches: 0 };
  socket.on('frames', (batch: FrameBatch) => {
    seen.batches++;
    seen.frames.push(...batch.frames());
  });
  return seen;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('a frame reaches the other sockets of the interface, not the sender', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0', 'vcan1'] });
  const a = bus.open('vcan0');
  const b = bus.open('vcan0');
  const other = bus.open('vcan1');
  const seenA = collect(a);
  const seenB = collect(b);
  const seenOther = collect(other);
  await a.send({ id: 0x0c140300, extended: true, data: Uint8Array.of(0, 1, 0x23) });
  await tick();
  assert.equal(seenA.frames.length, 0);
  assert.equal(seenOther.frames.length, 0);
  assert.equal(seenB.frames.length, 1);
  assert.deepEqual([...seenB.frames[0]!.data], [0, 1, 0x23]);
  assert.equal(seenB.frames[0]!.extended, true);
  assert.ok(Math.abs(seenB.frames[0]!.timestamp / 1000 - Date.now()) < 5000, 'timestamp is wall-clock microseconds');
  for (const s of [a, b, other]) s.close();
});

test('receive-own-messages delivers to the sender; loopback off delivers to nobody', async () => {
  const bus = new VirtualCanBus();
  const a = bus.open('x', { receiveOwnMessages: true });
  const b = bus.open('x');
  const seenA = collect(a);
  const seenB = collect(b);
  await a.send({ id: 1, data: new Uint8Array() });
  await tick();
  assert.equal(seenA.frames.length, 1);
  assert.equal(seenB.frames.length, 1);
  a.setLoopback(false);
  await a.send({ id: 2, data: new Uint8Array() });
  await tick();
  assert.equal(seenA.frames.length, 1);
  assert.equal(seenB.frames.length, 1);
  a.close();
  b.close();
});

test('filters: any match passes, inverted filters, empty list receives nothing', async () => {
  const bus = new VirtualCanBus();
  const rx = bus.open('x', {
    filters: [
      { id: 0x100, mask: 0x7ff },
      { id: (0x1234 | CAN_EFF_FLAG) >>> 0, mask: (0x1fffffff | CAN_EFF_FLAG) >>> 0 },
    ],
  });
  const seen = collect(rx);
  for (const id of [0x100, 0x101, 0x234]) bus.inject('x', { id, data: new Uint8Array() });
  bus.inject('x', { id: 0x1234, extended: true, data: new Uint8Array() });
  await tick();
  assert.deepEqual(
    seen.frames.map((f) => [f.id, f.extended]),
    [
      [0x100, false],
      [0x1234, true],
    ],
  );
  rx.setFilters([{ id: 0x100 | CAN_INV_FILTER, mask: 0x7ff }]);
  bus.inject('x', { id: 0x100, data: new Uint8Array() });
  bus.inject('x', { id: 0x200, data: new Uint8Array() });
  await tick();
  assert.equal(seen.frames.at(-1)!.id, 0x200);
  assert.equal(seen.frames.length, 3);
  rx.setFilters([]);
  bus.inject('x', { id: 0x300, data: new Uint8Array() });
  await tick();
  assert.equal(seen.frames.length, 3);
  rx.setFilters(null);
  bus.inject('x', { id: 0x300, data: new Uint8Array() });
  await tick();
  assert.equal(seen.frames.length, 4);
  rx.close();
});

test('error frames arrive only for classes in the error mask', async () => {
  const bus = new VirtualCanBus();
  const rx = bus.open('x');
  const seen = collect(rx);
  bus.inject('x', { rawId: (CAN_ERR_FLAG | 0x40) >>> 0, data: new Uint8Array(8) });
  await tick();
  assert.equal(seen.frames.length, 0);
  rx.setErrorMask(0x40);
  bus.inject('x', { rawId: (CAN_ERR_FLAG | 0x40) >>> 0, data: new Uint8Array(8) });
  await tick();
  assert.equal(seen.frames.length, 1);
  assert.equal(seen.frames[0]!.error, true);
  assert.equal(rx.getStats().errorFrames, 1);
  rx.close();
});

/** An error frame as a controller driver would send it: class bits in the id, details in 8 bytes. */
function errorFrame(classes: number, data: readonly number[] = []): { rawId: number; data: Uint8Array } {
  const payload = new Uint8Array(8);
  payload.set(data);
  return { rawId: (CAN_ERR_FLAG | classes) >>> 0, data: payload };
}

test('error frames drive busState events and the bus counts in getStats()', async () => {
  const bus = new VirtualCanBus();
  const rx = bus.open('x', { errorMask: CAN_ERR_BUS_STATE_MASK });
  const order: string[] = [];
  const changes: BusStateChange[] = [];
  rx.on('busState', (c: BusStateChange) => {
    changes.push(c);
    order.push(`busState ${c.state}`);
  });
  rx.on('frames', (b: FrameBatch) => order.push(`frames ${b.count}`));
  assert.equal(rx.busState, 'error-active');

  bus.inject('x', errorFrame(CAN_ERR_CRTL, [0, CAN_ERR_CRTL_TX_WARNING]));
  bus.inject('x', errorFrame(CAN_ERR_CRTL, [0, CAN_ERR_CRTL_RX_PASSIVE]));
  bus.inject('x', errorFrame(CAN_ERR_CRTL, [0, CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_RX_OVERFLOW])); // same state: no event
  bus.inject('x', { id: 0x123, data: Uint8Array.of(1) });
  await tick();
  assert.deepEqual(changes, [
    { previous: 'error-active', state: 'error-warning' },
    { previous: 'error-warning', state: 'error-passive' },
  ]);
  assert.deepEqual(order, ['busState error-warning', 'busState error-passive', 'frames 4'], 'busState comes before the batch');
  assert.equal(rx.busState, 'error-passive');

  bus.inject('x', errorFrame(CAN_ERR_BUSOFF));
  await tick();
  assert.equal(rx.busState, 'bus-off');
  bus.inject('x', errorFrame(CAN_ERR_RESTARTED | CAN_ERR_CRTL, [0, CAN_ERR_CRTL_ACTIVE]));
  await tick();
  assert.equal(rx.busState, 'error-active');

  const st = rx.getStats();
  assert.equal(st.busState, 'error-active');
  assert.equal(st.errorFrames, 5);
  assert.equal(st.rxFrames, 6);
  assert.equal(st.errorWarning, 1);
  assert.equal(st.errorPassive, 1);
  assert.equal(st.busOff, 1);
  assert.equal(st.restarts, 1);
  assert.equal(st.rxOverflows, 1);
  assert.equal(st.txOverflows, 0);
  rx.close();
});

test('a socket without an error mask keeps error-active and zero bus counts', async () => {
  const bus = new VirtualCanBus();
  const rx = bus.open('x');
  let events = 0;
  rx.on('busState', () => events++);
  bus.inject('x', errorFrame(CAN_ERR_BUSOFF));
  await tick();
  assert.equal(events, 0);
  assert.equal(rx.busState, 'error-active');
  const st = rx.getStats();
  assert.equal(st.busOff, 0);
  assert.equal(st.errorFrames, 0);
  rx.close();
});

test('frames arrive in batches of at most 64, in order, and stats count them', async () => {
  const bus = new VirtualCanBus();
  const tx = bus.open('x');
  const rx = bus.open('x');
  const seen = collect(rx);
  const frames = Array.from({ length: 200 }, (_, i) => ({ id: i & 0x7ff, data: Uint8Array.of(i & 0xff, i >> 8) }));
  await tx.sendMany(frames);
  await tick();
  assert.equal(seen.frames.length, 200);
  assert.equal(seen.batches, 4);
  assert.deepEqual(
    seen.frames.map((f) => f.data[0]! | (f.data[1]! << 8)),
    frames.map((_, i) => i),
  );
  assert.deepEqual(
    { rx: rx.getStats().rxFrames, rxBytes: rx.getStats().rxBytes, tx: tx.getStats().txFrames, txBytes: tx.getStats().txBytes },
    { rx: 200, rxBytes: 400, tx: 200, txBytes: 400 },
  );
  tx.close();
  rx.close();
});

test('a full receive queue drops and counts, like SO_RXQ_OVFL', async () => {
  const bus = new VirtualCanBus();
  const rx = bus.open('x', { receiveBufferSize: 64 * 10 });
  const seen = collect(rx);
  for (let i = 0; i < 25; i++) bus.inject('x', { id: i, data: new Uint8Array() });
  await tick();
  assert.equal(seen.frames.length, 10);
  assert.equal(rx.getStats().kernelDrops, 15);
  rx.close();
});

test('interface down: error event, sends fail with ENETDOWN; up again: it works', async () => {
  const bus = new VirtualCanBus({ interfaces: ['can0'] });
  const a = bus.open('can0');
  const b = bus.open('can0');
  const seenB = collect(b);
  const errors: CanError[] = [];
  a.on('error', (e: CanError) => errors.push(e));
  b.on('error', () => {});
  bus.setInterfaceState('can0', 'down');
  assert.equal(bus.interfaceState('can0'), 'down');
  await tick();
  assert.equal(errors[0]?.code, 'ENETDOWN');
  await assert.rejects(a.send({ id: 1, data: new Uint8Array() }), { code: 'ENETDOWN' });
  bus.setInterfaceState('can0', 'up');
  await a.send({ id: 1, data: new Uint8Array() });
  await tick();
  assert.equal(seenB.frames.length, 1);
  bus.setInterfaceState('can0', 'absent');
  assert.equal(bus.interfaceState('can0'), 'absent');
  assert.throws(() => bus.open('can0'), { code: 'ENODEV' });
  a.close();
  b.close();
});

test('a paused bus parks frames, rejects past the queue limit, and sends them on release', async () => {
  const bus = new VirtualCanBus({ interfaces: ['x'] });
  const tx = bus.open('x', { txQueueLimit: 3 });
  const rx = bus.open('x');
  const seen = collect(rx);
  bus.setTransmitPaused('x', true);
  const parked = [1, 2, 3].map((id) => tx.send({ id, data: new Uint8Array() }));
  await assert.rejects(tx.send({ id: 4, data: new Uint8Array() }), { code: 'ENOBUFS' });
  assert.equal(tx.getStats().txQueueDepth, 3);
  bus.setTransmitPaused('x', false);
  await Promise.all(parked);
  await tick();
  assert.deepEqual(seen.frames.map((f) => f.id), [1, 2, 3]);
  assert.equal(tx.getStats().txErrors, 1);
  tx.close();
  rx.close();
});

test('close is idempotent, rejects parked sends with ECANCELED and emits close once', async () => {
  const bus = new VirtualCanBus({ interfaces: ['x'] });
  const tx = bus.open('x');
  bus.setTransmitPaused('x', true);
  const parked = tx.send({ id: 1, data: new Uint8Array() });
  let closes = 0;
  tx.on('close', () => closes++);
  tx.close();
  tx.close();
  await assert.rejects(parked, { code: 'ECANCELED' });
  await once(tx, 'close');
  await tick();
  assert.equal(closes, 1);
  assert.equal(tx.closed, true);
  await assert.rejects(tx.send({ id: 1, data: new Uint8Array() }), { code: 'EBADF' });
});

test('invalid frames are rejected with EINVAL, never thrown', async () => {
  const bus = new VirtualCanBus();
  const tx = bus.open('x');
  await assert.rejects(tx.send({ id: 0x800, data: new Uint8Array() }), { code: 'EINVAL' });
  await assert.rejects(tx.send({ id: 1, data: new Uint8Array(9) }), { code: 'EINVAL' });
  tx.close();
});

test('a fixed set of interfaces refuses unknown names with ENODEV', () => {
  const bus = new VirtualCanBus({ interfaces: ['can0'] });
  assert.equal(bus.interfaceState('can1'), 'absent');
  assert.throws(() => bus.open('can1'), { code: 'ENODEV' });
});

/** Records as they arrive: flags, timestamp and its sub-microsecond part. */
function collectRecords(socket: CanSocket): { flags: number; us: number; ns: number; data: number[] }[] {
  const out: { flags: number; us: number; ns: number; data: number[] }[] = [];
  socket.on('frames', (batch: FrameBatch) => {
    for (let i = 0; i < batch.count; i++) {
      out.push({ flags: batch.flags(i), us: batch.timestamp(i), ns: batch.subMicroNs(i), data: [...batch.frame(i).data] });
    }
  });
  return out;
}

test('record flags: LOCAL on frames a socket sent, OWN on the sender\'s own copy, neither on injected ones', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const a = bus.open('vcan0', { receiveOwnMessages: true });
  const b = bus.open('vcan0');
  const seenA = collectRecords(a);
  const seenB = collectRecords(b);
  await a.send({ id: 0x0c140300, extended: true, data: Uint8Array.of(1) });
  bus.inject('vcan0', { id: 0x0c140300, extended: true, data: Uint8Array.of(2) });
  await tick();
  assert.deepEqual(seenA.map((r) => [r.data[0], r.flags]), [[1, RECORD_FLAG_LOCAL | RECORD_FLAG_OWN], [2, 0]]);
  assert.deepEqual(seenB.map((r) => [r.data[0], r.flags]), [[1, RECORD_FLAG_LOCAL], [2, 0]]);
  // Every receiver of one frame gets the same time, to the sub-microsecond part.
  assert.deepEqual([seenA[0]!.us, seenA[0]!.ns], [seenB[0]!.us, seenB[0]!.ns]);
  a.close();
  b.close();
});

test('timestamps are unique on the bus: frames in the same microsecond count below it', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const rx = bus.open('vcan0');
  const seen = collectRecords(rx);
  for (let i = 0; i < 2000; i++) bus.inject('vcan0', { id: 0x100, extended: true, data: Uint8Array.of(i & 0xff) });
  await tick();
  assert.equal(seen.length, 2000);
  const keys = new Set(seen.map((r) => `${r.us}.${r.ns}`));
  assert.equal(keys.size, 2000);
  for (let i = 1; i < seen.length; i++) {
    const a = seen[i - 1]!;
    const b = seen[i]!;
    assert.ok(b.us > a.us || (b.us === a.us && b.ns > a.ns), `record ${i} is later than ${i - 1}`);
    assert.ok(b.ns >= 0 && b.ns <= 999);
  }
  rx.close();
});

test('pause(): the socket is not read; its queue fills, then drops and counts; resume() delivers what it kept, in order', async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const rx = bus.open('vcan0', { receiveBufferSize: 64 * 10 }); // 10 frames
  const other = bus.open('vcan0');
  const seen = collect(rx);
  const seenOther = collect(other);
  assert.equal(rx.isPaused(), false);
  assert.equal(rx.pause(), rx);
  assert.equal(rx.isPaused(), true);
  for (let i = 0; i < 25; i++) bus.inject('vcan0', { id: 0x100, extended: true, data: Uint8Array.of(i) });
  await tick();
  await tick();
  assert.equal(seen.frames.length, 0, 'nothing is read while paused');
  assert.equal(seenOther.frames.length, 25, 'the other socket is not affected');
  assert.equal(rx.getStats().kernelDrops, 15);
  rx.pause(); // idempotent
  rx.resume();
  assert.equal(rx.isPaused(), false);
  await tick();
  assert.deepEqual(seen.frames.map((f) => f.data[0]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  bus.inject('vcan0', { id: 0x100, extended: true, data: Uint8Array.of(99) });
  await tick();
  assert.equal(seen.frames.at(-1)!.data[0], 99);
  rx.close();
  other.close();
});

test('CAN FD: an FD frame reaches only FD sockets, with its length and brs/esi; classic frames reach both', async () => {
  const bus = new VirtualCanBus();
  const tx = bus.open('x', { fd: true });
  const fdRx = bus.open('x', { fd: true });
  const classicRx = bus.open('x');
  assert.equal(tx.canFd, true);
  assert.equal(classicRx.canFd, false);
  const seenFd = collect(fdRx);
  const seenClassic = collect(classicRx);
  const payload = Uint8Array.from({ length: 64 }, (_, i) => i);
  await tx.sendMany([
    { id: 0x123, fd: true, brs: true, data: payload },
    { id: 0x124, data: Uint8Array.of(1, 2) },
    { id: 0x125, extended: true, fd: true, esi: true, data: new Uint8Array(12) },
  ]);
  bus.inject('x', { id: 0x126, fd: true, data: new Uint8Array(20) });
  await tick();
  assert.deepEqual(
    seenFd.frames.map((f) => [f.id, f.fd, f.brs, f.esi, f.data.length]),
    [
      [0x123, true, true, false, 64],
      [0x124, false, false, false, 2],
      [0x125, true, false, true, 12],
      [0x126, true, false, false, 20],
    ],
  );
  assert.deepEqual([...seenFd.frames[0]!.data], [...payload]);
  assert.deepEqual(
    seenClassic.frames.map((f) => [f.id, f.fd]),
    [[0x124, false]],
  );
  for (const s of [tx, fdRx, classicRx]) s.close();
});

test('CAN FD: impossible FD sends reject with their ERR_CAN_FD_* code and send nothing', async () => {
  const bus = new VirtualCanBus();
  const classic = bus.open('x');
  const fd = bus.open('x', { fd: true });
  const rx = bus.open('x', { fd: true });
  const seen = collect(rx);
  await assert.rejects(classic.send({ id: 1, fd: true, data: new Uint8Array(8) }), { code: 'ERR_CAN_FD_DISABLED' });
  await assert.rejects(fd.send({ id: 1, fd: true, data: new Uint8Array(9) }), { code: 'ERR_CAN_FD_LENGTH' });
  await assert.rejects(fd.send({ id: 1, fd: true, rtr: true, data: new Uint8Array(0) }), { code: 'ERR_CAN_FD_RTR' });
  await assert.rejects(fd.send({ id: 1, brs: true, data: new Uint8Array(1) }), { code: 'ERR_CAN_FD_FLAGS' });
  await assert.rejects(fd.send({ id: 1, data: new Uint8Array(12) }), { code: 'EINVAL' }, 'a classic frame stays at 8 bytes');
  await tick();
  assert.equal(seen.frames.length, 0);
  for (const s of [classic, fd, rx]) s.close();
});

test('CAN FD: an interface with the classic MTU refuses FD frames with ERR_CAN_FD_MTU, classic ones pass', async () => {
  const bus = new VirtualCanBus({ interfaces: ['c16'] });
  bus.setInterfaceMtu('c16', 16);
  const tx = bus.open('c16', { fd: true });
  const rx = bus.open('c16', { fd: true });
  const seen = collect(rx);
  await assert.rejects(tx.send({ id: 1, fd: true, data: new Uint8Array(16) }), (err: CanError) => {
    assert.equal(err.code, 'ERR_CAN_FD_MTU');
    assert.match(err.message, /mtu 72/);
    return true;
  });
  await tx.send({ id: 2, data: Uint8Array.of(1) });
  bus.setInterfaceMtu('c16', 72);
  await tx.send({ id: 3, fd: true, data: new Uint8Array(16) });
  await tick();
  assert.deepEqual(
    seen.frames.map((f) => [f.id, f.fd]),
    [
      [2, false],
      [3, true],
    ],
  );
  assert.throws(() => bus.setInterfaceMtu('c16', 20), RangeError);
  tx.close();
  rx.close();
});

test('joinFilters: a frame must match every filter; error frames then stay out', async () => {
  const bus = new VirtualCanBus();
  const filters = [
    { id: 0x100, mask: 0x700 },
    { id: 0x001, mask: 0x00f },
  ];
  const joined = bus.open('x', { filters, joinFilters: true, errorMask: CAN_ERR_CRTL });
  const any = bus.open('x', { filters, errorMask: CAN_ERR_CRTL });
  const seenJoined = collect(joined);
  const seenAny = collect(any);
  for (const id of [0x101, 0x102, 0x201]) bus.inject('x', { id, data: new Uint8Array() });
  bus.inject('x', { rawId: (CAN_ERR_FLAG | CAN_ERR_CRTL) >>> 0, data: new Uint8Array(8) });
  await tick();
  assert.deepEqual(
    seenJoined.frames.map((f) => f.id),
    [0x101],
  );
  assert.deepEqual(
    seenAny.frames.map((f) => [f.id, f.error]),
    [
      [0x101, false],
      [0x102, false],
      [0x201, false],
      [CAN_ERR_CRTL, true],
    ],
  );
  joined.setJoinFilters(false);
  bus.inject('x', { id: 0x201, data: new Uint8Array() });
  await tick();
  assert.equal(seenJoined.frames.at(-1)!.id, 0x201);
  joined.close();
  any.close();
});
