// The uvscpd command's start-up failures on the CAN side, with the real
// addon's errors on a kernel with SocketCAN (the CAN guest): the message is
// the binding's own (one place for the advice), classified as a CAN failure
// even though bind(2) is what failed, and the terminal gets it once.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { socketCanBus } from '../../lib/can/socketcan.js';
import type { CanError } from '../../lib/can/types.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestClient } from '../helpers/client.js';
import { isAlive, killAll, runCli, runCliOnFreePort, tempDir, track, untrack, waitFor } from '../helpers/cli.js';

after(killAll);

/** The binding's error for opening `name` in this process. */
function openError(name: string): CanError {
  try {
    socketCanBus.open(name).close();
  } catch (err) {
    return err as CanError;
  }
  throw new Error(`${name} opened`);
}

describe('uvscpd -c lo: not a CAN interface', { timeout: 60000 }, () => {
  const err = openError('lo');

  it('the binding reports it from bind(2), with its advice', () => {
    assert.equal(err.code, 'ENODEV');
    assert.equal(err.syscall, 'bind');
    assert.match(err.message, /^'lo' is not a CAN interface \(ENODEV\): pick a CAN interface/);
  });

  it('-s: exit 1, the binding\'s message logged once as the error, not as a listen failure', async () => {
    const r = await runCli(['-s', '-c', 'lo', '-i', '127.0.0.1', '-p', '0'], { timeoutMs: 30000 });
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /cannot listen/);
    const lines = r.stderr.split('\n');
    assert.equal(lines.filter((l) => l.includes(': error: ')).length, 1, r.stderr);
    assert.equal(lines.filter((l) => l.endsWith(`: error: ${err.message}`)).length, 1, r.stderr);
    assert.equal(lines.filter((l) => l.includes('pick a CAN interface')).length, 1, r.stderr);
  });

  it('daemon mode: the starting command prints that one line and exits 1', async () => {
    const r = await runCli(['-c', 'lo', '-i', '127.0.0.1', '-p', '0'], { timeoutMs: 30000 });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `uvscpd: ${err.message}\n`);
  });
});

describe('uvscpd -c <missing interface>: starts anyway (protocol §9 #2, design.md "Missing interface")', { timeout: 60000 }, () => {
  it('daemon mode: exit 0, the starting command prints the warning naming the interface; clients are told No such device', async () => {
    const dir = tempDir();
    const pidFile = join(dir.path, 'missing.pid');
    let pid = 0;
    try {
      const r = await runCliOnFreePort((p) => ['-c', 'nosuchcan7', '-i', '127.0.0.1', '-p', String(p), '--pid-file', pidFile], { timeoutMs: 30000 });
      assert.equal(r.code, 0, r.stderr);
      pid = Number(readFileSync(pidFile, 'utf8'));
      track(pid);
      assert.equal(r.stderr, 'uvscpd: warning: CAN interface nosuchcan7 does not exist (No such device): clients are told so until it does\n');
      const client = await TestClient.connect(r.port);
      const lines = await client.expectClose();
      assert.equal(lines.length, 3, lines.join('|'));
      assert.equal(lines[2], '-OK - interface [nosuchcan7] error: No such device');
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !isAlive(pid), 3000, 'the daemon to exit');
      untrack(pid);
    } finally {
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      dir.remove();
    }
  });
});
