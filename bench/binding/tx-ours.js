#!/usr/bin/env node
// Sender on this package's SocketCAN binding (bench/README.md, "binding").
//   node tx-ours.js IFACE COUNT [many|send]
// many: sendMany() of 256 frames at a time, each batch awaited (one sendmmsg per batch).
// send: one awaited send() per frame, as a port of a node-can loop would do.
// Each frame carries its sequence number (bench/tools/common.h), so canrx can count them.

'use strict';

const path = require('node:path');
const { SocketCanBus } = require(path.join(__dirname, '..', '..', 'dist', 'lib', 'index.js'));
const { SEND_ID, args, payload, runSender } = require('./tally.js');

const BATCH = 256;
const { iface, count, words } = args();
const one = words.includes('send');

runSender(() => {
  const sock = new SocketCanBus().open(iface);
  const frame = (seq) => ({ id: SEND_ID, extended: true, data: payload(seq) });
  async function send() {
    if (one) {
      for (let seq = 0; seq < count; seq++) await sock.send(frame(seq));
      return count;
    }
    for (let seq = 0; seq < count; seq += BATCH) {
      const frames = [];
      for (let k = seq; k < Math.min(count, seq + BATCH); k++) frames.push(frame(k));
      await sock.sendMany(frames);
    }
    return count;
  }
  return { send, close: () => sock.close() };
});
