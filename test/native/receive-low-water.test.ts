// setReceiveLowWater (native/addon.cc): SO_RCVLOWAT on a socket Node owns, which
// the MQTT bridge uses on its broker connection (lib/mqtt/ack-wakeups.ts). Over
// real loopback TCP: the socket is not reported readable before the mark is
// reached, and then everything comes in one read. Runs anywhere (no AF_CAN).

import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { describe, it } from 'node:test';

import { loadAddon } from '../../lib/can/native.js';

function descriptorOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  assert.equal(typeof fd, 'number');
  return fd;
}

/** Runs `body` with a connected loopback TCP pair (client, server side) and closes both after. */
async function withConnectedPair(body: (client: Socket, peer: Socket) => Promise<void>): Promise<void> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection');
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = (await accepted) as [Socket];
  try {
    await body(client, peer);
  } finally {
    client.destroy();
    peer.destroy();
    server.close();
  }
}

describe('setReceiveLowWater', () => {
  it('no read until the mark is reached, then the bytes come together', async () => {
    const set = loadAddon().setReceiveLowWater;
    assert.equal(typeof set, 'function');
    await withConnectedPair(async (client, peer) => {
      assert.equal(set!(descriptorOf(client), 12), true);
      const chunks: Buffer[] = [];
      client.on('data', (c: Buffer) => chunks.push(c));
      peer.write(Buffer.from([0x40, 0x02, 0x00, 0x01]));
      peer.write(Buffer.from([0x40, 0x02, 0x00, 0x02]));
      // Both writes have long reached the client's kernel buffer (loopback) by the time this timer fires.
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(chunks, [], 'eight bytes are below a mark of twelve');
      peer.write(Buffer.from([0x40, 0x02, 0x00, 0x03]));
      await once(client, 'data');
      assert.equal(Buffer.concat(chunks).length, 12);
      assert.equal(chunks.length, 1, 'one read took all three');
    });
  });

  it('lowering the mark reports bytes already there', async () => {
    const set = loadAddon().setReceiveLowWater!;
    await withConnectedPair(async (client, peer) => {
      set(descriptorOf(client), 100);
      let lowered = false;
      let early = false;
      const got = new Promise<Buffer>((resolve) => client.once('data', resolve)).finally(() => {
        early = !lowered;
      });
      peer.write(Buffer.from([1, 2, 3, 4]));
      await new Promise((r) => setTimeout(r, 200));
      lowered = true;
      assert.equal(set(descriptorOf(client), 1), true);
      assert.deepEqual([...(await got)], [1, 2, 3, 4]);
      assert.equal(early, false, 'nothing was read before the mark came down');
    });
  });

  it('the end of the connection is reported below the mark', async () => {
    const set = loadAddon().setReceiveLowWater!;
    await withConnectedPair(async (client, peer) => {
      set(descriptorOf(client), 1000);
      client.resume();
      const ended = once(client, 'end');
      peer.end(Buffer.from([9, 9]));
      await ended;
    });
  });

  it('false for a descriptor that is not a socket; bad arguments throw', () => {
    const set = loadAddon().setReceiveLowWater!;
    const fd = openSync('/dev/null', 'r');
    try {
      assert.equal(set(fd, 8), false);
    } finally {
      closeSync(fd);
    }
    assert.throws(() => set(-1, 8), RangeError);
    assert.throws(() => set(3, 0), RangeError);
    assert.throws(() => set(3, 1.5), RangeError);
    assert.throws(() => (set as unknown as (a: unknown, b: unknown) => boolean)('3', 8), TypeError);
  });
});
