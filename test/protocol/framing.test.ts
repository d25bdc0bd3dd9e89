// Input framing, repeat and quit over real TCP (protocol §1.3–§1.6, §9 #8–#33;
// design.md D11).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versionReply } from '../../lib/version.js';
import { TestClient } from '../helpers/client.js';
import { sleep, startServer } from '../helpers/server.js';
import type { RunningServer } from '../helpers/server.js';

const T = { timeout: 15000 };
const VERS = versionReply();

async function withClient(body: (c: TestClient, s: RunningServer) => Promise<void>): Promise<void> {
  const s = await startServer();
  try {
    await body(await s.client(), s);
  } finally {
    await s.close();
  }
}

test('§9 #8/#9: noop CRLF and noop LF -> +OK', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('noop'), ['+OK']);
    c.write('noop\n');
    assert.deepEqual(await c.readLines(1), ['+OK']);
  }));

test('§9 #10: noop CR without LF gets no reply until the LF', T, () =>
  withClient(async (c) => {
    c.write('noop\r');
    await c.expectSilence(150);
    c.write('\n');
    assert.deepEqual(await c.readLines(1), ['+OK']);
  }));

test('§9 #11/#12/#13: case-insensitive word, surrounding spaces, extra argument', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('NOOP'), ['+OK']);
    assert.deepEqual(await c.command('NoOp'), ['+OK']);
    assert.deepEqual(await c.command('   noop   '), ['+OK']);
    assert.deepEqual(await c.command('noop x'), ['-OK - wrong number of arguments']);
  }));

test('§9 #14/#15/#16: empty line, spaces only, unknown word, no prefix matching', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command(''), ['-OK - no input']);
    assert.deepEqual(await c.command('     '), ['-OK - no input']);
    assert.deepEqual(await c.command('foo'), ['-OK - invalid command']);
    assert.deepEqual(await c.command('noopx'), ['-OK - invalid command']);
    assert.deepEqual(await c.command('noo'), ['-OK - invalid command']);
  }));

test('§9 #17: a command split over 3 segments runs once', T, () =>
  withClient(async (c) => {
    c.write('no');
    await sleep(30);
    c.write('op\r');
    await sleep(30);
    c.write('\nvers\r\n');
    assert.deepEqual(await c.readLines(3), ['+OK', VERS, '+OK']);
    await c.expectSilence(100);
  }));

test('§9 #18: three commands in one segment -> three replies in order', T, () =>
  withClient(async (c) => {
    c.write('noop\r\nvers\r\nfoo\r\n');
    assert.deepEqual(await c.readLines(4), ['+OK', VERS, '+OK', '-OK - invalid command']);
  }));

test('§9 #19: TAB, NUL and CR inside a line are removed', T, () =>
  withClient(async (c) => {
    c.write(Buffer.from('no\top\r\nn\x00o\ro\x1fp\r\n', 'latin1'));
    assert.deepEqual(await c.readLines(2), ['+OK', '+OK']);
  }));

test('§9 #20: noop\\x7f -> invalid command', T, () =>
  withClient(async (c) => {
    c.write(Buffer.from([0x6e, 0x6f, 0x6f, 0x70, 0x7f, 0x0d, 0x0a]));
    assert.deepEqual(await c.readLines(1), ['-OK - invalid command']);
  }));

test('§9 #21 (D11: high bytes kept -> invalid command on every platform)', T, () =>
  withClient(async (c) => {
    for (const b of [0x80, 0xa0, 0xff]) {
      c.write(Buffer.from([0x6e, 0x6f, 0x6f, 0x70, b, 0x0d, 0x0a]));
      assert.deepEqual(await c.readLines(1), ['-OK - invalid command'], `byte 0x${b.toString(16)}`);
    }
  }));

test('§9 #22: 319 characters accepted, 320 rejected', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('noop' + ' '.repeat(315)), ['+OK']);
    assert.deepEqual(await c.command('noop' + ' '.repeat(316)), ['-OK - line length exceeded']);
  }));

test('§9 #23: a 5000-byte line -> exactly one line length exceeded; the next line works', T, () =>
  withClient(async (c) => {
    c.write('x'.repeat(5000) + '\r\nnoop\r\n');
    assert.deepEqual(await c.readLines(2), ['-OK - line length exceeded', '+OK']);
    await c.expectSilence(100);
  }));

test('§9 #24: 1 MB of binary garbage without LF -> no output, no crash; then LF noop', T, () =>
  withClient(async (c, s) => {
    const garbage = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7 + 13) & 0xff || 1;
    for (let i = 0; i < garbage.length; i++) if (garbage[i] === 0x0a) garbage[i] = 0x41;
    c.write(garbage);
    await c.expectSilence(300);
    c.write('\nnoop\r\n');
    assert.deepEqual(await c.readLines(2), ['-OK - line length exceeded', '+OK']);
    assert.equal(s.server.sessionCount, 1);
  }));

test('§9 #24: a 10 MB line without LF keeps memory bounded (O(limit) per session)', { timeout: 30000 }, () =>
  withClient(async (c) => {
    const chunk = Buffer.alloc(1024 * 1024, 0x41);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve) => c.socket.write(chunk, () => resolve()));
    }
    await sleep(200);
    const grownMb = (process.memoryUsage().rss - before) / (1024 * 1024);
    // The client's own buffers live in this process too; the server must not hold 10 MB on top.
    assert.ok(grownMb < 40, `rss grew ${grownMb.toFixed(1)} MB`);
    c.write('\nnoop\r\n');
    assert.deepEqual(await c.readLines(2, 10000), ['-OK - line length exceeded', '+OK']);
  }));

test('§9 #25: more than 10 tokens -> wrong number of arguments', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('send 0,20,3,,,,-,1 a b c d e f g h i j'), ['-OK - wrong number of arguments']);
    assert.deepEqual(await c.command('noop a b c d e f g h i j k l'), ['-OK - wrong number of arguments']);
  }));

test('§9 #26/#27: + first -> no input; vers then + -> VERS again, not echoed', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('+'), ['-OK - no input']);
    assert.deepEqual(await c.command('vers'), [VERS, '+OK']);
    assert.deepEqual(await c.command('+'), [VERS, '+OK']);
  }));

test('§9 #28/#29: foo then + twice invalid; + x wrong args; +5 invalid', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('foo'), ['-OK - invalid command']);
    assert.deepEqual(await c.command('+'), ['-OK - invalid command']);
    assert.deepEqual(await c.command('+ x'), ['-OK - wrong number of arguments']);
    assert.deepEqual(await c.command('+5'), ['-OK - invalid command']);
  }));

test('§9 #30: an overlong line does not replace the history', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('vers'), [VERS, '+OK']);
    assert.deepEqual(await c.command('y'.repeat(400)), ['-OK - line length exceeded']);
    assert.deepEqual(await c.command('+'), [VERS, '+OK']);
  }));

test('§9 #31: quit -> +OK - bye, then the server closes', T, () =>
  withClient(async (c) => {
    c.sendLine('quit');
    assert.deepEqual(await c.expectClose(), ['+OK - bye']);
  }));

test('§9 #32: quit now -> wrong number of arguments, connection stays open', T, () =>
  withClient(async (c) => {
    assert.deepEqual(await c.command('quit now'), ['-OK - wrong number of arguments']);
    assert.deepEqual(await c.command('noop'), ['+OK']);
  }));

test('§9 #33: quit, noop, vers in one segment -> bye, +OK, VERS, then close [F quirk]', T, () =>
  withClient(async (c) => {
    c.write('quit\r\nnoop\r\nvers\r\n');
    assert.deepEqual(await c.expectClose(), ['+OK - bye', '+OK', VERS, '+OK']);
  }));

test('§9 #33: lines after quit in a LATER segment are not run', T, () =>
  withClient(async (c) => {
    c.write('quit\r\n');
    c.write('noop\r\n');
    const rest = await c.expectClose();
    assert.equal(rest[0], '+OK - bye');
    assert.ok(rest.length <= 2); // the second write may or may not share the first's segment
  }));

test('§1.6: a peer that half-closes after its commands still gets the answers', T, () =>
  withClient(async (c) => {
    c.write('noop\r\nvers\r\n');
    c.endInput();
    assert.deepEqual(await c.expectClose(), ['+OK', VERS, '+OK']);
  }));

test('§1.3: a CR LF split between segments and thousands of lines in one chunk', T, () =>
  withClient(async (c) => {
    c.write('noop\r');
    await sleep(20);
    c.write('\n' + 'noop\r\n'.repeat(5000));
    const lines = await c.readLines(5001, 10000);
    assert.ok(lines.every((l) => l === '+OK'));
  }));
