// sd_notify (Type=notify) and syslog datagrams, received by a python3
// AF_UNIX SOCK_DGRAM socket (Node cannot bind one). Needs the native addon
// (sendUnixDatagram) and python3: skipped loudly without them, except when
// CI is set, where that is a failure.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { DatagramReceiver, Foreground, havePython3, killAll, tempDir } from '../helpers/cli.js';
import { SyslogLogger } from '../../lib/cli/log.js';

after(killAll);

let missing: string | undefined;
let send: ((path: string, message: string | Buffer) => void) | undefined;

before(async () => {
  try {
    const native = (await import('../../lib/can/native.js')) as typeof import('../../lib/can/native.js');
    native.loadAddon();
    send = (await import('../../lib/cli/unix-datagram.js')).sendUnixDatagram;
  } catch (err) {
    missing = `the native addon does not load (${(err as Error).message.split('\n')[0]})`;
    return;
  }
  if (!(await havePython3())) missing = 'python3 is not installed';
});

function skipUnlessReady(t: { skip(msg: string): void }): boolean {
  if (missing === undefined) return false;
  const msg = `SKIPPED: ${missing}; the sd_notify/syslog tests cannot run`;
  if (process.env['CI']) assert.fail(`${msg} (CI is set, so this is a failure)`);
  process.stderr.write(`\n*** ${msg} ***\n\n`);
  t.skip(msg);
  return true;
}

describe('sd_notify', { timeout: 30000 }, () => {
  it('READY=1 (with MAINPID and STATUS) once listening, STOPPING=1 on SIGTERM', async (t) => {
    if (skipUnlessReady(t)) return;
    const dir = tempDir();
    const path = join(dir.path, 'notify');
    const rx = new DatagramReceiver(path);
    try {
      await rx.started();
      const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0'], { ...process.env, NOTIFY_SOCKET: path });
      const port = await d.listening();
      const ready = await rx.waitFor((m) => m.includes('READY=1'));
      assert.deepEqual(ready.split('\n'), [
        'READY=1',
        `MAINPID=${d.pid}`,
        `STATUS=Listening on 127.0.0.1:${port}, CAN interface virtual`,
      ]);
      d.child.kill('SIGTERM');
      await rx.waitFor((m) => m === 'STOPPING=1');
      assert.equal((await d.waitExit(3000)).code, 0);
      assert.ok(rx.messages.indexOf(ready) < rx.messages.indexOf('STOPPING=1'));
    } finally {
      rx.stop();
      dir.remove();
    }
  });

  it('abstract-namespace NOTIFY_SOCKET (@name)', async (t) => {
    if (skipUnlessReady(t)) return;
    const name = `@uvscpd-test-notify-${process.pid}`;
    const rx = new DatagramReceiver(name);
    try {
      await rx.started();
      const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0'], { ...process.env, NOTIFY_SOCKET: name });
      await d.listening();
      await rx.waitFor((m) => m.startsWith('READY=1\n'));
      d.child.kill('SIGTERM');
      assert.equal((await d.waitExit(3000)).code, 0);
    } finally {
      rx.stop();
    }
  });

  it('an unreachable NOTIFY_SOCKET is logged, not fatal', async (t) => {
    if (skipUnlessReady(t)) return;
    const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0'], {
      ...process.env,
      NOTIFY_SOCKET: '/nonexistent/uvscpd-notify',
    });
    await d.listening();
    d.child.kill('SIGTERM');
    assert.equal((await d.waitExit(3000)).code, 0);
    assert.match(d.stderr, /warn: sd_notify to NOTIFY_SOCKET failed: .*ENOENT|No such file/);
  });
});

describe('syslog datagrams', { timeout: 20000 }, () => {
  it('SyslogLogger with the real sender: `<30>Mmm dd hh:mm:ss uvscpd[pid]: message`', async (t) => {
    if (skipUnlessReady(t)) return;
    const dir = tempDir();
    const path = join(dir.path, 'log');
    const rx = new DatagramReceiver(path);
    try {
      await rx.started();
      const log = new SyslogLogger({ level: 'info', path, send: send as (p: string, m: Buffer) => void, pid: 1234 });
      log.info('listening on 127.0.0.1:8598');
      log.error('boom');
      const info = await rx.waitFor((m) => m.includes('listening'));
      assert.match(info, /^<30>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d uvscpd\[1234\]: listening on 127\.0\.0\.1:8598$/);
      assert.match(await rx.waitFor((m) => m.includes('boom')), /^<27>.* uvscpd\[1234\]: boom$/);
    } finally {
      rx.stop();
      dir.remove();
    }
  });

  it('no syslog daemon: the real send fails with ENOENT, the logger drops the message without an exception', (t) => {
    if (skipUnlessReady(t)) return;
    const failures: string[] = [];
    const recording = (p: string, m: Buffer): void => {
      try {
        send!(p, m);
      } catch (err) {
        failures.push((err as NodeJS.ErrnoException).code ?? String(err));
        throw err;
      }
    };
    const log = new SyslogLogger({ level: 'info', path: '/nonexistent/dev-log', send: recording });
    assert.doesNotThrow(() => log.info('x'));
    assert.deepEqual(failures, ['ENOENT']);
  });
});
