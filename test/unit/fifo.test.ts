// Unit tests of the bounded FIFO (protocol §4.2, design.md D1).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedFifo } from '../../lib/server/fifo.js';

test('§9 #76: entries come out in arrival order', () => {
  const f = new BoundedFifo<number>(4);
  for (const n of [1, 2, 3]) f.push(n);
  assert.equal(f.size, 3);
  assert.equal(f.shift(), 1);
  f.push(4);
  f.push(5);
  assert.deepEqual(f.drain(), [2, 3, 4, 5]);
  assert.equal(f.shift(), undefined);
  assert.equal(f.size, 0);
});

test('§9 #78 (D1): when full the oldest is dropped and counted', () => {
  const f = new BoundedFifo<number>(100);
  let dropped = 0;
  for (let i = 0; i < 150; i++) if (f.push(i)) dropped++;
  assert.equal(f.size, 100);
  assert.equal(dropped, 50);
  assert.equal(f.dropped, 50);
  const all = f.drain();
  assert.equal(all[0], 50);
  assert.equal(all[99], 149);
});

test('§9 #77: clear empties but keeps the drop count', () => {
  const f = new BoundedFifo<string>(2);
  f.push('a');
  f.push('b');
  f.push('c');
  f.clear();
  assert.equal(f.size, 0);
  assert.equal(f.dropped, 1);
  f.push('d');
  assert.deepEqual(f.drain(), ['d']);
});

test('wrap-around over many cycles keeps order', () => {
  const f = new BoundedFifo<number>(3);
  let next = 0;
  let expect = 0;
  f.push(next++);
  for (let round = 0; round < 1000; round++) {
    f.push(next++);
    f.push(next++);
    assert.equal(f.shift(), expect++);
    assert.equal(f.shift(), expect++);
  }
  assert.equal(f.dropped, 0);
  assert.deepEqual(f.drain(), [expect]);
});

test('capacity must be a positive integer', () => {
  assert.throws(() => new BoundedFifo(0), RangeError);
  assert.throws(() => new BoundedFifo(1.5), RangeError);
});
