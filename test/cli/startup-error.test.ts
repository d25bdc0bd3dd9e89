// lib/cli/startup-error.ts: start-up failures classified by what failed, with
// real errors: net's own listener errors, the binding's CanError (from the
// addon: EAFNOSUPPORT on a kernel without CAN, ENODEV with CAN; the
// not-a-CAN-interface case runs in the CAN guest, test/socketcan/cli-can-errors),
// and the addon that does not load.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createServer, type Server } from 'node:net';
import { constants } from 'node:os';
import { canError, SocketCanBus } from '../../lib/can/socketcan.js';
import type { CanError } from '../../lib/can/types.js';
import { describeStartupError } from '../../lib/cli/startup-error.js';
import { killAll, runCli } from '../helpers/cli.js';

after(killAll);

const cfg = { host: '127.0.0.1', port: 8598 };

function listenError(host: string, port: number): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', resolve);
    srv.listen(port, host, () => srv.close(() => reject(new Error(`listening on ${host}:${port} succeeded`))));
  });
}

describe('start-up errors: the TCP listener', () => {
  it("net's own EADDRINUSE: the address, the code and a way out", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const err = await listenError('127.0.0.1', port);
      assert.equal(
        describeStartupError(err, { host: '127.0.0.1', port }),
        `cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE); is another uvscpd running? choose another port with -p`,
      );
    } finally {
      blocker.close();
    }
  });

  it("net's own EADDRNOTAVAIL for an address not on this machine", async () => {
    const err = await listenError('192.0.2.1', 0);
    assert.equal(describeStartupError(err, { host: '192.0.2.1', port: 0 }), 'cannot listen on 192.0.2.1:0: no such local address (EADDRNOTAVAIL)');
  });

  it('permission, IPv6 brackets, the default address', () => {
    const err = (code: string): Error => Object.assign(new Error(`listen ${code}`), { code, syscall: 'listen' });
    assert.match(describeStartupError(err('EACCES'), { ...cfg, port: 80 }), /^cannot listen on 127\.0\.0\.1:80: permission denied \(EACCES\); ports below 1024/);
    assert.match(describeStartupError(err('EADDRNOTAVAIL'), { ...cfg, host: '::1' }), /^cannot listen on \[::1\]:8598:/);
    assert.match(describeStartupError(err('EADDRINUSE'), { ...cfg, host: undefined }), /^cannot listen on 0\.0\.0\.0:8598:/);
    assert.equal(describeStartupError(err('EMFILE'), cfg), 'cannot listen on 127.0.0.1:8598: listen EMFILE');
  });
});

describe('start-up errors: the CAN side reports with the binding\'s message', () => {
  it('a CAN bind(2) failure is not a listen failure', () => {
    const err = canError(constants.errno.ENODEV, 'bind', 'lo', 'not-can');
    assert.equal(err.syscall, 'bind');
    const line = describeStartupError(err, cfg);
    assert.equal(line, err.message);
    assert.match(line, /^'lo' is not a CAN interface \(ENODEV\)/);
  });

  it('the addon\'s own error for an interface it cannot open here', () => {
    let err: CanError | undefined;
    try {
      new SocketCanBus().open('nosuchcan0').close();
    } catch (e) {
      err = e as CanError;
    }
    assert.ok(err !== undefined, 'nosuchcan0 does not open');
    assert.ok(err.code === 'EAFNOSUPPORT' || err.code === 'ENODEV', err.message);
    const line = describeStartupError(err, cfg);
    assert.equal(line, err.message);
    assert.ok(line.includes("'nosuchcan0'") && line.includes(`(${err.code})`), line);
    assert.ok(!line.includes('\n'));
  });

  it('an addon that does not load: its whole message, on one line', async () => {
    const r = await runCli(['-s', '-c', 'can0', '-i', '127.0.0.1', '-p', '0'], {
      env: { ...process.env, UVSCPD_ADDON: '/nonexistent/uvscpd.node' },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: the uvscpd native addon could not be loaded; tried: \/nonexistent\/uvscpd\.node \(not found\); Build it with `npm run build:native`.* or set UVSCPD_ADDON/,
    );
    assert.doesNotMatch(r.stderr, /cannot listen/);
  });

  it('anything else: its message and code', () => {
    assert.equal(describeStartupError(Object.assign(new Error('boom'), { code: 'EPERM' }), cfg), 'boom (EPERM)');
    assert.equal(describeStartupError(Object.assign(new Error('some EACCES text'), { code: 'EACCES' }), cfg), 'some EACCES text');
    assert.equal(describeStartupError('plain', cfg), 'plain');
  });
});
