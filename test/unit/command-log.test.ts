// The debug line of one command (commandLogText): the status, never the PASS
// argument, never longer than 120 characters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLogText } from '../../lib/server/session.js';

test('status: +OK for any positive reply, the whole -OK line otherwise; data lines are skipped', () => {
  assert.equal(commandLogText('noop', '+OK\r\n'), 'noop -> +OK');
  assert.equal(commandLogText('quit', '+OK - bye\r\n'), 'quit -> +OK');
  assert.equal(commandLogText('vers', '1,2,3\r\n+OK\r\n'), 'vers -> +OK');
  assert.equal(commandLogText('retr', '-OK - No event(s) available\r\n'), 'retr -> -OK - No event(s) available');
  assert.equal(commandLogText('  bogus  ', '-OK - invalid command\r\n'), 'bogus -> -OK - invalid command');
});

test('the PASS argument is ***, whatever its case or separator; a bare pass stays', () => {
  assert.equal(commandLogText('pass secret', '+OK\r\n'), 'pass *** -> +OK');
  assert.equal(commandLogText('PASS  two words', '-OK - invalid password\r\n'), 'PASS *** -> -OK - invalid password');
  assert.equal(commandLogText('pass\u00a0secret', '-OK - invalid command\r\n'), 'pass *** -> -OK - invalid command');
  assert.equal(commandLogText('pass', '-OK - wrong number of arguments\r\n'), 'pass -> -OK - wrong number of arguments');
  assert.ok(!commandLogText('Pass hunter2', '+OK\r\n').includes('hunter2'));
});

test('a long command line is cut: the whole text stays within 120 characters', () => {
  const line = 'send ' + '0,'.repeat(150);
  const text = commandLogText(line, '-OK - format error in CAN frame\r\n');
  assert.equal(text.length, 120);
  assert.match(text, /^send 0,0,.*\.\.\. -> -OK - format error in CAN frame$/);
});
