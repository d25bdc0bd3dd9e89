// The uvscpd command line: parsing and validation. Pure: no I/O, no process
// state; main() in ../cli.ts turns the result into actions and exit codes.
//
// Syntax follows the original's getopt_long (spec §8.1): short options may be
// clustered (`-sc can0`), a short option's value may be attached (`-p8598`,
// `-cvcan0`) or be the next argument, and a value is always taken whole even
// when it starts with '-' (`-P -secret`). A small normalisation pass turns
// those getopt forms into `--long=value`, then minimist does the rest.

import minimist from 'minimist';
import { isIP } from 'node:net';
import { parseGuid, zeroGuid, type Guid } from '../vscp/guid.js';
import { MAX_RECEIVE_COALESCE_US } from '../can/types.js';
import { DEFAULT_RECEIVE_COALESCE_US } from '../server/server.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** The reserved -c name that selects the built-in in-memory bus. */
export const VIRTUAL_INTERFACE = 'virtual';

export const DEFAULTS = Object.freeze({
  canInterface: 'can0',
  port: 8598,
  fifoSize: 100,
  maxClients: 5,
  idleTimeoutSeconds: 0,
  rxCoalesceUs: DEFAULT_RECEIVE_COALESCE_US,
  logLevel: 'info' as LogLevel,
});

/** Limits on the numeric options (inclusive). */
export const LIMITS = Object.freeze({
  port: [0, 65535],
  fifoSize: [1, 100000],
  maxClients: [1, 4096],
  // setTimeout's largest delay is 2^31-1 ms.
  idleTimeout: [0, 2147483],
  rcvbuf: [1024, 2147483647],
  rxCoalesce: [0, MAX_RECEIVE_COALESCE_US],
} as const);

export interface CliConfig {
  /** -s/--stay: run in the foreground instead of daemonizing. */
  stay: boolean;
  user: string | undefined;
  password: string | undefined;
  /** --password-file: read the password from this file instead of the command line (the CLI reads it). */
  passwordFile: string | undefined;
  /** -c: a SocketCAN interface, or VIRTUAL_INTERFACE. */
  canInterface: string;
  /** -i: an IPv4 or IPv6 literal; undefined = all interfaces. */
  host: string | undefined;
  port: number;
  guid: Guid;
  fifoSize: number;
  maxClients: number;
  requireLogin: boolean;
  /** 0 = no idle timeout. */
  idleTimeoutMs: number;
  /** undefined = the kernel's default receive buffer. */
  receiveBufferSize: number | undefined;
  /** Receive coalescing window under load, microseconds; 0 = off. */
  receiveCoalesceUs: number;
  /** As given (may be relative; the CLI resolves it before chdir). */
  pidFile: string | undefined;
  logLevel: LogLevel;
  /** --syslog / --no-syslog; undefined = the mode's default (daemon: syslog, -s: stderr). */
  syslog: boolean | undefined;
}

export type ParseResult =
  | { kind: 'run'; config: CliConfig }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

interface OptionSpec {
  long: string;
  short?: string;
  takesValue: boolean;
}

const OPTIONS: readonly OptionSpec[] = [
  { long: 'help', short: 'h', takesValue: false },
  { long: 'version', short: 'v', takesValue: false },
  { long: 'stay', short: 's', takesValue: false },
  { long: 'user', short: 'U', takesValue: true },
  { long: 'password', short: 'P', takesValue: true },
  { long: 'password-file', takesValue: true },
  { long: 'canbus', short: 'c', takesValue: true },
  { long: 'ip', short: 'i', takesValue: true },
  { long: 'port', short: 'p', takesValue: true },
  { long: 'guid', short: 'g', takesValue: true },
  { long: 'fifo-size', takesValue: true },
  { long: 'max-clients', takesValue: true },
  { long: 'require-login', takesValue: false },
  { long: 'idle-timeout', takesValue: true },
  { long: 'rcvbuf', takesValue: true },
  { long: 'rx-coalesce', takesValue: true },
  { long: 'pid-file', takesValue: true },
  { long: 'log-level', takesValue: true },
  // A flag for the user (--syslog / --no-syslog); a string for minimist, so
  // that an absent flag stays undefined (see normalise()).
  { long: 'syslog', takesValue: false },
];

const BY_LONG = new Map(OPTIONS.map((o) => [o.long, o]));
const BY_SHORT = new Map(OPTIONS.filter((o) => o.short !== undefined).map((o) => [o.short as string, o]));

/** `-p`/`--port` for messages. */
function optionName(spec: OptionSpec): string {
  return spec.short !== undefined ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

class UsageError extends Error {}

/** Printable form of a user-supplied value for an error message. */
function quote(value: string): string {
  // JSON escaping keeps control characters and quotes visible on one line.
  const json = JSON.stringify(value);
  return /^[\x20-\x7e]*$/.test(value) && !value.includes("'") ? `'${value}'` : json;
}

/**
 * getopt-style arguments -> `--long=value` / `--flag` forms that minimist
 * reads unambiguously. Unknown things are passed through for minimist's
 * `unknown` handler to report.
 */
function normalise(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg === '--syslog' || arg === '--no-syslog') {
      out.push(`--syslog=${arg === '--syslog'}`);
      continue;
    }
    if (arg.startsWith('--')) {
      const spec = BY_LONG.get(arg.slice(2));
      if (spec?.takesValue && !arg.includes('=')) {
        // getopt takes the next argument whatever it looks like.
        if (i + 1 < argv.length) {
          out.push(`--${spec.long}=${argv[i + 1] as string}`);
          i++;
        } else {
          throw new UsageError(`option ${optionName(spec)} requires a value`);
        }
        continue;
      }
      out.push(arg);
      continue;
    }
    if (arg.length > 1 && arg.startsWith('-')) {
      // A cluster of short options: flags, then at most one with a value.
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] as string;
        const spec = BY_SHORT.get(letter);
        if (spec === undefined) throw new UsageError(`unknown option '-${letter}'`);
        if (!spec.takesValue) {
          out.push(`--${spec.long}`);
          continue;
        }
        let value = arg.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        else if (value === '') {
          if (i + 1 >= argv.length) throw new UsageError(`option ${optionName(spec)} requires a value`);
          value = argv[++i] as string;
        }
        out.push(`--${spec.long}=${value}`);
        break;
      }
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** The last of repeated values (getopt semantics), or undefined. */
function lastValue(v: unknown): unknown {
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function stringOption(args: minimist.ParsedArgs, long: string): string | undefined {
  const v = lastValue(args[long]);
  if (v === undefined) return undefined;
  const spec = BY_LONG.get(long) as OptionSpec;
  if (typeof v !== 'string' || v === '') throw new UsageError(`option ${optionName(spec)} requires a value`);
  return v;
}

function flagOption(args: minimist.ParsedArgs, long: string): boolean {
  return lastValue(args[long]) === true;
}

/** A decimal integer in [min, max]; `what` names it in the message. */
function integerOption(
  args: minimist.ParsedArgs,
  long: string,
  what: string,
  [min, max]: readonly [number, number],
  unit = '',
): number | undefined {
  const text = stringOption(args, long);
  if (text === undefined) return undefined;
  const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`invalid ${what} ${quote(text)}: expected ${min}..${max}${unit}`);
  }
  return n;
}

/**
 * Linux netdevice name rules (dev_valid_name): 1..15 bytes, not '.' or
 * '..', no '/', ':' or whitespace. The original silently used only the
 * first 15 characters; we refuse instead of opening some other interface.
 */
function validInterfaceName(name: string): boolean {
  return (
    name.length >= 1 &&
    Buffer.byteLength(name) <= 15 &&
    name !== '.' &&
    name !== '..' &&
    !/[/:\s]/.test(name)
  );
}

function build(args: minimist.ParsedArgs): CliConfig {
  const canInterface = stringOption(args, 'canbus') ?? DEFAULTS.canInterface;
  if (!validInterfaceName(canInterface)) {
    throw new UsageError(
      `invalid CAN interface ${quote(canInterface)}: expected 1 to 15 characters without '/', ':' or spaces`,
    );
  }

  const host = stringOption(args, 'ip');
  if (host !== undefined && isIP(host) === 0) {
    throw new UsageError(`invalid ip address ${quote(host)}: expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1`);
  }

  const port = integerOption(args, 'port', 'port', LIMITS.port) ?? DEFAULTS.port;

  const guidText = stringOption(args, 'guid');
  let guid: Guid = zeroGuid();
  if (guidText !== undefined) {
    const parsed = parseGuid(guidText);
    if (parsed === null) {
      throw new UsageError(`invalid guid ${quote(guidText)}: expected 16 hex bytes separated by ':' (e.g. 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:1)`);
    }
    guid = parsed;
  }

  const fifoSize = integerOption(args, 'fifo-size', 'fifo size', LIMITS.fifoSize, ' events') ?? DEFAULTS.fifoSize;
  const maxClients = integerOption(args, 'max-clients', 'client limit', LIMITS.maxClients) ?? DEFAULTS.maxClients;
  const idleSeconds =
    integerOption(args, 'idle-timeout', 'idle timeout', LIMITS.idleTimeout, ' seconds') ?? DEFAULTS.idleTimeoutSeconds;
  const receiveBufferSize = integerOption(args, 'rcvbuf', 'receive buffer size', LIMITS.rcvbuf, ' bytes');
  const receiveCoalesceUs =
    integerOption(args, 'rx-coalesce', 'receive coalescing window', LIMITS.rxCoalesce, ' microseconds') ?? DEFAULTS.rxCoalesceUs;

  const logLevelText = stringOption(args, 'log-level') ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevelText)) {
    throw new UsageError(`invalid log level ${quote(logLevelText)}: expected one of ${LOG_LEVELS.join(', ')}`);
  }

  const user = stringOption(args, 'user');
  const password = stringOption(args, 'password');
  const passwordFile = stringOption(args, 'password-file');
  if (password !== undefined && passwordFile !== undefined) {
    throw new UsageError('options -P/--password and --password-file exclude each other');
  }
  const requireLogin = flagOption(args, 'require-login');
  if (requireLogin && (user === undefined || (password === undefined && passwordFile === undefined))) {
    throw new UsageError('option --require-login needs both -U/--user and -P/--password (or --password-file)');
  }

  const pidFile = stringOption(args, 'pid-file');
  const syslogValue = lastValue(args['syslog']);

  return {
    stay: flagOption(args, 'stay'),
    user,
    password,
    passwordFile,
    canInterface,
    host,
    port,
    guid,
    fifoSize,
    maxClients,
    requireLogin,
    idleTimeoutMs: idleSeconds * 1000,
    receiveBufferSize,
    receiveCoalesceUs,
    pidFile,
    logLevel: logLevelText as LogLevel,
    syslog: typeof syslogValue === 'boolean' ? syslogValue : undefined,
  };
}

/** Parse the arguments after the program name. Never throws. */
export function parseOptions(argv: readonly string[]): ParseResult {
  try {
    const unknown: string[] = [];
    const args = minimist(normalise(argv), {
      string: OPTIONS.filter((o) => o.takesValue || o.long === 'syslog').map((o) => o.long),
      boolean: OPTIONS.filter((o) => !o.takesValue && o.long !== 'syslog').map((o) => o.long),
      unknown: (arg: string) => {
        unknown.push(arg);
        return false;
      },
    });
    const first = unknown[0];
    if (first !== undefined) {
      if (first.startsWith('-')) throw new UsageError(`unknown option ${quote(first.replace(/=[\s\S]*$/, ''))}`);
      throw new UsageError(`unexpected argument ${quote(first)}: uvscpd takes options only`);
    }
    for (const v of args._) throw new UsageError(`unexpected argument ${quote(String(v))}: uvscpd takes options only`);
    for (const spec of OPTIONS) {
      if (!spec.takesValue && spec.long !== 'syslog') {
        const v = lastValue(args[spec.long]);
        if (typeof v !== 'boolean') throw new UsageError(`option --${spec.long} takes no value`);
      }
    }
    const syslogValue = lastValue(args['syslog']);
    if (syslogValue !== undefined) {
      if (syslogValue !== 'true' && syslogValue !== 'false') throw new UsageError('option --syslog takes no value');
      args['syslog'] = syslogValue === 'true';
    }
    if (flagOption(args, 'help')) return { kind: 'help' };
    if (flagOption(args, 'version')) return { kind: 'version' };
    return { kind: 'run', config: build(args) };
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'error', message: err.message };
    throw err;
  }
}

/**
 * The arguments with every password value replaced by `***`, for the
 * process title (what `ps` shows) and anything else that displays them.
 */
export function redactArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg === '--password') {
      out.push(arg);
      if (i + 1 < argv.length) {
        out.push('***');
        i++;
      }
      continue;
    }
    if (arg.startsWith('--password=')) {
      out.push('--password=***');
      continue;
    }
    if (arg.length > 1 && arg.startsWith('-') && !arg.startsWith('--')) {
      // A short cluster: flags, then at most one option with a value (as normalise()).
      let j = 1;
      for (; j < arg.length; j++) {
        const spec = BY_SHORT.get(arg[j] as string);
        if (spec === undefined || spec.takesValue) break;
      }
      if (j < arg.length && arg[j] === 'P') {
        if (j + 1 < arg.length) out.push(`${arg.slice(0, j + 1)}***`);
        else {
          out.push(arg);
          if (i + 1 < argv.length) {
            out.push('***');
            i++;
          }
        }
        continue;
      }
      if (j < arg.length && BY_SHORT.get(arg[j] as string)?.takesValue === true && j + 1 === arg.length && i + 1 < argv.length) {
        // Another option's separate value: keep it, and do not mistake it for an option.
        out.push(arg, argv[i + 1] as string);
        i++;
        continue;
      }
    } else if (BY_LONG.get(arg.slice(2))?.takesValue === true && i + 1 < argv.length) {
      out.push(arg, argv[i + 1] as string);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
