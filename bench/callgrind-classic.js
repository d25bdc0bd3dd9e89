// The workload of bench/callgrind-classic.sh: N classic frames through the native addon
// alone (no TypeScript layer, so that addons of other versions load too: the classic
// 16-byte send record and the 80-byte receive record are the same in all of them).
//
//   node bench/callgrind-classic.js <addon.node> <iface> <frames>
//
// The receiver stops reading while everything is sent, then reads it all: every recvmmsg
// but the last finds a full batch, so the instruction counts do not depend on timing.
'use strict';

const [addonPath, iface, framesArg] = process.argv.slice(2);
const total = Number(framesArg);
if (!addonPath || !iface || !(total > 0)) {
  console.error('usage: node bench/callgrind-classic.js <addon.node> <iface> <frames>');
  process.exit(2);
}
const addon = require(require('node:path').resolve(addonPath));

const CHUNK = 64;
const rxOwner = {};
let received = 0;
function dispatch(owner, batches) {
  if (owner === rxOwner && batches) for (const b of batches) received += b.length / 80;
}
const rx = new addon.CanSocket(rxOwner, dispatch, iface, { receiveBufferSize: 64 << 20 });
const tx = new addon.CanSocket({}, dispatch, iface, {});
rx.setReceiving(false);

const buf = Buffer.alloc(CHUNK * 16);
for (let i = 0; i < CHUNK; i++) {
  buf.writeUInt32LE(0x100 + i, i * 16);
  buf[i * 16 + 4] = 8;
}
let sent = 0;
let seq = 0;
while (sent < total) {
  const n = Math.min(CHUNK, total - sent);
  const r = tx.send(buf, n, seq);
  if (r !== n) throw new Error(`send took ${JSON.stringify(r)} of ${n}`);
  sent += n;
  seq = (seq + n) | 0;
}
rx.setReceiving(true);
const started = Date.now();
const timer = setInterval(() => {
  if (received >= total || Date.now() - started > 600_000) {
    clearInterval(timer);
    const drops = rx.stats().kernelDrops;
    console.log(`frames=${total} received=${received} kernelDrops=${drops}`);
    rx.close();
    tx.close();
    if (received !== total) process.exitCode = 1;
  }
}, 50);
