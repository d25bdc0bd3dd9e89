// The receive low-water mark for QoS 1 acknowledgements (lib/mqtt/ack-wakeups.ts):
// the mark for each number of outstanding publications, and when it is set.

import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { AckWakeups, MAX_AWAITED_ACKS, ackLowWaterBytes, lowWaterSetter } from '../../lib/mqtt/ack-wakeups.js';

/** A stand-in for Node's TCP socket: only what AckWakeups reads. */
function tcpLike(fd: number | null, encrypted = false): Duplex {
  return { encrypted, _handle: fd === null ? null : { fd } } as unknown as Duplex;
}

function recordingSetter(result = true): { calls: Array<[number, number]>; set: (fd: number, bytes: number) => boolean } {
  const calls: Array<[number, number]> = [];
  return {
    calls,
    set: (fd, bytes) => {
      calls.push([fd, bytes]);
      return result;
    },
  };
}

describe('ackLowWaterBytes', () => {
  it('waits for every outstanding acknowledgement, the first counted as one byte (it may be partly read)', () => {
    assert.equal(ackLowWaterBytes(0, 20), 1);
    assert.equal(ackLowWaterBytes(1, 20), 1);
    assert.equal(ackLowWaterBytes(2, 20), 5);
    assert.equal(ackLowWaterBytes(5, 20), 17);
    assert.equal(ackLowWaterBytes(19, 20), 73);
  });

  it('is one byte with the window full: a broker using Nagle sends the rest only after the next write', () => {
    assert.equal(ackLowWaterBytes(20, 20), 1);
    assert.equal(ackLowWaterBytes(25, 20), 1);
    assert.equal(ackLowWaterBytes(5, 5), 1);
  });

  it(`waits for at most ${MAX_AWAITED_ACKS} acknowledgements`, () => {
    assert.equal(ackLowWaterBytes(MAX_AWAITED_ACKS, 4096), 4 * (MAX_AWAITED_ACKS - 1) + 1);
    assert.equal(ackLowWaterBytes(1000, 4096), 4 * (MAX_AWAITED_ACKS - 1) + 1);
  });
});

describe('AckWakeups', () => {
  it('sets the mark on the connection only when it changes', () => {
    const r = recordingSetter();
    const w = new AckWakeups(tcpLike(17), r.set);
    assert.equal(w.active, true);
    w.update(0, 20); // already one byte
    w.update(5, 20);
    w.update(5, 20);
    w.update(8, 20);
    w.update(0, 20);
    assert.deepEqual(r.calls, [
      [17, 17],
      [17, 29],
      [17, 1],
    ]);
  });

  it('a PINGREQ brings the mark down to one byte until its answer comes', () => {
    const r = recordingSetter();
    const w = new AckWakeups(tcpLike(9), r.set);
    w.update(10, 100);
    w.pingSent();
    w.update(12, 100);
    w.pingAnswered();
    w.update(12, 100);
    assert.deepEqual(r.calls, [
      [9, 37],
      [9, 1],
      [9, 45],
    ]);
  });

  it('release() keeps it at one byte for good', () => {
    const r = recordingSetter();
    const w = new AckWakeups(tcpLike(9), r.set);
    w.update(10, 100);
    w.release();
    w.update(30, 100);
    assert.deepEqual(r.calls, [
      [9, 37],
      [9, 1],
    ]);
  });

  it('leaves TLS, WebSocket streams and closed sockets alone', () => {
    const r = recordingSetter();
    const tls = new AckWakeups(tcpLike(5, true), r.set);
    tls.update(10, 100);
    assert.equal(tls.active, false);
    const ws = new AckWakeups({} as Duplex, r.set);
    ws.update(10, 100);
    assert.equal(ws.active, false);
    const closed = new AckWakeups(tcpLike(null), r.set);
    closed.update(10, 100);
    assert.deepEqual(r.calls, []);
    const noAddon = new AckWakeups(tcpLike(5), null);
    noAddon.update(10, 100);
    assert.equal(noAddon.active, false);
  });

  it('stops trying once the kernel refuses', () => {
    const r = recordingSetter(false);
    const w = new AckWakeups(tcpLike(4), r.set);
    w.update(10, 100);
    w.update(20, 100);
    assert.deepEqual(r.calls, [[4, 37]]);
    assert.equal(w.active, false);
  });

  it('UVSCPD_MQTT_ACK_LOW_WATER=0 turns it off; otherwise the addon sets the mark', () => {
    const saved = process.env.UVSCPD_MQTT_ACK_LOW_WATER;
    try {
      process.env.UVSCPD_MQTT_ACK_LOW_WATER = '0';
      assert.equal(lowWaterSetter(), null);
      delete process.env.UVSCPD_MQTT_ACK_LOW_WATER;
      assert.equal(typeof lowWaterSetter(), 'function');
    } finally {
      if (saved === undefined) delete process.env.UVSCPD_MQTT_ACK_LOW_WATER;
      else process.env.UVSCPD_MQTT_ACK_LOW_WATER = saved;
    }
  });
});
