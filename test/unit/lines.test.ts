// Unit tests of the line framer (protocol §1.3, design.md D11).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, MAX_LINE_CHARS, tokenize } from '../../lib/server/lines.js';
import type { FramedLine } from '../../lib/server/lines.js';

function texts(lines: FramedLine[]): (string | null)[] {
  return lines.map((l) => (l.overlong ? null : l.text));
}

function feed(...chunks: (string | Buffer)[]): (string | null)[] {
  const s = new LineSplitter();
  const out: FramedLine[] = [];
  for (const c of chunks) out.push(...s.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c));
  return texts(out);
}

test('§9 #8/#9: CRLF and bare LF both end a line', () => {
  assert.deepEqual(feed('noop\r\n'), ['noop']);
  assert.deepEqual(feed('noop\n'), ['noop']);
});

test('§9 #10: a bare CR does not end a line; the later LF does', () => {
  const s = new LineSplitter();
  assert.deepEqual(texts(s.push(Buffer.from('noop\r'))), []);
  assert.deepEqual(texts(s.push(Buffer.from('\n'))), ['noop']);
});

test('§9 #17: a line split over 3 segments is assembled once', () => {
  assert.deepEqual(feed('no', 'op\r', '\nvers\r\n'), ['noop', 'vers']);
});

test('§9 #18: several lines in one chunk come out in order', () => {
  assert.deepEqual(feed('a\r\nb\nc\r\n'), ['a', 'b', 'c']);
});

test('§9 #19: bytes below 0x20 (TAB, NUL, CR) are removed', () => {
  assert.deepEqual(feed('no\top\r\n', Buffer.from([0x6e, 0x00, 0x6f, 0x0d, 0x01, 0x1f, 0x0a])), ['noop', 'no']);
});

test('§9 #20/#21 (D11): 0x7F and high bytes are kept, decoded latin1', () => {
  assert.deepEqual(feed(Buffer.from([0x61, 0x7f, 0x80, 0xff, 0x0a])), ['a\x7f\x80\xff']);
});

test('§9 #22: 319 kept characters accepted, 320 reported overlong once', () => {
  assert.equal(MAX_LINE_CHARS, 320);
  const ok = 'x'.repeat(319);
  assert.deepEqual(feed(ok + '\r\n'), [ok]);
  assert.deepEqual(feed('x'.repeat(320) + '\r\n'), [null]);
  // control bytes do not count towards the limit
  assert.deepEqual(feed('\t'.repeat(50) + ok + '\r\r\n'), [ok]);
});

test('§9 #23: a 5000-byte line -> one overlong marker, next line normal', () => {
  assert.deepEqual(feed('y'.repeat(5000) + '\r\nnoop\r\n'), [null, 'noop']);
  // and across chunk boundaries
  assert.deepEqual(feed('y'.repeat(2000), 'y'.repeat(3000), '\r', '\nnoop\n'), [null, 'noop']);
});

test('§9 #24: 10 MB without LF keeps bounded state, then recovers', () => {
  const s = new LineSplitter();
  const garbage = Buffer.alloc(1024 * 1024, 0x41);
  for (let i = 0; i < 10; i++) assert.deepEqual(s.push(garbage), []);
  assert.deepEqual(texts(s.push(Buffer.from('\nnoop\r\n'))), [null, 'noop']);
  // Nothing of the overlong line is left behind: the next line is exactly itself.
  assert.deepEqual(texts(s.push(Buffer.from('x\n'))), ['x']);
});

test('empty line and a line of spaces are lines (-> no input later)', () => {
  assert.deepEqual(feed('\r\n   \n'), ['', '   ']);
});

test('§9 #12/#25: tokenize splits on spaces only, collapses runs, keeps at most 9 args', () => {
  assert.deepEqual(tokenize('   noop   '), ['noop']);
  assert.deepEqual(tokenize('a  b\x7fc d'), ['a', 'b\x7fc', 'd']);
  assert.deepEqual(tokenize(''), []);
  assert.deepEqual(tokenize('    '), []);
  const many = tokenize('send e a b c d e f g h i j');
  assert.equal(many.length, 10);
  assert.equal(many[9], 'h');
  assert.deepEqual(tokenize('USER Admin'), ['USER', 'Admin']);
});
