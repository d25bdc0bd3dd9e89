// Robustness helpers: a seeded PRNG, input generators and
// mutators seeded from the real command set, an independent model of the
// line framing and of the replies docs/protocol.md promises (the fuzz oracle), a
// CanBus decorator that counts open CAN sockets, and small measurement
// helpers (descriptors, heap after GC).
//
// Everything random here is reproducible from one 32-bit seed.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { CanBus, CanSocket, CanSocketOptions, InterfaceState } from '../../lib/can/types.js';

// ---- PRNG ---------------------------------------------------------------------

/** sfc32 seeded through splitmix32: fast, good enough, and the same on every platform. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform 32-bit unsigned integer. */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.next() / 4294967296) * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }

  /** A child generator (for one connection) that does not disturb this one's sequence much. */
  fork(salt: number): Rng {
    return new Rng((this.seed ^ Math.imul(salt + 1, 0x9e3779b1)) >>> 0);
  }
}

/** `FUZZ_SEED` (decimal or 0x hex) when set, else a fresh random seed. */
export function seedFromEnv(name = 'FUZZ_SEED'): number {
  const text = process.env[name];
  if (text !== undefined && text.trim() !== '') {
    const v = Number(text.trim());
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`${name} must be a 32-bit unsigned integer, got ${text}`);
    return v >>> 0;
  }
  return (Math.floor(Math.random() * 4294967296) ^ Date.now()) >>> 0;
}

export function intFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const v = Number(text.trim());
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return v;
}

// ---- seeds from the real command set -------------------------------------------

const GUIDS = [
  '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
  'FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00',
  '0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:',
  '00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:0A',
  '1:2:3',
  '-',
];

const SEND_EXAMPLES = [
  '0,20,3,,,,-,0,1,35',
  '255,20,3,,,,-,0,1,35',
  '0xE0,0x1FF,0xff,,,,-',
  '96,532,9,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3,208',
  '0,20,3,0,,0,,',
  '0,1023,255,,,,-',
  '96,20,3,0,2020-03-08T19:15:53.000Z,1515346304,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A,0,1,35',
  '-0,+20,0x,{x},$v,-,-,1,2,3,4,5,6,7,8',
  '0,20,3,,,,',
  '256,1024,256,,,,-,256',
];

const FILTER_EXAMPLES = [
  '0,20,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
  '0,511,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
  '7,1023,255,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:ff',
  '0,0,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
  '8,0,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0',
  '0,0,0',
];

const NUMBERS = ['0', '1', '7', '8', '255', '256', '511', '512', '1023', '1024', '-1', '+2', '-0', '4294967295', '4294967296', '0x', '0xff', '0XfF', '010', 'ff', '1e3', '3x', '0x5', ''];

/**
 * Example argument lists per command word (protocol §2.2). Words not listed get
 * no arguments. `quit` and `rcvloop` are included: the stream generator
 * decides what may be sent.
 */
function exampleArgs(word: string): string[][] {
  switch (word) {
    case 'send':
      return SEND_EXAMPLES.map((e) => [e]);
    case 'sflt':
    case 'setfilter':
    case 'smsk':
    case 'setmask':
      return FILTER_EXAMPLES.map((e) => [e]);
    case 'sgid':
    case 'setguid':
      return GUIDS.map((g) => [g]);
    case 'retr':
      return [[], ['1'], ['0'], ['5'], ['100'], ['4294967295'], ['-1'], ['3x'], ['+2']];
    case 'user':
    case 'pass':
      return [[], ['admin'], ['Secret']];
    case 'interface':
      return [['list'], ['LIST'], ['list', 'extra'], ['foo'], []];
    default:
      return [[]];
  }
}

/** Seed lines (without line ends) built from COMMAND_WORDS and valid/invalid argument examples. */
export function seedLines(commandWords: readonly string[], credentials: readonly (readonly [string, string])[] = []): string[] {
  const out: string[] = [];
  for (const word of commandWords) {
    for (const args of exampleArgs(word)) out.push([word, ...args].join(' '));
    out.push(word.toUpperCase());
    out.push(`${word} x`);
  }
  out.push('', '   ', '   noop   ', 'foo', 'noopx', '+5', '++', 'chdata', 'exit', 'challenge pw');
  for (const [u, p] of credentials) out.push(`user ${u}`, `pass ${p}`, `USER ${u}`, `pass ${p.toLowerCase()}`);
  return out;
}

// ---- mutators --------------------------------------------------------------------

const INTERESTING_BYTES = [0x00, 0x09, 0x0d, 0x0a, 0x20, 0x2c, 0x3a, 0x2b, 0x2d, 0x7f, 0x80, 0xff, 0xc3, 0x30, 0x78];

/** One random mutation of `input` (bytes); `corpus` supplies splice partners. */
export function mutate(rng: Rng, input: Buffer, corpus: readonly Buffer[]): Buffer {
  let b = Buffer.from(input);
  const pos = (): number => rng.int(b.length + 1);
  switch (rng.int(12)) {
    case 0: // flip a bit
      if (b.length > 0) {
        const i = rng.int(b.length);
        b[i] = (b[i] as number) ^ (1 << rng.int(8));
      }
      return b;
    case 1: // insert an interesting byte (control, separator, high, DEL)
      {
        const i = pos();
        return Buffer.concat([b.subarray(0, i), Buffer.from([rng.pick(INTERESTING_BYTES)]), b.subarray(i)]);
      }
    case 2: // insert random bytes
      {
        const i = pos();
        return Buffer.concat([b.subarray(0, i), rng.bytes(rng.range(1, 8)), b.subarray(i)]);
      }
    case 3: // delete a range
      if (b.length > 0) {
        const i = rng.int(b.length);
        const n = rng.range(1, Math.min(16, b.length - i));
        return Buffer.concat([b.subarray(0, i), b.subarray(i + n)]);
      }
      return b;
    case 4: // duplicate a range
      if (b.length > 0) {
        const i = rng.int(b.length);
        const n = rng.range(1, Math.min(32, b.length - i));
        return Buffer.concat([b.subarray(0, i + n), b.subarray(i, i + n), b.subarray(i + n)]);
      }
      return b;
    case 5: // splice with another corpus entry
      {
        const other = rng.pick(corpus);
        const i = pos();
        const j = rng.int(other.length + 1);
        return Buffer.concat([b.subarray(0, i), other.subarray(j)]);
      }
    case 6: // replace a number-looking token with a boundary value
      {
        const text = b.toString('latin1');
        const parts = text.split(/([ ,:])/);
        const idx: number[] = [];
        parts.forEach((p, k) => {
          if (/^[-+]?(0x)?[0-9a-fA-F]+$/.test(p)) idx.push(k);
        });
        if (idx.length === 0) return b;
        parts[rng.pick(idx)] = rng.pick(NUMBERS);
        return Buffer.from(parts.join(''), 'latin1');
      }
    case 7: // change letter case
      for (let i = 0; i < b.length; i++) {
        const c = b[i] as number;
        if (rng.chance(0.3) && ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) b[i] = c ^ 0x20;
      }
      return b;
    case 8: // repeat towards or past the 320-character limit
      {
        const target = rng.pick([300, 318, 319, 320, 321, 400, 2000]);
        if (b.length === 0) b = Buffer.from(' ');
        const parts: Buffer[] = [];
        let n = 0;
        while (n < target) {
          parts.push(b);
          n += b.length;
        }
        return Buffer.concat(parts).subarray(0, target);
      }
    case 9: // pad with spaces / extra tokens
      return Buffer.concat([b, Buffer.from(' '.repeat(rng.range(1, 3)) + rng.pick(['x', 'a b c d e f g h i j', '0', ','].map(String)), 'latin1')]);
    case 10: // truncate
      return b.subarray(0, rng.int(b.length + 1));
    default: // swap two bytes
      if (b.length > 1) {
        const i = rng.int(b.length);
        const j = rng.int(b.length);
        const t = b[i] as number;
        b[i] = b[j] as number;
        b[j] = t;
      }
      return b;
  }
}

/** Random bytes, random printable tokens, or a few stacked mutations of a seed. */
export function generateInput(rng: Rng, corpus: readonly Buffer[]): Buffer {
  const r = rng.int(10);
  if (r === 0) return rng.bytes(rng.range(0, 64));
  if (r === 1) {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,:+-x';
    let s = '';
    const n = rng.range(0, 40);
    for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
    return Buffer.from(s, 'latin1');
  }
  let b = rng.pick(corpus);
  const rounds = r < 6 ? 0 : rng.range(1, 3); // 40% unmutated seeds, so that valid commands run too
  for (let i = 0; i < rounds; i++) b = mutate(rng, b, corpus);
  return b;
}

// ---- an independent model of framing and replies (the oracle) -------------------

/** Spec §1.3: 319 kept characters fit in a line; the 320th makes it overlong. */
export const MODEL_MAX_KEPT = 319;

export type ModelLine = { overlong: true } | { overlong: false; text: string };

/** Spec §1.3 framing, written independently of lib/server/lines.ts. */
export class FramingModel {
  pending: number[] = [];
  overlong = false;

  clone(): FramingModel {
    const m = new FramingModel();
    m.pending = this.pending.slice();
    m.overlong = this.overlong;
    return m;
  }

  feed(bytes: Uint8Array): ModelLine[] {
    const out: ModelLine[] = [];
    for (const b of bytes) {
      if (b === 0x0a) {
        out.push(this.overlong ? { overlong: true } : { overlong: false, text: Buffer.from(this.pending).toString('latin1') });
        this.pending = [];
        this.overlong = false;
      } else if (b >= 0x20 && !this.overlong) {
        if (this.pending.length < MODEL_MAX_KEPT) this.pending.push(b);
        else {
          this.overlong = true;
          this.pending = [];
        }
      }
    }
    return out;
  }
}

/** Argument counts per command word, from protocol §2.2 and design.md D12 (help, info, aliases). */
export const SPEC_ARG_COUNTS: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  '+': [0, 0],
  noop: [0, 0],
  quit: [0, 0],
  user: [0, 1],
  pass: [0, 1],
  help: [0, 0],
  info: [0, 0],
  vers: [0, 0],
  version: [0, 0],
  restart: [0, 0],
  shutdown: [0, 0],
  send: [1, 1],
  retr: [0, 1],
  retrieve: [0, 1],
  rcvloop: [0, 0],
  receiveloop: [0, 0],
  test: [0, 0],
  quitloop: [0, 0],
  cdta: [0, 0],
  checkdata: [0, 0],
  chkdata: [0, 0],
  clra: [0, 0],
  clrall: [0, 0],
  ggid: [0, 0],
  getguid: [0, 0],
  sgid: [1, 1],
  setguid: [1, 1],
  wcyd: [0, 0],
  whatcanyoudo: [0, 0],
  stat: [0, 0],
  chid: [0, 0],
  getchid: [0, 0],
  sflt: [1, 1],
  setfilter: [1, 1],
  smsk: [1, 1],
  setmask: [1, 1],
  interface: [1, 9],
});

/** What docs/protocol.md promises for one line: the allowed status-line texts, and what the line does. */
export interface Expectation {
  /** Allowed texts of the line's one terminal status line. */
  status: readonly string[];
  /**
   * 'quit' closes the session after the rest of the chunk; 'closeNow' closes
   * it at once (a wrong password with login enforced); 'loop' enters rcvloop
   * (keep-alives follow); else 'plain'.
   */
  effect: 'plain' | 'quit' | 'closeNow' | 'loop';
}

/** The server's configuration as far as replies depend on it (protocol §7, design.md "Auth"). */
export interface ModelConfig {
  user?: string;
  password?: string;
  requireLogin?: boolean;
}

/** Usable before login when it is enforced (design.md "Auth"), `+` included. */
const BEFORE_LOGIN = new Set(['+', 'user', 'pass', 'noop', 'quit', 'help', 'vers', 'version']);
const NEED_LOGIN = '-OK - Need to log in to perform this command.';
const ANY_RETR = ['+OK', '-OK - No event(s) available', '-OK'];

function tokens(line: string): string[] {
  return line.split(' ').filter((t) => t.length > 0).slice(0, 10);
}

/** The session model: framing, the `+` history (protocol §1.5), login state (protocol §7, design.md "Auth"). */
export class SessionModel {
  framing = new FramingModel();
  history: string | null = null;
  userAccepted = false;
  passwordAccepted = false;

  constructor(readonly config: ModelConfig = {}) {}

  clone(): SessionModel {
    const m = new SessionModel(this.config);
    m.framing = this.framing.clone();
    m.history = this.history;
    m.userAccepted = this.userAccepted;
    m.passwordAccepted = this.passwordAccepted;
    return m;
  }

  adopt(other: SessionModel): void {
    this.framing = other.framing;
    this.history = other.history;
    this.userAccepted = other.userAccepted;
    this.passwordAccepted = other.passwordAccepted;
  }

  private get loggedIn(): boolean {
    const c = this.config;
    return (c.user === undefined || this.userAccepted) && (c.password === undefined || this.passwordAccepted);
  }

  /** Feed bytes; returns one expectation per completed line (and updates the model's state). */
  feed(bytes: Uint8Array): Expectation[] {
    const out: Expectation[] = [];
    for (const line of this.framing.feed(bytes)) {
      if (line.overlong) {
        out.push({ status: ['-OK - line length exceeded'], effect: 'plain' });
        continue;
      }
      const tok = tokens(line.text);
      if (!(tok.length === 1 && tok[0] === '+')) this.history = line.text;
      out.push(this.expectTokens(tok, 0));
    }
    return out;
  }

  private expectTokens(tok: readonly string[], depth: number): Expectation {
    const plain = (...status: string[]): Expectation => ({ status, effect: 'plain' });
    if (tok.length === 0) return plain('-OK - no input');
    const word = (tok[0] as string).toLowerCase();
    const counts = SPEC_ARG_COUNTS[word];
    if (counts === undefined) return plain('-OK - invalid command');
    const cfg = this.config;
    if (cfg.requireLogin === true && !BEFORE_LOGIN.has(word) && !this.loggedIn) return plain(NEED_LOGIN);
    const args = tok.slice(1);
    if (args.length < counts[0] || args.length > counts[1]) return plain('-OK - wrong number of arguments');
    switch (word) {
      case '+':
        // `+` repeats the history line (which never is a bare `+`).
        if (depth > 0) return plain('-OK - no input');
        return this.history === null ? plain('-OK - no input') : this.expectTokens(tokens(this.history), depth + 1);
      case 'quit':
        return { status: ['+OK - bye'], effect: 'quit' };
      case 'rcvloop':
      case 'receiveloop':
        return { status: ['+OK'], effect: 'loop' };
      case 'user':
        if (cfg.user === undefined) return plain('+OK - no user configured');
        if (args.length === 0) {
          this.userAccepted = false;
          return plain('-OK - please supply username');
        }
        this.userAccepted = args[0] === cfg.user;
        return plain(this.userAccepted ? '+OK' : '-OK - invalid user');
      case 'pass':
        if (cfg.password === undefined) return plain('+OK - no password configured');
        if (args.length === 0) {
          this.passwordAccepted = false;
          return plain('-OK - please supply password');
        }
        this.passwordAccepted = args[0] === cfg.password;
        if (this.passwordAccepted) return plain('+OK');
        return { status: ['-OK - invalid password'], effect: cfg.requireLogin === true ? 'closeNow' : 'plain' };
      case 'restart':
      case 'shutdown':
        return plain('-OK - uvscpd is not capable of restart/shutdown');
      case 'clra':
      case 'clrall':
        return plain('+OK - All events cleared.');
      case 'send':
        return plain('+OK', '-OK - format error in CAN frame');
      case 'retr':
      case 'retrieve':
        return plain(...ANY_RETR);
      case 'sgid':
      case 'setguid':
        return plain('+OK', '-OK - Invalid GUID');
      case 'sflt':
      case 'setfilter':
        return plain('+OK', '-OK - format error in filter frame');
      case 'smsk':
      case 'setmask':
        return plain('+OK', '-OK - format error in mask frame');
      case 'interface':
        return (args[0] as string).toLowerCase() === 'list' ? plain('+OK') : plain('-OK - invalid command');
      default:
        return plain('+OK'); // noop, test, quitloop, vers, ggid, wcyd, stat, chid, cdta, help, info
    }
  }
}

export interface FuzzStream {
  /** The bytes to send, in pieces (one generated input each). */
  pieces: Buffer[];
  /** One entry per complete line the pieces make, in order. */
  expected: Expectation[];
  /** How the stream ends: an explicit quit line, a wrong password (login enforced), or a TCP half-close. */
  ending: 'quit' | 'badPassword' | 'end';
  /** Whether rcvloop was entered (keep-alive `+OK` lines may then appear anywhere after it). */
  looped: boolean;
}

/**
 * `count` inputs for one connection. Inputs whose completed lines would end
 * the session (or, unless `allowLoop`, enter rcvloop) are re-drawn, so that
 * every line's reply can be checked; the stream then ends with `quit`, a
 * wrong password (when login is enforced) or a half-close.
 */
export function generateStream(rng: Rng, corpus: readonly Buffer[], count: number, config: ModelConfig = {}, allowLoop = false): FuzzStream {
  const model = new SessionModel(config);
  const pieces: Buffer[] = [];
  const expected: Expectation[] = [];
  let looped = false;
  const ok = (e: Expectation): boolean => e.effect === 'plain' || (allowLoop && e.effect === 'loop');
  while (pieces.length < count) {
    let piece = generateInput(rng, corpus);
    // Most inputs are whole lines; some leave a partial line for the next one.
    if (!rng.chance(0.1)) piece = Buffer.concat([piece, Buffer.from(rng.chance(0.7) ? '\r\n' : '\n')]);
    const trial = model.clone();
    const e = trial.feed(piece);
    if (!e.every(ok)) continue;
    model.adopt(trial);
    pieces.push(piece);
    expected.push(...e);
    if (e.some((x) => x.effect === 'loop')) looped = true;
  }
  // Complete any partial line with something harmless.
  for (const closer of ['\n', 'x\n', 'zz\n']) {
    const trial = model.clone();
    const e = trial.feed(Buffer.from(closer));
    if (e.every(ok)) {
      model.adopt(trial);
      pieces.push(Buffer.from(closer));
      expected.push(...e);
      if (e.some((x) => x.effect === 'loop')) looped = true;
      break;
    }
  }
  const r = rng.int(3);
  const ending = r === 0 && config.requireLogin === true && config.password !== undefined ? 'badPassword' : r === 1 ? 'end' : 'quit';
  if (ending === 'quit') {
    pieces.push(Buffer.from('quit\r\n'));
    expected.push(...model.feed(Buffer.from('quit\r\n')));
  } else if (ending === 'badPassword') {
    const line = Buffer.from(`pass ${config.password}-wrong\r\nnoop\r\n`);
    pieces.push(line);
    expected.push(...model.feed(line).slice(0, 1)); // closed at once: the noop is never run
  }
  return { pieces, expected, ending, looped };
}

/**
 * Check the received status lines against the expectations: one per line,
 * in order, each with an allowed text. With `looped`, extra bare `+OK`
 * keep-alives may appear anywhere (a small dynamic programme finds whether
 * they can be placed). Returns null, or a description of the mismatch.
 */
export function checkStatuses(received: readonly string[], expected: readonly Expectation[], looped: boolean): string | null {
  const n = expected.length;
  const k = received.length - n;
  const firstMismatch = (): string => {
    for (let i = 0; i < Math.min(n, received.length); i++) {
      if (!expected[i]!.status.includes(received[i]!)) return `line ${i}: got ${JSON.stringify(received[i])}, protocol allows ${JSON.stringify(expected[i]!.status)}`;
    }
    return '';
  };
  if (k < 0 || (k > 0 && !looped)) return `${n} complete lines sent, ${received.length} status lines received; ${firstMismatch()}`;
  // can[e]: the first j expectations matched with e keep-alives among received[0 .. j+e).
  let can = new Uint8Array(k + 1);
  can[0] = 1;
  for (let e = 1; e <= k; e++) can[e] = can[e - 1]! && received[e - 1] === '+OK' ? 1 : 0;
  for (let j = 1; j <= n; j++) {
    const next = new Uint8Array(k + 1);
    const allowed = expected[j - 1]!.status;
    for (let e = 0; e <= k; e++) {
      const r = received[j - 1 + e]!;
      if (can[e] && allowed.includes(r)) next[e] = 1;
      else if (e > 0 && next[e - 1] && received[j + e - 1] === '+OK') next[e] = 1;
    }
    can = next;
  }
  return can[k] ? null : `no placement of ${k} keep-alive(s) matches; ${firstMismatch()}`;
}

/** Whether a server line is a status line (protocol §1.4). */
export function isStatusLine(line: string): boolean {
  return line.startsWith('+OK') || line.startsWith('-OK');
}

// ---- a CanBus that counts its open sockets ------------------------------------------

/** Wraps any CanBus; counts sockets opened and still open (close() is idempotent, counted once). */
export class CountingBus implements CanBus {
  opened = 0;
  closed = 0;
  private readonly live = new Set<CanSocket>();

  constructor(
    readonly inner: CanBus,
    /** Options forced onto every socket (e.g. a small txQueueLimit). */
    private readonly forced: CanSocketOptions = {},
  ) {}

  get openCount(): number {
    return this.live.size;
  }

  open(interfaceName: string, options: CanSocketOptions = {}): CanSocket {
    const socket = this.inner.open(interfaceName, { ...options, ...this.forced });
    this.opened++;
    this.live.add(socket);
    const close = socket.close.bind(socket);
    socket.close = () => {
      if (this.live.delete(socket)) this.closed++;
      close();
    };
    return socket;
  }

  interfaceState(interfaceName: string): InterfaceState {
    return this.inner.interfaceState(interfaceName);
  }
}

// ---- measurements -------------------------------------------------------------------

let gcFn: (() => void) | null = null;

/** A full garbage collection (exposes gc on first use). */
export function fullGc(): void {
  if (gcFn === null) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
}

/** heapUsed after a full GC, bytes. */
export async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  fullGc();
  return process.memoryUsage().heapUsed;
}

/** Open descriptors of a process (default this one), by kind. */
export function fdCounts(pid: number | 'self' = 'self'): { total: number; sockets: number } {
  const dir = `/proc/${pid}/fd`;
  let total = 0;
  let sockets = 0;
  for (const name of readdirSync(dir)) {
    let target = '';
    try {
      target = readlinkSync(`${dir}/${name}`);
    } catch {
      continue; // closed while we looked (e.g. the readdir's own descriptor)
    }
    total++;
    if (target.startsWith('socket:')) sockets++;
  }
  return { total, sockets };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `cond()` holds; throws after `timeoutMs` naming `what`. */
export async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * CAN_RAW sockets bound to `iface`, as the kernel lists them in
 * /proc/net/can/rcvlist_* (one receiver per filter; a socket without
 * filters is one entry in rcvlist_all). Linux only, needs CAN.
 */
export function canRawSocketsOn(iface: string): number {
  let n = 0;
  for (const list of ['all', 'fil', 'inv', 'eff', 'sff']) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/can/rcvlist_${list}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[0] === iface && f[f.length - 1] === 'raw') n++;
    }
  }
  return n;
}
