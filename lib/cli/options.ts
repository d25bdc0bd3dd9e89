// The uvscpd command line: one table of options, parsing and validation.
// Pure: no I/O, no process state; ./main.ts turns the result into actions
// and exit codes, ./help.ts renders the table.
//
// minimist does the parsing, configured from OPTIONS: which options take a
// string and which are booleans, the short aliases, `--no-` negation and the
// defaults. On top, getoptArgs() keeps the getopt_long syntax of the original
// (docs/protocol.md §8.1) that minimist reads differently: short options
// clustered (`-sc can0`), a short option's value attached (`-p8598`,
// `-cvcan0`), and an option's value taken whole even when it starts with
// '-' (`-P -secret`, `-p -1`). It rewrites those into `-x=value` and
// `--long=value`, which minimist reads unambiguously.

import minimist from 'minimist';
import { isIP } from 'node:net';
import { formatGuid, parseGuid, zeroGuid, type Guid } from '../vscp/guid.js';
import { MAX_RECEIVE_COALESCE_US } from '../can/types.js';
import type { MqttCliSettings } from '../mqtt/options.js';
import { mqttOptions } from './mqtt.js';
import {
  DEFAULT_CAN_INTERFACE,
  DEFAULT_FIFO_SIZE,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_PORT,
  DEFAULT_RECEIVE_COALESCE_US,
} from '../server/server.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** The reserved -c name that selects the built-in in-memory bus. */
export const VIRTUAL_INTERFACE = 'virtual';

interface CommonSpec {
  long: string;
  /** One letter, getopt style. */
  short?: string;
  /** What the value is, in the help: `--port=N`. */
  arg?: string;
  /** Help text; the renderer appends the range or the choices, and the default, in parentheses. */
  help: string;
}

/** A switch: true when given. `negatable` also accepts `--no-<long>` and leaves it undefined when neither is given. */
export interface FlagSpec extends CommonSpec {
  kind: 'flag';
  negatable?: { help: string };
}

/** A non-empty string. `repeatable` keeps every occurrence (a list); otherwise the last one counts, as with getopt. */
export interface TextSpec extends CommonSpec {
  kind: 'text';
  default?: string;
  /** The default as the help describes it, when there is no `default` value. */
  defaultText?: string;
  repeatable?: boolean;
  /** Never shown: redactArgs() hides its values. */
  secret?: boolean;
  /** The value must be one of these (`what` names it in the message). */
  choices?: readonly string[];
  /** Names the value in messages: `invalid <what> 'x': ...`. */
  what?: string;
  /** Returns why `value` is invalid (the whole message), or null. */
  check?: (value: string) => string | null;
}

/** A decimal integer in `range` (inclusive). */
export interface IntegerSpec extends CommonSpec {
  kind: 'integer';
  default?: number;
  defaultText?: string;
  range: readonly [number, number];
  what: string;
  /** Appended to the range in messages: `expected 1..100000 events`. */
  unit?: string;
}

export type OptionSpec = FlagSpec | TextSpec | IntegerSpec;

/**
 * Linux netdevice name rules (dev_valid_name): 1..15 bytes, not '.' or
 * '..', no '/', ':' or whitespace. The original silently used only the
 * first 15 characters; we refuse instead of opening some other interface.
 */
function validInterfaceName(name: string): boolean {
  return name.length >= 1 && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/** Printable form of a user-supplied value for an error message. */
export function quote(value: string): string {
  // JSON escaping keeps control characters and quotes visible on one line.
  return /^[\x20-\x7e]*$/.test(value) && !value.includes("'") ? `'${value}'` : JSON.stringify(value);
}

/** lib/mqtt's checks, loaded only when an --mqtt* option is given (./mqtt.ts). */
const mqttChecks = mqttOptions;

/** `invalid <what> '<value>': <problem>` (the value left out when null), or null when there is no problem. */
function invalid(what: string, value: string | null, problem: string | null): string | null {
  return problem === null ? null : `invalid ${what}${value === null ? '' : ` ${quote(value)}`}: ${problem}`;
}

/** Every option, in the order of the help. Add new options here, then read them in build(). */
export const OPTIONS = [
  { long: 'help', short: 'h', kind: 'flag', help: 'print this help and exit' },
  { long: 'version', short: 'v', kind: 'flag', help: 'print the version and exit' },
  {
    long: 'stay',
    short: 's',
    kind: 'flag',
    help: 'stay in the foreground (log to stderr); without it uvscpd daemonizes and logs to syslog',
  },
  { long: 'user', short: 'U', kind: 'text', arg: 'NAME', help: 'user name that USER accepts' },
  { long: 'password', short: 'P', kind: 'text', arg: 'PWD', secret: true, help: 'password that PASS accepts (shown as *** in ps)' },
  {
    long: 'password-file',
    kind: 'text',
    arg: 'PATH',
    help: 'read that password from the first line of a file (keeps it off the command line and out of unit files)',
  },
  {
    long: 'canbus',
    short: 'c',
    kind: 'text',
    arg: 'IF',
    default: DEFAULT_CAN_INTERFACE,
    help: `SocketCAN interface; '${VIRTUAL_INTERFACE}' is a built-in in-memory bus shared by all clients`,
    check: (v) =>
      validInterfaceName(v) ? null : `invalid CAN interface ${quote(v)}: expected 1 to 15 characters without '/', ':' or spaces`,
  },
  {
    long: 'ip',
    short: 'i',
    kind: 'text',
    arg: 'ADDR',
    defaultText: 'all addresses',
    help: 'listen on this IPv4 or IPv6 address',
    check: (v) => (isIP(v) !== 0 ? null : `invalid ip address ${quote(v)}: expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1`),
  },
  {
    long: 'port',
    short: 'p',
    kind: 'integer',
    arg: 'N',
    range: [0, 65535],
    default: DEFAULT_PORT,
    what: 'port',
    help: 'TCP port; 0 = any free port',
  },
  {
    long: 'guid',
    short: 'g',
    kind: 'text',
    arg: 'GUID',
    default: formatGuid(zeroGuid()),
    help: "interface GUID, 16 hex bytes separated by ':'",
    check: (v) =>
      parseGuid(v) !== null ? null : `invalid guid ${quote(v)}: expected 16 hex bytes separated by ':' (e.g. 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:1)`,
  },
  {
    long: 'fifo-size',
    kind: 'integer',
    arg: 'N',
    range: [1, 100000],
    default: DEFAULT_FIFO_SIZE,
    what: 'fifo size',
    unit: ' events',
    help: 'events buffered per client; when full the oldest is dropped and counted',
  },
  {
    long: 'max-clients',
    kind: 'integer',
    arg: 'N',
    range: [1, 4096],
    default: DEFAULT_MAX_CLIENTS,
    what: 'client limit',
    help: 'simultaneous clients',
  },
  {
    long: 'require-login',
    kind: 'flag',
    help: 'enforce USER/PASS (needs -U and -P); by default they are checked but not required, as in the original',
  },
  {
    long: 'idle-timeout',
    kind: 'integer',
    arg: 'SEC',
    // setTimeout's largest delay is 2^31-1 ms.
    range: [0, 2147483],
    default: 0,
    what: 'idle timeout',
    unit: ' seconds',
    help: 'close a client idle this long; 0 = never',
  },
  {
    long: 'rcvbuf',
    kind: 'integer',
    arg: 'BYTES',
    range: [1024, 2147483647],
    defaultText: "the kernel's",
    what: 'receive buffer size',
    unit: ' bytes',
    help: 'kernel receive buffer of each CAN socket',
  },
  {
    long: 'rx-coalesce',
    kind: 'integer',
    arg: 'USEC',
    range: [0, MAX_RECEIVE_COALESCE_US],
    default: DEFAULT_RECEIVE_COALESCE_US,
    what: 'receive coalescing window',
    unit: ' microseconds',
    help: 'under load, gather CAN frames this long before a read; an idle bus is read at once; 0 = off',
  },
  {
    long: 'rx-coalesce-always',
    kind: 'flag',
    help: 'wait the --rx-coalesce window after every read, not only under load: fewer wake-ups at everyday rates for up to one window of latency',
  },
  { long: 'pid-file', kind: 'text', arg: 'PATH', help: 'write the process id here once listening; removed on exit' },
  {
    long: 'log-level',
    kind: 'text',
    arg: 'LEVEL',
    choices: LOG_LEVELS,
    default: 'info',
    what: 'log level',
    help: "what to log; debug adds the options in effect and, per client, each command and the first word of its reply",
  },
  {
    long: 'syslog',
    kind: 'flag',
    negatable: { help: 'daemon mode: log nothing (start-up errors and warnings still reach the terminal)' },
    help: 'log to syslog (/dev/log) even with --stay',
  },
  // The MQTT bridge (docs/mqtt.md); defaults as lib/mqtt/options.ts and topic.ts define them.
  {
    long: 'mqtt',
    kind: 'text',
    arg: 'URL',
    defaultText: 'off',
    help: 'publish every bus event to this MQTT broker and send events from it to the bus (mqtt://, mqtts://, ws://, wss://)',
    // A URL with credentials in it is not echoed: the error line may end up in a log.
    check: (v) => invalid('MQTT broker URL', v.includes('@') ? null : v, mqttChecks().checkUrl(v)),
  },
  {
    long: 'mqtt-topic',
    kind: 'text',
    arg: 'TEMPLATE',
    defaultText: 'vscp/{guid}/{class}/{type}/{nickname}',
    help: 'topic of each published event; placeholders {guid} {ifguid} {class} {type} {nickname} {head}',
    check: (v) => invalid('MQTT topic', v, mqttChecks().checkTopicTemplate(v)),
  },
  {
    long: 'mqtt-subscribe',
    kind: 'text',
    arg: 'TOPIC',
    repeatable: true,
    defaultText: 'remote-vscp/{ifguid}/#',
    help: 'topic filter whose events are sent on the bus ({ifguid} allowed)',
    check: (v) => invalid('MQTT subscription', v, mqttChecks().checkSubscription(v)),
  },
  {
    long: 'mqtt-format',
    kind: 'text',
    arg: 'FORMAT',
    choices: ['json', 'string', 'xml'],
    defaultText: 'json',
    what: 'MQTT format',
    help: 'payload format of published events',
  },
  { long: 'mqtt-qos', kind: 'text', arg: 'N', choices: ['0', '1', '2'], defaultText: '1', what: 'MQTT QoS', help: 'QoS of publications and subscriptions' },
  {
    long: 'mqtt-client-id',
    kind: 'text',
    arg: 'ID',
    defaultText: 'uvscpd-<host>-<interface>',
    help: 'MQTT client identifier; every gateway on a broker needs its own',
    check: (v) => invalid('MQTT client id', v, mqttChecks().checkClientId(v)),
  },
  { long: 'mqtt-user', kind: 'text', arg: 'NAME', help: 'user name for the broker' },
  { long: 'mqtt-password-file', kind: 'text', arg: 'PATH', help: 'broker password: the first line of this file (never on the command line)' },
  { long: 'mqtt-ca', kind: 'text', arg: 'PATH', defaultText: 'the system CAs', help: 'PEM file of the CA that signed the broker certificate' },
  { long: 'mqtt-cert', kind: 'text', arg: 'PATH', help: 'PEM file of a client certificate (and its key: the next option)' },
  { long: 'mqtt-key', kind: 'text', arg: 'PATH', help: 'PEM file of the private key of that certificate' },
  {
    long: 'mqtt-queue',
    kind: 'integer',
    arg: 'N',
    range: [1, 10_000_000],
    defaultText: '10000',
    what: 'MQTT queue size',
    unit: ' events',
    help: 'events held while the broker is away or slow; when full the oldest is dropped and counted',
  },
  {
    long: 'mqtt-coalesce',
    kind: 'integer',
    arg: 'USEC',
    range: [0, MAX_RECEIVE_COALESCE_US],
    defaultText: '5000',
    what: 'MQTT coalescing window',
    unit: ' microseconds',
    help: "the bridge gathers CAN frames this long after each read, so one wake-up publishes several (TCP clients are not delayed); 0 = off",
  },
] as const satisfies readonly OptionSpec[];

type Spec = (typeof OPTIONS)[number];
type NameOf<S> = S extends { long: infer L } ? L : never;
type FlagName = NameOf<Extract<Spec, { kind: 'flag' }>>;
type NegatableName = NameOf<Extract<Spec, { negatable: object }>>;
type TextName = NameOf<Exclude<Extract<Spec, { kind: 'text' }>, { repeatable: true }>>;
type ListName = NameOf<Extract<Spec, { repeatable: true }>>;
type IntegerName = NameOf<Extract<Spec, { kind: 'integer' }>>;

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
  /** --rx-coalesce-always: the window after every read, not only under load. */
  receiveCoalesceAlways: boolean;
  /** As given (may be relative; the CLI resolves it before chdir). */
  pidFile: string | undefined;
  logLevel: LogLevel;
  /** --syslog / --no-syslog; undefined = the mode's default (daemon: syslog, -s: stderr). */
  syslog: boolean | undefined;
  /** The --mqtt* values as given (option name -> text; a list for --mqtt-subscribe); undefined without --mqtt. */
  mqttArgs: MqttArgs | undefined;
  /** The bridge settings, once main() has read the files the --mqtt* options name. */
  mqtt: MqttCliSettings | undefined;
}

export type MqttArgs = Readonly<Record<string, string | readonly string[] | undefined>>;

export type ParseResult =
  | { kind: 'run'; config: CliConfig }
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'error'; message: string };

const SPECS: readonly OptionSpec[] = OPTIONS;
const BY_LONG = new Map(SPECS.map((o) => [o.long, o]));
const BY_SHORT = new Map(SPECS.filter((o) => o.short !== undefined).map((o) => [o.short as string, o]));

/** minimist's configuration, derived from OPTIONS. */
const MINIMIST_OPTIONS = {
  string: SPECS.filter((o) => o.kind !== 'flag').map((o) => o.long),
  boolean: SPECS.filter((o) => o.kind === 'flag').map((o) => o.long),
  alias: Object.fromEntries(SPECS.filter((o) => o.short !== undefined).map((o) => [o.short as string, o.long])),
  default: Object.fromEntries(
    SPECS.flatMap((o): Array<[string, unknown]> => {
      // minimist sets an absent boolean to false unless its default is defined; null keeps "not given" apart.
      if (o.kind === 'flag') return [[o.long, o.negatable !== undefined ? null : false]];
      return o.default !== undefined ? [[o.long, o.default]] : [];
    }),
  ),
};

function takesValue(spec: OptionSpec): boolean {
  return spec.kind !== 'flag';
}

/** `-p/--port` for messages. */
function optionName(spec: OptionSpec): string {
  return spec.short !== undefined ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

class UsageError extends Error {}

/**
 * getopt-style arguments -> forms minimist reads as getopt would: a short
 * cluster becomes one `-x` per flag and `-x=value` for the option that
 * takes the rest, a separate value is attached (`--long=value`,
 * `-x=value`). Unknown options pass through for minimist to report.
 */
function getoptArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const nextValue = (spec: OptionSpec): string => {
      if (i + 1 >= argv.length) throw new UsageError(`option ${optionName(spec)} requires a value`);
      return argv[++i] as string;
    };
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const negated = name.startsWith('no-') ? BY_LONG.get(name.slice(3)) : undefined;
      const spec = BY_LONG.get(name) ?? negated;
      if (spec !== undefined && negated === spec && (spec.kind !== 'flag' || spec.negatable === undefined)) {
        throw new UsageError(`unknown option '--${name}'`);
      }
      if (spec === undefined) out.push(arg);
      else if (!takesValue(spec)) {
        if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
        out.push(arg);
      } else out.push(eq >= 0 ? arg : `--${spec.long}=${nextValue(spec)}`);
      continue;
    }
    if (arg.length > 1 && arg.startsWith('-')) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] as string;
        const spec = BY_SHORT.get(letter);
        if (spec === undefined) throw new UsageError(`unknown option '-${letter}'`);
        if (!takesValue(spec)) {
          out.push(`-${letter}`);
          continue;
        }
        // The rest of the cluster is the value (`-p8598`, also `-p=8598`), else the next argument.
        const rest = arg.slice(j + 1);
        out.push(`-${letter}=${rest === '' ? nextValue(spec) : rest.replace(/^=/, '')}`);
        break;
      }
      continue;
    }
    out.push(arg);
  }
  return out;
}

type Value = string | number | boolean | readonly string[] | undefined;

/** One option's parsed value, validated against its spec. */
function readValue(spec: OptionSpec, raw: unknown): Value {
  if (spec.kind === 'flag') return typeof raw === 'boolean' ? raw : undefined;
  if (raw === undefined) return undefined;
  if (spec.kind === 'integer' && typeof raw === 'number') return raw; // the default
  const all = (Array.isArray(raw) ? raw : [raw]).map(String);
  const texts = spec.kind === 'text' && spec.repeatable === true ? all : all.slice(-1);
  for (const text of texts) {
    if (text === '') throw new UsageError(`option ${optionName(spec)} requires a value`);
    if (spec.kind === 'integer') {
      const [min, max] = spec.range;
      const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
      if (!(n >= min && n <= max)) throw new UsageError(`invalid ${spec.what} ${quote(text)}: expected ${min}..${max}${spec.unit ?? ''}`);
      return n;
    }
    if (spec.choices !== undefined && !spec.choices.includes(text)) {
      throw new UsageError(`invalid ${spec.what ?? spec.long} ${quote(text)}: expected one of ${spec.choices.join(', ')}`);
    }
    const problem = spec.check?.(text) ?? null;
    if (problem !== null) throw new UsageError(problem);
  }
  return spec.kind === 'text' && spec.repeatable === true ? texts : texts[0];
}

/** Every option's validated value, by long name, with typed accessors. */
class OptionValues {
  private readonly values = new Map<string, Value>();

  constructor(args: minimist.ParsedArgs) {
    for (const spec of SPECS) this.values.set(spec.long, readValue(spec, args[spec.long]));
  }

  flag(long: FlagName): boolean {
    return this.values.get(long) === true;
  }
  /** true, false (`--no-`), or undefined when neither was given. */
  negatable(long: NegatableName): boolean | undefined {
    return this.values.get(long) as boolean | undefined;
  }
  text(long: TextName): string | undefined {
    return this.values.get(long) as string | undefined;
  }
  /** Every value of a repeatable option, in order. */
  list(long: ListName): readonly string[] {
    return (this.values.get(long) as readonly string[] | undefined) ?? [];
  }
  integer(long: IntegerName): number | undefined {
    return this.values.get(long) as number | undefined;
  }
}

/** An integer option's value as the text lib/mqtt reads, or undefined when not given. */
function integerText(v: OptionValues, long: IntegerName): string | undefined {
  const n = v.integer(long);
  return n === undefined ? undefined : String(n);
}

/** The table's default of a text option that has one. */
function textOr(v: OptionValues, long: TextName & NameOf<Extract<Spec, { default: string }>>): string {
  return v.text(long) as string;
}

function build(v: OptionValues): CliConfig {
  const user = v.text('user');
  const password = v.text('password');
  const passwordFile = v.text('password-file');
  if (password !== undefined && passwordFile !== undefined) {
    throw new UsageError('options -P/--password and --password-file exclude each other');
  }
  const requireLogin = v.flag('require-login');
  if (requireLogin && (user === undefined || (password === undefined && passwordFile === undefined))) {
    throw new UsageError('option --require-login needs both -U/--user and -P/--password (or --password-file)');
  }
  const mqttArgs: Record<string, string | readonly string[] | undefined> = {
    mqtt: v.text('mqtt'),
    'mqtt-topic': v.text('mqtt-topic'),
    'mqtt-subscribe': v.list('mqtt-subscribe').length > 0 ? v.list('mqtt-subscribe') : undefined,
    'mqtt-format': v.text('mqtt-format'),
    'mqtt-qos': v.text('mqtt-qos'),
    'mqtt-client-id': v.text('mqtt-client-id'),
    'mqtt-user': v.text('mqtt-user'),
    'mqtt-password-file': v.text('mqtt-password-file'),
    'mqtt-ca': v.text('mqtt-ca'),
    'mqtt-cert': v.text('mqtt-cert'),
    'mqtt-key': v.text('mqtt-key'),
    'mqtt-queue': integerText(v, 'mqtt-queue'),
    'mqtt-coalesce': integerText(v, 'mqtt-coalesce'),
  };
  if (mqttArgs['mqtt'] === undefined) {
    const stray = Object.keys(mqttArgs).find((k) => mqttArgs[k] !== undefined);
    if (stray !== undefined) throw new UsageError(`option --${stray} needs --mqtt=URL`);
  }
  if ((mqttArgs['mqtt-cert'] === undefined) !== (mqttArgs['mqtt-key'] === undefined)) {
    throw new UsageError('options --mqtt-cert and --mqtt-key go together');
  }
  return {
    stay: v.flag('stay'),
    user,
    password,
    passwordFile,
    canInterface: textOr(v, 'canbus'),
    host: v.text('ip'),
    port: v.integer('port') as number,
    guid: parseGuid(textOr(v, 'guid')) as Guid,
    fifoSize: v.integer('fifo-size') as number,
    maxClients: v.integer('max-clients') as number,
    requireLogin,
    idleTimeoutMs: (v.integer('idle-timeout') as number) * 1000,
    receiveBufferSize: v.integer('rcvbuf'),
    receiveCoalesceUs: v.integer('rx-coalesce') as number,
    receiveCoalesceAlways: v.flag('rx-coalesce-always'),
    pidFile: v.text('pid-file'),
    logLevel: textOr(v, 'log-level') as LogLevel,
    syslog: v.negatable('syslog'),
    mqttArgs: mqttArgs['mqtt'] === undefined ? undefined : mqttArgs,
    mqtt: undefined,
  };
}

/** Parse the arguments after the program name. Never throws. */
export function parseOptions(argv: readonly string[]): ParseResult {
  try {
    const unknown: string[] = [];
    const args = minimist(getoptArgs(argv), {
      ...MINIMIST_OPTIONS,
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
    // Help and version win over bad values (not over unknown options: those may be typos of these).
    if (args['help'] === true) return { kind: 'help' };
    if (args['version'] === true) return { kind: 'version' };
    return { kind: 'run', config: build(new OptionValues(args)) };
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'error', message: err.message };
    throw err;
  }
}

/** The options in effect on one line, for the debug log: no password, only whether one is set. */
export function describeConfig(c: CliConfig): string {
  const listen = c.host === undefined ? `all addresses, port ${c.port}` : `${c.host} port ${c.port}`;
  return [
    `CAN interface ${c.canInterface}`,
    `listen on ${listen}`,
    `guid ${formatGuid(c.guid)}`,
    `fifo ${c.fifoSize} events`,
    `max clients ${c.maxClients}`,
    `idle timeout ${c.idleTimeoutMs === 0 ? 'off' : `${c.idleTimeoutMs / 1000} s`}`,
    `receive buffer ${c.receiveBufferSize === undefined ? "the kernel's" : `${c.receiveBufferSize} bytes`}`,
    `rx-coalesce ${c.receiveCoalesceUs} us${c.receiveCoalesceAlways ? ', after every read' : ''}`,
    `user ${c.user ?? '(none)'}`,
    `password ${c.password !== undefined || c.passwordFile !== undefined ? 'set' : '(none)'}`,
    `login ${c.requireLogin ? 'required' : 'optional'}`,
    `pid file ${c.pidFile ?? '(none)'}`,
    `mqtt ${c.mqttArgs === undefined ? 'off' : mqttChecks().displayUrl(String(c.mqttArgs['mqtt']))}`,
  ].join(', ');
}

/**
 * The arguments with the value of every secret option replaced by `***`,
 * for the process title (what `ps` shows) and anything else that displays them.
 */
export function redactArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  const isSecret = (spec: OptionSpec | undefined): boolean => spec?.kind === 'text' && spec.secret === true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    // The option whose value is the next argument (if any), as getoptArgs() reads it.
    let valueOf: OptionSpec | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const spec = BY_LONG.get(arg.slice(2, eq < 0 ? undefined : eq));
      if (eq >= 0) {
        out.push(isSecret(spec) ? `${arg.slice(0, eq)}=***` : arg);
        continue;
      }
      if (spec !== undefined && takesValue(spec)) valueOf = spec;
      out.push(arg);
    } else if (arg.length > 1 && arg.startsWith('-')) {
      // A short cluster: flags, then at most one option that takes the rest or the next argument.
      let j = 1;
      while (j < arg.length && BY_SHORT.get(arg[j] as string)?.kind === 'flag') j++;
      const spec = BY_SHORT.get(arg[j] as string);
      if (spec === undefined || j + 1 === arg.length) {
        valueOf = spec;
        out.push(arg);
      } else out.push(isSecret(spec) ? `${arg.slice(0, j + 1)}***` : arg);
    } else out.push(arg);
    if (valueOf !== undefined && i + 1 < argv.length) {
      i++;
      out.push(isSecret(valueOf) ? '***' : (argv[i] as string));
    }
  }
  return out;
}
