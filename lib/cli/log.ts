// The daemon's two loggers, both implementing the server's Logger:
// - StderrLogger for -s/--stay: one line per message,
//   `uvscpd[1234]: info: listening on 127.0.0.1:8598 (virtual)`; when stderr
//   is the systemd journal, lines carry a `<N>` priority prefix instead of
//   the ident (journald adds its own).
// - SyslogLogger for the daemon: RFC 3164 datagrams, as glibc's syslog(3)
//   writes them, `<30>Nov 25 08:11:39 uvscpd[1234]: listening on ...`, sent
//   to /dev/log (facility daemon). No syslog daemon: messages are dropped,
//   never an exception.
// Callers never pass secrets (DESIGN "Auth"); control characters are escaped
// so that one message is always one line.

import type { Logger } from '../server/logger.js';
import type { LogLevel } from './options.js';

const RANK: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };
/** syslog(3) severities. */
const SEVERITY: Readonly<Record<LogLevel, number>> = { error: 3, warn: 4, info: 6, debug: 7 };
/** LOG_DAEMON. */
export const FACILITY_DAEMON = 3;
export const SYSLOG_PATH = '/dev/log';
/** Longest message body sent in one datagram (syslog daemons accept at least 1 KiB; rsyslog 8 KiB). */
const MAX_SYSLOG_MESSAGE = 2048;

/** Whether a logger set to `threshold` logs messages of `level`. */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return RANK[level] <= RANK[threshold];
}

/**
 * Passes every message to `log`; until startupOver(), also hands warnings to
 * `terminal`, for the terminal of whoever started the daemon.
 */
export class StartupWarnings implements Logger {
  private terminal: ((msg: string) => void) | undefined;

  constructor(
    private readonly log: Logger,
    terminal: ((msg: string) => void) | undefined,
  ) {
    this.terminal = terminal;
  }

  startupOver(): void {
    this.terminal = undefined;
  }

  debug(msg: string): void {
    this.log.debug(msg);
  }
  info(msg: string): void {
    this.log.info(msg);
  }
  warn(msg: string): void {
    this.log.warn(msg);
    try {
      this.terminal?.(oneLine(String(msg)));
    } catch {
      // A logger never takes the daemon down.
    }
  }
  error(msg: string): void {
    this.log.error(msg);
  }
}

/** One line, printable: control characters become \xNN. */
export function oneLine(msg: string): string {
  // eslint-disable-next-line no-control-regex
  return msg.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

abstract class LevelLogger implements Logger {
  private readonly threshold: number;

  constructor(level: LogLevel) {
    this.threshold = RANK[level];
  }

  protected abstract emit(level: LogLevel, msg: string): void;

  private log(level: LogLevel, msg: string): void {
    if (RANK[level] > this.threshold) return;
    try {
      this.emit(level, oneLine(String(msg)));
    } catch {
      // A logger never takes the daemon down.
    }
  }

  debug(msg: string): void {
    this.log('debug', msg);
  }
  info(msg: string): void {
    this.log('info', msg);
  }
  warn(msg: string): void {
    this.log('warn', msg);
  }
  error(msg: string): void {
    this.log('error', msg);
  }
}

export interface StderrLoggerOptions {
  level: LogLevel;
  ident?: string;
  pid?: number;
  /** stderr is the systemd journal (JOURNAL_STREAM matches): use `<N>` prefixes. */
  journal?: boolean;
  /** Where lines go; default process.stderr (synchronous for files, pipes and TTYs on Linux). */
  write?: (line: string) => void;
}

export class StderrLogger extends LevelLogger {
  private readonly prefix: string;
  private readonly journal: boolean;
  private readonly write: (line: string) => void;

  constructor(options: StderrLoggerOptions) {
    super(options.level);
    this.prefix = `${options.ident ?? 'uvscpd'}[${options.pid ?? process.pid}]: `;
    this.journal = options.journal === true;
    this.write = options.write ?? ((line) => void process.stderr.write(line));
  }

  protected emit(level: LogLevel, msg: string): void {
    this.write(this.journal ? `<${SEVERITY[level]}>${level}: ${msg}\n` : `${this.prefix}${level}: ${msg}\n`);
  }
}

/** Sends one AF_UNIX datagram; throws (with .code) when it cannot. */
export type DatagramSender = (path: string, message: Buffer) => void;

export interface SyslogLoggerOptions {
  level: LogLevel;
  send: DatagramSender;
  ident?: string;
  pid?: number;
  facility?: number;
  path?: string;
  now?: () => Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 3164 TIMESTAMP in local time, as glibc: `Nov  5 08:01:02`. */
export function syslogTimestamp(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** One syslog datagram: `<PRI>TIMESTAMP ident[pid]: msg`. */
export function formatSyslog(facility: number, level: LogLevel, ident: string, pid: number, msg: string, now: Date): string {
  let body = msg;
  if (Buffer.byteLength(body) > MAX_SYSLOG_MESSAGE) body = Buffer.from(body).subarray(0, MAX_SYSLOG_MESSAGE).toString();
  return `<${facility * 8 + SEVERITY[level]}>${syslogTimestamp(now)} ${ident}[${pid}]: ${body}`;
}

export class SyslogLogger extends LevelLogger {
  private readonly send: DatagramSender;
  private readonly ident: string;
  private readonly pid: number;
  private readonly facility: number;
  private readonly path: string;
  private readonly now: () => Date;
  /** Messages that could not be delivered (no syslog daemon, queue full). */
  dropped = 0;
  /** The last delivery error's code, for diagnostics. */
  lastError: string | undefined;

  constructor(options: SyslogLoggerOptions) {
    super(options.level);
    this.send = options.send;
    this.ident = options.ident ?? 'uvscpd';
    this.pid = options.pid ?? process.pid;
    this.facility = options.facility ?? FACILITY_DAEMON;
    this.path = options.path ?? SYSLOG_PATH;
    this.now = options.now ?? (() => new Date());
  }

  protected emit(level: LogLevel, msg: string): void {
    const datagram = formatSyslog(this.facility, level, this.ident, this.pid, msg, this.now());
    try {
      this.send(this.path, Buffer.from(datagram));
    } catch (err) {
      this.dropped++;
      this.lastError = (err as { code?: string }).code ?? String(err);
    }
  }
}

/** Discards everything (daemon mode with --no-syslog). */
export class NullLogger extends LevelLogger {
  constructor() {
    super('error');
  }
  protected emit(): void {
    // nothing
  }
}
