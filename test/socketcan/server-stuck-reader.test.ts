// A client that stops reading in rcvloop, on real SocketCAN (docs/design.md "Slow readers"):
// its session's CAN socket is paused, so the kernel drops and counts its frames while
// the reading client beside it gets every one; INFO shows the stuck client's losses.
// Needs root and vcan (the CAN guest: test/can-vm.sh).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { socketCanBus } from '../../lib/can/socketcan.js';
import type { CanSocket } from '../../lib/can/types.js';
import { SLOW_READER_HIGH_WATER } from '../../lib/server/index.js';
import { sleep, startServer } from '../helpers/server.js';
import { createVcan, deleteVcan } from '../helpers/vcan.js';

const FRAMES = 12_000;
const CHUNK = 40;
const PREFILL_MAX = 400_000;
const EVENT_RE = /^96,20,3,0,[^,]*,\d+,[0-9A-F:]+,(\d+),(\d+)$/;

interface SessionInternals {
  info: { id: number };
  socket: { writableLength: number };
  can: CanSocket | null;
}

test('stuck reader on SocketCAN: its CAN socket is paused, the reading client gets every frame, INFO shows the losses', { timeout: 120_000 }, async () => {
  const iface = createVcan();
  const s = await startServer({ bus: socketCanBus, canInterface: iface });
  const sender = socketCanBus.open(iface);
  try {
    const stuck = await s.client();
    const stuckChid = (await stuck.command('chid'))[0]!;
    assert.deepEqual(await stuck.command('rcvloop'), ['+OK']);
    stuck.socket.pause();
    const stuckSession = [...(s.server as unknown as { sessions: Set<SessionInternals> }).sessions].find((x) => String(x.info.id) === stuckChid)!;
    assert.ok(stuckSession !== undefined);
    // Stuck for a while: enough traffic to fill its TCP buffers (MBs on loopback) and the
    // server's high-water mark, as fast as it goes.
    let prefill = 0;
    for (; prefill < PREFILL_MAX && stuckSession.can?.isPaused() !== true; prefill += 64) {
      await sender.sendMany(Array.from({ length: 64 }, () => ({ id: 0x0c140300, extended: true, data: Uint8Array.of(0xff, 0xff) })));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(stuckSession.can?.isPaused(), true, `the stuck session's CAN socket is paused after ${prefill} frames`);
    const reader = await s.client();
    assert.deepEqual(await reader.command('rcvloop'), ['+OK']);

    let got = 0;
    let pending = '';
    const order: number[] = [];
    reader.socket.removeAllListeners('data');
    reader.socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      const lines = pending.split('\r\n');
      pending = lines.pop()!;
      for (const l of lines) {
        const m = EVENT_RE.exec(l);
        if (m === null) continue;
        order.push(Number(m[1]) * 256 + Number(m[2]));
        got++;
      }
    });

    let paused = true;
    let maxBuffered = 0;
    for (let n = 0; n < FRAMES; n += CHUNK) {
      const frames = Array.from({ length: CHUNK }, (_, k) => ({ id: 0x0c140300, extended: true, data: Uint8Array.of((n + k) >> 8, (n + k) & 0xff) }));
      await sender.sendMany(frames);
      await sleep(8); // about 5,000 frames/s: a busy bus the reading client can follow in the guest
      paused &&= stuckSession.can?.isPaused() === true;
      maxBuffered = Math.max(maxBuffered, stuckSession.socket.writableLength);
    }
    const deadline = Date.now() + 30_000;
    while (got < FRAMES && Date.now() < deadline) await sleep(50);
    assert.equal(got, FRAMES, 'the reading client got every frame');
    assert.ok(order.every((v, i) => v === i), 'in order');
    assert.ok(paused, "the stuck session's CAN socket stayed paused while the other client read");
    assert.ok(maxBuffered <= SLOW_READER_HIGH_WATER + 64 * 1024, `the server buffered ${maxBuffered} bytes for the stuck client`);

    // The stuck client reads again: what was kept arrives, then INFO tells the losses.
    stuck.socket.resume();
    for (let last = -1; stuck.receivedLength !== last; ) {
      last = stuck.receivedLength;
      await sleep(500); // until what the server and the kernel kept has arrived
    }
    stuck.sendLine('quitloop');
    await sleep(300);
    const from = stuck.receivedText.length;
    stuck.sendLine('info');
    await stuck.waitForText(/uptime: .*\r\n\+OK\r\n/, 10_000);
    const info = stuck.receivedText.slice(from);
    const delivered = stuck.receivedText.split('\r\n').filter((l) => /^96,20,3,0,/.test(l)).length;
    const num = (re: RegExp): number => Number(re.exec(info)?.[1] ?? NaN);
    const kernelDrops = num(/kernel drops: (\d+)/);
    const slowDrops = num(/slow reader drops: (\d+)/);
    const fifo = /fifo: (\d+) of \d+ events, (\d+) dropped when full/.exec(info);
    const buffered = Number(fifo?.[1] ?? NaN) + Number(fifo?.[2] ?? NaN);
    assert.ok(kernelDrops > 0, `the kernel dropped and counted: ${info}`);
    assert.equal(delivered + buffered + slowDrops + kernelDrops, prefill + FRAMES, `delivered ${delivered} + fifo ${buffered} + slow ${slowDrops} + kernel ${kernelDrops}`);
  } finally {
    sender.close();
    await s.close();
    deleteVcan(iface);
  }
});
