// The `uvscpd` command as a process: `node bin/uvscpd.js ...` in the
// foreground (-s) against the built-in virtual bus on 127.0.0.1. Every
// option, its exit status and message; signals with a client connected;
// start-up errors. Runs anywhere (no CAN needed).

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createServer as createTcpServer } from 'node:net';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BIN, Foreground, freePort, isAlive, killAll, runCli, sleep, tempDir, track, untrack, waitFor } from '../helpers/cli.js';
import { TestClient } from '../helpers/client.js';

after(killAll);

const BASE = ['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0'];

/** Start a foreground daemon with BASE + extra args; returns it and its port. */
async function start(extra: string[] = [], env?: NodeJS.ProcessEnv): Promise<{ d: Foreground; port: number }> {
  const d = new Foreground([...BASE, ...extra], env);
  const port = await d.listening();
  return { d, port };
}

/**
 * Start on a port that was free a moment ago; a test running in parallel may
 * take it in between, so EADDRINUSE is retried on another port. `ready`
 * decides when it is up (default: the "listening on" log line).
 */
async function startOnFreePort(extra: string[], ready?: () => boolean): Promise<{ d: Foreground; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', String(port), ...extra]);
    let exited = false;
    void d.exit.then(() => (exited = true));
    if (ready === undefined) await d.listening().catch(() => undefined);
    else await waitFor(() => ready() || exited, 10000, 'uvscpd to start');
    if (!exited) return { d, port };
    if (!d.stderr.includes('EADDRINUSE') || attempt >= 4) throw new Error(`uvscpd did not start:\n${d.stderr}`);
  }
}

async function stop(d: Foreground): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGTERM');
  await d.waitExit(3000);
}

const BANNER_END = '+OK - Success, connected to virtual\r\n';

describe('uvscpd -h / -v', { timeout: 20000 }, () => {
  for (const flag of ['-h', '--help']) {
    it(`${flag}: usage on stdout, exit 0, nothing on stderr`, async () => {
      const r = await runCli([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^Usage: uvscpd \[options\]/);
      for (const opt of [
        '--help',
        '--version',
        '--stay',
        '--user',
        '--password',
        '--canbus',
        '--ip',
        '--port',
        '--guid',
        '--fifo-size',
        '--max-clients',
        '--require-login',
        '--idle-timeout',
        '--rcvbuf',
        '--pid-file',
        '--log-level',
        '--syslog',
        '--no-syslog',
        'SIGHUP',
      ]) {
        assert.ok(r.stdout.includes(opt), `help mentions ${opt}`);
      }
    });
  }
  for (const flag of ['-v', '--version']) {
    it(`${flag}: clean lines on stdout (D8), exit 0`, async () => {
      const r = await runCli([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
      const lines = r.stdout.split('\n');
      assert.equal(lines[0], `uvscpd ${pkg.version}`);
      assert.ok(r.stdout.endsWith('\n'));
      assert.ok(lines.length >= 3);
    });
  }
});

describe('uvscpd: invalid options exit 2 with one line on stderr', { timeout: 60000 }, () => {
  const cases: Array<[string[], string]> = [
    [['-p', 'abc'], "uvscpd: invalid port 'abc': expected 0..65535"],
    [['-p', '70000'], "uvscpd: invalid port '70000': expected 0..65535"],
    [['-p', '-1'], "uvscpd: invalid port '-1': expected 0..65535"],
    [['-g', 'bad'], "uvscpd: invalid guid 'bad'"],
    [['-i', '999.1.1.1'], "uvscpd: invalid ip address '999.1.1.1'"],
    [['-i', 'not-an-ip'], "uvscpd: invalid ip address 'not-an-ip'"],
    [['-c', 'way_too_long_name'], "uvscpd: invalid CAN interface 'way_too_long_name'"],
    [['--bogus'], "uvscpd: unknown option '--bogus'"],
    [['-q'], "uvscpd: unknown option '-q'"],
    [['-p'], 'uvscpd: option -p/--port requires a value'],
    [['--guid'], 'uvscpd: option -g/--guid requires a value'],
    [['--fifo-size', '0'], "uvscpd: invalid fifo size '0'"],
    [['--max-clients', 'x'], "uvscpd: invalid client limit 'x'"],
    [['--idle-timeout', 'soon'], "uvscpd: invalid idle timeout 'soon'"],
    [['--rcvbuf', '-1'], "uvscpd: invalid receive buffer size '-1'"],
    [['--log-level', 'chatty'], "uvscpd: invalid log level 'chatty'"],
    [['--require-login', '-U', 'u'], 'uvscpd: option --require-login needs both -U/--user and -P/--password'],
    [['stray'], "uvscpd: unexpected argument 'stray'"],
  ];
  for (const [args, prefix] of cases) {
    it(`${args.join(' ')}`, async () => {
      // -s and the virtual bus: were the options accepted, it would run instead of exiting.
      const r = await runCli(['-s', '-c', 'virtual', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(r.stderr.startsWith(prefix), r.stderr);
      assert.equal(r.stderr.split('\n').length, 2, 'exactly one line');
    });
  }
});

describe('uvscpd -s: foreground service', { timeout: 60000 }, () => {
  it('serves the banner over TCP, logs start/listening/sessions on stderr', async () => {
    const { d, port } = await start();
    try {
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.sendLine('vers');
      await c.waitForText(/\r\n\d+,\d+,\d+,\d+\r\n\+OK\r\n$/);
      c.sendLine('quit');
      await c.expectClose();
      await sleep(100);
      assert.match(d.stderr, new RegExp(`^uvscpd\\[${d.pid}\\]: info: uvscpd \\S+ starting`, 'm'));
      assert.match(d.stderr, new RegExp(`uvscpd\\[${d.pid}\\]: info: listening on 127\\.0\\.0\\.1:${port}, CAN interface virtual`));
      assert.match(d.stderr, /session 1 opened from 127\.0\.0\.1:\d+/);
      assert.match(d.stderr, /session 1 from 127\.0\.0\.1:\d+ closed/);
      assert.equal(d.stdout, '');
    } finally {
      await stop(d);
    }
  });

  it('--stay works like -s, and -s can be clustered (-sc virtual)', async () => {
    const d1 = new Foreground(['--stay', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0']);
    const d2 = new Foreground(['-sc', 'virtual', '-i', '127.0.0.1', '-p', '0']);
    try {
      await d1.listening();
      await d2.listening();
    } finally {
      await stop(d1);
      await stop(d2);
    }
  });

  it('-p: listens on the given port', async () => {
    const { d, port } = await startOnFreePort([]);
    try {
      assert.equal(await d.listening(), port);
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.destroy();
    } finally {
      await stop(d);
    }
  });

  it('-i ::1: IPv6 literals work (skipped without IPv6 loopback)', async (t) => {
    const probe = createTcpServer();
    const ok = await new Promise<boolean>((r) => {
      probe.once('error', () => r(false));
      probe.listen(0, '::1', () => probe.close(() => r(true)));
    });
    if (!ok) {
      t.skip('no IPv6 loopback here');
      return;
    }
    const d = new Foreground(['-s', '-c', 'virtual', '-i', '::1', '-p', '0']);
    try {
      const port = await d.listening();
      const c = await TestClient.connect(port, '::1');
      await c.waitForText(BANNER_END);
      c.destroy();
    } finally {
      await stop(d);
    }
  });

  it('-g sets the connections\' GUID', async () => {
    const { d, port } = await start(['-g', 'FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00']);
    try {
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.sendLine('ggid');
      await c.waitForText('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:0\r\n+OK\r\n');
      c.destroy();
    } finally {
      await stop(d);
    }
  });

  it('-U/-P: checked (not enforced) and never logged', async () => {
    const { d, port } = await start(['-U', 'admin', '-P', 'Sekr1t-pw', '--log-level', 'debug']);
    try {
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.sendLine('user admin');
      c.sendLine('pass wrong');
      c.sendLine('pass Sekr1t-pw');
      c.sendLine('noop');
      await c.waitForText('+OK\r\n-OK - invalid password\r\n+OK\r\n+OK\r\n');
      c.sendLine('quit');
      await c.expectClose();
      await sleep(100);
      assert.ok(!d.stderr.includes('Sekr1t-pw'), 'the password never appears in the log');
      if (existsSync(`/proc/${d.pid}/cmdline`)) {
        const cmdline = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8');
        assert.ok(!cmdline.includes('Sekr1t-pw'), `ps does not show the password: ${cmdline}`);
        assert.match(cmdline, /^uvscpd .*-P \*\*\*/);
      }
      assert.ok(!d.stderr.includes('wrong'), 'nor a password attempt');
    } finally {
      await stop(d);
    }
  });

  it('--password-file: the first line is the password; it never reaches the log or ps', async () => {
    const dir = tempDir();
    const file = join(dir.path, 'password');
    writeFileSync(file, 'Fi1e-pw\n', { mode: 0o600 });
    const { d, port } = await start(['-U', 'admin', '--password-file', file, '--require-login', '--log-level', 'debug']);
    try {
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.sendLine('user admin');
      c.sendLine('pass Fi1e-pw');
      c.sendLine('cdta');
      await c.waitForText('+OK\r\n+OK\r\n0 \r\n+OK\r\n');
      c.sendLine('quit');
      await c.expectClose();
      assert.ok(!d.stderr.includes('Fi1e-pw'), 'the password never appears in the log');
      if (existsSync(`/proc/${d.pid}/cmdline`)) assert.ok(!readFileSync(`/proc/${d.pid}/cmdline`, 'utf8').includes('Fi1e-pw'));
    } finally {
      await stop(d);
      dir.remove();
    }
  });

  it('--password-file: a missing or empty file is a clear error with status 2', async () => {
    const dir = tempDir();
    try {
      const missing = await runCli(['-s', '-c', 'virtual', '-U', 'a', '--password-file', join(dir.path, 'nope')]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^uvscpd: cannot read password file '.*nope' \(ENOENT\)\n$/);
      const empty = join(dir.path, 'empty');
      writeFileSync(empty, '\n');
      const r = await runCli(['-s', '-c', 'virtual', '-U', 'a', '--password-file', empty]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^uvscpd: password file '.*empty' is empty\n$/);
    } finally {
      dir.remove();
    }
  });

  it('--require-login: commands need a login; a wrong password closes the session', async () => {
    const { d, port } = await start(['--require-login', '-U', 'admin', '-P', 'pw']);
    try {
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.sendLine('cdta');
      await c.waitForText('-OK - Need to log in to perform this command.\r\n');
      c.sendLine('user admin');
      c.sendLine('pass pw');
      c.sendLine('cdta');
      await c.waitForText('+OK\r\n+OK\r\n0 \r\n+OK\r\n');
      c.destroy();
      const c2 = await TestClient.connect(port);
      await c2.waitForText(BANNER_END);
      c2.sendLine('user admin');
      c2.sendLine('pass nope');
      await c2.expectClose();
    } finally {
      await stop(d);
    }
  });

  it('--max-clients: one over the limit is told and closed', async () => {
    const { d, port } = await start(['--max-clients', '1']);
    try {
      const a = await TestClient.connect(port);
      await a.waitForText(BANNER_END);
      const b = await TestClient.connect(port);
      await b.expectClose();
      assert.equal(b.receivedText, '-OK - Max number of clients connected.\r\n');
      a.destroy();
    } finally {
      await stop(d);
    }
  });

  it('--fifo-size: the buffer keeps the newest N (virtual bus shared by all sessions)', async () => {
    const { d, port } = await start(['--fifo-size', '2']);
    try {
      const rx = await TestClient.connect(port);
      await rx.waitForText(BANNER_END);
      const tx = await TestClient.connect(port);
      await tx.waitForText(BANNER_END);
      for (let i = 1; i <= 3; i++) tx.sendLine(`send 0,20,3,,,,-,${i}`);
      await tx.waitForText(/(\+OK\r\n){3}$/);
      await sleep(100);
      rx.sendLine('cdta');
      await rx.waitForText('2 \r\n+OK\r\n');
      rx.sendLine('retr 2');
      await rx.waitForText(/,2\r\n.*,3\r\n\+OK\r\n$/s);
      rx.destroy();
      tx.destroy();
    } finally {
      await stop(d);
    }
  });

  it('--idle-timeout: an idle client is closed', async () => {
    const { d, port } = await start(['--idle-timeout', '1']);
    try {
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      const t0 = Date.now();
      await c.expectClose(4000);
      assert.ok(Date.now() - t0 >= 800, 'not before the timeout');
    } finally {
      await stop(d);
    }
  });

  it('--rcvbuf is accepted and passed on', async () => {
    const { d, port } = await start(['--rcvbuf', '65536']);
    try {
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.destroy();
    } finally {
      await stop(d);
    }
  });

  it('--log-level error: nothing but errors; debug: at least as much as info', async () => {
    const dir = tempDir();
    try {
      const pidFile = join(dir.path, 'quiet.pid');
      // Nothing is logged, so readiness is seen through the pid file (written once listening).
      const { d: quiet, port } = await startOnFreePort(['--log-level', 'error', '--pid-file', pidFile], () => existsSync(pidFile));
      try {
        const c = await TestClient.connect(port);
        await c.waitForText(BANNER_END);
        c.destroy();
      } finally {
        await stop(quiet);
      }
      assert.equal(quiet.stderr, '');
    } finally {
      dir.remove();
    }
    const loud = await start(['--log-level', 'debug']);
    await stop(loud.d);
    assert.match(loud.d.stderr, /info: listening on/);
  });

  it('--log-level debug adds the options in effect (never the password); info does not', async () => {
    const debug = await start(['--log-level', 'debug', '-U', 'admin', '-P', 'Dbg-pw1', '--fifo-size', '7']);
    await stop(debug.d);
    assert.match(
      debug.d.stderr,
      /debug: options: CAN interface virtual, listen on 127\.0\.0\.1 port 0, guid 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0, fifo 7 events, .*user admin, password set,/,
    );
    assert.ok(!debug.d.stderr.includes('Dbg-pw1'));
    const info = await start([]);
    await stop(info.d);
    assert.doesNotMatch(info.d.stderr, /debug:/);
  });

  it('stderr connected to the journal (JOURNAL_STREAM matches): <N> priority prefixes', async () => {
    const dir = tempDir();
    try {
      const logPath = join(dir.path, 'journal.log');
      const fd = openSync(logPath, 'w');
      const st = fstatSync(fd);
      const child = spawn(process.execPath, [BIN, ...BASE], {
        stdio: ['ignore', 'ignore', fd],
        env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` },
      });
      closeSync(fd);
      track(child.pid);
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      await waitFor(() => readFileSync(logPath, 'utf8').includes('listening on'), 10000, 'the listening line');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      untrack(child.pid);
      const lines = readFileSync(logPath, 'utf8').trim().split('\n');
      assert.match(lines[0] as string, /^<6>info: uvscpd \S+ starting/);
      assert.ok(lines.some((l) => /^<6>info: listening on 127\.0\.0\.1:\d+, CAN interface virtual$/.test(l)));
      assert.ok(lines.every((l) => /^<[3467]>(error|warn|info|debug): /.test(l)), lines.join('\n'));
    } finally {
      dir.remove();
    }
  });

  it('--pid-file in the foreground: written once listening, removed on exit', async () => {
    const dir = tempDir();
    try {
      const pidFile = join(dir.path, 'uvscpd.pid');
      const { d } = await start(['--pid-file', pidFile]);
      // The server logs "listening" just before listen() resolves and the pid file is written.
      await waitFor(() => existsSync(pidFile), 5000, 'the pid file');
      assert.equal(readFileSync(pidFile, 'utf8'), `${d.pid}\n`);
      await stop(d);
      assert.equal(existsSync(pidFile), false);
    } finally {
      dir.remove();
    }
  });
});

describe('uvscpd -s: warnings while starting reach the terminal once', { timeout: 30000 }, () => {
  const OPEN = /listening on 0\.0\.0\.0:(\d+) without credentials: anyone who can reach this port can send on the CAN bus/g;

  it('logging on stderr: the log line is the one', async () => {
    const d = new Foreground(['-s', '-c', 'virtual', '-i', '0.0.0.0', '-p', '0']);
    try {
      const port = await d.listening();
      await waitFor(() => d.stderr.includes('without credentials'), 5000, 'the warning');
      await stop(d);
      const found = [...d.stderr.matchAll(OPEN)];
      assert.equal(found.length, 1, d.stderr);
      assert.equal(Number(found[0]?.[1]), port);
      assert.match(d.stderr, new RegExp(`^uvscpd\\[${d.pid}\\]: warn: listening on 0\\.0\\.0\\.0:${port} without credentials`, 'm'));
    } finally {
      await stop(d);
    }
  });

  it('logging to syslog (--syslog): printed on stderr as well', async () => {
    const d = new Foreground(['-s', '--syslog', '-c', 'virtual', '-i', '0.0.0.0', '-p', '0']);
    try {
      await waitFor(() => d.stderr.includes('without credentials'), 10000, 'the warning');
      await stop(d);
      assert.equal([...d.stderr.matchAll(OPEN)].length, 1, d.stderr);
      assert.match(d.stderr, /^uvscpd: warning: listening on 0\.0\.0\.0:\d+ without credentials/m);
    } finally {
      await stop(d);
    }
  });
});

describe('uvscpd: signals stop it gracefully with a client connected', { timeout: 30000 }, () => {
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${signal}: client's connection closes, exit 0 within 2 s`, async () => {
      const { d, port } = await start();
      const c = await TestClient.connect(port);
      await c.waitForText(BANNER_END);
      c.sendLine('rcvloop');
      await c.waitForText('+OK\r\n');
      const t0 = Date.now();
      d.child.kill(signal);
      const { code, signal: killedBy, at } = await d.waitExit(4000);
      assert.equal(killedBy, null);
      assert.equal(code, 0);
      assert.ok(at - t0 < 2000, `exited after ${at - t0} ms`);
      await c.expectClose(1000);
      assert.match(d.stderr, new RegExp(`info: ${signal} received: shutting down`));
      assert.match(d.stderr, new RegExp(`info: stopped \\(${signal}\\)`));
    });
  }
  it('a second signal during shutdown exits at once', async () => {
    const { d } = await start();
    d.child.kill('SIGTERM');
    d.child.kill('SIGTERM');
    const { code } = await d.waitExit(3000);
    assert.equal(code, 0);
  });
});

describe('uvscpd -s: start-up errors: non-zero exit and a clear message', { timeout: 30000 }, () => {
  it('port in use', async () => {
    const blocker = createTcpServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', String(port)]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`error: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`));
    } finally {
      blocker.close();
    }
  });

  it('-c lo: EAFNOSUPPORT on a kernel without CAN, not a CAN interface (ENODEV) with CAN', async () => {
    const r = await runCli(['-s', '-c', 'lo', '-i', '127.0.0.1', '-p', '0']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: .*'lo'.*\((EAFNOSUPPORT|ENODEV)\)/);
  });

  it('an address not on this machine', async () => {
    const r = await runCli(['-s', '-c', 'virtual', '-i', '192.0.2.1', '-p', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot listen on 192\.0\.2\.1:0: .*EADDRNOTAVAIL/);
  });

  it('leaves no process behind', async () => {
    const r = await runCli(['-s', '-c', 'lo', '-p', '0', '-i', '127.0.0.1']);
    assert.notEqual(r.code, 0);
    const pid = /uvscpd\[(\d+)\]/.exec(r.stderr);
    if (pid !== null) assert.equal(isAlive(Number(pid[1])), false);
  });
});
