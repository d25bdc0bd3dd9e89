// Bad input over TCP gets a clear reply, never a crash. Huge lines, NUL and high bytes, one
// byte per segment, 10,000 commands in one write, half-open and silent
// clients, huge RETR counts, and SEND floods into a full CAN TX queue
// (protocol §1.3, §1.6, §2.2; design.md D11, "Limits").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAN_EFF_FLAG } from '../../lib/can/types.js';
import type { FrameBatch } from '../../lib/can/record.js';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { TestClient } from '../helpers/client.js';
import { startServer, waitForCdta } from '../helpers/server.js';
import { CountingBus, heapAfterGc, sleep, until } from '../helpers/fuzz.js';

const T = { timeout: 30_000 };
const FRAME = (CAN_EFF_FLAG | 0x0c140300) >>> 0;

/** Off-heap Buffers count too: a server that kept the input would show up in either. */
async function memoryAfterGc(): Promise<number> {
  await heapAfterGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function writeAll(c: TestClient, data: Buffer): Promise<void> {
  if (!c.socket.write(data)) await new Promise((r) => c.socket.once('drain', r));
}

test('10 MB without a newline: no output, server memory stays O(line limit), then the next line works', T, async () => {
  const s = await startServer();
  try {
    const c = await s.client();
    const chunk = Buffer.alloc(64 * 1024, 0x41); // 'A'
    const mem0 = await memoryAfterGc();
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) {
      await writeAll(c, chunk);
    }
    // Let the server read everything (it answers a line sent afterwards only once it has).
    c.write('\x00'); // removed by the framing: still the same line
    await sleep(100);
    const grown = (await memoryAfterGc()) - mem0;
    assert.ok(grown < 4 * 1048576, `heap+buffers grew ${(grown / 1048576).toFixed(2)} MiB after 10 MB of input`);
    assert.equal(c.unread.length, 0, 'no output for an unfinished line');
    c.write('\r\nnoop\r\n');
    assert.deepEqual(await c.readLines(2, 10_000), ['-OK - line length exceeded', '+OK']);
  } finally {
    await s.close();
  }
});

test('NUL, control and high bytes: every byte value inside `noop<b>` is handled as protocol §1.3 / D11 says', T, async () => {
  const s = await startServer();
  try {
    const c = await s.client();
    const parts: Buffer[] = [];
    const expected: string[] = [];
    for (let b = 0; b < 256; b++) {
      if (b === 0x0a) continue; // LF ends the line: tested by every other line
      parts.push(Buffer.from([0x6e, 0x6f, b, 0x6f, 0x70, 0x0d, 0x0a])); // "no<b>op\r\n"
      expected.push(b < 0x20 ? '+OK' : '-OK - invalid command');
    }
    parts.push(Buffer.from('\x00\x00\x01\x1f\r\n'), Buffer.from('\x00n\x00o\x00o\x00p\x00\r\n'), Buffer.from('noop\xff\r\n', 'latin1'));
    expected.push('-OK - no input', '+OK', '-OK - invalid command');
    c.write(Buffer.concat(parts));
    assert.deepEqual(await c.readLines(expected.length), expected);
  } finally {
    await s.close();
  }
});

test('every byte in its own TCP segment: commands are reassembled and answered exactly once, in order', T, async () => {
  const s = await startServer();
  try {
    const c = await s.client();
    c.socket.setNoDelay(true);
    const script =
      'vers\r\nno\top\r\nsgid 0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f\r\nggid\r\n' +
      'send 0,20,3,,,,-,0,1,35\r\nstat\r\nretr\r\n+\r\ncdta\r\nfoo\r\n\r\nsflt 0,20,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\r\n';
    const bytes = Buffer.from(script, 'latin1');
    for (const b of bytes) {
      c.write(Buffer.from([b]));
      await sleep(1);
    }
    const lines = await c.readLines(16, 10_000);
    assert.deepEqual(lines.slice(1), [
      '+OK', // vers (line 0 is its version line)
      '+OK', // no<TAB>op
      '+OK', // sgid
      '0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:F', '+OK',
      '+OK', // send
      '0,0,0,0,0,7,1', '+OK', // stat: 3 data bytes + 4
      '-OK - No event(s) available', // retr
      '-OK - No event(s) available', // + repeats retr
      '0 ', '+OK',
      '-OK - invalid command',
      '-OK - no input',
      '+OK', // sflt
    ]);
    assert.match(lines[0]!, /^\d+,\d+,\d+,\S+$/);
    await c.expectSilence(50);
  } finally {
    await s.close();
  }
});

test('10,000 commands in one write: 10,000 replies, in order', T, async () => {
  const s = await startServer();
  try {
    const c = await s.client();
    let text = '';
    const expected: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const hi = (i >> 8).toString(16).toUpperCase();
      const lo = (i & 0xff).toString(16).toUpperCase();
      text += `sgid 0:0:0:0:0:0:0:0:0:0:0:0:0:0:${hi}:${lo}\r\nggid\r\n`;
      expected.push('+OK', `0:0:0:0:0:0:0:0:0:0:0:0:0:0:${hi}:${lo}`, '+OK');
    }
    c.write(text);
    const lines = await c.readLines(expected.length, 20_000);
    assert.deepEqual(lines, expected);
    await c.expectSilence(50);
  } finally {
    await s.close();
  }
});

test('half-open: a client that sends and then shuts its side gets every reply (a parked SEND included), then the close', T, async () => {
  const s = await startServer();
  try {
    const c = await s.client();
    c.write('vers\r\nnoop\r\n');
    c.endInput();
    const rest = await c.expectClose();
    assert.equal(rest.length, 3);
    assert.deepEqual(rest.slice(1), ['+OK', '+OK']);

    s.bus.setTransmitPaused('vcan0', true);
    const d = await s.client();
    d.write('send 0,20,3,,,,-,1\r\nnoop\r\n');
    d.endInput();
    await sleep(100);
    assert.equal(d.unread.length, 0, 'the SEND is still in the CAN layer: nothing may overtake it');
    assert.equal(d.isClosed, false);
    s.bus.setTransmitPaused('vcan0', false);
    assert.deepEqual(await d.expectClose(), ['+OK', '+OK']);
  } finally {
    await s.close();
  }
});

test('a client that connects and never sends: closed with a message under idleTimeoutMs; kept for ever without it', T, async () => {
  const idle = await startServer({ idleTimeoutMs: 300 });
  try {
    const t0 = Date.now();
    const c = await TestClient.connect(idle.port);
    const lines = await c.expectClose(5000);
    const took = Date.now() - t0;
    assert.deepEqual(lines.slice(2), ['+OK - Success, connected to vcan0', '-OK - Idle timeout - bye!']);
    assert.ok(took >= 250 && took < 3000, `closed after ${took} ms`);
  } finally {
    await idle.close();
  }
  const plain = await startServer();
  try {
    const c = await plain.client();
    await c.expectSilence(1500);
    assert.equal(c.isClosed, false);
    assert.deepEqual(await c.command('noop'), ['+OK']);
  } finally {
    await plain.close();
  }
});

test('RETR with huge counts (4294967295, -1, 4294967296, 20 digits) answers at once and drains only what is there', T, async () => {
  const s = await startServer();
  try {
    const c = await s.client();
    for (let i = 0; i < 3; i++) s.bus.inject('vcan0', { rawId: FRAME, data: Uint8Array.from([i]) });
    await waitForCdta(c, 3);
    const huge = await c.command('retr 4294967295', 2000);
    assert.equal(huge.length, 4);
    assert.equal(huge.at(-1), '-OK - No event(s) available');
    assert.deepEqual(huge.slice(0, 3).map((l) => l.split(',').at(-1)), ['0', '1', '2']);
    assert.deepEqual(await c.command('retr -1', 2000), ['-OK - No event(s) available']);
    assert.deepEqual(await c.command('retr 4294967296', 2000), ['+OK'], '2^32 wraps to 0 (protocol §2.2)');
    const twenty = await c.command('retr 99999999999999999999', 2000);
    assert.equal(twenty.length, 1);
    assert.ok(['+OK', '-OK', '-OK - No event(s) available'].includes(twenty[0]!), twenty[0]);
    assert.deepEqual(await c.command('retr ' + '9'.repeat(400), 2000), ['-OK - line length exceeded']);
    assert.deepEqual(await c.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('SEND flood into a full CAN TX queue: one reply per SEND, failures say so, successes all reach the bus', { timeout: 60_000 }, async () => {
  const virtual = new VirtualCanBus({ interfaces: ['vcan0'] });
  const bus = new CountingBus(virtual, { txQueueLimit: 16 });
  const s = await startServer({ bus });
  const listener = virtual.open('vcan0', { receiveBufferSize: 64 * 1024 * 1024 });
  let onBus = 0;
  listener.on('frames', (b: FrameBatch) => (onBus += b.count));
  try {
    const c = await s.client();
    const other = await s.client();
    const total = 10_000;
    virtual.setTransmitPaused('vcan0', true);
    c.write('send 0,20,3,,,,-,1,2,3\r\n'.repeat(total));
    // The server stops reading once 4096 replies wait behind the parked SENDs; nothing is lost meanwhile.
    await sleep(300);
    assert.deepEqual(await other.command('noop'), ['+OK'], 'another session is not held up');
    virtual.setTransmitPaused('vcan0', false);
    const lines = await c.readLines(total, 30_000);
    const ok = lines.filter((l) => l === '+OK').length;
    const failed = lines.filter((l) => l === '-OK - problem when writing to CAN socket').length;
    assert.equal(ok + failed, total, `unexpected replies: ${JSON.stringify(lines.find((l) => l !== '+OK' && !l.startsWith('-OK - problem')))}`);
    assert.ok(failed > 0, 'some SENDs met the full queue');
    assert.ok(ok >= 16, 'the parked ones went out');
    await until(() => onBus >= ok, 5000, `${ok} frames on the bus (saw ${onBus})`);
    await sleep(50);
    assert.equal(onBus, ok, 'every +OK is a frame on the bus, and only those');
    assert.deepEqual(await c.command('stat'), [`0,0,0,0,0,${total * 7},${total}`, '+OK'], 'failed writes are counted too (protocol §2.2)');
    await c.expectSilence(50);
  } finally {
    listener.close();
    await s.close();
  }
  assert.equal(bus.openCount, 0);
});
