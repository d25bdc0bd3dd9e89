// SocketCAN binding on a kernel WITHOUT SocketCAN (like the development machines):
// opening a socket fails with EAFNOSUPPORT and a message saying what to do, never a
// crash, and the rest of the addon still works. Skips itself where AF_CAN works.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { socketCanBus } from '../../lib/can/socketcan.js';
import type { CanError } from '../../lib/can/types.js';

function canAvailable(): boolean {
  try {
    socketCanBus.open('lo').close();
    return true;
  } catch (err) {
    return (err as CanError).code !== 'EAFNOSUPPORT';
  }
}

const available = canAvailable();

describe('SocketCAN binding without kernel CAN support', { skip: available ? 'this kernel supports AF_CAN' : false }, () => {
  it('open() throws EAFNOSUPPORT with a helpful message', () => {
    for (const name of ['vcan0', 'can0', 'nosuch9']) {
      assert.throws(
        () => socketCanBus.open(name, { filters: [{ id: 1, mask: 0x7ff }], receiveBufferSize: 65536 }),
        (err: CanError) => {
          assert.ok(err instanceof Error);
          assert.equal(err.code, 'EAFNOSUPPORT');
          assert.equal(typeof err.errno, 'number');
          assert.equal(err.syscall, 'socket');
          assert.equal(err.interfaceName, name);
          assert.match(err.message, /this kernel has no SocketCAN support \(EAFNOSUPPORT\)/);
          assert.match(err.message, /modprobe can_raw/);
          return true;
        },
      );
    }
  });

  it('interfaceState() still answers without AF_CAN', () => {
    assert.equal(socketCanBus.interfaceState('lo'), 'up');
    assert.equal(socketCanBus.interfaceState('nosuchcan9'), 'absent');
  });

  it('the process is unharmed: many failed opens leak nothing', async () => {
    const { readdirSync } = await import('node:fs');
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 1000; i++) assert.throws(() => socketCanBus.open('vcan0'));
    assert.equal(readdirSync('/proc/self/fd').length, before);
  });
});
