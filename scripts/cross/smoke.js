#!/usr/bin/env node
// Smoke test of one uvscpd.node, meant for an emulated ARM node (scripts/cross/qemu-smoke.sh)
// but runnable anywhere: node scripts/cross/smoke.js path/to/uvscpd.node
// Loads the addon through the package's own loader (UVSCPD_ADDON), prints its build info,
// checks the compiled architecture, and opens a CAN socket: qemu-user has no AF_CAN, so the
// expected outcome there is the clear EAFNOSUPPORT CanError (ENODEV where the kernel has CAN).
// One JSON line on stdout; exit 1 on any mismatch.
// Further arguments are node:test files, run in this same process afterwards (one emulated
// node start instead of one per file; node --test would spawn process.execPath, an ARM
// binary the host cannot exec without binfmt_misc). node:test then prints TAP.
'use strict';
const path = require('node:path');
const assert = require('node:assert/strict');

const addonPath = path.resolve(process.argv[2] || '');
process.env.UVSCPD_ADDON = addonPath;
const root = path.resolve(__dirname, '..', '..');
const native = require(path.join(root, 'dist', 'lib', 'can', 'native.js'));
const { socketCanBus } = require(path.join(root, 'dist', 'lib', 'can', 'socketcan.js'));
const { sendUnixDatagram } = require(path.join(root, 'dist', 'lib', 'cli', 'unix-datagram.js'));

const out = { node: process.version, arch: process.arch, napi: process.versions.napi };
const info = native.addonInfo();
out.addon = { ...info, path: path.relative(root, info.path) };
assert.equal(info.path, addonPath, 'the loader took another addon than UVSCPD_ADDON');
assert.equal(info.napiVersion, 8, 'addon must be built for NAPI_VERSION 8');
assert.ok(info.napiVersion <= info.runtimeNapiVersion, 'addon needs a newer Node-API than this node');
assert.equal(info.buildType, 'Release');
assert.equal(info.sanitizer, false);

// A CAN socket: the error must be a CanError with an errno code and an actionable message.
let sock;
try {
  sock = socketCanBus.open('uvscpdsmoke0');
} catch (err) {
  out.canOpen = { code: err.code, message: err.message };
}
if (sock) {
  sock.close();
  throw new Error('opening a CAN socket on a non-existent interface succeeded');
}
assert.ok(['EAFNOSUPPORT', 'ENODEV'].includes(out.canOpen.code), `unexpected CAN error ${out.canOpen.code}: ${out.canOpen.message}`);
if (out.canOpen.code === 'EAFNOSUPPORT') assert.match(out.canOpen.message, /no SocketCAN support/);

// Another native path: an AF_UNIX datagram to a missing socket fails with ENOENT.
try {
  sendUnixDatagram(path.join(root, '.cross', 'no-such-socket'), 'x');
  throw new Error('sendUnixDatagram to a missing socket succeeded');
} catch (err) {
  assert.equal(err.code, 'ENOENT', String(err));
  out.unixDatagram = err.code;
}
// The MQTT bridge's SO_RCVLOWAT helper: present, and false on a descriptor that is not a socket.
const fs = require('node:fs');
const devNull = fs.openSync('/dev/null', 'r');
try {
  const addon = native.loadAddon();
  assert.equal(typeof addon.setReceiveLowWater, 'function', 'the addon lacks setReceiveLowWater');
  out.receiveLowWaterOnFile = addon.setReceiveLowWater(devNull, 8);
  assert.equal(out.receiveLowWaterOnFile, false);
} finally {
  fs.closeSync(devNull);
}
console.log(JSON.stringify(out));
for (const f of process.argv.slice(3)) require(path.resolve(f));
