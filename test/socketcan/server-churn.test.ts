// Churn on real SocketCAN (vcan, in the CAN guest): connect /
// command / quit cycles and abrupt disconnects against the server on the
// native addon leak no descriptor (/proc/self/fd: the server runs in this
// process), no CAN socket (a counting CanBus decorator, and the kernel's own
// list of CAN_RAW receivers on the interface, /proc/net/can/rcvlist_*), and
// the server keeps serving. Fewer cycles than the host suite: the guest is
// slow. CHURN_CYCLES / CHURN_ABRUPT change the counts (UVSCPD_TEST_SLOW: 100 / 60).
//
//   CANVM_IFACES="vcan0 vcan1" CANVM_TIMEOUT=900 /work/shared/tools/can-vm.sh \
//     node --test --test-concurrency=1 dist/test/socketcan/server-churn.test.js

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { socketCanBus } from '../../lib/can/socketcan.js';
import { startServer } from '../helpers/server.js';
import { createVcan, deleteVcan, uniqueVcanName } from '../helpers/vcan.js';
import { CountingBus, canRawSocketsOn, fdCounts, heapAfterGc, intFromEnv, sleep, until } from '../helpers/fuzz.js';

/** Under valgrind (scripts/asan.sh sets UVSCPD_TEST_SLOW) everything is ~30x slower: 10x fewer cycles. */
const SLOW = Boolean(process.env['UVSCPD_TEST_SLOW']);
const CYCLES = intFromEnv('CHURN_CYCLES', SLOW ? 100 : 1000);
const ABRUPT = intFromEnv('CHURN_ABRUPT', SLOW ? 60 : 500);
const PARALLEL = 4;

const cleanups: (() => void)[] = [];
after(() => {
  for (const f of cleanups.splice(0)) f();
});

/** Connect, run `script` once the banner is in (or at once), then end as `how` says; resolves with all text once closed. */
function cycle(port: number, script: string, how: 'quit' | 'destroy' | 'reset' | 'early'): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    let sent = false;
    const timer = setTimeout(() => socket.destroy(), 20_000);
    socket.setEncoding('latin1');
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('connect', () => {
      if (how === 'early') socket.destroy();
    });
    socket.on('data', (d: string) => {
      text += d;
      if (sent || !text.includes('+OK - Success')) return;
      sent = true;
      socket.write(script);
      if (how === 'destroy') socket.destroy();
      else if (how === 'reset') setImmediate(() => socket.resetAndDestroy());
    });
  });
}

test(`churn on SocketCAN: ${CYCLES} connect/command/quit cycles and ${ABRUPT} abrupt disconnects leak nothing`, { timeout: 300_000 }, async (t) => {
  const iface = createVcan(uniqueVcanName('rc'));
  cleanups.push(() => deleteVcan(iface));
  const bus = new CountingBus(socketCanBus);
  const s = await startServer({ bus, canInterface: iface });
  try {
    for (let i = 0; i < 10; i++) await cycle(s.port, 'quit\r\n', 'quit');
    await until(() => s.server.sessionCount === 0 && bus.openCount === 0, 10_000, 'warm-up sessions to end');
    await sleep(100);
    const fd0 = fdCounts();
    const heap0 = await heapAfterGc();
    assert.equal(canRawSocketsOn(iface), 0);

    let next = 0;
    const bad: string[] = [];
    const polite = async (): Promise<void> => {
      while (next < CYCLES) {
        const i = next++;
        // Every 10th session also sets a filter (a kernel rcvlist_fil entry instead of rcvlist_all).
        const filter = i % 10 === 0 ? 'sflt 0,20,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\r\nsmsk 0,511,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\r\n' : '';
        const text = await cycle(s.port, `${filter}noop\r\nsend 0,20,3,,,,-,1\r\nquit\r\n`, 'quit');
        if (!text.endsWith('\r\n+OK\r\n+OK\r\n+OK - bye\r\n') && bad.length < 3) bad.push(text);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => polite()));
    assert.deepEqual(bad, []);

    let k = 0;
    const kinds = ['destroy', 'reset', 'early'] as const;
    const abrupt = async (): Promise<void> => {
      while (k < ABRUPT) {
        const kind = kinds[k++ % kinds.length]!;
        await cycle(s.port, 'retr 100\r\nhelp\r\ninfo\r\nsend 0,20,3,,,,-,1\r\n', kind);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => abrupt()));
    await until(() => s.server.sessionCount === 0, 20_000, `sessions to end (${s.server.sessionCount} left)`);
    await until(() => bus.openCount === 0, 10_000, `CAN sockets to close (${bus.openCount} open)`);
    await sleep(200);
    const fd1 = fdCounts();
    const heap1 = await heapAfterGc();
    const kernel = canRawSocketsOn(iface);
    t.diagnostic(`fds ${fd0.total}/${fd0.sockets} -> ${fd1.total}/${fd1.sockets}; heap ${(heap0 / 1048576).toFixed(1)} -> ${(heap1 / 1048576).toFixed(1)} MiB; ` +
      `CAN sockets opened ${bus.opened}, closed ${bus.closed}, kernel receivers on ${iface}: ${kernel}`);
    assert.equal(bus.openCount, 0, 'no CAN socket left open (decorator)');
    assert.equal(bus.closed, bus.opened);
    assert.ok(bus.opened >= 10 + CYCLES, `${bus.opened} CAN sockets opened`);
    assert.equal(kernel, 0, 'no CAN_RAW socket left bound in the kernel');
    assert.ok(fd1.total <= fd0.total + 2, `descriptors ${fd0.total} -> ${fd1.total}`);
    assert.ok(fd1.sockets <= fd0.sockets + 1, `sockets ${fd0.sockets} -> ${fd1.sockets}`);
    assert.ok(heap1 - heap0 < 8 * 1048576, `heap grew ${((heap1 - heap0) / 1048576).toFixed(1)} MiB`);
    // Still serving, on the real bus.
    const c = await s.client();
    assert.deepEqual(await c.command('send 0,20,3,,,,-,1'), ['+OK']);
  } finally {
    await s.close();
    deleteVcan(iface);
  }
});
