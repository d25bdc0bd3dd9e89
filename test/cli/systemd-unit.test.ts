// systemd/uvscpd.service: the settings docs/operations.md promises, and
// `systemd-analyze verify` when systemd's tools are installed.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, runCommand, tempDir } from '../helpers/cli.js';

const UNIT = join(REPO_ROOT, 'systemd', 'uvscpd.service');

/** key -> every value, per section. */
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec !== null) {
      section = sec[1] as string;
      continue;
    }
    const eq = line.indexOf('=');
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe('systemd unit', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const one = (k: string): string | undefined => unit.get(k)?.at(-1);

  it('Type=notify, foreground, restarted on failure', () => {
    assert.equal(one('Service.Type'), 'notify');
    assert.equal(one('Service.NotifyAccess'), 'main');
    assert.match(one('Service.ExecStart') ?? '', /^uvscpd --stay\b/);
    assert.equal(one('Service.Restart'), 'on-failure');
    assert.equal(one('Install.WantedBy'), 'multi-user.target');
  });
  it('is ordered after the CAN interface device without waiting for it (design.md "Missing interface")', () => {
    assert.match(one('Unit.After') ?? '', /sys-subsystem-net-devices-can0\.device/);
    assert.doesNotMatch(one('Unit.Wants') ?? '', /sys-subsystem-net-devices/);
  });
  it('runs with no capabilities, sandboxed', () => {
    assert.equal(one('Service.CapabilityBoundingSet'), '');
    assert.equal(one('Service.DynamicUser'), 'yes');
    assert.equal(one('Service.NoNewPrivileges'), 'yes');
    assert.equal(one('Service.ProtectSystem'), 'strict');
    assert.equal(one('Service.ProtectHome'), 'yes');
    assert.equal(one('Service.PrivateTmp'), 'yes');
    assert.equal(one('Service.PrivateDevices'), 'yes');
    assert.deepEqual((one('Service.RestrictAddressFamilies') ?? '').split(' ').sort(), ['AF_CAN', 'AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX']);
    assert.equal(one('Service.SystemCallFilter'), '@system-service');
    assert.ok(one('Service.MemoryMax') !== undefined);
    assert.equal(unit.has('Service.MemoryDenyWriteExecute'), false, "V8's JIT needs W+X pages");
  });
  it('systemd-analyze verify accepts it (skipped without systemd-analyze)', async (t) => {
    const probe = await runCommand('systemd-analyze', ['--version'], { timeoutMs: 10000 }).catch(() => null);
    if (probe === null || probe.code !== 0) {
      t.skip('systemd-analyze is not installed');
      return;
    }
    // uvscpd is not installed on the test machine: point ExecStart at a binary that exists.
    const dir = tempDir();
    try {
      const copy = join(dir.path, 'uvscpd.service');
      writeFileSync(copy, readFileSync(UNIT, 'utf8').replace(/^ExecStart=uvscpd/m, `ExecStart=${process.execPath}`));
      const r = await runCommand('systemd-analyze', ['verify', '--man=no', copy], { timeoutMs: 30000, cwd: dir.path });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '');
    } finally {
      dir.remove();
    }
  });
});
