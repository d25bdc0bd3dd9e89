#!/usr/bin/env node
// The package's "install" script: makes sure a native addon for THIS machine is available
// without needing a compiler when the package ships a matching prebuild.
//
//   1. Not Linux: nothing to do (SocketCAN is Linux-only; the rest of the package is JS).
//   2. A development checkout (a .git directory: `npm ci` in the repository), or building
//      from source was asked for (npm install --build-from-source, or
//      UVSCPD_BUILD_FROM_SOURCE=1), or a target architecture is configured (npm_config_arch /
//      npm_config_target_arch, as Yocto's and Buildroot's npm builds set them, even when it
//      equals the build machine's: the image may use another libc): node-gyp rebuild, with
//      whatever compiler/arch settings the environment gives.
//   3. prebuilds/linux-<arch>/uvscpd.node exists and loads in this node (checked in a child
//      process: right architecture, glibc new enough, Node-API level available): use it.
//      Nothing is written. lib/can/native.ts finds it at run time.
//   4. Otherwise: node-gyp rebuild (needs python3, make and a C++ compiler).
// Exit status non-zero only when no usable addon results.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const say = (msg) => process.stderr.write(`uvscpd: ${msg}\n`);
const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v !== 'false';

function nodeGyp(reason) {
  say(`${reason}: building the addon from source with node-gyp`);
  // npm tells its scripts where its bundled node-gyp is; else a node-gyp on PATH
  const bundled = process.env.npm_config_node_gyp;
  const [cmd, args] =
    bundled && fs.existsSync(bundled)
      ? bundled.endsWith('.js')
        ? [process.execPath, [bundled, 'rebuild']]
        : [bundled, ['rebuild']]
      : ['node-gyp', ['rebuild']];
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: false });
  if (r.status === 0) return 0;
  say(
    `building the native addon failed${r.error ? ` (${r.error.message})` : ''}. ` +
      'It needs python3, make and a C++ compiler (Debian: apt install g++ make python3), ' +
      `or a prebuilt addon for linux-${process.arch} in prebuilds/. See docs/appliance.md.`,
  );
  return r.status || 1;
}

function main() {
  if (process.platform !== 'linux') {
    say(`no native addon on ${process.platform} (SocketCAN is Linux-only); the in-memory bus and the codec work`);
    return 0;
  }
  const env = process.env;
  if (fs.existsSync(path.join(root, '.git'))) {
    return nodeGyp('development checkout');
  }
  if (truthy(env.UVSCPD_BUILD_FROM_SOURCE) || truthy(env.npm_config_build_from_source)) {
    return nodeGyp('build from source requested');
  }
  const target = env.npm_config_target_arch || env.npm_config_arch;
  if (target) {
    return nodeGyp(`target architecture ${target} configured (this node is ${process.arch})`);
  }
  const prebuild = path.join(root, 'prebuilds', `linux-${process.arch}`, 'uvscpd.node');
  if (fs.existsSync(prebuild)) {
    // load it in a child: a wrong glibc or Node-API level must not take this process down
    const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', prebuild], { encoding: 'utf8' });
    if (r.status === 0) {
      say(`using the prebuilt addon ${path.relative(root, prebuild)} (Node-API 8, glibc >= 2.31)`);
      return 0;
    }
    const why = `${r.stderr || ''}`.split('\n').find((l) => /Error|error/.test(l)) || `exit ${r.status}`;
    return nodeGyp(`the prebuilt addon does not load here (${why.trim()})`);
  }
  return nodeGyp(`no prebuilt addon for linux-${process.arch}`);
}

process.exitCode = main();
