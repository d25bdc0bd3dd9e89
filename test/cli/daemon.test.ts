// Daemon mode (no -s): the parent exits 0 only once the daemon listens;
// start-up errors reach the caller; the pid file; SIGTERM.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createServer as createTcpServer } from 'node:net';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, killAll, runCli, runCliOnFreePort, sleep, tempDir, track, untrack, waitFor } from '../helpers/cli.js';
import { TestClient } from '../helpers/client.js';

after(killAll);

/** Fields of /proc/<pid>/stat after the command name: state, ppid, pgrp, session. */
function procStat(pid: number): { ppid: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(rest[1]), session: Number(rest[3]) };
}

describe('uvscpd daemon mode', { timeout: 60000 }, () => {
  it('starts, detaches, writes the pid file, serves TCP; SIGTERM stops it within 2 s and removes the pid file', async () => {
    const dir = tempDir();
    const pidFile = join(dir.path, 'uvscpd.pid');
    let pid = 0;
    try {
      const r = await runCliOnFreePort((p) => ['-c', 'virtual', '-i', '127.0.0.1', '-p', String(p), '--pid-file', pidFile]);
      const port = r.port;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, '');
      // The parent has exited 0: by then the daemon listens and the pid file exists.
      const text = readFileSync(pidFile, 'utf8');
      assert.match(text, /^\d+\n$/);
      pid = Number(text);
      track(pid);
      assert.ok(isAlive(pid));
      if (existsSync(`/proc/${pid}`)) {
        assert.equal(procStat(pid).session, pid, 'a new session (setsid)');
        assert.notEqual(procStat(pid).ppid, process.pid);
        assert.equal(readlinkSync(`/proc/${pid}/cwd`), '/', 'chdir /');
        assert.equal(readlinkSync(`/proc/${pid}/fd/0`), '/dev/null');
        assert.equal(readlinkSync(`/proc/${pid}/fd/1`), '/dev/null');
        assert.equal(readlinkSync(`/proc/${pid}/fd/2`), '/dev/null');
      }
      const c = await TestClient.connect(port);
      await c.waitForText('+OK - Success, connected to virtual\r\n');
      c.sendLine('noop');
      await c.waitForText('virtual\r\n+OK\r\n');
      const t0 = Date.now();
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !isAlive(pid), 2000, 'the daemon to exit after SIGTERM');
      assert.ok(Date.now() - t0 < 2000);
      await c.expectClose(1000);
      assert.equal(existsSync(pidFile), false, 'pid file removed');
      untrack(pid);
    } finally {
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      dir.remove();
    }
  });

  it('SIGHUP and SIGINT stop the daemon too', async () => {
    for (const signal of ['SIGHUP', 'SIGINT'] as const) {
      const dir = tempDir();
      const pidFile = join(dir.path, 'd.pid');
      try {
        const r = await runCli(['-c', 'virtual', '-i', '127.0.0.1', '-p', '0', '--pid-file', pidFile]);
        assert.equal(r.code, 0, r.stderr);
        const pid = Number(readFileSync(pidFile, 'utf8'));
        track(pid);
        process.kill(pid, signal);
        await waitFor(() => !isAlive(pid), 2000, `the daemon to exit after ${signal}`);
        assert.equal(existsSync(pidFile), false);
        untrack(pid);
      } finally {
        dir.remove();
      }
    }
  });

  it('port in use: the parent exits 1 with the message, no daemon is left', async () => {
    const blocker = createTcpServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    const dir = tempDir();
    try {
      const pidFile = join(dir.path, 'x.pid');
      const r = await runCli(['-c', 'virtual', '-i', '127.0.0.1', '-p', String(port), '--pid-file', pidFile]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `uvscpd: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE); is another uvscpd running? choose another port with -p\n`,
      );
      assert.equal(existsSync(pidFile), false);
    } finally {
      blocker.close();
      dir.remove();
    }
  });

  it('-c lo: the parent exits 1 with EAFNOSUPPORT (no CAN in this kernel) or ENODEV (not a CAN interface)', async () => {
    const r = await runCli(['-c', 'lo', '-i', '127.0.0.1', '-p', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^uvscpd: .*'lo'.*\((EAFNOSUPPORT|ENODEV)\).*\n$/);
    assert.equal(r.stderr.split('\n').length, 2);
  });

  it('a warning the daemon logs while starting is printed by the starting command, once', async () => {
    const dir = tempDir();
    const pidFile = join(dir.path, 'open.pid');
    let pid = 0;
    try {
      // Listening on all addresses without credentials: the server warns.
      const r = await runCliOnFreePort((p) => ['-c', 'virtual', '-i', '0.0.0.0', '-p', String(p), '--pid-file', pidFile]);
      assert.equal(r.code, 0, r.stderr);
      pid = Number(readFileSync(pidFile, 'utf8'));
      track(pid);
      assert.equal(
        r.stderr,
        `uvscpd: warning: listening on 0.0.0.0:${r.port} without credentials: anyone who can reach this port can send on the CAN bus\n`,
      );
      assert.equal(r.stdout, '');
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !isAlive(pid), 2000, 'the daemon to exit');
      untrack(pid);
    } finally {
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
      dir.remove();
    }
  });

  it('--log-level error: no warning on the terminal either', async () => {
    const dir = tempDir();
    const pidFile = join(dir.path, 'quiet.pid');
    try {
      const r = await runCli(['-c', 'virtual', '-i', '0.0.0.0', '-p', '0', '--pid-file', pidFile, '--log-level', 'error']);
      assert.equal(r.code, 0, r.stderr);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      track(pid);
      assert.equal(r.stderr, '');
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !isAlive(pid), 2000, 'the daemon to exit');
      untrack(pid);
    } finally {
      dir.remove();
    }
  });

  it('a pid file that cannot be written is a start-up error (exit 1), no daemon is left', async () => {
    const r = await runCli(['-c', 'virtual', '-i', '127.0.0.1', '-p', '0', '--pid-file', '/nonexistent-uvscpd-dir/x.pid']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^uvscpd: cannot write the pid file \/nonexistent-uvscpd-dir\/x\.pid: ENOENT/);
  });

  it('a relative --pid-file is relative to the directory uvscpd was started in', async () => {
    const dir = tempDir();
    try {
      const r = await runCli(['-c', 'virtual', '-i', '127.0.0.1', '-p', '0', '--pid-file', 'rel.pid'], { cwd: dir.path });
      assert.equal(r.code, 0, r.stderr);
      const pid = Number(readFileSync(join(dir.path, 'rel.pid'), 'utf8'));
      track(pid);
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !isAlive(pid), 2000, 'exit');
      await waitFor(() => !existsSync(join(dir.path, 'rel.pid')), 1000, 'the pid file to go');
      untrack(pid);
    } finally {
      dir.remove();
    }
  });

  it('invalid options are reported by the parent (exit 2), no daemon started', async () => {
    const r = await runCli(['-c', 'virtual', '-p', 'abc']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "uvscpd: invalid port 'abc': expected 0..65535\n");
  });

  it('the pid file is replaced atomically and left alone when it names another process', async () => {
    const dir = tempDir();
    const pidFile = join(dir.path, 'p.pid');
    try {
      const r = await runCli(['-c', 'virtual', '-i', '127.0.0.1', '-p', '0', '--pid-file', pidFile]);
      assert.equal(r.code, 0, r.stderr);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      track(pid);
      // Someone else took over the pid file: the daemon must not delete it on exit.
      const { writeFileSync } = await import('node:fs');
      writeFileSync(pidFile, '1\n');
      process.kill(pid, 'SIGTERM');
      await waitFor(() => !isAlive(pid), 2000, 'exit');
      await sleep(50);
      assert.equal(readFileSync(pidFile, 'utf8'), '1\n');
      untrack(pid);
    } finally {
      dir.remove();
    }
  });
});
