// systemd/uvscpd-mqtt.conf, the drop-in that turns the bridge on: its
// command line is one the daemon accepts (the password from the service's
// credentials directory), and systemd-analyze verifies the unit with it.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOptions } from '../../lib/cli/options.js';
import { mqttSettingsFromCli } from '../../lib/mqtt/options.js';
import { REPO_ROOT, runCommand, tempDir } from '../helpers/cli.js';

const UNIT = join(REPO_ROOT, 'systemd', 'uvscpd.service');
const DROP_IN = join(REPO_ROOT, 'systemd', 'uvscpd-mqtt.conf');

describe('systemd drop-in for the MQTT bridge', () => {
  const text = readFileSync(DROP_IN, 'utf8');
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

  it('replaces ExecStart, takes the password from a credential, starts after Mosquitto without requiring it', () => {
    const execs = lines.filter((l) => l.startsWith('ExecStart='));
    assert.equal(execs[0], 'ExecStart=', 'the unit ExecStart is reset first');
    assert.match(execs[1]!, /^ExecStart=uvscpd --stay .*--mqtt=mqtt:\/\/localhost .*--mqtt-password-file=%d\/mqtt-password$/);
    assert.ok(lines.includes('LoadCredential=mqtt-password:/etc/uvscpd/mqtt-password'));
    assert.ok(lines.includes('Wants=mosquitto.service'));
    assert.ok(lines.includes('After=mosquitto.service'));
    assert.ok(!lines.some((l) => l.startsWith('Requires=')));
  });

  it('its command line is accepted by the daemon and reads the password file', () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, 'mqtt-password'), 'from-credential\n');
      const argv = lines.filter((l) => l.startsWith('ExecStart=uvscpd '))[0]!.slice('ExecStart=uvscpd '.length).replace('%d', dir.path).split(' ');
      const parsed = parseOptions(argv);
      assert.equal(parsed.kind, 'run');
      if (parsed.kind !== 'run') return;
      const settings = mqttSettingsFromCli(parsed.config.mqttArgs!);
      assert.ok(settings.ok);
      assert.equal(settings.ok && settings.settings?.password, 'from-credential');
      assert.equal(settings.ok && settings.settings?.url, 'mqtt://localhost');
    } finally {
      dir.remove();
    }
  });

  it('systemd-analyze verify accepts the unit with the drop-in', async () => {
    const dir = tempDir();
    try {
      // uvscpd is not installed on the test machine: point ExecStart at a binary that exists.
      const exec = (t: string): string => t.replace(/^ExecStart=uvscpd/gm, `ExecStart=${process.execPath}`);
      writeFileSync(join(dir.path, 'uvscpd.service'), exec(readFileSync(UNIT, 'utf8')));
      mkdirSync(join(dir.path, 'uvscpd.service.d'));
      writeFileSync(join(dir.path, 'uvscpd.service.d', 'mqtt.conf'), exec(text));
      const r = await runCommand('systemd-analyze', ['verify', '--man=no', join(dir.path, 'uvscpd.service')], { timeoutMs: 30000, cwd: dir.path });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '');
    } finally {
      dir.remove();
    }
  });
});
