// SocketCAN binding: CAN FD frames (CAN_RAW_FD_FRAMES), joined filters and timestamps on
// real vcan interfaces: FD ones (MTU 72) and a classic-only one (MTU 16).
// Runs as root where vcan works (the CAN guest: test/can-vm.sh).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { socketCanBus } from '../../lib/can/socketcan.js';
import type { SocketCanSocket } from '../../lib/can/socketcan.js';
import type { FrameBatch } from '../../lib/can/record.js';
import { CAN_ERR_FLAG } from '../../lib/can/types.js';
import type { CanError, CanFrame, CanSocketOptions } from '../../lib/can/types.js';
import { candump, cansend, collectFrames, createVcan, delay, deleteVcan, framesWithin, modprobe, tc, withTimeout } from '../helpers/vcan.js';

/** Under valgrind (scripts/asan.sh sets UVSCPD_TEST_SLOW) everything is ~30x slower. */
const SLOW = process.env['UVSCPD_TEST_SLOW'] ? 10 : 1;
const TIMEOUT = { timeout: 30_000 * SLOW };
/** How long to wait for frames: cansend and candump are processes, slow to start in the guest. */
const WAIT = 10_000 * SLOW;
// UVSCPD_TEST_BURST_FRAMES makes the burst smaller (scripts/asan.sh does under valgrind).
const BURST = Number(process.env['UVSCPD_TEST_BURST_FRAMES'] ?? 100_000);

let FD_IF = '';
let CLASSIC_IF = '';
const open: SocketCanSocket[] = [];

function openSock(options?: CanSocketOptions, iface = FD_IF): SocketCanSocket {
  const s = socketCanBus.open(iface, options);
  open.push(s);
  return s;
}

before(() => {
  FD_IF = createVcan(undefined, true, 72);
  CLASSIC_IF = createVcan(undefined, true, 16);
});

after(() => {
  for (const s of open) s.close();
  deleteVcan(FD_IF);
  deleteVcan(CLASSIC_IF);
});

const bytes = (n: number, seed = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

describe('SocketCAN binding: CAN FD', () => {
  it('an fd socket says so; a classic one does not', () => {
    assert.equal(openSock({ fd: true }).canFd, true);
    assert.equal(openSock().canFd, false);
  });

  it('receives FD frames from cansend (## syntax) with their length and BRS/ESI; a classic socket gets only the classic frames', TIMEOUT, async () => {
    const fdRx = openSock({ fd: true });
    const classicRx = openSock();
    // The classic frame comes after the FD ones: if the classic socket got any FD frame,
    // that would be its first.
    const both = Promise.all([collectFrames(fdRx, 4, WAIT), collectFrames(classicRx, 1, WAIT)]);
    const data64 = bytes(64);
    cansend(FD_IF, `123##1${data64.toString('hex')}`);
    cansend(FD_IF, '12345678##2112233445566778899aabbcc');
    cansend(FD_IF, '124#0102');
    cansend(FD_IF, '125##0');
    const [frames, classicFirst] = await both;
    assert.deepEqual(
      frames.map((f) => [f.id, f.extended, f.fd, f.brs, f.esi, f.data.toString('hex')]),
      [
        [0x123, false, true, true, false, data64.toString('hex')],
        [0x12345678, true, true, false, true, '112233445566778899aabbcc'],
        [0x124, false, false, false, false, '0102'],
        [0x125, false, true, false, false, ''],
      ],
    );
    assert.deepEqual(
      classicFirst.map((f) => [f.id, f.fd]),
      [[0x124, false]],
    );
  });

  it('sends FD frames with BRS and ESI that candump shows as FD (## syntax)', TIMEOUT, async () => {
    const tx = openSock({ fd: true });
    const dump = candump(FD_IF, 3, WAIT);
    await dump.ready;
    await tx.sendMany([
      { id: 0x321, fd: true, brs: true, data: bytes(48, 1) },
      { id: 0x1abcdef, extended: true, fd: true, esi: true, brs: true, data: bytes(12, 2) },
      { id: 0x322, data: Buffer.from([9, 8]) },
    ]);
    const lines = await dump.lines;
    // candump -L: `(time) iface id##<flags nibble><data>`; the flags nibble may include
    // CANFD_FDF (4) on kernels that set it, so only BRS (1) and ESI (2) are compared.
    const fd = lines.slice(0, 2).map((l) => / (\S+)##([0-9A-F])([0-9A-F]*)$/i.exec(l));
    assert.ok(fd[0] && fd[1], `FD lines: ${lines.join(' | ')}`);
    assert.deepEqual(
      fd.map((m) => [m![1]!.toUpperCase(), parseInt(m![2]!, 16) & 3, m![3]!.toLowerCase()]),
      [
        ['321', 1, bytes(48, 1).toString('hex')],
        ['01ABCDEF', 3, bytes(12, 2).toString('hex')],
      ],
    );
    assert.match(lines[2]!, / 322#0908$/);
  });

  it('mixed classic and FD frames travel in one batch, in order, each saying its kind', TIMEOUT, async () => {
    const tx = openSock({ fd: true });
    const rx = openSock({ fd: true });
    const classicRx = openSock();
    const frames: CanFrame[] = [];
    for (let i = 0; i < 40; i++) {
      frames.push(i % 2 === 0 ? { id: 0x200 + i, fd: true, brs: i % 4 === 0, data: bytes(64, i) } : { id: 0x200 + i, data: bytes(8, i) });
    }
    const batches: FrameBatch[] = [];
    const kinds: boolean[] = [];
    rx.on('frames', (b: FrameBatch) => {
      batches.push(b);
      for (let i = 0; i < b.count; i++) kinds.push(b.isFd(i));
    });
    const got = collectFrames(rx, 40, WAIT);
    const classicGot = collectFrames(classicRx, 20, WAIT);
    await tx.sendMany(frames);
    const received = await got;
    received.forEach((f, i) => {
      assert.equal(f.id, 0x200 + i);
      assert.equal(f.fd, i % 2 === 0);
      assert.equal(f.brs, i % 4 === 0);
      assert.deepEqual([...f.data], [...frames[i]!.data]);
    });
    assert.deepEqual(kinds, received.map((f) => f.fd));
    assert.ok(batches.some((b) => b.count > 1 && b.isFd(0) !== b.isFd(1)), 'a batch held both kinds');
    assert.deepEqual(
      (await classicGot).map((f) => f.id),
      frames.filter((f) => f.fd !== true).map((f) => f.id),
    );
    const st = tx.getStats();
    assert.equal(st.txBytes, 20 * 64 + 20 * 8, 'txBytes counts FD payloads whole');
  });

  it('refuses impossible FD sends with an ERR_CAN_FD_* code and sends nothing of the request', TIMEOUT, async () => {
    const classic = openSock();
    const fd = openSock({ fd: true });
    const rx = openSock({ fd: true });
    const seen = framesWithin(rx, 500);
    const cases: [SocketCanSocket, CanFrame, string][] = [
      [classic, { id: 1, fd: true, data: bytes(8) }, 'ERR_CAN_FD_DISABLED'],
      [fd, { id: 1, fd: true, data: bytes(9) }, 'ERR_CAN_FD_LENGTH'],
      [fd, { id: 1, fd: true, data: bytes(65) }, 'ERR_CAN_FD_LENGTH'],
      [fd, { id: 1, fd: true, rtr: true, data: bytes(0) }, 'ERR_CAN_FD_RTR'],
      [fd, { id: 1, esi: true, data: bytes(1) }, 'ERR_CAN_FD_FLAGS'],
    ];
    for (const [sock, frame, code] of cases) {
      await assert.rejects(sock.sendMany([{ id: 2, data: bytes(1) }, frame]), (e: CanError) => {
        assert.equal(e.code, code);
        assert.ok(e instanceof Error);
        assert.equal(e.interfaceName, FD_IF);
        return true;
      });
    }
    await assert.rejects(classic.send({ id: 1, data: bytes(12) }), RangeError, 'a classic frame stays at 8 bytes');
    assert.equal((await seen).length, 0);
    assert.equal(fd.getStats().txFrames, 0);
  });

  it('an interface with the classic MTU (16) refuses FD frames with ERR_CAN_FD_MTU; classic frames pass', TIMEOUT, async () => {
    const tx = openSock({ fd: true }, CLASSIC_IF);
    const rx = openSock({ fd: true }, CLASSIC_IF);
    await assert.rejects(tx.send({ id: 5, fd: true, data: bytes(16) }), (e: CanError) => {
      assert.equal(e.code, 'ERR_CAN_FD_MTU');
      assert.match(e.message, new RegExp(`ip link set ${CLASSIC_IF} mtu 72`));
      return true;
    });
    const got = collectFrames(rx, 1, WAIT);
    await tx.send({ id: 6, data: bytes(8) });
    assert.deepEqual(
      (await got).map((f) => [f.id, f.fd]),
      [[6, false]],
    );
  });

  it('FD frames parked on a full kernel queue go out as FD, in order with classic ones', { timeout: 60_000 * SLOW }, async () => {
    modprobe('sch_plug');
    const iface = createVcan(undefined, true, 72);
    // Plugged, room for two FD frames (72 bytes each): the rest is refused and parked.
    tc('qdisc', 'add', 'dev', iface, 'root', 'plug', 'limit', '144');
    const tx = socketCanBus.open(iface, { fd: true });
    const rx = socketCanBus.open(iface, { fd: true });
    try {
      const got = collectFrames(rx, 10, 30_000 * SLOW);
      const sends: Promise<void>[] = [];
      for (let i = 0; i < 6; i++) sends.push(tx.send({ id: 0x400 + i, fd: true, esi: i === 3, data: bytes(32, i) }));
      await delay(100 * SLOW);
      for (let i = 6; i < 10; i++) sends.push(tx.send({ id: 0x400 + i, data: bytes(8, i) }));
      await delay(100 * SLOW);
      assert.ok(tx.getStats().txQueueDepth >= 4, `parked: ${JSON.stringify(tx.getStats())}`);
      tc('qdisc', 'change', 'dev', iface, 'root', 'plug', 'release_indefinite');
      await withTimeout(Promise.all(sends), 20_000 * SLOW, 'parked sends');
      const frames = await got;
      assert.deepEqual(
        frames.map((f) => [f.id, f.fd, f.esi, f.data.length]),
        Array.from({ length: 10 }, (_, i) => [0x400 + i, i < 6, i === 3, i < 6 ? 32 : 8]),
      );
      frames.forEach((f, i) => assert.deepEqual([...f.data], [...bytes(i < 6 ? 32 : 8, i)]));
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });

  it(`receives a ${BURST}-frame FD burst whole: every frame, in order, counted`, { timeout: 240_000 }, async () => {
    const tx = openSock({ fd: true });
    const rx = openSock({ fd: true, receiveBufferSize: 64 << 20 });
    const state = { received: 0, outOfOrder: 0, last: -1, badLength: 0 };
    const done = withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (state.received + rx.getStats().kernelDrops >= BURST) resolve();
        };
        rx.on('frames', (b: FrameBatch) => {
          for (let i = 0; i < b.count; i++) {
            const seq = b.buffer.readUInt32LE(b.dataOffset(i));
            if (seq <= state.last) state.outOfOrder++;
            if (!b.isFd(i) || b.length(i) !== 64) state.badLength++;
            state.last = seq;
          }
          state.received += b.count;
          check();
        });
        setInterval(check, 200).unref();
      }),
      230_000,
      () => `FD burst: ${JSON.stringify(state)}, rx ${JSON.stringify(rx.getStats())}`,
    );
    const CHUNK = 2000;
    const MAX_LAG = 20_000;
    for (let base = 0; base < BURST; base += CHUNK) {
      const frames: CanFrame[] = [];
      for (let i = base; i < Math.min(base + CHUNK, BURST); i++) {
        const data = Buffer.alloc(64, i & 0xff);
        data.writeUInt32LE(i, 0);
        frames.push({ id: 0x10000 | (i & 0xffff), extended: true, fd: true, brs: true, data });
      }
      await tx.sendMany(frames);
      // Pace on the receiver, which shares this thread (see binding-burst.test.ts).
      do await new Promise((r) => setImmediate(r));
      while (base + CHUNK - state.received > MAX_LAG && state.received + rx.getStats().kernelDrops < base + CHUNK);
    }
    await done;
    const st = rx.getStats();
    console.log(`FD burst: received ${state.received}, kernelDrops ${st.kernelDrops}`);
    assert.equal(st.kernelDrops, 0, 'the 64 MiB receive buffer absorbs the burst');
    assert.equal(state.received, BURST);
    assert.equal(st.rxFrames, BURST);
    assert.equal(st.rxBytes, BURST * 64);
    assert.equal(state.outOfOrder, 0);
    assert.equal(state.badLength, 0);
    assert.equal(tx.getStats().txFrames, BURST);
  });
});

describe('SocketCAN binding: joined filters and timestamps', () => {
  it('joinFilters: a frame must match every filter, and error frames stay out', TIMEOUT, async () => {
    const filters = [
      { id: 0x100, mask: 0x700 },
      { id: 0x001, mask: 0x00f },
    ];
    const CAN_ERR_CRTL = 0x4;
    const joined = openSock({ filters, joinFilters: true, errorMask: CAN_ERR_CRTL });
    const any = openSock({ filters, errorMask: CAN_ERR_CRTL });
    // 0x101 matches both filters and comes last: it must be the joined socket's first frame.
    const both = Promise.all([collectFrames(joined, 1, WAIT), collectFrames(any, 4, WAIT)]);
    for (const id of ['102', '201']) cansend(FD_IF, `${id}#00`);
    cansend(FD_IF, `${(CAN_ERR_FLAG | CAN_ERR_CRTL).toString(16)}#0004000000000000`);
    cansend(FD_IF, '101#00');
    const [joinedFirst, anyGot] = await both;
    assert.deepEqual(
      joinedFirst.map((f) => [f.id, f.error]),
      [[0x101, false]],
    );
    assert.deepEqual(
      anyGot.map((f) => [f.id, f.error]),
      [
        [0x102, false],
        [0x201, false],
        [CAN_ERR_CRTL, true],
        [0x101, false],
      ],
    );
    joined.setJoinFilters(false);
    const again = collectFrames(joined, 1, WAIT);
    cansend(FD_IF, '201#00');
    assert.equal((await again)[0]!.id, 0x201);
  });

  it('hardwareTimestamps on a device without them: the kernel time stands, in nanoseconds, and the frame says so', TIMEOUT, async () => {
    const hw = openSock({ hardwareTimestamps: true, fd: true });
    const plain = openSock({ fd: true });
    const tx = openSock({ fd: true });
    const a = collectFrames(hw, 2, WAIT);
    const b = collectFrames(plain, 2, WAIT);
    const before = BigInt(Date.now()) * 1_000_000n;
    await tx.sendMany([
      { id: 1, data: bytes(1) },
      { id: 2, fd: true, data: bytes(24) },
    ]);
    const [fa, fb] = [await a, await b];
    for (let i = 0; i < 2; i++) {
      assert.equal(fa[i]!.hardwareTimestamp, false, 'vcan has no hardware clock');
      assert.equal(fa[i]!.timestampNs, fb[i]!.timestampNs, 'the same kernel time as a socket without the option');
      assert.equal(fa[i]!.timestampNs / 1000n, BigInt(fa[i]!.timestamp));
      assert.ok(fa[i]!.timestampNs >= before - 1_000_000_000n && fa[i]!.timestampNs < before + 60_000_000_000n);
    }
    assert.deepEqual(
      fa.map((f) => f.fd),
      [false, true],
    );
  });
});
