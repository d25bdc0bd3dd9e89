// dist/cli-bundle.js (scripts/bundle.js): the command's modules in one file, which
// bin/uvscpd.js loads. The CLI suites run the command through it; this checks the bundle
// itself: current, complete (lazy modules included), and each module in its own scope.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '..', '..', '..');
const bundlePath = join(root, 'dist', 'cli-bundle.js');

describe('cli bundle (dist/cli-bundle.js)', () => {
  const text = readFileSync(bundlePath, 'utf8');
  const ids = [...text.matchAll(/^__defs\["([^"]+)"\] = function/gm)].map((m) => m[1]);

  it('is what bin/uvscpd.js runs', () => {
    assert.match(readFileSync(join(root, 'bin', 'uvscpd.js'), 'utf8'), /require\('\.\.\/dist\/cli-bundle\.js'\)/);
  });

  it('holds every module the command can reach, lazily required ones too', () => {
    for (const id of [
      'lib/cli/main.js',
      'lib/cli/serve.js',
      'lib/cli/startup-error.js',
      'lib/cli/options.js',
      'lib/cli/log.js',
      'lib/cli/help.js',
      'lib/cli/daemon.js',
      'lib/cli/systemd.js',
      'lib/server/server.js',
      'lib/server/session.js',
      'lib/can/socketcan.js',
      'lib/can/native.js',
      'lib/can/virtual-bus.js',
      'lib/vscp/index.js',
    ]) {
      assert.ok(ids.includes(id), `bundle has ${id}`);
    }
    assert.equal(new Set(ids).size, ids.length, 'each module once');
  });

  it('is not older than the modules it was made from', () => {
    const built = statSync(bundlePath).mtimeMs;
    for (const id of ids) assert.ok(statSync(join(root, 'dist', id)).mtimeMs <= built + 1, `${id} is newer than the bundle: npm run build:ts`);
  });

  it('exports what dist/lib/cli/main.js exports, from its own copies of the modules', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundled = require(bundlePath) as Record<string, unknown>;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const direct = require(join(root, 'dist', 'lib', 'cli', 'main.js')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(bundled).sort(), Object.keys(direct).sort());
    assert.notEqual(bundled['run'], direct['run']);
    const parsed = (bundled['parseOptions'] as (a: string[]) => { kind: string })(['-s', '-c', 'vcan0']);
    assert.equal(parsed.kind, 'run');
  });

  it('finds the addon relative to the real lib/can/native.js (its __dirname)', () => {
    // The addon loads and the kernel answers: EAFNOSUPPORT without SocketCAN, else ENODEV ('lo' is not a CAN interface).
    const r = spawnSync(process.execPath, [join(root, 'bin', 'uvscpd.js'), '-s', '-c', 'lo', '-p', '0'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\((EAFNOSUPPORT|ENODEV)\)/);
    assert.doesNotMatch(r.stderr, /ERR_UVSCPD_ADDON|addon/i);
  });
});
