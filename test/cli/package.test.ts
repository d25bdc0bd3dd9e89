// The npm package as a user gets it: `npm pack` into a temp dir, check the
// tarball's contents, `npm install` it into an empty project (which builds
// the addon with node-gyp), then `npx uvscpd --help`, a short run of the
// installed daemon on the virtual bus, and `require('uvscpd')`.
// Dependencies (minimist, node-addon-api) come from the npm cache or the
// registry. Bounded: at most PACKAGE_TEST_TIMEOUT_MS. Set
// UVSCPD_SKIP_PACKAGE_TEST=1 to skip it (e.g. offline with a cold cache).

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killAll, runCommand, tempDir } from '../helpers/cli.js';

after(killAll);

const PACKAGE_TEST_TIMEOUT_MS = 8 * 60 * 1000;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/** The environment for a nested npm: none of the outer `npm test`'s lifecycle variables. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_(lifecycle|package|command|node_execpath|execpath)/i.test(k) || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  env['npm_config_audit'] = 'false';
  env['npm_config_fund'] = 'false';
  env['npm_config_update_notifier'] = 'false';
  return env;
}

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

describe('npm package', { timeout: PACKAGE_TEST_TIMEOUT_MS }, () => {
  const skip = process.env['UVSCPD_SKIP_PACKAGE_TEST'] === '1';
  const work = tempDir('uvscpd-pack-');
  after(() => work.remove());
  let tarball = '';
  let packed: PackResult | undefined;

  it('npm pack: compiled library, bin, native sources, build files, systemd unit, README; no tests or build output', { skip }, async () => {
    // dist/ is already built (npm test compiles first); --ignore-scripts skips prepack's rebuild.
    const r = await runCommand(NPM, ['pack', '--json', '--ignore-scripts', '--pack-destination', work.path], {
      env: npmEnv(),
      timeoutMs: 120000,
    });
    assert.equal(r.code, 0, r.stderr);
    packed = (JSON.parse(r.stdout) as PackResult[])[0];
    assert.ok(packed !== undefined);
    tarball = join(work.path, packed.filename);
    assert.ok(existsSync(tarball));
    const paths = packed.files.map((f) => f.path);
    for (const required of [
      'package.json',
      'README.md',
      'bin/uvscpd.js',
      'dist/cli-bundle.js',
      'dist/lib/cli/main.js',
      'dist/lib/cli/main.d.ts',
      'dist/lib/cli/options.js',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/server/server.js',
      'dist/lib/can/socketcan.js',
      'binding.gyp',
      'CMakeLists.txt',
      'systemd/uvscpd.service',
      'scripts/install.js',
      'LICENSE',
    ]) {
      assert.ok(paths.includes(required), `the tarball has ${required}`);
    }
    assert.ok(paths.some((p) => p.startsWith('native/') && p.endsWith('.cc')), 'native sources');
    for (const p of paths) {
      // Of scripts/, only the install script (prebuild or build from source) ships.
      const allowedScript = p === 'scripts/install.js';
      assert.ok(allowedScript || (!/^(dist\/test|dist\/bench|test|bench|build|build-cmake|scripts|node_modules|\.)\b/.test(p) && !p.includes('/.')), `unexpected file in the tarball: ${p}`);
      assert.ok(!p.endsWith('.node') || p.startsWith('prebuilds/'), `no locally built addon: ${p}`);
      assert.ok(!p.endsWith('.tgz'), `no tarball in the tarball: ${p}`);
    }
  });

  it('npm install <tarball> in an empty project builds the addon; npx uvscpd --help works', { skip }, async () => {
    assert.ok(tarball !== '', 'npm pack ran');
    const project = join(work.path, 'project');
    await runCommand('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uvscpd-install-test', version: '1.0.0', private: true }, null, 2));
    const install = await runCommand(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], {
      cwd: project,
      // This test is about building from the packed sources; whether the tarball
      // carries prebuilds depends on the checkout (scripts/cross/pack-test.sh
      // covers installing with no compiler from a prebuild).
      env: { ...npmEnv(), UVSCPD_BUILD_FROM_SOURCE: '1' },
      timeoutMs: PACKAGE_TEST_TIMEOUT_MS - 90000,
    });
    assert.equal(install.code, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
    const installed = join(project, 'node_modules', 'uvscpd');
    const release = join(installed, 'build', 'Release');
    assert.ok(existsSync(release) && readdirSync(release).some((f) => f.endsWith('.node')), 'node-gyp built the addon at install time');

    const help = await runCommand(NPX, ['--no-install', 'uvscpd', '--help'], { cwd: project, env: npmEnv(), timeoutMs: 60000 });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: uvscpd \[options\]/);

    const version = await runCommand(NPX, ['--no-install', 'uvscpd', '-v'], { cwd: project, env: npmEnv(), timeoutMs: 60000 });
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^uvscpd \d+\.\d+\.\d+/);

    // The installed copy runs and serves (the virtual bus needs no CAN).
    const bin = join(project, 'node_modules', '.bin', 'uvscpd');
    const r = await runCommand(process.execPath, ['-e', `
      const { spawn } = require('node:child_process');
      const net = require('node:net');
      const c = spawn(${JSON.stringify(bin)}, ['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      const t = setTimeout(() => { c.kill('SIGKILL'); console.log('TIMEOUT ' + err); process.exit(1); }, 15000);
      c.stderr.on('data', (d) => {
        // (this child is killed by the timeout above if it never listens)
        err += d;
        const m = /listening on 127\\.0\\.0\\.1:(\\d+)/.exec(err);
        if (m && !c.connected_) {
          c.connected_ = true;
          const s = net.connect(Number(m[1]), '127.0.0.1');
          let got = '';
          s.on('data', (x) => { got += x; if (got.includes('+OK - Success, connected to virtual')) { s.destroy(); c.kill('SIGTERM'); } });
        }
      });
      c.on('exit', (code) => { clearTimeout(t); console.log('EXIT ' + code); });
    `], { cwd: project, timeoutMs: 30000 });
    assert.match(r.stdout, /EXIT 0/, r.stdout + r.stderr);
  });

  it('require("uvscpd") gives the library API', { skip }, async () => {
    const project = join(work.path, 'project');
    assert.ok(existsSync(join(project, 'node_modules', 'uvscpd')), 'installed by the previous test');
    const r = await runCommand(
      process.execPath,
      ['-e', "const m = require('uvscpd'); console.log(JSON.stringify(Object.keys(m).sort()))"],
      { cwd: project, timeoutMs: 30000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const keys = JSON.parse(r.stdout) as string[];
    for (const name of ['createServer', 'VscpServer', 'SocketCanBus', 'SocketCanSocket', 'VirtualCanBus', 'FrameBatch', 'parseGuid', 'formatGuid']) {
      assert.ok(keys.includes(name), `exports ${name}; has ${keys.join(', ')}`);
    }
  });

  it("the README's library example runs against the installed package", { skip }, async () => {
    const project = join(work.path, 'project');
    const readme = readFileSync(join(project, 'node_modules', 'uvscpd', 'README.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(example !== undefined && example.includes("require('uvscpd')"), 'the README has a js example');
    const file = join(project, 'readme-example.js');
    writeFileSync(file, example);
    const r = await runCommand(process.execPath, [file], { cwd: project, timeoutMs: 20000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /listening on 127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /\+OK - Success, connected to virtual\r?\n\d+,\d+,\d+,\d+\r?\n\+OK/);
  });
});
