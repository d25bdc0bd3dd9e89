// The command interpreter: ONE table, command word -> handler (protocol §2),
// with the original's aliases plus design.md D12's. Handlers read and change
// the session's state and return the reply text; they never touch sockets.
// What they need from the outside world (the CAN socket, the keep-alive
// clock, server-wide facts) comes through SessionHooks and ServerFacts.

import type { CanBusState } from '../can/bus-state.js';
import type { InterfaceState } from '../can/types.js';
import { versionReply, PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import type { Guid } from '../vscp/index.js';
import {
  formatDateTime,
  formatGuid,
  formatGuidPrefix,
  parseFilterArgument,
  parseGuid,
  parseRetrCount,
  parseSendEvent,
} from '../vscp/index.js';
import type { Credentials } from './credentials.js';
import { BoundedFifo } from './fifo.js';
import { tokenize } from './lines.js';

const CRLF = '\r\n';
/** At most this many argument tokens are kept; more are ignored (protocol §1.3, max_argc 10). */
export const MAX_ARGS = 9;

/** A command's answer: CRLF-terminated text, and whether the session ends after it. */
export interface CommandReply {
  readonly text: string;
  /**
   * 'quit': close once the rest of the current input chunk is answered
   * (protocol §1.6 quirk, #33). 'now': close without running further lines
   * (a wrong password when login is enforced).
   */
  readonly close?: 'quit' | 'now';
}

function reply(...lines: string[]): CommandReply {
  return { text: lines.join(CRLF) + CRLF };
}

// Replies used often, allocated once (texts: protocol §1.4, §2.2, §6, §7).
export const REPLY_OK = reply('+OK');
export const REPLY_NO_INPUT = reply('-OK - no input');
export const REPLY_INVALID_COMMAND = reply('-OK - invalid command');
export const REPLY_WRONG_ARGS = reply('-OK - wrong number of arguments');
export const REPLY_LINE_TOO_LONG = reply('-OK - line length exceeded');
export const REPLY_NEED_LOGIN = reply('-OK - Need to log in to perform this command.');
const REPLY_BARE_FAIL = reply('-OK');
const REPLY_NO_EVENTS = reply('-OK - No event(s) available');
const REPLY_SEND_FORMAT = reply('-OK - format error in CAN frame');
const REPLY_SEND_WRITE = reply('-OK - problem when writing to CAN socket');
const REPLY_NOT_CAPABLE = reply('-OK - uvscpd is not capable of restart/shutdown');
const REPLY_BYE: CommandReply = { text: '+OK - bye' + CRLF, close: 'quit' };
/** Capability code 0x8028: TCP link interface, IPv4, several connections (protocol §2.2 WCYD). */
const WCYD_LINE = '00-00-00-00-00-00-80-28';

/** Lines that are not status lines must not look like one to clients (protocol §10). */
function safeInfoLine(line: string): string {
  const c = line.charCodeAt(0);
  return c === 0x2b || c === 0x2d ? ' ' + line : line;
}

/** Most of a line INFO shows from outside: control bytes become spaces, so one line stays one line. */
const MAX_EXTRA_INFO_LINE = 200;
function sanitizeExtraLine(line: unknown): string {
  const text = typeof line === 'string' ? line : String(line);
  // eslint-disable-next-line no-control-regex
  return text.slice(0, MAX_EXTRA_INFO_LINE).replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** What a session knows about its server; the same object for every session. */
export interface ServerFacts {
  readonly canInterface: string;
  /** When the server started listening (INTERFACE LIST "Started", INFO uptime). */
  readonly startedAtMs: number;
  readonly maxClients: number;
  readonly clientCount: number;
  readonly credentials: Credentials;
  /** design.md "Auth": enforce USER/PASS before most commands. */
  readonly requireLogin: boolean;
  interfaceState(): InterfaceState;
  /** Extra lines for INFO from outside the server (e.g. a bridge's state); sanitized like INFO's own. */
  infoLines?(): readonly string[];
}

/** What a handler may ask of the session that owns the state. */
export interface SessionHooks {
  /** Send one extended frame on this session's CAN socket; resolves once the kernel took it. */
  sendFrame(id: number, data: Uint8Array): Promise<void>;
  /** Install the single kernel filter {id, mask} on this session's CAN socket. */
  applyFilter(id: number, mask: number): void;
  /** RCVLOOP was (re)entered: restart the keep-alive clock. */
  loopStarted(): void;
  /** Frames the kernel dropped for this session's CAN socket. */
  kernelDrops(): number;
  /** Bus state and error counts of this session's CAN socket, from the error frames it received. */
  busErrors(): BusErrorReport;
  /** Wall-clock milliseconds. */
  now(): number;
}

/** What INFO and STAT show of the CAN bus's health (docs/design.md "STAT"). */
export interface BusErrorReport {
  state: CanBusState;
  busOff: number;
  errorWarning: number;
  errorPassive: number;
  /** Controller RX plus TX buffer overflows: frames the controller lost. */
  overruns: number;
  protocolErrors: number;
  ackErrors: number;
  restarts: number;
}

/** Statistics of one session (protocol §2.2 STAT): 32-bit unsigned, wrapping. */
export interface SessionCounters {
  rxData: number;
  rxFrames: number;
  txData: number;
  txFrames: number;
}

/** Per-connection protocol state (protocol §4.1). */
export class SessionState {
  /** Connection GUID (protocol §2 SGID); change it with setGuid. */
  guid: Guid;
  /** formatGuidPrefix(guid), cached for the event-line hot path. */
  guidPrefix: string;
  /** Received events as formatted lines, CRLF included (formatted on arrival, protocol §3.4). */
  readonly fifo: BoundedFifo<string>;
  readonly counters: SessionCounters = { rxData: 0, rxFrames: 0, txData: 0, txFrames: 0 };
  inLoop = false;
  /** The last processed line for `+` (protocol §1.5); null before the first. */
  history: string | null = null;
  userAccepted = false;
  passwordAccepted = false;
  /** SFLT / SMSK values (protocol §2.2); installed together as one kernel filter. */
  filterId = 0;
  filterMask = 0;
  /** Events dropped because the TCP peer was not reading (design.md "Slow readers"). */
  slowReaderDrops = 0;

  /**
   * `channelId`: what CHID answers, non-zero and unique among the server's
   * live sessions; other sessions' event lines carry it as obid for the
   * frames this session sends (docs/design.md "Channel ids").
   */
  constructor(
    readonly server: ServerFacts,
    readonly hooks: SessionHooks,
    initialGuid: Guid,
    fifoCapacity: number,
    readonly channelId: number,
  ) {
    this.guid = Uint8Array.from(initialGuid);
    this.guidPrefix = formatGuidPrefix(this.guid);
    this.fifo = new BoundedFifo<string>(fifoCapacity);
  }

  setGuid(guid: Guid): void {
    this.guid = Uint8Array.from(guid);
    this.guidPrefix = formatGuidPrefix(this.guid);
  }

  /** Whether every configured credential has been given correctly (only matters with requireLogin). */
  get loggedIn(): boolean {
    const c = this.server.credentials;
    return (!c.hasUser || this.userAccepted) && (!c.hasPassword || this.passwordAccepted);
  }
}

type Handler = (s: SessionState, args: readonly string[]) => CommandReply | Promise<CommandReply>;

interface CommandSpec {
  /** First name is the canonical one; the others are aliases. */
  readonly names: readonly string[];
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Usable before login when login is enforced (design.md "Auth"). */
  readonly beforeLogin?: boolean;
  readonly usage: string;
  readonly summary: string;
  readonly run: Handler;
}

function retr(s: SessionState, args: readonly string[]): CommandReply {
  let count = 1;
  if (args.length === 1) {
    const parsed = parseRetrCount(args[0] as string);
    if (parsed === null) return REPLY_BARE_FAIL;
    count = parsed;
  }
  if (count === 0) return REPLY_OK;
  let text = '';
  // A huge count (retr -1 = 4294967295) simply stops when the FIFO is empty.
  for (let i = 0; i < count; i++) {
    const line = s.fifo.shift();
    if (line === undefined) return { text: text + REPLY_NO_EVENTS.text };
    text += line;
  }
  return { text: text + REPLY_OK.text };
}

function send(s: SessionState, args: readonly string[]): CommandReply | Promise<CommandReply> {
  const parsed = parseSendEvent(args[0] as string, s.guid);
  if (!parsed.ok) return REPLY_SEND_FORMAT;
  // Counted before the write, so failed writes count too (protocol §2.2 STAT).
  s.counters.txFrames = (s.counters.txFrames + 1) >>> 0;
  s.counters.txData = (s.counters.txData + parsed.data.length + 4) >>> 0;
  let outcome: Promise<void>;
  try {
    outcome = s.hooks.sendFrame(parsed.id, parsed.data);
  } catch {
    return REPLY_SEND_WRITE;
  }
  return outcome.then(sendDone, sendFailed);
}

// Shared (no closures per SEND): the kernel took the frame, or did not.
const sendDone = (): CommandReply => REPLY_OK;
const sendFailed = (): CommandReply => REPLY_SEND_WRITE;

function setFilterPart(which: 'id' | 'mask'): Handler {
  const failure = reply(which === 'id' ? '-OK - format error in filter frame' : '-OK - format error in mask frame');
  return (s, args) => {
    const value = parseFilterArgument(args[0] as string);
    if (value === null) return failure;
    if (which === 'id') s.filterId = value;
    else s.filterMask = value;
    s.hooks.applyFilter(s.filterId, s.filterMask);
    return REPLY_OK;
  };
}

/** What USER and PASS say; everything else about them is the same steps (design.md "Auth"). */
interface CredentialReplies {
  readonly notConfigured: CommandReply;
  readonly missing: CommandReply;
  readonly wrong: CommandReply;
}
const USER_REPLIES: CredentialReplies = {
  notConfigured: reply('+OK - no user configured'),
  missing: reply('-OK - please supply username'),
  wrong: reply('-OK - invalid user'),
};
const PASS_REPLIES: CredentialReplies = {
  notConfigured: reply('+OK - no password configured'),
  missing: reply('-OK - please supply password'),
  wrong: reply('-OK - invalid password'),
};
/** With login enforced a wrong password ends the session, as vscpd does (design.md "Auth"). */
const REPLY_WRONG_PASSWORD_CLOSE: CommandReply = { text: PASS_REPLIES.wrong.text, close: 'now' };

/**
 * Check a USER or PASS argument: whether it is accepted now (undefined: nothing
 * is configured, nothing changes) and the reply.
 */
function checkCredential(
  configured: boolean,
  args: readonly string[],
  matches: (wireText: string) => boolean,
  replies: CredentialReplies,
): [accepted: boolean | undefined, reply: CommandReply] {
  if (!configured) return [undefined, replies.notConfigured];
  if (args.length === 0) return [false, replies.missing];
  const ok = matches(args[0] as string);
  return [ok, ok ? REPLY_OK : replies.wrong];
}

function user(s: SessionState, args: readonly string[]): CommandReply {
  const creds = s.server.credentials;
  const [accepted, r] = checkCredential(creds.hasUser, args, (t) => creds.checkUser(t), USER_REPLIES);
  if (accepted !== undefined) s.userAccepted = accepted;
  return r;
}

function pass(s: SessionState, args: readonly string[]): CommandReply {
  const creds = s.server.credentials;
  const [accepted, r] = checkCredential(creds.hasPassword, args, (t) => creds.checkPassword(t), PASS_REPLIES);
  if (accepted !== undefined) s.passwordAccepted = accepted;
  return r === PASS_REPLIES.wrong && s.server.requireLogin ? REPLY_WRONG_PASSWORD_CLOSE : r;
}

function interfaceCommand(s: SessionState, args: readonly string[]): CommandReply {
  // The sub-command is a keyword, so it is matched without regard to case
  // like the command word (#47: INTERFACE LIST).
  if ((args[0] as string).toLowerCase() !== 'list') {
    // D3: the original stayed silent and swallowed the rest of the chunk.
    return reply('-OK - invalid command');
  }
  const started = formatDateTime(s.server.startedAtMs);
  return reply(`0,1,${formatGuid(s.guid)},${s.server.canInterface}|Started ${started}`, '+OK');
}

function info(s: SessionState): CommandReply {
  const srv = s.server;
  const uptimeSeconds = Math.max(0, Math.floor((s.hooks.now() - srv.startedAtMs) / 1000));
  const bus = s.hooks.busErrors();
  const lines = [
    `server: ${PACKAGE_NAME} ${PACKAGE_VERSION}`,
    `interface: ${srv.canInterface} ${srv.interfaceState()}`,
    `clients: ${srv.clientCount} of ${srv.maxClients}`,
    `login: ${srv.requireLogin ? (s.loggedIn ? 'required, logged in' : 'required, not logged in') : 'not required'}`,
    `rcvloop: ${s.inLoop ? 'on' : 'off'}`,
    `fifo: ${s.fifo.size} of ${s.fifo.capacity} events, ${s.fifo.dropped} dropped when full`,
    `slow reader drops: ${s.slowReaderDrops}`,
    `kernel drops: ${s.hooks.kernelDrops()}`,
    `bus state: ${bus.state}`,
    `bus errors: bus-off ${bus.busOff}, warning ${bus.errorWarning}, passive ${bus.errorPassive}, ` +
      `overruns ${bus.overruns}, protocol ${bus.protocolErrors}, no-ack ${bus.ackErrors}, restarts ${bus.restarts}`,
    `filter: id 0x${s.filterId.toString(16)} mask 0x${s.filterMask.toString(16)}`,
    `uptime: ${uptimeSeconds} s`,
  ];
  if (srv.infoLines !== undefined) {
    let extra: readonly string[] = [];
    try {
      extra = srv.infoLines();
    } catch {
      extra = ['(extra info unavailable)'];
    }
    for (const line of extra) lines.push(sanitizeExtraLine(line));
  }
  return reply(...lines.map(safeInfoLine), '+OK');
}

function help(): CommandReply {
  const lines = ['commands (the word is case-insensitive; arguments keep their case):'];
  for (const spec of COMMANDS) {
    const names = spec.names.join('|');
    lines.push(`  ${(names + (spec.usage ? ' ' + spec.usage : '')).padEnd(34)} ${spec.summary}`);
  }
  return reply(...lines.map(safeInfoLine), '+OK');
}

function repeat(s: SessionState): CommandReply | Promise<CommandReply> {
  // protocol §1.5: the previous line runs again, not echoed; none yet -> no input.
  return s.history === null ? REPLY_NO_INPUT : executeTokens(s, tokenize(s.history, MAX_ARGS));
}

const COMMANDS: readonly CommandSpec[] = [
  { names: ['+'], minArgs: 0, maxArgs: 0, beforeLogin: true, usage: '', summary: 'repeat the last command line', run: repeat },
  { names: ['noop'], minArgs: 0, maxArgs: 0, beforeLogin: true, usage: '', summary: 'do nothing', run: () => REPLY_OK },
  { names: ['test'], minArgs: 0, maxArgs: 0, usage: '', summary: 'check the link', run: () => REPLY_OK },
  { names: ['quit'], minArgs: 0, maxArgs: 0, beforeLogin: true, usage: '', summary: 'close the connection', run: () => REPLY_BYE },
  { names: ['user'], minArgs: 0, maxArgs: 1, beforeLogin: true, usage: '[name]', summary: 'give the user name', run: user },
  { names: ['pass'], minArgs: 0, maxArgs: 1, beforeLogin: true, usage: '[password]', summary: 'give the password', run: pass },
  { names: ['help'], minArgs: 0, maxArgs: 0, beforeLogin: true, usage: '', summary: 'list the commands', run: help },
  { names: ['vers', 'version'], minArgs: 0, maxArgs: 0, beforeLogin: true, usage: '', summary: 'daemon version', run: () => reply(versionReply(), '+OK') },
  { names: ['info'], minArgs: 0, maxArgs: 0, usage: '', summary: 'interface, clients, buffer, drops, uptime', run: info },
  { names: ['restart'], minArgs: 0, maxArgs: 0, usage: '', summary: 'not supported', run: () => REPLY_NOT_CAPABLE },
  { names: ['shutdown'], minArgs: 0, maxArgs: 0, usage: '', summary: 'not supported', run: () => REPLY_NOT_CAPABLE },
  { names: ['send'], minArgs: 1, maxArgs: 1, usage: '<head,class,type,obid,datetime,timestamp,GUID[,data...]>', summary: 'send an event', run: send },
  { names: ['retr', 'retrieve'], minArgs: 0, maxArgs: 1, usage: '[count]', summary: 'fetch buffered events', run: retr },
  {
    names: ['rcvloop', 'receiveloop'],
    minArgs: 0,
    maxArgs: 0,
    usage: '',
    summary: 'stream events as they arrive',
    run: (s) => {
      // protocol §5.1: +OK first, then whatever was buffered.
      s.inLoop = true;
      s.hooks.loopStarted();
      let text = REPLY_OK.text;
      for (let line = s.fifo.shift(); line !== undefined; line = s.fifo.shift()) text += line;
      return { text };
    },
  },
  {
    names: ['quitloop'],
    minArgs: 0,
    maxArgs: 0,
    usage: '',
    summary: 'stop streaming, buffer again',
    run: (s) => {
      s.inLoop = false;
      return REPLY_OK;
    },
  },
  { names: ['cdta', 'checkdata', 'chkdata'], minArgs: 0, maxArgs: 0, usage: '', summary: 'number of buffered events', run: (s) => reply(`${s.fifo.size} `, '+OK') },
  {
    names: ['clra', 'clrall'],
    minArgs: 0,
    maxArgs: 0,
    usage: '',
    summary: 'discard buffered events',
    run: (s) => {
      s.fifo.clear();
      return reply('+OK - All events cleared.');
    },
  },
  { names: ['ggid', 'getguid'], minArgs: 0, maxArgs: 0, usage: '', summary: 'connection GUID', run: (s) => reply(formatGuid(s.guid), '+OK') },
  {
    names: ['sgid', 'setguid'],
    minArgs: 1,
    maxArgs: 1,
    usage: '<guid>',
    summary: 'set the connection GUID',
    run: (s, args) => {
      const guid = parseGuid(args[0] as string);
      if (guid === null) return reply('-OK - Invalid GUID');
      s.setGuid(guid);
      return REPLY_OK;
    },
  },
  { names: ['wcyd', 'whatcanyoudo'], minArgs: 0, maxArgs: 0, usage: '', summary: 'capability code', run: () => reply(WCYD_LINE, '+OK') },
  {
    names: ['stat'],
    minArgs: 0,
    maxArgs: 0,
    usage: '',
    summary: 'statistics',
    run: (s) => {
      // The first three fields are bus-off events, error-warning events and overruns, as
      // vscpd fills them; the original sends zeros there (docs/design.md "STAT").
      const c = s.counters;
      const bus = s.hooks.busErrors();
      const head = `${bus.busOff >>> 0},${bus.errorWarning >>> 0},${bus.overruns >>> 0}`;
      return reply(`${head},${c.rxData},${c.rxFrames},${c.txData},${c.txFrames}`, '+OK');
    },
  },
  { names: ['chid', 'getchid'], minArgs: 0, maxArgs: 0, usage: '', summary: 'channel id (obid of this client\'s events elsewhere)', run: (s) => reply(String(s.channelId), '+OK') },
  { names: ['sflt', 'setfilter'], minArgs: 1, maxArgs: 1, usage: '<priority,class,type,GUID>', summary: 'set the receive filter', run: setFilterPart('id') },
  { names: ['smsk', 'setmask'], minArgs: 1, maxArgs: 1, usage: '<priority,class,type,GUID>', summary: 'set the receive mask', run: setFilterPart('mask') },
  { names: ['interface'], minArgs: 1, maxArgs: MAX_ARGS, usage: 'list', summary: 'list interfaces', run: interfaceCommand },
];

/** Every accepted spelling -> its command. A Map, so words like `__proto__` are just unknown. */
const COMMAND_TABLE: ReadonlyMap<string, CommandSpec> = new Map(COMMANDS.flatMap((spec) => spec.names.map((name) => [name, spec] as const)));

/** Every accepted command word, canonical names and aliases. */
export const COMMAND_WORDS: readonly string[] = [...COMMAND_TABLE.keys()];

function executeTokens(s: SessionState, tokens: readonly string[]): CommandReply | Promise<CommandReply> {
  if (tokens.length === 0) return REPLY_NO_INPUT;
  // D10: only the command word is case-insensitive.
  const spec = COMMAND_TABLE.get((tokens[0] as string).toLowerCase());
  if (spec === undefined) return REPLY_INVALID_COMMAND;
  if (s.server.requireLogin && spec.beforeLogin !== true && !s.loggedIn) return REPLY_NEED_LOGIN;
  const args = tokens.slice(1);
  if (args.length < spec.minArgs || args.length > spec.maxArgs) return REPLY_WRONG_ARGS;
  return spec.run(s, args);
}

/**
 * Run one complete input line (already stripped of control bytes by the
 * line splitter) and return its reply. A Promise only for SEND, whose
 * outcome depends on the CAN socket.
 */
export function executeLine(s: SessionState, line: string): CommandReply | Promise<CommandReply> {
  const tokens = tokenize(line, MAX_ARGS);
  // protocol §1.5: every processed line becomes the history except `+` itself.
  if (!(tokens.length === 1 && tokens[0] === '+')) s.history = line;
  return executeTokens(s, tokens);
}
