#!/usr/bin/env node
// Receiver on this package's SocketCAN binding (bench/README.md, "binding").
//   node rx-ours.js IFACE COUNT [batch|objects] [coalesce=US [always]] [drain]
// batch:   what a throughput-minded user writes: the FrameBatch accessors over the records,
//          nothing allocated per frame.
// objects: batch.frame(i) per frame: an object with a copied payload, as node-can hands out.
// coalesce=US: the receiveCoalesceUs option (default 0, the binding's default).
// always:      with receiveCoalesceAlways, the window follows every read, not only reads under load.

'use strict';

const path = require('node:path');
const { SocketCanBus } = require(path.join(__dirname, '..', '..', 'dist', 'lib', 'index.js'));
const { args, runReceiver } = require('./tally.js');

const { iface, count, drain, coalesceUs, words } = args();
const objects = words.includes('objects');
const always = words.includes('always');

runReceiver(count, drain, (tally) => {
  const options = coalesceUs === undefined ? {} : { receiveCoalesceUs: coalesceUs, receiveCoalesceAlways: always };
  const sock = new SocketCanBus().open(iface, options);
  sock.pause(); // reading starts with start(): in a drain, the frames wait in the kernel
  sock.on('error', (err) => process.stderr.write(`socket error: ${err.message}\n`));
  if (objects) {
    sock.on('frames', (batch) => {
      for (let i = 0; i < batch.count; i++) {
        const f = batch.frame(i);
        tally.frame(f.data.readUInt32LE(0));
      }
      tally.delivered();
    });
  } else {
    sock.on('frames', (batch) => {
      const buf = batch.buffer;
      for (let i = 0; i < batch.count; i++) tally.frame(buf.readUInt32LE(batch.dataOffset(i)));
      tally.delivered();
    });
  }
  return { start: () => sock.resume(), close: () => sock.close() };
});
