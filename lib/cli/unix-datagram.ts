// AF_UNIX datagrams for the daemon's own plumbing: syslog (/dev/log) and
// systemd's NOTIFY_SOCKET. Node cannot send one, so the native addon does the
// sendto(); this file only adapts it. Not CAN: it lives with the CLI.

import type { DatagramSender } from './log.js';

/**
 * Sends one datagram to an AF_UNIX SOCK_DGRAM socket. A path starting with '@'
 * names the abstract namespace. Never blocks (EAGAIN when the receiver is
 * full). Throws an Error with `code` on failure.
 */
export function sendUnixDatagram(path: string, message: string | Buffer): void {
  // Loaded on first use: `-c virtual` runs where the addon is not built.
  const native = require('../can/native.js') as typeof import('../can/native.js');
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  try {
    native.loadAddon().sendUnixDatagram(path, data);
  } catch (err) {
    const e = err as Error & { errno?: number; syscall?: string };
    if (typeof e.errno !== 'number') throw err;
    throw native.errnoError(e.errno, e.syscall ?? 'sendto', `cannot send a datagram to ${path}: ${e.message}`, { path });
  }
}

/**
 * The sender the CLI uses: sendUnixDatagram when the addon loads, else one
 * whose every send throws ENOTSUP, which the callers treat like "no syslog".
 */
export function loadDatagramSender(): DatagramSender {
  try {
    (require('../can/native.js') as typeof import('../can/native.js')).loadAddon();
    return sendUnixDatagram;
  } catch {
    return () => {
      const err = new Error('AF_UNIX datagrams need the native addon, which is not built') as NodeJS.ErrnoException;
      err.code = 'ENOTSUP';
      throw err;
    };
  }
}
