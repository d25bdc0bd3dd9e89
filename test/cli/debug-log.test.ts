// --log-level debug: one line per command a client sends, with its status,
// for whoever debugs a client; the PASS argument never appears. At info
// there is no debug line at all.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Foreground, killAll } from '../helpers/cli.js';
import { TestClient } from '../helpers/client.js';

after(killAll);

const BASE = ['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0'];
const BANNER_END = '+OK - Success, connected to virtual\r\n';
const SECRET = 'Dbg-Secret-77';

/** Start, run a client through `lines`, stop; returns the daemon's stderr. */
async function session(level: string, lines: string[], expected: string): Promise<string> {
  const d = new Foreground([...BASE, '--log-level', level, '-U', 'admin', '-P', SECRET]);
  try {
    const port = await d.listening();
    const c = await TestClient.connect(port);
    await c.waitForText(BANNER_END);
    for (const line of lines) c.sendLine(line);
    await c.waitForText(expected);
    c.sendLine('quit');
    await c.expectClose();
  } finally {
    d.child.kill('SIGTERM');
    await d.waitExit(3000);
  }
  return d.stderr;
}

describe('uvscpd --log-level debug: the commands of a session', { timeout: 30000 }, () => {
  it('debug: `session N: <command> -> <status>` for each command; PASS shows ***', async () => {
    const stderr = await session('debug', ['vers', 'user admin', `pass ${SECRET}`, 'bogus', `pass wrong-${SECRET}`], '-OK - invalid password\r\n');
    const lines = stderr.split('\n');
    assert.ok(lines.some((l) => l.endsWith('debug: session 1: vers -> +OK')), stderr);
    assert.ok(lines.some((l) => l.endsWith('debug: session 1: user admin -> +OK')), stderr);
    assert.equal(lines.filter((l) => l.endsWith('debug: session 1: pass *** -> +OK')).length, 1, stderr);
    assert.ok(lines.some((l) => l.endsWith('debug: session 1: bogus -> -OK - invalid command')), stderr);
    assert.ok(lines.some((l) => l.endsWith('debug: session 1: pass *** -> -OK - invalid password')), stderr);
    assert.ok(lines.some((l) => l.endsWith('debug: session 1: quit -> +OK')), stderr);
    assert.ok(!stderr.includes(SECRET), 'the password never reaches the log');
  });

  it('info: no debug line, the same session', async () => {
    const stderr = await session('info', ['vers', 'user admin', `pass ${SECRET}`], '+OK\r\n+OK\r\n');
    assert.doesNotMatch(stderr, /debug:/);
    assert.match(stderr, /info: session 1 opened/);
    assert.ok(!stderr.includes(SECRET));
  });
});
