// ReplyOrder without sockets: replies leave in command order however their
// SENDs settle, replies settled together leave in one write, an end marker
// closes after exactly what came before it (docs/design.md "The TypeScript layer").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyOrder, type ReplySink } from '../../lib/server/reply-order.js';

/** A sink that records every call, and a scheduler run by hand. */
function harness(): { order: ReplyOrder; calls: string[]; runScheduled: () => number } {
  const calls: string[] = [];
  const scheduled: (() => void)[] = [];
  const sink: ReplySink = {
    write: (text) => calls.push(`write ${text}`),
    end: (reason) => calls.push(`end ${reason}`),
    drained: () => calls.push('drained'),
  };
  const order = new ReplyOrder(sink, (fn) => scheduled.push(fn));
  const runScheduled = (): number => {
    const n = scheduled.length;
    for (const fn of scheduled.splice(0)) fn();
    return n;
  };
  return { order, calls, runScheduled };
}

test('nothing held: output is written at once, empty text is not written', () => {
  const { order, calls } = harness();
  order.output('+OK\r\n');
  order.output('');
  order.output('-OK - invalid command\r\n');
  assert.deepEqual(calls, ['write +OK\r\n', 'write -OK - invalid command\r\n']);
  assert.equal(order.empty, true);
  assert.equal(order.bytes, 0);
});

test('a held reply holds back what follows; one SEND settling writes it all in one write, no scheduling', () => {
  const { order, calls, runScheduled } = harness();
  const slot = order.hold();
  order.output('a\r\n');
  order.output('b\r\n');
  assert.deepEqual(calls, []);
  assert.equal(order.length, 3);
  assert.equal(order.bytes, 6);
  // Filling the first of several slots schedules; a lone slot flushes inline (below).
  order.fill(slot, '+OK\r\n');
  assert.equal(runScheduled(), 1);
  assert.deepEqual(calls, ['write +OK\r\na\r\nb\r\n', 'drained']);
  assert.equal(order.empty, true);
  assert.equal(order.bytes, 0);
});

test('the only reply waiting is written when it settles, without a scheduled hop', () => {
  const { order, calls, runScheduled } = harness();
  const slot = order.hold();
  order.fill(slot, '+OK\r\n');
  assert.deepEqual(calls, ['write +OK\r\n', 'drained']);
  assert.equal(runScheduled(), 0);
});

test('SENDs settling out of order: nothing leaves before the first; then all of them in order, in one write', () => {
  const { order, calls, runScheduled } = harness();
  const s1 = order.hold();
  const s2 = order.hold();
  const s3 = order.hold();
  order.fill(s3, 'three\r\n');
  order.fill(s2, 'two\r\n');
  assert.equal(runScheduled(), 1, 'fills in one turn share one scheduled flush');
  assert.deepEqual(calls, ['drained']);
  assert.equal(order.length, 3);
  order.fill(s1, 'one\r\n');
  assert.equal(runScheduled(), 1);
  assert.deepEqual(calls, ['drained', 'write one\r\ntwo\r\nthree\r\n', 'drained']);
  assert.equal(order.bytes, 0);
});

test('a partial flush writes up to the first unfinished reply and keeps the rest', () => {
  const { order, calls, runScheduled } = harness();
  const s1 = order.hold();
  order.output('x\r\n');
  const s2 = order.hold();
  order.output('y\r\n');
  order.fill(s1, 'one\r\n');
  runScheduled();
  assert.deepEqual(calls, ['write one\r\nx\r\n', 'drained']);
  assert.equal(order.length, 2);
  assert.equal(order.bytes, 3);
  order.fill(s2, 'two\r\n');
  runScheduled();
  assert.deepEqual(calls.slice(2), ['write two\r\ny\r\n', 'drained']);
});

test('endAfterOutput with nothing held ends at once', () => {
  const { order, calls } = harness();
  order.endAfterOutput('quit');
  assert.deepEqual(calls, ['end quit']);
});

test('endAfterOutput behind a SEND: its reply and what came before are written, then end; nothing after it', () => {
  const { order, calls, runScheduled } = harness();
  const slot = order.hold();
  order.output('+OK - bye\r\n');
  order.endAfterOutput('quit');
  order.output('late\r\n');
  assert.deepEqual(calls, []);
  order.fill(slot, '+OK\r\n');
  runScheduled();
  assert.deepEqual(calls, ['write +OK\r\n+OK - bye\r\n', 'end quit']);
});

test('takeSettled: the known replies up to the first unfinished one, not whole; then everything is dropped', () => {
  const { order, calls, runScheduled } = harness();
  const s1 = order.hold();
  order.output('a\r\n');
  order.hold();
  order.output('b\r\n');
  order.fill(s1, 'one\r\n'); // several held: a flush is scheduled, not run yet
  assert.deepEqual(order.takeSettled(), { text: 'one\r\na\r\n', whole: false });
  assert.equal(order.empty, true);
  assert.equal(order.bytes, 0);
  runScheduled();
  assert.deepEqual(calls, [], 'the scheduled flush finds nothing to write');
});

test('takeSettled: every reply known -> whole; an end marker cuts it', () => {
  const a = harness();
  const s = a.order.hold();
  a.order.output('x\r\n');
  a.order.fill(s, 'one\r\n');
  assert.deepEqual(a.order.takeSettled(), { text: 'one\r\nx\r\n', whole: true });

  const b = harness();
  b.order.hold();
  b.order.output('y\r\n');
  assert.deepEqual(b.order.takeSettled(), { text: '', whole: false });

  const c = harness();
  const t = c.order.hold();
  c.order.endAfterOutput('quit');
  c.order.fill(t, 'one\r\n');
  assert.deepEqual(c.order.takeSettled(), { text: 'one\r\n', whole: false });
  assert.deepEqual(c.calls, []);
});

test('after discard, late SEND results and scheduled flushes write nothing', () => {
  const { order, calls, runScheduled } = harness();
  const s1 = order.hold();
  const s2 = order.hold();
  order.fill(s2, 'two\r\n'); // schedules a flush
  order.discard();
  order.fill(s1, 'one\r\n');
  assert.equal(runScheduled(), 1);
  assert.deepEqual(calls, []);
  assert.equal(order.bytes, 0);
  const s3 = order.hold();
  order.fill(s3, 'three\r\n');
  assert.deepEqual(calls, []);
  assert.equal(order.empty, true);
});
