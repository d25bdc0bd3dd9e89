// The bridge's options: their defaults, one check per option that says in
// one line what is wrong, and the reading of the daemon's `--mqtt*` values
// (files included) with the same checks, so the daemon and the library
// accept exactly the same values (docs/mqtt.md "Options"). The daemon's
// option table (lib/cli/options.ts) names and describes them.

import { readFileSync } from 'node:fs';
import type { CanBus } from '../can/types.js';
import { MAX_RECEIVE_COALESCE_US } from '../can/types.js';
import type { Guid } from '../vscp/index.js';
import { GUID_SIZE } from '../vscp/index.js';
import type { PayloadFormat } from './payload.js';
import { PAYLOAD_FORMATS } from './payload.js';
import { MAX_QUEUE_CAPACITY } from './queue.js';
import { DEFAULT_PUBLISH_TOPIC, DEFAULT_SUBSCRIBE_TOPIC, checkPublishTemplate, expandSubscription } from './topic.js';

export type MqttQos = 0 | 1 | 2;

/** Where the bridge reports what it does; the server's Logger fits (console does too). Never given a password. */
export interface MqttLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface MqttBridgeOptions {
  /** Broker: mqtt://, mqtts://, ws:// or wss://, host and optional port and path. No password in it. */
  url: string;
  /** Where the bridge opens its one CAN socket. */
  bus: CanBus;
  /** Default 'can0'. */
  canInterface?: string;
  /** Interface GUID ({ifguid}; {guid} with each sender's nickname in byte 15). Default all zeros. */
  guid?: Guid;
  /** Publication topic template. Default DEFAULT_PUBLISH_TOPIC. */
  topic?: string;
  /** Topic filters whose messages go on the bus; `{ifguid}` allowed. Default [DEFAULT_SUBSCRIBE_TOPIC]; [] subscribes to nothing. */
  subscribe?: readonly string[];
  /** Publication payload format. Default 'json'. */
  format?: PayloadFormat;
  /** QoS of publications and subscriptions. Default 1. */
  qos?: MqttQos;
  /** Default `uvscpd-<hostname>-<canInterface>`: unique per gateway, so two gateways never take over each other's session. */
  clientId?: string;
  username?: string;
  password?: string;
  /** PEM text: the CA that signed the broker's certificate (default: the system's CAs). */
  ca?: string | Buffer;
  /** PEM text: client certificate and its key, for brokers that require one. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Frames held while the broker is away or slow; the oldest is dropped when full. Default DEFAULT_QUEUE_SIZE. */
  queueSize?: number;
  /** MQTT protocol version: 5 (default) or 4 (3.1.1, for brokers without MQTT 5). */
  protocolVersion?: 4 | 5;
  /** Base of the retained status and info topics; `{ifguid}` allowed. Default DEFAULT_GATEWAY_TOPIC. */
  gatewayTopic?: string;
  /** Kernel receive buffer of the bridge's CAN socket, bytes. */
  receiveBufferSize?: number;
  /** Receive coalescing window of the bridge's CAN socket, microseconds (0: off). Default DEFAULT_BRIDGE_COALESCE_US. */
  receiveCoalesceUs?: number;
  /** The window after every read that found frames, not only under load (CanSocketOptions.receiveCoalesceAlways). Default true. */
  receiveCoalesceAlways?: boolean;
  /** How long stop() may take: publish what is queued, mark the gateway offline, disconnect. Default 1000. */
  stopTimeoutMs?: number;
  /** First reconnect delay; it doubles per failed attempt up to reconnectMaxMs. Defaults 1000 and 30000. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** MQTT keep-alive, seconds (0: none): a connection silent for 1.5 times this is given up. Default 30. */
  keepaliveSeconds?: number;
  logger?: MqttLogger;
}

export const DEFAULT_QOS: MqttQos = 1;
export const DEFAULT_FORMAT: PayloadFormat = 'json';
export const DEFAULT_QUEUE_SIZE = 10_000;
export const DEFAULT_GATEWAY_TOPIC = 'uvscpd/{ifguid}';
/**
 * The bridge waits this long after every read that found frames, so that one
 * wake-up publishes several frames in one write (docs/mqtt.md "Latency
 * budget"). A broker hop costs milliseconds anyway; the daemon's TCP sessions
 * keep writing each frame at once.
 */
export const DEFAULT_BRIDGE_COALESCE_US = 5000;
export const DEFAULT_RECONNECT_MIN_MS = 1000;
export const DEFAULT_KEEPALIVE_S = 30;
export const DEFAULT_RECONNECT_MAX_MS = 30_000;
/** Within the daemon's graceful-stop budget (lib/cli/serve.ts STOP_TIMEOUT_MS). */
export const DEFAULT_STOP_TIMEOUT_MS = 1000;
const MAX_CLIENT_ID_BYTES = 65535;

const URL_SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/** Why `text` is not a usable broker URL, or null. */
export function checkUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL (example: mqtt://localhost:1883)';
  }
  if (!URL_SCHEMES.includes(url.protocol)) return `scheme must be mqtt, mqtts, ws or wss (got ${url.protocol.replace(/:$/, '')})`;
  if (url.hostname === '') return 'has no host';
  if (url.password !== '') return 'must not contain a password (it would show in logs and process listings): use the password option';
  return null;
}

/** The URL as it may be logged: no user name or password, no query. */
export function displayUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

export function checkQos(value: unknown): string | null {
  return value === 0 || value === 1 || value === 2 ? null : `must be 0, 1 or 2 (got ${String(value)})`;
}

export function checkFormat(value: unknown): string | null {
  return typeof value === 'string' && (PAYLOAD_FORMATS as readonly string[]).includes(value)
    ? null
    : `must be ${PAYLOAD_FORMATS.join(', ')} (got ${String(value)})`;
}

export function checkQueueSize(value: unknown): string | null {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_QUEUE_CAPACITY
    ? null
    : `must be an integer from 1 to ${MAX_QUEUE_CAPACITY} (got ${String(value)})`;
}

export function checkClientId(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return 'must not be empty';
  if (Buffer.byteLength(value, 'utf8') > MAX_CLIENT_ID_BYTES) return `must be at most ${MAX_CLIENT_ID_BYTES} bytes`;
  return null;
}

export function checkTopicTemplate(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  const checked = checkPublishTemplate(value);
  return checked.ok ? null : checked.error;
}

export function checkSubscription(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  const expanded = expandSubscription(value, new Uint8Array(GUID_SIZE));
  return expanded.ok ? null : expanded.error;
}

/** Why `text` cannot be PEM (certificate or key) read from `path`, or null. */
export function checkPem(text: string): string | null {
  return /-----BEGIN [A-Z0-9 ]+-----/.test(text) ? null : 'holds no PEM block (-----BEGIN ...-----)';
}

function checkInteger(value: unknown, min: number, max: number): string | null {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max
    ? null
    : `must be an integer from ${min} to ${max} (got ${String(value)})`;
}

/** Options with every default filled in, as the bridge uses them. */
export interface ResolvedBridgeOptions {
  url: string;
  bus: CanBus;
  canInterface: string;
  guid: Guid;
  topic: string;
  subscribe: readonly string[];
  format: PayloadFormat;
  qos: MqttQos;
  clientId: string;
  username: string | undefined;
  password: string | undefined;
  ca: string | Buffer | undefined;
  cert: string | Buffer | undefined;
  key: string | Buffer | undefined;
  queueSize: number;
  protocolVersion: 4 | 5;
  gatewayTopic: string;
  receiveBufferSize: number | undefined;
  receiveCoalesceUs: number;
  receiveCoalesceAlways: boolean;
  stopTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  keepaliveSeconds: number;
  logger: MqttLogger;
}

/**
 * Check every option and fill in the defaults. Throws a TypeError or
 * RangeError whose message names the option and says what is wrong.
 * `defaultClientId` is used when `clientId` is absent.
 */
export function resolveBridgeOptions(options: MqttBridgeOptions, defaultClientId: (canInterface: string) => string, silent: MqttLogger): ResolvedBridgeOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('MQTT bridge options must be an object');
  if (options.bus === undefined) throw new TypeError('MQTT bridge: options.bus is required');
  const fail = (name: string, error: string | null): void => {
    if (error !== null) throw new RangeError(`MQTT bridge: ${name} ${error}`);
  };
  fail('url', typeof options.url === 'string' ? checkUrl(options.url) : 'is required');
  const canInterface = options.canInterface ?? 'can0';
  fail('canInterface', typeof canInterface === 'string' && canInterface.length > 0 ? null : 'must not be empty');
  const guid = options.guid ?? new Uint8Array(GUID_SIZE);
  fail('guid', guid instanceof Uint8Array && guid.length === GUID_SIZE ? null : `must be ${GUID_SIZE} bytes`);
  const topic = options.topic ?? DEFAULT_PUBLISH_TOPIC;
  fail('topic', checkTopicTemplate(topic));
  const subscribe = options.subscribe ?? [DEFAULT_SUBSCRIBE_TOPIC];
  fail('subscribe', Array.isArray(subscribe) ? null : 'must be an array of topic filters');
  for (const s of subscribe) fail(`subscribe ${JSON.stringify(s)}`, checkSubscription(s));
  const format = options.format ?? DEFAULT_FORMAT;
  fail('format', checkFormat(format));
  const qos = options.qos ?? DEFAULT_QOS;
  fail('qos', checkQos(qos));
  const clientId = options.clientId ?? defaultClientId(canInterface);
  fail('clientId', checkClientId(clientId));
  if (options.username !== undefined) fail('username', typeof options.username === 'string' ? null : 'must be a string');
  if (options.password !== undefined) fail('password', typeof options.password === 'string' ? null : 'must be a string');
  for (const name of ['ca', 'cert', 'key'] as const) {
    const v = options[name];
    if (v === undefined) continue;
    fail(name, typeof v === 'string' || Buffer.isBuffer(v) ? checkPem(v.toString()) : 'must be PEM text (a string or Buffer)');
  }
  fail('cert and key', (options.cert === undefined) === (options.key === undefined) ? null : 'go together: give both or neither');
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  fail('queueSize', checkQueueSize(queueSize));
  const protocolVersion = options.protocolVersion ?? 5;
  fail('protocolVersion', protocolVersion === 4 || protocolVersion === 5 ? null : 'must be 4 or 5');
  const gatewayTopic = options.gatewayTopic ?? DEFAULT_GATEWAY_TOPIC;
  const gatewayCheck = expandSubscription(gatewayTopic, guid);
  fail('gatewayTopic', gatewayCheck.ok ? (/[+#]/.test(gatewayCheck.filter) ? "must not contain '+' or '#'" : null) : gatewayCheck.error);
  if (options.receiveBufferSize !== undefined) fail('receiveBufferSize', checkInteger(options.receiveBufferSize, 1, 0x7fffffff));
  const receiveCoalesceUs = options.receiveCoalesceUs ?? DEFAULT_BRIDGE_COALESCE_US;
  fail('receiveCoalesceUs', checkInteger(receiveCoalesceUs, 0, MAX_RECEIVE_COALESCE_US));
  const receiveCoalesceAlways = options.receiveCoalesceAlways ?? true;
  fail('receiveCoalesceAlways', typeof receiveCoalesceAlways === 'boolean' ? null : 'must be a boolean');
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  fail('stopTimeoutMs', checkInteger(stopTimeoutMs, 100, 60_000));
  const reconnectMinMs = options.reconnectMinMs ?? DEFAULT_RECONNECT_MIN_MS;
  fail('reconnectMinMs', checkInteger(reconnectMinMs, 10, 3_600_000));
  const reconnectMaxMs = options.reconnectMaxMs ?? Math.max(DEFAULT_RECONNECT_MAX_MS, reconnectMinMs);
  fail('reconnectMaxMs', checkInteger(reconnectMaxMs, reconnectMinMs, 3_600_000));
  const keepaliveSeconds = options.keepaliveSeconds ?? DEFAULT_KEEPALIVE_S;
  fail('keepaliveSeconds', checkInteger(keepaliveSeconds, 0, 65535));
  return {
    url: options.url,
    bus: options.bus,
    canInterface,
    guid: Uint8Array.from(guid),
    topic,
    subscribe: [...subscribe],
    format,
    qos,
    clientId,
    username: options.username,
    password: options.password,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    queueSize,
    protocolVersion,
    gatewayTopic,
    receiveBufferSize: options.receiveBufferSize,
    receiveCoalesceUs,
    receiveCoalesceAlways,
    stopTimeoutMs,
    reconnectMinMs,
    reconnectMaxMs,
    keepaliveSeconds,
    logger: options.logger ?? silent,
  };
}

// ---- the command line ------------------------------------------------------

/** The bridge options a command line can set (the rest come from the daemon's own options). */
export type MqttCliSettings = Pick<
  MqttBridgeOptions,
  'url' | 'topic' | 'subscribe' | 'format' | 'qos' | 'clientId' | 'username' | 'password' | 'ca' | 'cert' | 'key' | 'queueSize' | 'receiveCoalesceUs'
>;

/** The `--mqtt*` option names the daemon reads (lib/cli/options.ts). */
export const MQTT_OPTION_NAMES = [
  'mqtt',
  'mqtt-topic',
  'mqtt-subscribe',
  'mqtt-format',
  'mqtt-qos',
  'mqtt-client-id',
  'mqtt-user',
  'mqtt-password-file',
  'mqtt-ca',
  'mqtt-cert',
  'mqtt-key',
  'mqtt-queue',
  'mqtt-coalesce',
] as const;

export type CliValue = string | readonly string[] | undefined;
export type CliResult = { ok: true; settings: MqttCliSettings | null } | { ok: false; error: string };

/** File reading for mqttSettingsFromCli, replaceable in tests. */
export type ReadFile = (path: string) => string;
const readText: ReadFile = (path) => readFileSync(path, 'utf8');

/**
 * The `--mqtt*` values of a command line (option name -> text, or texts for
 * a repeated option) as bridge settings: null without `--mqtt`, an error
 * line (naming the option, never echoing a secret) for a bad value. Reads
 * the password, CA, certificate and key files.
 */
export function mqttSettingsFromCli(values: Readonly<Record<string, CliValue>>, readFile: ReadFile = readText): CliResult {
  const given = MQTT_OPTION_NAMES.filter((name) => values[name] !== undefined);
  const bad = (name: string, error: string): CliResult => ({ ok: false, error: `--${name}: ${error}` });
  const single = (name: string): string | undefined => {
    const v = values[name];
    return Array.isArray(v) ? (v[v.length - 1] as string | undefined) : (v as string | undefined);
  };
  for (const name of given) {
    const v = values[name];
    if (name !== 'mqtt-subscribe' && Array.isArray(v) && v.length > 1) return bad(name, 'given more than once');
    if ((Array.isArray(v) ? v : [v]).some((x) => typeof x !== 'string')) return bad(name, 'needs a value');
  }
  const url = single('mqtt');
  if (url === undefined) {
    if (given.length > 0) return bad(given[0]!, 'needs --mqtt=URL to turn the bridge on');
    return { ok: true, settings: null };
  }
  const urlError = checkUrl(url);
  if (urlError !== null) return bad('mqtt', urlError);
  const settings: MqttCliSettings = { url };

  const topic = single('mqtt-topic');
  if (topic !== undefined) {
    const e = checkTopicTemplate(topic);
    if (e !== null) return bad('mqtt-topic', e);
    settings.topic = topic;
  }
  const subs = values['mqtt-subscribe'];
  if (subs !== undefined) {
    const list = Array.isArray(subs) ? (subs as readonly string[]) : [subs as string];
    for (const s of list) {
      const e = checkSubscription(s);
      if (e !== null) return bad('mqtt-subscribe', `${JSON.stringify(s)} ${e}`);
    }
    settings.subscribe = list;
  }
  const format = single('mqtt-format');
  if (format !== undefined) {
    const e = checkFormat(format);
    if (e !== null) return bad('mqtt-format', e);
    settings.format = format as PayloadFormat;
  }
  const qosText = single('mqtt-qos');
  if (qosText !== undefined) {
    const qos = /^[0-2]$/.test(qosText) ? Number(qosText) : NaN;
    const e = checkQos(qos);
    if (e !== null) return bad('mqtt-qos', `must be 0, 1 or 2 (got ${JSON.stringify(qosText)})`);
    settings.qos = qos as MqttQos;
  }
  const clientId = single('mqtt-client-id');
  if (clientId !== undefined) {
    const e = checkClientId(clientId);
    if (e !== null) return bad('mqtt-client-id', e);
    settings.clientId = clientId;
  }
  const user = single('mqtt-user');
  if (user !== undefined) {
    if (user.length === 0) return bad('mqtt-user', 'must not be empty');
    settings.username = user;
  }
  // A count as digits only: '1e3', '0x10', '1.5' and '-1' are refused, not converted.
  const count = (text: string): number => (/^[0-9]{1,9}$/.test(text) ? Number(text) : NaN);
  const queueText = single('mqtt-queue');
  if (queueText !== undefined) {
    const n = count(queueText);
    if (checkQueueSize(n) !== null) return bad('mqtt-queue', `must be an integer from 1 to ${MAX_QUEUE_CAPACITY} (got ${JSON.stringify(queueText)})`);
    settings.queueSize = n;
  }
  const coalesceText = single('mqtt-coalesce');
  if (coalesceText !== undefined) {
    const n = count(coalesceText);
    if (checkInteger(n, 0, MAX_RECEIVE_COALESCE_US) !== null) {
      return bad('mqtt-coalesce', `must be an integer from 0 to ${MAX_RECEIVE_COALESCE_US} (got ${JSON.stringify(coalesceText)})`);
    }
    settings.receiveCoalesceUs = n;
  }
  const read = (name: string): { text: string } | { error: string } => {
    const path = single(name)!;
    if (path.length === 0) return { error: 'needs a file name' };
    try {
      return { text: readFile(path) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { error: `cannot read ${path}${code ? ` (${code})` : ''}` };
    }
  };
  if (single('mqtt-password-file') !== undefined) {
    const r = read('mqtt-password-file');
    if ('error' in r) return bad('mqtt-password-file', r.error);
    // The first line, without its line end: `echo secret > file` gives "secret".
    const password = r.text.split(/\r?\n/, 1)[0] ?? '';
    if (password.length === 0) return bad('mqtt-password-file', `${single('mqtt-password-file')} has an empty first line`);
    settings.password = password;
  }
  for (const [name, key] of [
    ['mqtt-ca', 'ca'],
    ['mqtt-cert', 'cert'],
    ['mqtt-key', 'key'],
  ] as const) {
    if (single(name) === undefined) continue;
    const r = read(name);
    if ('error' in r) return bad(name, r.error);
    const e = checkPem(r.text);
    if (e !== null) return bad(name, `${single(name)} ${e}`);
    settings[key] = r.text;
  }
  if ((settings.cert === undefined) !== (settings.key === undefined)) {
    return bad(settings.cert === undefined ? 'mqtt-key' : 'mqtt-cert', 'needs --mqtt-cert and --mqtt-key together');
  }
  return { ok: true, settings };
}
