#!/usr/bin/env node
// Receiver on node-can (the `socketcan` package, 4.x) (bench/README.md, "binding").
//   NODE_CAN_DIR=DIR node rx-nodecan.js IFACE COUNT [drain]
// DIR is the scratch folder scripts/run-bench.js installed it into (never a dependency of
// this package). As its README shows: createRawChannel(iface, true) (timestamps on: our
// records always carry the kernel's), one 'onMessage' listener, start().

'use strict';

const { args, loadNodeCan, runReceiver } = require('./tally.js');

const can = loadNodeCan();
const { iface, count, drain } = args();

runReceiver(count, drain, (tally) => {
  // The channel's socket is bound here; its reader thread starts with start().
  const channel = can.createRawChannel(iface, true);
  channel.addListener('onMessage', (msg) => {
    tally.frame(msg.data.readUInt32LE(0));
    tally.delivered();
  });
  return { start: () => channel.start(), close: () => channel.stop() };
});
