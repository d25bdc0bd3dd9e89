// Daemonizing without fork(2). Node cannot fork, so the parent re-runs the
// same script with the same arguments as a detached child (setsid: a new
// session with no controlling terminal; stdin, stdout and stderr on
// /dev/null) and one extra pipe on fd 3. The child says on that pipe
//   warn <message>\n     for each warning it logs while starting (any number),
//   ready <pid>\n        once it is listening (pid file written), or
//   error <message>\n    when start-up failed,
// then closes it. The parent prints the warnings as they come, so that
// what the daemon warns about at start (no credentials on an open port, a
// missing CAN interface) reaches the operator's terminal, not only syslog. The parent exits 0 only after "ready", so start-up errors
// (port in use, no such CAN interface, no CAN support) reach the caller's
// terminal and exit status, which the original's fork-then-exit could not.
// The child is told that it is the daemon by an environment variable naming
// the fd; it removes the variable at once so nothing inherits it.

import { spawn } from 'node:child_process';
import { closeSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';

export const DAEMON_ENV = 'UVSCPD_DAEMON_FD';
const CHANNEL_FD = 3;
/** How long the parent waits for "ready" (a CAN interface lookup or a bind never takes this long). */
export const DEFAULT_READY_TIMEOUT_MS = 30000;

export type DaemonOutcome = { ok: true; pid: number } | { ok: false; message: string };

export interface SpawnDaemonOptions {
  /** The script to run (process.argv[1] for the CLI). */
  script: string;
  /** The user's arguments, unchanged. */
  args: readonly string[];
  /** Node flags to keep (process.execArgv). */
  execArgv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called with each warning the daemon logs before it is ready. */
  onWarning?: (message: string) => void;
}

/** Parent side: start the daemon and wait for its verdict. Never rejects. */
export function spawnDaemon(options: SpawnDaemonOptions): Promise<DaemonOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let buffered = '';
    const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script, ...options.args], {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
      env: { ...(options.env ?? process.env), [DAEMON_ENV]: String(CHANNEL_FD) },
    });
    const channel = child.stdio[CHANNEL_FD] as Readable;

    const settle = (outcome: DaemonOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      channel.destroy();
      if (!outcome.ok && child.exitCode === null && child.signalCode === null) {
        // A child that failed or hung must not linger as a half-started daemon.
        try {
          child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
      child.unref();
      resolve(outcome);
    };

    const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const timer = setTimeout(() => {
      settle({ ok: false, message: `the daemon did not report ready within ${timeoutMs / 1000} s; run with -s to see why` });
    }, timeoutMs);

    channel.setEncoding('utf8');
    channel.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0 && !settled; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const ready = /^ready (\d+)$/.exec(line);
        if (ready !== null) settle({ ok: true, pid: Number(ready[1]) });
        else if (line.startsWith('warn ')) options.onWarning?.(line.slice('warn '.length));
        else if (line.startsWith('error ')) settle({ ok: false, message: line.slice('error '.length) });
        else settle({ ok: false, message: 'the daemon sent a malformed start-up report' });
      }
      if (!settled && buffered.length > 65536) settle({ ok: false, message: 'the daemon sent a malformed start-up report' });
    });
    // The child's exit and the pipe's EOF arrive in either order; a report
    // still in the pipe must win over "exited before it was ready".
    let exitMessage: string | null = null;
    let channelEnded = false;
    const settleExited = (): void => {
      if (exitMessage !== null && channelEnded) settle({ ok: false, message: exitMessage });
    };
    channel.on('error', () => {
      // A reset: treated as EOF.
      channelEnded = true;
      settleExited();
    });
    channel.on('close', () => {
      channelEnded = true;
      settleExited();
    });
    child.on('error', (err) => {
      settle({ ok: false, message: `cannot start the daemon: ${err.message}` });
    });
    child.on('exit', (code, signal) => {
      const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
      exitMessage = `the daemon ${how} before it was ready; run with -s to see why`;
      settleExited();
      // Should a grandchild hold the pipe open, do not wait for its EOF for ever.
      setTimeout(() => {
        channelEnded = true;
        settleExited();
      }, 1000).unref();
    });
  });
}

/** Child side: the start-up report pipe. */
export interface DaemonChannel {
  /** A warning for the starting command's terminal; the channel stays open. */
  warn(message: string): void;
  ready(pid: number): void;
  fail(message: string): void;
  /** Idempotent. */
  close(): void;
}

/**
 * The report pipe when this process is the daemon child, else undefined.
 * Removes the marker from `env` (it must not leak into anything we start).
 */
export function takeDaemonChannel(env: NodeJS.ProcessEnv = process.env): DaemonChannel | undefined {
  const text = env[DAEMON_ENV];
  if (text === undefined) return undefined;
  delete env[DAEMON_ENV];
  const fd = /^\d+$/.test(text) ? Number(text) : -1;
  let open = fd >= 0;
  const send = (line: string): void => {
    if (!open) return;
    try {
      writeSync(fd, `${line.replace(/[\r\n]+/g, ' ')}\n`);
    } catch {
      // The parent is gone (EPIPE): nobody to tell.
    }
  };
  const close = (): void => {
    if (!open) return;
    open = false;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  };
  return {
    warn(message) {
      send(`warn ${message}`);
    },
    ready(pid) {
      send(`ready ${pid}`);
      close();
    },
    fail(message) {
      send(`error ${message}`);
      close();
    },
    close,
  };
}

/**
 * Write `<pid>\n` to `path` atomically (a temporary file in the same
 * directory, then rename), so a reader never sees a partial file.
 */
export function writePidFile(path: string, pid: number = process.pid): void {
  const tmp = `${path}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  try {
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
    throw err;
  }
}

/** Remove the pid file if it still names `pid` (another instance may have replaced it). Never throws. */
export function removePidFile(path: string, pid: number = process.pid): void {
  try {
    if (readFileSync(path, 'utf8').trim() === String(pid)) unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}
