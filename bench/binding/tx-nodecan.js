#!/usr/bin/env node
// Sender on node-can (the `socketcan` package, 4.x) (bench/README.md, "binding").
//   NODE_CAN_DIR=DIR node tx-nodecan.js IFACE COUNT
// channel.send() per frame (a blocking send(2), node-can's default); a send that returns
// less than a frame is retried after a millisecond and counted (retries=).

'use strict';

const { SEND_ID, args, loadNodeCan, payload, runSender } = require('./tally.js');

const can = loadNodeCan();
const { iface, count } = args();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

runSender(() => {
  const channel = can.createRawChannel(iface, false);
  channel.start();
  let retries = 0;
  async function send() {
    for (let seq = 0; seq < count; seq++) {
      const msg = { id: SEND_ID, ext: true, data: payload(seq) };
      while (channel.send(msg) < 0) {
        retries++;
        await sleep(1);
      }
    }
    process.stdout.write(`retries=${retries}\n`);
    return count;
  }
  return { send, close: () => channel.stop() };
});
