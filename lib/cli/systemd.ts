// systemd integration without libsystemd: sd_notify(3) is one AF_UNIX
// datagram to $NOTIFY_SOCKET ('@' = abstract namespace). Nothing here is
// required: with NOTIFY_SOCKET unset every function is a no-op.

import { fstatSync } from 'node:fs';
import type { DatagramSender } from './log.js';

/** The notification socket, or undefined when not started by systemd (Type=notify). */
export function notifySocketPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env['NOTIFY_SOCKET'];
  if (path === undefined || path.length < 2) return undefined;
  // sd_notify accepts absolute paths and abstract ('@') names only.
  if (!path.startsWith('/') && !path.startsWith('@')) return undefined;
  return path;
}

/**
 * Send a state string such as "READY=1\nMAINPID=42". Returns false when
 * there is no NOTIFY_SOCKET; throws the sender's error (with .code)
 * when sending fails, for the caller to log.
 */
export function sdNotify(state: string, send: DatagramSender, env: NodeJS.ProcessEnv = process.env): boolean {
  const path = notifySocketPath(env);
  if (path === undefined) return false;
  send(path, Buffer.from(state));
  return true;
}

/**
 * The watchdog ping interval (half of WATCHDOG_USEC, as sd_watchdog_enabled
 * recommends), or 0 when the unit has no WatchdogSec= or it is meant for
 * another process.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isFinite(usec) || usec <= 0) return 0;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return 0;
  return Math.max(1, Math.floor(usec / 2000));
}

/**
 * Whether stderr is connected to the journal (JOURNAL_STREAM holds its
 * "device:inode"), so that log lines may carry `<N>` priority prefixes.
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env, fd = 2): boolean {
  const stream = env['JOURNAL_STREAM'];
  if (stream === undefined) return false;
  const [dev, ino] = stream.split(':');
  if (dev === undefined || ino === undefined) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(dev) && st.ino === BigInt(ino);
  } catch {
    return false;
  }
}
