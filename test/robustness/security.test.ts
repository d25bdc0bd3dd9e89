// Security (design.md "Auth"). A warning when listening on a
// non-loopback address without enforced credentials; with requireLogin,
// nothing but user, pass, noop, quit, help, vers/version and `+` works
// before login (every word of COMMAND_WORDS tried) and a wrong password
// closes the session; secrets are compared with crypto.timingSafeEqual on
// fixed-size digests and never logged (server logger at debug level, and
// the CLI's stderr at --log-level debug).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { COMMAND_WORDS, Credentials, VscpServer, type Logger } from '../../lib/server/index.js';
import { TestClient } from '../helpers/client.js';
import { startServer } from '../helpers/server.js';
import { Foreground, killAll } from '../helpers/cli.js';

after(() => killAll());

// The module object itself (an ES namespace import would be a frozen copy).
const crypto = require('node:crypto') as typeof import('node:crypto');

const USER = 'Operator7';
const SECRET = 'S3cr3t-Pa55-QXZ';
const WRONG = 'Wr0ng-Gu3ss-JKV';
const NEED_LOGIN = '-OK - Need to log in to perform this command.';
const BEFORE_LOGIN = new Set(['+', 'user', 'pass', 'noop', 'quit', 'help', 'vers', 'version']);

class CapturingLogger implements Logger {
  readonly lines: string[] = [];
  debug(msg: string): void {
    this.lines.push(`debug: ${msg}`);
  }
  info(msg: string): void {
    this.lines.push(`info: ${msg}`);
  }
  warn(msg: string): void {
    this.lines.push(`warn: ${msg}`);
  }
  error(msg: string): void {
    this.lines.push(`error: ${msg}`);
  }
}

async function listenWarnings(options: { host: string; user?: string; password?: string; requireLogin?: boolean }): Promise<string[]> {
  const logger = new CapturingLogger();
  const server = new VscpServer({ bus: new VirtualCanBus({ interfaces: ['vcan0'] }), canInterface: 'vcan0', port: 0, logger, ...options });
  await server.listen();
  await server.close();
  return logger.lines.filter((l) => l.startsWith('warn: '));
}

test('a non-loopback listener without enforced credentials logs a warning; loopback or enforced login does not', { timeout: 10_000 }, async () => {
  const open = await listenWarnings({ host: '0.0.0.0' });
  assert.equal(open.length, 1, JSON.stringify(open));
  assert.match(open[0]!, /^warn: listening on 0\.0\.0\.0:\d+ without credentials: anyone who can reach this port can send on the CAN bus$/);
  const notEnforced = await listenWarnings({ host: '0.0.0.0', user: USER, password: SECRET });
  assert.equal(notEnforced.length, 1);
  assert.match(notEnforced[0]!, /credentials that are not enforced \(requireLogin is off\): anyone who can reach this port/);
  assert.ok(!notEnforced[0]!.includes(SECRET) && !notEnforced[0]!.includes(USER));
  assert.deepEqual(await listenWarnings({ host: '0.0.0.0', user: USER, password: SECRET, requireLogin: true }), []);
  assert.deepEqual(await listenWarnings({ host: '127.0.0.1' }), []);
  assert.deepEqual(await listenWarnings({ host: '127.0.0.2' }), []);
});

/** A plausible valid argument list per word, so that only the login check can refuse it. */
function argsFor(word: string): string {
  switch (word) {
    case 'send':
      return ' 0,20,3,,,,-,1';
    case 'sflt':
    case 'setfilter':
    case 'smsk':
    case 'setmask':
      return ' 0,0,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0';
    case 'sgid':
    case 'setguid':
      return ' 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:1';
    case 'interface':
      return ' list';
    case 'retr':
    case 'retrieve':
      return ' 0';
    default:
      return '';
  }
}

test('requireLogin: every command word except user/pass/noop/quit/help/vers/version/+ is refused before login; a wrong password closes', { timeout: 20_000 }, async () => {
  const logger = new CapturingLogger();
  const s = await startServer({ user: USER, password: SECRET, requireLogin: true, logger });
  try {
    const c = await s.client();
    assert.ok(COMMAND_WORDS.length >= 30);
    const gated = COMMAND_WORDS.filter((w) => !BEFORE_LOGIN.has(w));
    for (const word of gated) {
      assert.deepEqual(await c.command(word + argsFor(word)), [NEED_LOGIN], word);
      assert.deepEqual(await c.command(word.toUpperCase() + argsFor(word)), [NEED_LOGIN], word.toUpperCase());
      assert.deepEqual(await c.command('+'), [NEED_LOGIN], `+ after ${word}`);
    }
    assert.deepEqual(await c.command('noop'), ['+OK']);
    assert.equal((await c.command('vers')).at(-1), '+OK');
    assert.equal((await c.command('version')).at(-1), '+OK');
    assert.equal((await c.command('help')).at(-1), '+OK');
    const helpText = await c.command('help');
    assert.deepEqual(await c.command('+'), helpText, '+ repeats an allowed command');
    // Half a login is not a login.
    assert.deepEqual(await c.command(`user ${USER}`), ['+OK']);
    assert.deepEqual(await c.command('cdta'), [NEED_LOGIN]);
    assert.deepEqual(await c.command(`user ${USER.toLowerCase()}`), ['-OK - invalid user'], 'D10: case matters');
    // A wrong password ends the session at once: lines after it are not run.
    c.write(`pass ${WRONG}\r\nnoop\r\n`);
    assert.deepEqual(await c.expectClose(), ['-OK - invalid password']);

    // The right credentials open everything.
    const ok = await s.client();
    assert.deepEqual(await ok.command(`user ${USER}`), ['+OK']);
    assert.deepEqual(await ok.command(`pass ${SECRET}`), ['+OK']);
    for (const word of COMMAND_WORDS) {
      if (['quit', 'rcvloop', 'receiveloop', '+', 'restart', 'shutdown', 'user', 'pass'].includes(word)) continue;
      const reply = await ok.command(word + argsFor(word));
      assert.notEqual(reply.at(-1), NEED_LOGIN, word);
      assert.match(reply.at(-1)!, /^\+OK/, `${word}: ${JSON.stringify(reply)}`);
    }
    assert.ok((await ok.command('info')).includes('login: required, logged in'));
    // Neither secret appeared in any log line.
    const all = logger.lines.join('\n');
    assert.ok(!all.includes(SECRET) && !all.includes(WRONG), all);
  } finally {
    await s.close();
  }
});

test('credentials are compared with crypto.timingSafeEqual on equal-length digests, whatever the input length', () => {
  const calls: [number, number][] = [];
  const real = crypto.timingSafeEqual;
  (crypto as { timingSafeEqual: typeof real }).timingSafeEqual = (a, b) => {
    calls.push([a.byteLength, b.byteLength]);
    return real(a, b);
  };
  try {
    const creds = new Credentials(USER, SECRET);
    const inputs = ['', 'x', SECRET.slice(0, -1), SECRET, SECRET + 'x', 'y'.repeat(300), '\u00e9'];
    const results = inputs.map((p) => creds.checkPassword(p));
    assert.deepEqual(results, inputs.map((p) => p === SECRET));
    assert.equal(creds.checkUser(USER), true);
    assert.equal(creds.checkUser(USER + ' '), false);
    assert.equal(calls.length, inputs.length + 2, 'every comparison goes through timingSafeEqual');
    assert.ok(calls.every(([a, b]) => a === 32 && b === 32), `compared lengths ${JSON.stringify(calls)}`);
    // The secret itself is not kept as text on the object.
    assert.ok(!JSON.stringify(Object.values(creds)).includes(SECRET));
    assert.ok(!Object.values(creds).some((v) => typeof v === 'string' && v.includes(SECRET)));
  } finally {
    (crypto as { timingSafeEqual: typeof real }).timingSafeEqual = real;
  }
});

test('the CLI at --log-level debug never logs the password or a wrong guess', { timeout: 20_000 }, async () => {
  const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0', '-U', USER, '-P', SECRET, '--require-login', '--log-level', 'debug']);
  try {
    const port = await d.listening();
    for (const pw of [WRONG, SECRET]) {
      const c = await TestClient.connect(port);
      c.socket.write(`user ${USER}\r\npass ${pw}\r\nsend 0,20,3,,,,-,1\r\nquit\r\n`);
      await c.expectClose(3000).catch(() => undefined);
      c.destroy();
    }
    const raw = await TestClient.connect(port);
    raw.write(`pass ${SECRET}x\r\n`);
    await raw.expectClose();
    d.child.kill('SIGTERM');
    const exit = await d.waitExit(3000);
    assert.equal(exit.code, 0);
    assert.match(d.stderr, /session \d+ .*closed/, 'the log did record the sessions');
    assert.ok(!d.stderr.includes(SECRET), d.stderr);
    assert.ok(!d.stderr.includes(WRONG), d.stderr);
  } finally {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  }
});
