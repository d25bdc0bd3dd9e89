// Slow and dead readers cost other sessions nothing (design.md "Slow readers", D4).
// A looping client that stops reading during a flood is bounded in memory
// and its drops are counted exactly; a healthy looping client loses
// nothing; a client that resets mid-reply ends only its own session.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAN_EFF_FLAG } from '../../lib/can/types.js';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { SLOW_READER_HIGH_WATER } from '../../lib/server/index.js';
import { TestClient } from '../helpers/client.js';
import { startServer, waitForCdta } from '../helpers/server.js';
import { CountingBus, heapAfterGc, sleep, until } from '../helpers/fuzz.js';

const FRAME = (CAN_EFF_FLAG | 0x0c140300) >>> 0;
const EVENT_RE = /^96,20,3,0,/;

interface SessionInternals {
  info: { id: number };
  socket: { writableLength: number };
}

function sessions(server: unknown): SessionInternals[] {
  return [...(server as { sessions: Set<SessionInternals> }).sessions];
}

test('a looping client that stops reading during a 60,000-frame flood: its CAN socket is paused, server memory bounded, drops counted exactly, others lose nothing', { timeout: 60_000 }, async () => {
  const virtual = new VirtualCanBus({ interfaces: ['vcan0'] });
  const bus = new CountingBus(virtual);
  const s = await startServer({ bus });
  try {
    const slow = await s.client();
    const healthy = await s.client();
    const poller = await s.client();
    assert.deepEqual(await slow.command('rcvloop'), ['+OK']);
    assert.deepEqual(await healthy.command('rcvloop'), ['+OK']);
    const slowId = sessions(s.server).find((x) => x.info.id === 1)!;
    assert.ok(slowId !== undefined);
    slow.socket.pause(); // stop reading: the kernel buffers fill, then the server's
    const heap0 = await heapAfterGc();
    const total = 60_000;
    let maxBuffered = 0;
    let pollerAnswers = 0;
    for (let sent = 0; sent < total; sent += 1000) {
      for (let i = 0; i < 1000; i++) {
        const n = sent + i;
        virtual.inject('vcan0', { rawId: FRAME, data: Uint8Array.from([n >> 16, (n >> 8) & 0xff, n & 0xff]) });
      }
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      maxBuffered = Math.max(maxBuffered, slowId.socket.writableLength);
      if (sent % 10_000 === 0) {
        assert.deepEqual(await poller.command('clra'), ['+OK - All events cleared.']);
        pollerAnswers++;
      }
    }
    // The looping peer that reads gets every event, in order.
    const healthyEvents: number[] = [];
    while (healthyEvents.length < total) {
      const line = await healthy.readLine(10_000);
      if (line === '+OK') continue; // keep-alive
      assert.match(line, EVENT_RE);
      const f = line.split(',');
      healthyEvents.push(Number(f[7]) * 65536 + Number(f[8]) * 256 + Number(f[9]));
    }
    assert.ok(healthyEvents.every((v, i) => v === i), 'the healthy client got every event in order');
    assert.equal(pollerAnswers, 6);
    // The slow session's unsent output stayed near the high-water mark (one batch of 64 lines over at most).
    assert.ok(maxBuffered <= SLOW_READER_HIGH_WATER + 64 * 1024, `server buffered ${maxBuffered} bytes for the slow reader`);
    const grown = (await heapAfterGc()) - heap0;
    assert.ok(grown < 16 * 1048576, `heap after GC grew ${(grown / 1048576).toFixed(1)} MiB`);

    // Read again: what was buffered arrives (in the loop, or after quitloop into the
    // FIFO), then INFO tells the drops. Delivered + buffered + dropped = all.
    slow.socket.resume();
    slow.sendLine('quitloop');
    await sleep(300); // what the paused CAN socket kept is read once the output drained
    slow.sendLine('info');
    let delivered = 0;
    let slowDrops = -1;
    let kernelDrops = -1;
    let fifo = -1;
    for (;;) {
      const line = await slow.readLine(10_000);
      if (EVENT_RE.test(line)) delivered++;
      const m = /^slow reader drops: (\d+)$/.exec(line);
      if (m) slowDrops = Number(m[1]);
      const k = /^kernel drops: (\d+)$/.exec(line);
      if (k) kernelDrops = Number(k[1]);
      const f = /^fifo: (\d+) of \d+ events, (\d+) dropped when full$/.exec(line);
      if (f) fifo = Number(f[1]) + Number(f[2]);
      if (line.startsWith('uptime:')) break;
    }
    assert.equal(await slow.readLine(), '+OK');
    assert.ok(slowDrops > 0, 'the slow reader lost events and INFO says so');
    assert.ok(kernelDrops > 0, 'its CAN socket was not read while it was stuck: the buffer dropped and counted');
    assert.equal(
      delivered + fifo + slowDrops + kernelDrops,
      total,
      `delivered ${delivered} + fifo ${fifo} + slow drops ${slowDrops} + kernel drops ${kernelDrops}`,
    );
    assert.equal(s.server.sessionCount, 3);
  } finally {
    await s.close();
  }
  assert.equal(bus.openCount, 0);
});

test('D4: a client that resets while a 7 MB RETR reply is being written ends only its own session', { timeout: 30_000 }, async () => {
  const bus = new CountingBus(new VirtualCanBus({ interfaces: ['vcan0'] }));
  const s = await startServer({ bus, fifoSize: 100_000 });
  try {
    const other = await s.client();
    const victim = await s.client();
    for (let i = 0; i < 100_000; i++) {
      (bus.inner as VirtualCanBus).inject('vcan0', { rawId: FRAME, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r)); // within the kernel-like receive queue
    }
    await waitForCdta(victim, 100_000, 10_000);
    await waitForCdta(other, 100_000, 10_000);
    victim.socket.pause();
    victim.sendLine('retr 100000');
    const victimSession = sessions(s.server).find((x) => x.info.id === 2)!;
    await until(() => victimSession.socket.writableLength > 0, 5000, 'the reply to back up in the server');
    victim.reset(); // RST with the reply half written
    await until(() => s.server.sessionCount === 1, 5000, 'the victim session to end');
    assert.equal(bus.openCount, 1, "the victim's CAN socket is closed");
    // The other session is untouched: its 100,000 events are all there.
    assert.deepEqual(await other.command('cdta'), ['100000 ', '+OK']);
    const five = await other.command('retr 5');
    assert.equal(five.length, 6);
    // And the server still admits new clients.
    const again = await s.client();
    assert.deepEqual(await again.command('noop'), ['+OK']);

    // destroy() with unsent data on the client side, and a reset right after connecting.
    const d = await s.client();
    d.write('retr 100\r\n'.repeat(1000));
    d.destroy();
    const r = await TestClient.connect(s.port);
    r.reset();
    await until(() => s.server.sessionCount === 2, 5000, 'the aborted sessions to end');
    assert.deepEqual(await other.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
  await sleep(10);
  assert.equal(bus.openCount, 0);
});

test('a client that pipelines 12,000 `help` (24 MB of replies) without reading: the server buffers ~the high-water mark, then answers every one', { timeout: 60_000 }, async () => {
  const s = await startServer();
  try {
    const c = await s.client();
    const other = await s.client();
    c.socket.pause();
    const total = 12_000; // 72 KB of input: more than one 64 KiB read
    for (let i = 0; i < total; i += 1000) c.write('help\r\n'.repeat(1000));
    const session = sessions(s.server).find((x) => x.info.id === 1)!;
    let maxBuffered = 0;
    for (let i = 0; i < 40; i++) {
      await sleep(10);
      maxBuffered = Math.max(maxBuffered, session.socket.writableLength);
    }
    // One reply may cross the mark; 72 KB of `help` must not turn into megabytes held for the peer.
    assert.ok(maxBuffered <= SLOW_READER_HIGH_WATER + 16 * 1024, `server buffered ${maxBuffered} bytes for a peer that does not read`);
    assert.deepEqual(await other.command('noop'), ['+OK'], 'other sessions are served meanwhile');
    const start = c.allReceived.length;
    c.socket.resume();
    // Count the replies' status lines as they arrive (each help reply ends in "\r\n+OK\r\n").
    let statuses = 0;
    let pos = start - 2;
    await until(() => {
      const buf = c.allReceived;
      for (let i = buf.indexOf('\r\n+OK\r\n', pos); i >= 0; i = buf.indexOf('\r\n+OK\r\n', pos)) {
        statuses++;
        pos = i + 5;
      }
      return statuses >= total;
    }, 30_000, `${total} replies (${statuses} so far)`);
    assert.equal(statuses, total);
    const text = c.allReceived.subarray(start).toString('latin1');
    assert.equal(text.split('\r\n').filter((l) => l.startsWith('+') || l.startsWith('-')).length, total, 'nothing but the help replies');
  } finally {
    await s.close();
  }
});
