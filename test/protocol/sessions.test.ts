// Sessions over real TCP with the VirtualCanBus: one session's reset or slow
// reading never costs another, churn leaves nothing open, close() ends them
// all, one timer serves them all (protocol §9 #100, #101; design.md D4, D5,
// "Slow readers").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanSocket, CanSocketOptions } from '../../lib/can/types.js';
import { CAN_EFF_FLAG } from '../../lib/can/types.js';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { VscpServer } from '../../lib/server/server.js';
import { TestClient } from '../helpers/client.js';
import { sleep, startServer, waitForCdta } from '../helpers/server.js';

function trackSockets(bus: VirtualCanBus): CanSocket[] {
  const opened: CanSocket[] = [];
  const realOpen = bus.open.bind(bus);
  bus.open = (name, options) => {
    const s = realOpen(name, options);
    opened.push(s);
    return s;
  };
  return opened;
}

async function waitForSessions(count: () => number, target: number): Promise<void> {
  for (let i = 0; i < 300 && count() !== target; i++) await sleep(10);
  assert.equal(count(), target);
}

test('§9 #100 (D4): retr 50 then an immediate reset ends only that session', { timeout: 10000 }, async () => {
  const s = await startServer();
  try {
    const other = await s.client();
    const c = await s.client();
    for (let i = 0; i < 50; i++) s.bus.inject('vcan0', { rawId: (CAN_EFF_FLAG | 0x0c140300) >>> 0, data: Uint8Array.from([i, 1, 2, 3, 4, 5, 6, 7]) });
    await waitForCdta(c, 50);
    c.sendLine('retr 50');
    c.reset();
    await waitForSessions(() => s.server.sessionCount, 1);
    assert.deepEqual(await other.command('noop'), ['+OK']);
    const again = await s.client();
    assert.deepEqual(await again.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('D4: a peer that resets while events stream to it ends only its session', { timeout: 10000 }, async () => {
  const s = await startServer();
  try {
    const other = await s.client();
    const c = await s.client();
    assert.deepEqual(await c.command('rcvloop'), ['+OK']);
    const timer = setInterval(() => {
      for (let i = 0; i < 200; i++) s.bus.inject('vcan0', { rawId: (CAN_EFF_FLAG | 0x0c140300) >>> 0, data: Uint8Array.from([1, 2, 3]) });
    }, 5);
    try {
      await sleep(100);
      c.reset();
      await waitForSessions(() => s.server.sessionCount, 1);
    } finally {
      clearInterval(timer);
    }
    assert.deepEqual(await other.command('clra'), ['+OK - All events cleared.']);
    assert.deepEqual(await other.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('§9 #101 (D5): 2000 sequential connect/quit cycles leave the daemon working and no CAN socket open', { timeout: 60000 }, async () => {
  const s = await startServer();
  const opened = trackSockets(s.bus);
  try {
    for (let i = 0; i < 2000; i++) {
      const c = await TestClient.connect(s.port);
      c.sendLine('quit');
      const lines = await c.expectClose();
      assert.equal(lines.at(-1), '+OK - bye');
      c.destroy();
    }
    await waitForSessions(() => s.server.sessionCount, 0);
    assert.equal(opened.length, 2000);
    assert.equal(opened.filter((o) => !o.closed).length, 0);
    const last = await s.client();
    assert.deepEqual(await last.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('design.md "Slow readers": a looping client that does not read is bounded and counted; others get everything', { timeout: 60000 }, async () => {
  const s = await startServer();
  try {
    const slow = await s.client();
    const fast = await s.client();
    assert.deepEqual(await slow.command('rcvloop'), ['+OK']);
    assert.deepEqual(await fast.command('rcvloop'), ['+OK']);
    slow.socket.pause(); // stop reading: the TCP windows fill, then the server's buffer
    const total = 120_000;
    const rss0 = process.memoryUsage().rss;
    for (let sent = 0; sent < total; sent += 1000) {
      for (let i = 0; i < 1000; i++) {
        s.bus.inject('vcan0', { rawId: (CAN_EFF_FLAG | 0x0c140300) >>> 0, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
      }
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
    }
    await sleep(300);
    const fastEvents = fast.unread.toString('latin1').split('\r\n').filter((l) => l.startsWith('96,')).length;
    assert.equal(fastEvents, total, 'the reading client lost nothing');
    const grewMb = (process.memoryUsage().rss - rss0) / (1024 * 1024);
    // 120k events are ~9 MB of text; the client's copies account for most growth. The slow session may hold ~256 KiB.
    assert.ok(grewMb < 200, `rss grew ${grewMb.toFixed(0)} MB`);
    // Now read: the slow client gets what was buffered, then its INFO shows the drops.
    slow.socket.resume();
    slow.sendLine('quitloop');
    slow.sendLine('info');
    let drops = -1;
    for (let i = 0; i < 200_000 && drops < 0; i++) {
      const line = await slow.readLine(10000);
      const m = /^slow reader drops: (\d+)$/.exec(line);
      if (m) drops = Number(m[1]);
    }
    assert.ok(drops > 0, `slow reader drops ${drops}`);
    assert.ok(drops < total);
  } finally {
    await s.close();
  }
});

test('close() ends looping clients, pending SENDs and refused clients; resolves; idempotent', { timeout: 10000 }, async () => {
  const s = await startServer({ maxClients: 2 });
  const opened = trackSockets(s.bus);
  const a = await s.client();
  const b = await s.client();
  assert.deepEqual(await a.command('rcvloop'), ['+OK']);
  s.bus.setTransmitPaused('vcan0', true);
  b.sendLine('send 0,20,3,,,,-,1');
  await sleep(50);
  const t0 = Date.now();
  await Promise.all([s.server.close(), s.server.close()]);
  assert.ok(Date.now() - t0 < 3000);
  await a.expectClose();
  await b.expectClose();
  assert.equal(s.server.sessionCount, 0);
  assert.ok(opened.every((o) => o.closed));
  await assert.rejects(TestClient.connect(s.port));
});

test('the server keeps one timer: 5 idle looping clients get keep-alives without per-session timers', { timeout: 10000 }, async () => {
  const s = await startServer();
  try {
    const clients: TestClient[] = [];
    for (let i = 0; i < 5; i++) clients.push(await s.client());
    for (const c of clients) c.sendLine('rcvloop');
    for (const c of clients) assert.equal(await c.readLine(), '+OK');
    // Active timers of this process: the server adds at most one for all sessions.
    const handles = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((r) => r === 'Timeout');
    assert.ok(handles.length <= 3, `${handles.length} timers`);
    for (const c of clients) assert.equal(await c.readLine(2600), '+OK');
  } finally {
    await s.close();
  }
});

test("each session's CAN socket gets the server's receive options", { timeout: 10000 }, async () => {
  for (const [options, expected] of [
    [{}, { receiveCoalesceUs: 1000, receiveCoalesceAlways: undefined }],
    [{ receiveCoalesceUs: 5000, receiveCoalesceAlways: true }, { receiveCoalesceUs: 5000, receiveCoalesceAlways: true }],
  ] as const) {
    const s = await startServer(options);
    const seen: CanSocketOptions[] = [];
    const realOpen = s.bus.open.bind(s.bus);
    s.bus.open = (name, socketOptions = {}) => {
      seen.push(socketOptions);
      return realOpen(name, socketOptions);
    };
    try {
      const c = await s.client();
      assert.deepEqual(await c.command('noop'), ['+OK']);
      await waitForSessions(() => seen.length, 1);
      assert.equal(seen[0]?.receiveCoalesceUs, expected.receiveCoalesceUs);
      assert.equal(seen[0]?.receiveCoalesceAlways, expected.receiveCoalesceAlways);
    } finally {
      await s.close();
    }
  }
});

test('receiveCoalesceAlways must be a boolean', () => {
  assert.throws(() => new VscpServer({ bus: new VirtualCanBus(), receiveCoalesceAlways: 'yes' as unknown as boolean }), /receiveCoalesceAlways must be a boolean/);
});
