// SocketCAN binding: frames, options, statistics and errors on real vcan interfaces.
// Runs as root where vcan works (the CAN guest: test/can-vm.sh).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { sendUnixDatagram } from '../../lib/cli/unix-datagram.js';
import { addonInfo, socketCanBus } from '../../lib/can/socketcan.js';
import type { SocketCanSocket } from '../../lib/can/socketcan.js';
import { CAN_EFF_FLAG, CAN_ERR_FLAG, CAN_INV_FILTER } from '../../lib/can/types.js';
import type { CanError, CanFrame, CanSocketOptions, ReceivedFrame } from '../../lib/can/types.js';
import { PYTHON3 } from '../helpers/cli.js';
import { candump, cansend, collectFrames, createVcan, deleteVcan, framesWithin, withTimeout } from '../helpers/vcan.js';

const IF = 'vcan0';
const TIMEOUT = { timeout: 20_000 };
const open: SocketCanSocket[] = [];

function openSock(options?: CanSocketOptions, iface = IF): SocketCanSocket {
  const s = socketCanBus.open(iface, options);
  open.push(s);
  return s;
}

after(() => {
  for (const s of open) s.close();
});

function same(frame: CanFrame, got: ReceivedFrame): void {
  assert.equal(got.id, frame.id);
  assert.equal(got.extended, Boolean(frame.extended));
  assert.equal(got.rtr, Boolean(frame.rtr));
  assert.equal(got.error, false);
  if (frame.rtr) assert.equal(got.data.length, frame.data.length);
  else assert.deepEqual([...got.data], [...frame.data]);
}

describe('SocketCAN binding: round trip', () => {
  it('reports build info and interface states', () => {
    const info = addonInfo();
    assert.equal(info.napiVersion, 8);
    assert.ok(existsSync(info.path), info.path);
    assert.ok(info.runtimeNapiVersion >= 8);
    assert.equal(typeof info.sanitizer, 'boolean');
    assert.equal(socketCanBus.interfaceState(IF), 'up');
    assert.equal(socketCanBus.interfaceState('nosuchcan0'), 'absent');
    assert.equal(socketCanBus.interfaceState(''), 'absent');
    const down = createVcan(undefined, false);
    try {
      assert.equal(socketCanBus.interfaceState(down), 'down');
    } finally {
      deleteVcan(down);
    }
  });

  it('carries standard, extended and RTR frames of 0..8 bytes between two sockets', TIMEOUT, async () => {
    const tx = openSock();
    const rx = openSock();
    const frames: CanFrame[] = [];
    for (let len = 0; len <= 8; len++) {
      const data = Buffer.from(Array.from({ length: len }, (_, i) => (len * 16 + i) & 0xff));
      frames.push({ id: 0x100 + len, data });
      frames.push({ id: 0x1abc000 + len, extended: true, data });
    }
    frames.push({ id: 0x7ff, rtr: true, data: new Uint8Array(3) });
    frames.push({ id: 0x1fffffff, extended: true, rtr: true, data: new Uint8Array(0) });
    frames.push({ id: 0, data: new Uint8Array([0xff]) });
    const before = Date.now() * 1000;
    const got = collectFrames(rx, frames.length);
    await tx.send(frames[0]!);
    await tx.sendMany(frames.slice(1));
    const received = await got;
    const afterUs = Date.now() * 1000;
    assert.equal(received.length, frames.length);
    frames.forEach((f, i) => same(f, received[i]!));
    let last = 0;
    for (const r of received) {
      assert.ok(r.timestamp >= before - 2_000_000 && r.timestamp <= afterUs + 2_000_000, `timestamp ${r.timestamp} not near now`);
      assert.ok(r.timestamp >= last, 'timestamps do not go backwards');
      last = r.timestamp;
    }
    const ts = tx.getStats();
    assert.equal(ts.txFrames, frames.length);
    assert.equal(ts.txErrors, 0);
    assert.equal(ts.txQueueDepth, 0);
    const rs = rx.getStats();
    assert.equal(rs.rxFrames, frames.length);
    assert.equal(rs.rxBytes, received.reduce((n, f) => n + f.data.length, 0));
    assert.equal(rs.kernelDrops, 0);
    // Not its own frames (receive-own-messages off by default).
    assert.equal(tx.getStats().rxFrames, 0);
  });

  it('coalesces sends of one tick and settles each promise', TIMEOUT, async () => {
    const tx = openSock();
    const rx = openSock();
    const got = collectFrames(rx, 200);
    const promises: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) promises.push(tx.send({ id: i & 0x7ff, data: Buffer.from([i & 0xff]) }));
    const invalid = tx.send({ id: 0x800, data: new Uint8Array(0) });
    const tooLong = tx.send({ id: 1, data: new Uint8Array(9) });
    await Promise.all(promises);
    await assert.rejects(invalid, RangeError);
    await assert.rejects(tooLong, RangeError);
    const frames = await got;
    frames.forEach((f, i) => assert.equal(f.data[0], i & 0xff));
    assert.deepEqual(await tx.sendMany([]), undefined);
  });

  it('interoperates with cansend and candump', TIMEOUT, async () => {
    const rx = openSock();
    const got = collectFrames(rx, 2);
    cansend(IF, '123#DEADBEEF');
    cansend(IF, '1ABCDEF0#R');
    const frames = await got;
    assert.deepEqual(frames.map((f) => [f.id, f.extended, f.rtr, f.data.toString('hex')]), [
      [0x123, false, false, 'deadbeef'],
      [0x1abcdef0, true, true, ''],
    ]);
    const tx = openSock();
    const dump = candump(IF, 1);
    await dump.ready;
    await tx.send({ id: 0x42, data: Buffer.from([1, 2, 3]) });
    const lines = await dump.lines;
    assert.match(lines[0]!, / vcan0 042#010203$/);
  });

  it('does not loop frames back to other local sockets with loopback off', TIMEOUT, async () => {
    const tx = openSock({ loopback: false });
    const rx = openSock();
    const seen = framesWithin(rx, 300);
    await tx.send({ id: 0x11, data: new Uint8Array([1]) });
    assert.equal((await seen).length, 0);
    tx.setLoopback(true);
    const got = collectFrames(rx, 1);
    await tx.send({ id: 0x12, data: new Uint8Array([2]) });
    assert.equal((await got)[0]!.id, 0x12);
  });

  it('receives its own frames with receiveOwnMessages', TIMEOUT, async () => {
    const s = openSock({ receiveOwnMessages: true });
    const got = collectFrames(s, 1);
    await s.send({ id: 0x21, data: new Uint8Array([9]) });
    assert.equal((await got)[0]!.id, 0x21);
    s.setReceiveOwnMessages(false);
    const seen = framesWithin(s, 300);
    await s.send({ id: 0x22, data: new Uint8Array([9]) });
    assert.equal((await seen).length, 0);
  });

  it('applies several filters, inverted filters, EFF-only filters and the empty list', TIMEOUT, async () => {
    const tx = openSock();
    const sample: CanFrame[] = [
      { id: 0x100, data: new Uint8Array([1]) },
      { id: 0x101, data: new Uint8Array([2]) },
      { id: 0x200, data: new Uint8Array([3]) },
      { id: 0x100, extended: true, data: new Uint8Array([4]) },
      { id: 0x1234567, extended: true, data: new Uint8Array([5]) },
    ];
    const tag = (fs: ReceivedFrame[]): number[] => fs.map((f) => f.data[0]!);
    const check = async (options: CanSocketOptions, expected: number[]): Promise<void> => {
      const rx = openSock(options);
      const seen = framesWithin(rx, 300);
      await tx.sendMany(sample);
      assert.deepEqual(tag(await seen), expected, JSON.stringify(options));
      rx.close();
    };
    // Two filters, standard frames only (EFF flag in the mask): 0x100 and 0x200 exactly.
    await check(
      {
        filters: [
          { id: 0x100, mask: 0x7ff | CAN_EFF_FLAG },
          { id: 0x200, mask: 0x7ff | CAN_EFF_FLAG },
        ],
      },
      [1, 3],
    );
    // Without the EFF flag in the mask, the extended 0x100 matches too.
    await check({ filters: [{ id: 0x100, mask: 0x7ff }] }, [1, 4]);
    // Inverted: everything except standard 0x100.
    await check({ filters: [{ id: 0x100 | CAN_INV_FILTER, mask: 0x7ff | CAN_EFF_FLAG }] }, [2, 3, 4, 5]);
    // Extended frames only.
    await check({ filters: [{ id: CAN_EFF_FLAG, mask: CAN_EFF_FLAG }] }, [4, 5]);
    // The empty list receives nothing.
    await check({ filters: [] }, []);
    // setFilters at run time, and null restores receive-all.
    const rx = openSock({ filters: [] });
    rx.setFilters([{ id: 0x200, mask: 0x7ff }]);
    let seen = framesWithin(rx, 300);
    await tx.sendMany(sample);
    assert.deepEqual(tag(await seen), [3]);
    rx.setFilters(null);
    seen = framesWithin(rx, 300);
    await tx.sendMany(sample);
    assert.deepEqual(tag(await seen), [1, 2, 3, 4, 5]);
    assert.throws(() => rx.setFilters(new Array(513).fill({ id: 0, mask: 0 })), RangeError);
  });

  it('delivers error frames according to the error mask', TIMEOUT, async () => {
    // vcan has no controller and never raises error frames itself, but an error frame
    // injected from user space (cansend with CAN_ERR_FLAG in an 8-digit id) is routed by
    // the kernel exactly like a controller's: only to sockets whose error mask matches.
    const CAN_ERR_CRTL = 0x4;
    const CAN_ERR_BUSOFF = 0x40;
    const all = openSock({ errorMask: 0x1fffffff });
    const crtlOnly = openSock({ errorMask: CAN_ERR_CRTL });
    const busoffOnly = openSock({ errorMask: 0 });
    busoffOnly.setErrorMask(CAN_ERR_BUSOFF);
    const none = openSock();
    const seen = [all, crtlOnly, busoffOnly, none].map((s) => framesWithin(s, 500));
    cansend(IF, `${(CAN_ERR_FLAG | CAN_ERR_CRTL).toString(16)}#0004000000000000`);
    const [a, c, b, n] = await Promise.all(seen);
    for (const frames of [a!, c!]) {
      assert.equal(frames.length, 1);
      assert.equal(frames[0]!.error, true);
      assert.equal(frames[0]!.id, CAN_ERR_CRTL);
      assert.deepEqual([...frames[0]!.data], [0, 4, 0, 0, 0, 0, 0, 0]);
    }
    assert.equal(b!.length, 0);
    assert.equal(n!.length, 0);
    assert.equal(all.getStats().errorFrames, 1);
    assert.equal(none.getStats().errorFrames, 0);
  });

  it('sets the receive buffer size and reports what the kernel granted', () => {
    const s = openSock({ receiveBufferSize: 1 << 20 });
    const granted = s.setReceiveBufferSize(1 << 20);
    assert.ok(granted >= 1 << 20, `granted ${granted}`);
    const small = s.setReceiveBufferSize(4096);
    assert.ok(small >= 4096 && small < 1 << 20, `granted ${small}`);
    assert.throws(() => s.setReceiveBufferSize(-1), RangeError);
  });

  it('throws helpful errors for missing and non-CAN interfaces', () => {
    assert.throws(
      () => socketCanBus.open('nosuchcan9'),
      (err: CanError) => {
        assert.equal(err.code, 'ENODEV');
        assert.equal(err.interfaceName, 'nosuchcan9');
        assert.equal(typeof err.errno, 'number');
        assert.equal(err.syscall, 'ioctl');
        assert.match(err.message, /CAN interface 'nosuchcan9' does not exist \(ENODEV\).*ip link add nosuchcan9 type vcan/);
        return true;
      },
    );
    assert.throws(
      () => socketCanBus.open('lo'),
      (err: CanError) => err.code === 'ENODEV' && /'lo' is not a CAN interface/.test(err.message),
    );
    assert.throws(() => socketCanBus.open('x'.repeat(16)), (err: CanError) => err.code === 'ENAMETOOLONG');
    assert.throws(() => socketCanBus.open(''), (err: CanError) => err.code === 'EINVAL');
  });

  it('rejects sends and option changes after close; close is idempotent', TIMEOUT, async () => {
    const s = openSock();
    let closes = 0;
    s.on('close', () => closes++);
    s.close();
    s.close();
    assert.equal(s.closed, true);
    assert.equal(s.fd, -1);
    await assert.rejects(s.send({ id: 1, data: new Uint8Array(0) }), (err: CanError) => err.code === 'ERR_SOCKET_CLOSED');
    assert.throws(() => s.setLoopback(false), (err: CanError) => err.code === 'ERR_SOCKET_CLOSED');
    assert.equal(s.ref(), s);
    assert.equal(s.unref(), s);
    await new Promise((r) => setImmediate(r));
    assert.equal(closes, 1);
    assert.equal(typeof s.getStats().txFrames, 'number');
  });
});

describe('sendUnixDatagram', () => {
  it('sends to a path and to an abstract name; throws with a code when nobody listens', TIMEOUT, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uvscpd-dgram-'));
    const path = join(dir, 'notify');
    const abstract = `uvscpd-test-${process.pid}`;
    try {
      // A Python receiver (Node cannot receive unix datagrams): prints what it gets.
      const py = spawn(
        PYTHON3,
        [
          '-c',
          `import socket,sys
a=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); a.bind(sys.argv[1])
b=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); b.bind("\\0"+sys.argv[2])
print("ready",flush=True)
print(a.recv(100).decode(),flush=True)
print(b.recv(100).decode(),flush=True)`,
          path,
          abstract,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      const lines = new Promise<string[]>((resolve) => {
        py.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.split('\n').length > 3) resolve(out.trim().split('\n'));
        });
      });
      await withTimeout(
        new Promise<void>((resolve) => py.stdout!.once('data', () => resolve())),
        10_000,
        'python receiver',
      );
      sendUnixDatagram(path, 'READY=1');
      sendUnixDatagram(`@${abstract}`, Buffer.from('<30>uvscpd: hello'));
      assert.deepEqual(await withTimeout(lines, 10_000, 'datagrams'), ['ready', 'READY=1', '<30>uvscpd: hello']);
      py.kill();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(
      () => sendUnixDatagram('/nonexistent/socket', 'x'),
      (err: Error & { code?: string; syscall?: string }) => err.code === 'ENOENT' && err.syscall === 'sendto',
    );
    assert.throws(() => sendUnixDatagram('/' + 'x'.repeat(200), 'x'), (err: Error & { code?: string }) => err.code === 'ENAMETOOLONG');
  });
});
