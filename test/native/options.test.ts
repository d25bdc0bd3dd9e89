// CAN socket options are validated in TypeScript before the addon is loaded or any
// socket exists: runs anywhere (no AF_CAN, no addon needed).

import assert from 'node:assert/strict';
import { constants as osConstants } from 'node:os';
import { describe, it } from 'node:test';

import { SocketCanSocket, canError } from '../../lib/can/socketcan.js';
import type { CanSocketOptions } from '../../lib/can/types.js';

// If validation came after loading the addon, these tests would see ERR_UVSCPD_ADDON
// (nothing loads from this path) instead of the RangeError.
process.env['UVSCPD_ADDON'] = '/nonexistent/uvscpd-options-test.node';

function rejectsOption(options: CanSocketOptions, name: string): void {
  assert.throws(
    () => new SocketCanSocket('vcan0', options),
    (err: Error) => {
      assert.ok(err instanceof RangeError, `${name}: ${String(err)}`);
      assert.match(err.message, new RegExp(`option ${name} must be an integer from`));
      return true;
    },
  );
}

describe('CanSocket options are validated before any socket exists', () => {
  it('txQueueLimit: integers 1..1e6 only', () => {
    for (const bad of [NaN, Infinity, -Infinity, 0, -1, 1.5, 1e6 + 1, 2 ** 64, '10' as unknown as number]) {
      rejectsOption({ txQueueLimit: bad }, 'txQueueLimit');
    }
  });

  it('receiveBufferSize: integers 1..0x7fffffff only (3e9 must not wrap to a negative int)', () => {
    for (const bad of [NaN, 0, -1, 3e9, 0x80000000, 65536.5, Infinity]) {
      rejectsOption({ receiveBufferSize: bad }, 'receiveBufferSize');
    }
  });

  it('receiveCoalesceUs: integers 0..10000 only', () => {
    for (const bad of [NaN, -1, 0.5, 10001, Infinity, '5' as unknown as number]) {
      rejectsOption({ receiveCoalesceUs: bad }, 'receiveCoalesceUs');
    }
  });

  it('valid values pass validation (and only then is the addon loaded)', () => {
    for (const ok of [{ txQueueLimit: 1 }, { txQueueLimit: 1e6 }, { receiveBufferSize: 1 }, { receiveBufferSize: 0x7fffffff },
      { receiveCoalesceUs: 0 }, { receiveCoalesceUs: 10000 }]) {
      assert.throws(
        () => new SocketCanSocket('vcan0', ok),
        (err: Error & { code?: string }) => err.code === 'ERR_UVSCPD_ADDON',
      );
    }
  });

  it('a reactor thread that cannot start is explained (EAGAIN from pthread_create)', () => {
    const e = canError(osConstants.errno.EAGAIN, 'pthread_create', 'can0');
    assert.equal(e.code, 'EAGAIN');
    assert.equal(e.syscall, 'pthread_create');
    assert.match(e.message, /reactor thread could not be started/);
    assert.match(e.message, /thread limit/);
  });
});
