// Churn leaves nothing behind (protocol §9 #101, design.md D5). 5,000 connect /
// command / quit cycles and 2,000 abrupt disconnects of several kinds
// leave no descriptor, no CAN socket and no memory behind, and the daemon
// keeps serving. The server runs in this process: /proc/self/fd is its
// descriptor table; a counting CanBus decorator counts its CAN sockets.
// CHURN_CYCLES / CHURN_ABRUPT change the counts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { startServer } from '../helpers/server.js';
import { CountingBus, fdCounts, heapAfterGc, intFromEnv, sleep, until } from '../helpers/fuzz.js';

const CYCLES = intFromEnv('CHURN_CYCLES', 5000);
const ABRUPT = intFromEnv('CHURN_ABRUPT', 2000);
const PARALLEL = 4;

/** One polite cycle: connect, noop + stat + quit in one write, read to the close. */
function politeCycle(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`cycle did not finish: ${JSON.stringify(text)}`));
    }, 10_000);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write('noop\r\nstat\r\nquit\r\n'));
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}

/** One abrupt disconnect; `kind` picks how. Resolves once the client side is closed. */
function abruptCycle(port: number, kind: number): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    let got = '';
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('error', () => undefined);
    socket.on('close', done);
    socket.setEncoding('latin1');
    socket.on('connect', () => {
      switch (kind) {
        case 0: // gone before the banner is read
          socket.destroy();
          break;
        case 1: // half a command, then gone
          socket.write('noo');
          socket.destroy();
          break;
        case 2: // a reset after the banner
        case 3: // a reset with a reply in flight
          break;
        default: // half-close without sending anything
          socket.end();
      }
    });
    socket.on('data', (d: string) => {
      got += d;
      if (!got.includes('+OK - Success')) return;
      if (kind === 2) socket.resetAndDestroy();
      else if (kind === 3 && !got.includes('queued')) {
        got += 'queued';
        socket.write('retr 100\r\nhelp\r\ninfo\r\n');
        setImmediate(() => socket.resetAndDestroy());
      }
    });
  });
}

async function settle(s: { server: { sessionCount: number } }, bus: CountingBus): Promise<void> {
  await until(() => s.server.sessionCount === 0, 10_000, `sessions to end (${s.server.sessionCount} left)`);
  await until(() => bus.openCount === 0, 5000, `CAN sockets to close (${bus.openCount} open)`);
  await sleep(50);
}

test(`churn: ${CYCLES} connect/command/quit cycles and ${ABRUPT} abrupt disconnects leak no descriptor, CAN socket or memory`, { timeout: 120_000 }, async (t) => {
  const virtual = new VirtualCanBus({ interfaces: ['vcan0'] });
  const bus = new CountingBus(virtual);
  const s = await startServer({ bus, maxClients: PARALLEL + 1 });
  try {
    // Warm up: lazily created handles, JIT, caches.
    for (let i = 0; i < 50; i++) await politeCycle(s.port);
    await settle(s, bus);
    const fd0 = fdCounts();
    const heap0 = await heapAfterGc();

    let next = 0;
    const bad: string[] = [];
    const polite = async (): Promise<void> => {
      while (next < CYCLES) {
        next++;
        const text = await politeCycle(s.port);
        if (!text.endsWith('\r\n+OK - Success, connected to vcan0\r\n+OK\r\n0,0,0,0,0,0,0\r\n+OK\r\n+OK - bye\r\n') && bad.length < 3) bad.push(text);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => polite()));
    assert.deepEqual(bad, [], 'every polite cycle got its full dialogue');
    await settle(s, bus);
    const fd1 = fdCounts();
    const heap1 = await heapAfterGc();

    let k = 0;
    const abrupt = async (): Promise<void> => {
      while (k < ABRUPT) await abruptCycle(s.port, k++ % 5);
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => abrupt()));
    await settle(s, bus);
    const fd2 = fdCounts();
    const heap2 = await heapAfterGc();

    t.diagnostic(`fds ${fd0.total}/${fd0.sockets} -> ${fd1.total}/${fd1.sockets} -> ${fd2.total}/${fd2.sockets}; ` +
      `heap ${(heap0 / 1048576).toFixed(1)} -> ${(heap1 / 1048576).toFixed(1)} -> ${(heap2 / 1048576).toFixed(1)} MiB; CAN sockets opened ${bus.opened}`);
    assert.ok(fd1.total <= fd0.total + 2 && fd2.total <= fd0.total + 2, `descriptors ${fd0.total} -> ${fd1.total} -> ${fd2.total}`);
    assert.ok(fd2.sockets <= fd0.sockets + 1, `sockets ${fd0.sockets} -> ${fd2.sockets}`);
    assert.equal(bus.openCount, 0, 'no CAN socket left open');
    assert.ok(bus.opened >= 50 + CYCLES, `${bus.opened} CAN sockets opened`);
    assert.equal(bus.closed, bus.opened, 'each closed exactly once');
    // Heap after GC flat: 7,000 sessions must not leave more than a few MiB.
    assert.ok(heap1 - heap0 < 8 * 1048576, `heap grew ${((heap1 - heap0) / 1048576).toFixed(1)} MiB over the polite cycles`);
    assert.ok(heap2 - heap0 < 8 * 1048576, `heap grew ${((heap2 - heap0) / 1048576).toFixed(1)} MiB over all cycles`);
    // Still serving.
    const c = await s.client();
    assert.deepEqual(await c.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});
