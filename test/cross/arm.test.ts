// Cross builds of the addon for ARM appliances (docs/appliance.md), checked on an x86_64 Debian host.
//
// For linux-arm64 and linux-armhf, with both cmake-js (cmake/toolchain-<arch>.cmake) and
// node-gyp, through scripts/cross/build.sh:
//   - file(1) says the right architecture (pitfall: --arch alone silently builds x86-64)
//   - the glibc floor: objdump -T shows no GLIBC_ above 2.31 and no GLIBCXX_ above 3.4.28
//     (Debian 11, Ubuntu 20.04, Raspberry Pi OS 11), and no unversioned libc symbol
//   - scripts/cross/qemu-smoke.sh: Debian's ARM node under qemu-user loads it, reports the
//     build info, gets EAFNOSUPPORT for a CAN socket, runs the pure-JS codec unit tests; with
//     --floor also the official Node.js 18 on Debian 11's glibc 2.31 loads it.
// Plus the linux-x64 prebuild flavour (same floor) loaded by this host's node.
//
// Needs the host packages of scripts/cross/install-deps.sh and dist/ (npx tsc). Without the
// cross compilers the suite is skipped, except under CI, where that is a failure.
// Run: node --test dist/test/cross/      (or: bash scripts/cross/ci.sh)

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');
const crossDir = process.env['CROSS_DIR'] ?? join(root, '.cross');
const isCI = Boolean(process.env['CI']) && process.env['CI'] !== 'false' && process.env['CI'] !== '0';

const GLIBC_FLOOR = '2.31';
const GLIBCXX_FLOOR = '3.4.28';

interface Arch {
  name: 'arm64' | 'armhf' | 'x64';
  /** What file(1) must print. */
  file: RegExp;
  compiler: string;
}
const ARCHES: Arch[] = [
  { name: 'arm64', file: /ELF 64-bit LSB shared object, ARM aarch64/, compiler: 'aarch64-linux-gnu-g++' },
  { name: 'armhf', file: /ELF 32-bit LSB shared object, ARM, EABI5/, compiler: 'arm-linux-gnueabihf-g++' },
];
const TOOLS = ['cmake', 'gyp'] as const;

function run(cmd: string, args: string[], timeoutMs = 240_000): { status: number | null; out: string } {
  // without NODE_TEST_CONTEXT: node:test in the children must print TAP, not the runner protocol
  const env = { ...process.env };
  delete env['NODE_TEST_CONTEXT'];
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function have(cmd: string): boolean {
  return run('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Compares dotted versions: negative, zero or positive. */
function cmpVersion(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Symbol versions and unversioned undefined symbols of a shared object (objdump -T). */
function dynamicSymbols(file: string): { glibc: string; glibcxx: string; unversioned: string[] } {
  const r = run('objdump', ['-T', file]);
  assert.equal(r.status, 0, r.out);
  let glibc = '0';
  let glibcxx = '0';
  const unversioned: string[] = [];
  for (const line of r.out.split('\n')) {
    for (const m of line.matchAll(/\b(GLIBC|GLIBCXX)_([0-9.]+)/g)) {
      if (m[1] === 'GLIBC' && cmpVersion(m[2]!, glibc) > 0) glibc = m[2]!;
      if (m[1] === 'GLIBCXX' && cmpVersion(m[2]!, glibcxx) > 0) glibcxx = m[2]!;
    }
    // "0000000000000000      D  *UND*  0000000000000000  Base  __libc_single_threaded"
    const cols = line.trim().split(/\s+/);
    if (line.includes('*UND*') && !/\((GLIBC|GLIBCXX|CXXABI|GCC)_/.test(line) && cols[1] !== 'w') {
      const name = cols[cols.length - 1]!;
      if (!/^(napi_|node_api_|uv_)/.test(name)) unversioned.push(name);
    }
  }
  return { glibc, glibcxx, unversioned };
}

function checkFloor(file: string): void {
  const s = dynamicSymbols(file);
  assert.ok(cmpVersion(s.glibc, GLIBC_FLOOR) <= 0, `${file} needs GLIBC_${s.glibc} > ${GLIBC_FLOOR}`);
  assert.ok(cmpVersion(s.glibcxx, GLIBCXX_FLOOR) <= 0, `${file} needs GLIBCXX_${s.glibcxx} > ${GLIBCXX_FLOOR}`);
  assert.deepEqual(s.unversioned, [], `${file} has unversioned undefined symbols (header/library mismatch)`);
}

const missing = ['file', 'objdump', 'cmake', 'qemu-aarch64', 'qemu-arm', ...ARCHES.map((a) => a.compiler)].filter(
  (c) => !have(c),
);
const skip =
  missing.length > 0 && !isCI
    ? `cross toolchain missing (${missing.join(', ')}): run scripts/cross/install-deps.sh`
    : false;
if (skip) process.stderr.write(`\n!! test/cross skipped: ${skip}\n\n`);

describe('cross builds for ARM appliances', { skip }, () => {
  before(() => {
    assert.deepEqual(missing, [], 'host packages missing (scripts/cross/install-deps.sh)');
    assert.ok(existsSync(join(root, 'dist', 'lib', 'can', 'native.js')), 'dist/ missing: npx tsc -p tsconfig.json');
    const r = run('bash', ['scripts/cross/setup-sysroot.sh', 'arm64', 'armhf', 'x64'], 600_000);
    assert.equal(r.status, 0, r.out);
  });

  for (const arch of ARCHES) {
    for (const tool of TOOLS) {
      describe(`linux-${arch.name} with ${tool === 'cmake' ? 'cmake-js' : 'node-gyp'}`, () => {
        const out = join(crossDir, 'out', `test-${arch.name}-${tool}`);
        const addon = join(out, 'uvscpd.node');

        test('builds', () => {
          const r = run('bash', ['scripts/cross/build.sh', arch.name, tool, out]);
          assert.equal(r.status, 0, r.out);
        });

        test(`file(1) says ${arch.file.source}`, () => {
          const r = run('file', ['-b', addon]);
          assert.equal(r.status, 0, r.out);
          assert.match(r.out, arch.file);
          if (arch.name === 'armhf') {
            // file(1) does not print the float ABI: the ELF header flags do
            const h = run('readelf', ['-h', addon]);
            assert.match(h.out, /Version5 EABI, hard-float ABI/);
          }
        });

        test(`glibc floor: GLIBC <= ${GLIBC_FLOOR}, GLIBCXX <= ${GLIBCXX_FLOOR}`, () => {
          checkFloor(addon);
        });

        // The JS unit tests and the floor proof (official Node.js 18 on Debian 11's glibc) once
        // per architecture, with the node-gyp build (the prebuild tool); the cmake-js build is
        // loaded and exercised in Debian's ARM node only. Keeps the CI stage short.
        const full = tool === 'gyp';
        test(`qemu smoke: loads in the ARM node, EAFNOSUPPORT for CAN${full ? ', codec unit tests, glibc 2.31 node' : ''}`, () => {
          const args = ['scripts/cross/qemu-smoke.sh', ...(full ? ['--floor'] : ['--no-unit']), arch.name, addon];
          const r = run('bash', args);
          assert.equal(r.status, 0, r.out);
          assert.match(r.out, new RegExp(`"builder":"${tool === 'gyp' ? 'node-gyp' : 'cmake-js'}"`));
          assert.match(r.out, /"canOpen":\{"code":"EAFNOSUPPORT"/);
          if (full) {
            assert.match(r.out, /pass [1-9]\d* fail 0/);
            assert.match(r.out, /floor: official .* addon loads/);
          }
        });
      });
    }
  }

  describe('linux-x64 (the prebuild flavour)', () => {
    const out = join(crossDir, 'out', 'test-x64-gyp');
    const addon = join(out, 'uvscpd.node');
    test('builds against the Debian 11 sysroot, same floor, loads in this node', () => {
      const r = run('bash', ['scripts/cross/build.sh', 'x64', 'gyp', out]);
      assert.equal(r.status, 0, r.out);
      assert.match(run('file', ['-b', addon]).out, /ELF 64-bit LSB shared object, x86-64/);
      checkFloor(addon);
      const s = run(process.execPath, ['scripts/cross/smoke.js', addon]);
      assert.equal(s.status, 0, s.out);
    });
  });

  describe('prebuilds/ (when scripts/cross/prebuild.sh has run)', () => {
    for (const [dir, re] of [
      ['linux-x64', /x86-64/],
      ['linux-arm64', /ARM aarch64/],
      ['linux-arm', /ARM, EABI5/],
    ] as const) {
      const f = join(root, 'prebuilds', dir, 'uvscpd.node');
      test(`prebuilds/${dir}/uvscpd.node: architecture and floor`, { skip: existsSync(f) ? false : 'not built' }, () => {
        assert.match(run('file', ['-b', f]).out, re);
        checkFloor(f);
      });
    }
  });
});
