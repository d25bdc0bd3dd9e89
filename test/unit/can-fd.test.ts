// CAN FD rules (lib/can/fd.ts): FD lengths, and which frames a socket can send.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CANFD_LENGTHS, CANFD_MAX_DLEN, CANFD_MTU, CAN_MTU, fdFrameProblem, fdMtuMessage, isFdLength } from '../../lib/can/fd.js';

test('the FD lengths are 0..8, 12, 16, 20, 24, 32, 48, 64 and nothing else', () => {
  const valid = [];
  for (let n = -1; n <= 70; n++) if (isFdLength(n)) valid.push(n);
  assert.deepEqual(valid, [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]);
  assert.deepEqual([...CANFD_LENGTHS], valid);
  assert.equal(isFdLength(1.5), false);
  assert.equal(CANFD_MAX_DLEN, 64);
  assert.deepEqual([CAN_MTU, CANFD_MTU], [16, 72]);
});

test('a classic frame is fine on either socket unless it carries brs or esi', () => {
  const classic = { id: 1, data: new Uint8Array(8) };
  assert.equal(fdFrameProblem(classic, false), undefined);
  assert.equal(fdFrameProblem(classic, true), undefined);
  assert.equal(fdFrameProblem({ ...classic, brs: true }, true)?.code, 'ERR_CAN_FD_FLAGS');
  assert.equal(fdFrameProblem({ ...classic, esi: true }, false)?.code, 'ERR_CAN_FD_FLAGS');
});

test('an FD frame needs an FD socket, an FD length and no RTR', () => {
  const fd = { id: 1, fd: true, brs: true, data: new Uint8Array(64) };
  assert.equal(fdFrameProblem(fd, true), undefined);
  assert.equal(fdFrameProblem(fd, false)?.code, 'ERR_CAN_FD_DISABLED');
  const nine = fdFrameProblem({ ...fd, data: new Uint8Array(9) }, true);
  assert.equal(nine?.code, 'ERR_CAN_FD_LENGTH');
  assert.match(nine!.message, /9 bytes.*12, 16/);
  assert.equal(fdFrameProblem({ ...fd, data: new Uint8Array(65) }, true)?.code, 'ERR_CAN_FD_LENGTH');
  assert.equal(fdFrameProblem({ ...fd, rtr: true }, true)?.code, 'ERR_CAN_FD_RTR');
});

test('the MTU message says how to give the interface MTU 72', () => {
  const m = fdMtuMessage('can1', 16);
  assert.match(m, /'can1'/);
  assert.match(m, /MTU 16/);
  assert.match(m, /ip link set can1 mtu 72/);
});
