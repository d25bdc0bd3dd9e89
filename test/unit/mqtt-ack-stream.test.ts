// lib/mqtt/ack-stream.ts: the connection MQTT.js reads and writes. Its
// reads lack the bridge's own PUBACKs; its writes reach the real socket
// whole and at once, so that the bridge's own writes on that socket never
// land inside one of MQTT.js's packets; the socket's end, errors and close
// reach MQTT.js.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { AckFilteringStream } from '../../lib/mqtt/ack-stream.js';

/** A socket stand-in: records what is written, reads what the test pushes. */
class FakeSocket extends Duplex {
  readonly written: string[] = [];
  override _read(): void {
    // the test pushes
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(chunk.toString('latin1'));
    cb();
  }
}

function wrap(socket: FakeSocket) {
  const acks: number[] = [];
  let reads = 0;
  const stream = new AckFilteringStream(socket, 60000, { onAck: (id) => acks.push(id), onAcksRead: () => reads++ });
  return { stream, acks, reads: () => reads };
}

test('reads: own PUBACKs are reported, once-per-read refill, the rest reaches the reader', async () => {
  const socket = new FakeSocket();
  const { stream, acks, reads } = wrap(socket);
  const got: Buffer[] = [];
  stream.on('data', (b: Buffer) => got.push(b));
  socket.push(Buffer.from([0x40, 0x02, 0x00, 0x01, 0xd0, 0x00, 0x40, 0x02, 0x00, 0x02]));
  socket.push(Buffer.from([0x40, 0x02, 0xff, 0xff])); // not an own id: MQTT.js's
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(acks, [1, 2]);
  assert.equal(reads(), 1, 'one refill for the read that held acknowledgements');
  assert.deepEqual([...Buffer.concat(got)], [0xd0, 0x00, 0x40, 0x02, 0xff, 0xff]);
  socket.push(null);
  await once(stream, 'end');
});

test("writes: a packet MQTT.js writes in corked pieces stays whole around the bridge's direct writes", async () => {
  const socket = new FakeSocket();
  const { stream } = wrap(socket);
  stream.cork();
  stream.write('H');
  stream.write('T');
  stream.write('P');
  socket.write('[batch 1]'); // the bridge, between MQTT.js's write and its uncork
  process.nextTick(() => {
    stream.uncork();
    socket.write('[batch 2]');
  });
  await new Promise((r) => setImmediate(r));
  stream.write('A');
  stream.write('B');
  socket.write('[batch 3]');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(socket.written.join(''), '[batch 1]HTP[batch 2]AB[batch 3]');
});

test("the socket's errors and close reach the reader; destroying the stream closes the socket", async () => {
  const socket = new FakeSocket();
  const { stream } = wrap(socket);
  const failed = once(stream, 'error');
  const closed = new Promise((r) => stream.once('close', r)); // once() would reject on the error
  socket.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
  const [err] = (await failed) as [Error & { code?: string }];
  assert.equal(err.code, 'ECONNRESET');
  await closed;

  const socket2 = new FakeSocket();
  const { stream: stream2 } = wrap(socket2);
  stream2.destroy();
  await once(socket2, 'close');
  assert.equal(socket2.destroyed, true);
});
