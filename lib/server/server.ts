// The TCP listener: accepts clients up to the limit (design.md "Limits"), gives
// each a Session, drives every session's keep-alive and idle clocks from ONE
// timer, and reports its lifecycle to library users as events.

import { EventEmitter } from 'node:events';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { CanBus, CanError, InterfaceState } from '../can/types.js';
import { CAN_ERR_BUS_STATE_MASK } from '../can/error-frame.js';
import { MAX_RECEIVE_COALESCE_US } from '../can/types.js';
import type { Guid } from '../vscp/index.js';
import { GUID_SIZE, zeroGuid } from '../vscp/index.js';
import type { ServerFacts } from './commands.js';
import { Credentials } from './credentials.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { FrameOrigins } from './origins.js';
import type { SessionHost, SessionInfo } from './session.js';
import { Session, errorText } from './session.js';

export type { SessionInfo } from './session.js';

export const DEFAULT_PORT = 8598;
export const DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_CAN_INTERFACE = 'can0';
export const DEFAULT_MAX_CLIENTS = 5;
export const DEFAULT_FIFO_SIZE = 100;
/**
 * Receive coalescing window under load, microseconds (docs/design.md "The
 * native layer (native/)"; figures: bench/README.md "The receive coalescing window").
 */
export const DEFAULT_RECEIVE_COALESCE_US = 1000;

const MAX_CLIENTS_REPLY = '-OK - Max number of clients connected.\r\n';
/** Longest a session's unconverted input waits for the timer to time it (see Session.onTimer). */
export const ACTIVITY_TICK_MS = 200;
/** How long a refused client may take to read its one line. */
const REFUSE_GRACE_MS = 1000;

export interface VscpServerOptions {
  /** Where each session opens its own CAN socket. */
  bus: CanBus;
  /** Default 'can0'. */
  canInterface?: string;
  /** Default '0.0.0.0' (IPv4 any, as the original); '::' etc. allowed. */
  host?: string;
  /** Default 8598; 0 = ephemeral. */
  port?: number;
  /** Each session's initial GUID; default all zeros. */
  guid?: Guid;
  /** As protocol §7 (checked, not enforced) unless requireLogin. */
  user?: string;
  password?: string;
  /** design.md "Auth": only user, pass, noop, quit, help, vers/version (and `+`) before login; a wrong password closes the session. */
  requireLogin?: boolean;
  /** Default 5. */
  maxClients?: number;
  /** Events buffered per session outside rcvloop; default 100 (D1: drop-oldest). */
  fifoSize?: number;
  /** Default 0 = never; otherwise a session with no input for that long is told and closed. */
  idleTimeoutMs?: number;
  /** Kernel receive buffer of each session's CAN socket, bytes. */
  receiveBufferSize?: number;
  /**
   * Receive coalescing window of each session's CAN socket under load, microseconds
   * (0..MAX_RECEIVE_COALESCE_US; 0 = off). Default DEFAULT_RECEIVE_COALESCE_US. See CanSocketOptions.
   */
  receiveCoalesceUs?: number;
  /**
   * Default false: the window only under load. true: after every read that found frames,
   * so that at everyday rates one wake-up carries about rate x window frames, for up to
   * one window of added latency per frame. See CanSocketOptions.receiveCoalesceAlways.
   */
  receiveCoalesceAlways?: boolean;
  /**
   * Default true: listen() first opens and closes a CAN socket on canInterface and
   * rejects with its error, except when the interface does not exist: then it
   * logs a warning and listens (clients are told `No such device` until it exists).
   */
  verifyInterface?: boolean;
  logger?: Logger;
  /**
   * Extra lines the `info` command shows after its own (before the final +OK),
   * e.g. the state of a bridge running beside the server. Called on each `info`;
   * each line is sanitized like INFO's own (no control bytes, never read as a
   * status line). A throw shows as one line saying the extra info is unavailable.
   */
  infoLines?: () => readonly string[];
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export class VscpServer extends EventEmitter {
  private readonly bus: CanBus;
  private readonly canInterface: string;
  private readonly host: string;
  private readonly port: number;
  private readonly guid: Guid;
  private readonly maxClients: number;
  private readonly verifyInterface: boolean;
  private readonly logger: Logger;
  /** Why a non-loopback listener is open to anyone, or null when login is enforced. */
  private readonly openAccess: string | null;
  private readonly sessionHost: SessionHost;
  /** Every session whose TCP socket is still open; close() waits for them. */
  private readonly sessions = new Set<Session>();
  /** Sessions that have not ended: these count against maxClients (an ended one may still be flushing). */
  private readonly liveSessions = new Set<Session>();
  /** Channel ids of `sessions`, so that a new one is never one still in use. */
  private readonly channelIds = new Set<number>();
  private nextChannelId = 1;
  private readonly origins = new FrameOrigins(() => performance.now());
  /** Two or more live sessions: they read their own frames back so that the others' obid is right. */
  private trackOrigins = false;
  /** Over-limit connections still being told so. */
  private readonly refused = new Set<Socket>();
  private tcp: TcpServer | null = null;
  private listening: Promise<AddressInfo> | null = null;
  private closing: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  private tcpClosed = false;
  private startedAtMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  /** Armed by a session's first untimed input (idle timeouts only); runs onTimer. */
  private activityTimer: NodeJS.Timeout | null = null;

  constructor(options: VscpServerOptions) {
    super();
    if (options === null || typeof options !== 'object' || options.bus === undefined) throw new TypeError('options.bus is required');
    this.bus = options.bus;
    this.canInterface = options.canInterface ?? DEFAULT_CAN_INTERFACE;
    if (this.canInterface.length === 0) throw new RangeError('canInterface must not be empty');
    this.host = options.host ?? DEFAULT_HOST;
    this.port = checkInteger('port', options.port ?? DEFAULT_PORT, 0, 65535);
    const guid = options.guid ?? zeroGuid();
    if (!(guid instanceof Uint8Array) || guid.length !== GUID_SIZE) throw new RangeError(`guid must be ${GUID_SIZE} bytes`);
    this.guid = Uint8Array.from(guid);
    this.maxClients = checkInteger('maxClients', options.maxClients ?? DEFAULT_MAX_CLIENTS, 1, 1_000_000);
    const fifoSize = checkInteger('fifoSize', options.fifoSize ?? DEFAULT_FIFO_SIZE, 1, 100_000_000);
    const idleTimeoutMs = checkInteger('idleTimeoutMs', options.idleTimeoutMs ?? 0, 0, 2 ** 31 - 1);
    if (options.receiveBufferSize !== undefined) checkInteger('receiveBufferSize', options.receiveBufferSize, 1, 2 ** 31 - 1);
    if (options.receiveCoalesceUs !== undefined) checkInteger('receiveCoalesceUs', options.receiveCoalesceUs, 0, MAX_RECEIVE_COALESCE_US);
    if (options.receiveCoalesceAlways !== undefined && typeof options.receiveCoalesceAlways !== 'boolean') {
      throw new TypeError('receiveCoalesceAlways must be a boolean');
    }
    this.verifyInterface = options.verifyInterface ?? true;
    this.logger = options.logger ?? silentLogger;

    const credentials = new Credentials(options.user, options.password);
    const requireLogin = options.requireLogin ?? false;
    this.openAccess =
      !credentials.hasUser && !credentials.hasPassword
        ? 'without credentials'
        : requireLogin
          ? null
          : 'with credentials that are not enforced (requireLogin is off)';
    const server = this;
    const facts: ServerFacts = {
      canInterface: this.canInterface,
      get startedAtMs(): number {
        return server.startedAtMs;
      },
      maxClients: this.maxClients,
      get clientCount(): number {
        return server.liveSessions.size;
      },
      credentials,
      requireLogin,
      ...(options.infoLines === undefined ? {} : { infoLines: options.infoLines }),
      interfaceState: (): InterfaceState => {
        try {
          return this.bus.interfaceState(this.canInterface);
        } catch {
          return 'absent'; // e.g. a kernel without CAN: nothing to report but absence
        }
      },
    };
    this.sessionHost = {
      facts,
      bus: this.bus,
      logger: this.logger,
      logCommands: this.logger.debugEnabled !== false,
      initialGuid: this.guid,
      fifoSize,
      idleTimeoutMs,
      canOptions: {
        // The classes that report the bus state, for INFO and STAT; they never become events (protocol §3.6).
        errorMask: CAN_ERR_BUS_STATE_MASK,
        ...(options.receiveBufferSize === undefined ? {} : { receiveBufferSize: options.receiveBufferSize }),
        receiveCoalesceUs: options.receiveCoalesceUs ?? DEFAULT_RECEIVE_COALESCE_US,
        ...(options.receiveCoalesceAlways === true ? { receiveCoalesceAlways: true } : {}),
      },
      origins: this.origins,
      get trackOrigins(): boolean {
        return server.trackOrigins;
      },
      wakeAt: (deadline) => this.wakeAt(deadline),
      noteActivity: () => this.noteActivity(),
      sessionEnded: (session, reason) => this.onSessionEnded(session, reason),
      sessionClosed: (session) => this.onSessionClosed(session),
    };
  }

  /** Sessions that have not ended (those counted against maxClients). */
  get sessionCount(): number {
    return this.liveSessions.size;
  }

  address(): AddressInfo | null {
    const a = this.tcp?.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  /** Resolves once listening; rejects on EADDRINUSE etc. and when verifyInterface fails (a missing interface only warns). */
  listen(): Promise<AddressInfo> {
    if (this.closing !== null) return Promise.reject(new Error('server is closed'));
    if (this.listening === null) this.listening = this.startListening();
    return this.listening;
  }

  private startListening(): Promise<AddressInfo> {
    if (this.verifyInterface) {
      try {
        this.bus.open(this.canInterface).close();
      } catch (err) {
        // The rejection is the report: whoever called listen() says it once.
        if (!this.interfaceIsMissing(err)) return Promise.reject(err);
        // docs/design.md "Missing interface": as the original, serve anyway; each
        // session opens its own socket, so clients work as soon as it exists.
        this.logger.warn(
          `CAN interface ${this.canInterface} does not exist (${errorText(err)}): clients are told so until it does`,
        );
      }
    }
    return new Promise<AddressInfo>((resolve, reject) => {
      // allowHalfOpen: a peer that sends its commands and shuts down its side still gets the answers.
      const tcp = createTcpServer({ allowHalfOpen: true });
      this.tcp = tcp;
      let started = false;
      tcp.on('connection', (socket) => this.onConnection(socket));
      tcp.on('error', (err: NodeJS.ErrnoException) => {
        if (!started) {
          this.tcp = null;
          reject(err);
          return;
        }
        this.logger.error(`listener error: ${err.message}`);
        // An EventEmitter 'error' without a listener would throw and take the daemon down.
        if (this.listenerCount('error') > 0) this.emit('error', err);
      });
      tcp.listen({ host: this.host, port: this.port }, () => {
        if (this.closing !== null) {
          // close() came while the listener was starting: do not start serving.
          tcp.close();
          reject(new Error('server closed before it started listening'));
          return;
        }
        started = true;
        this.startedAtMs = Date.now();
        const address = tcp.address() as AddressInfo;
        this.logger.info(`listening on ${address.address}:${address.port}, CAN interface ${this.canInterface}`);
        if (this.openAccess !== null && !isLoopback(address.address)) {
          const where = address.address.includes(':') ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
          this.logger.warn(`listening on ${where} ${this.openAccess}: anyone who can reach this port can send on the CAN bus`);
        }
        this.emit('listening', address);
        resolve(address);
      });
    });
  }

  /** ENODEV/ENXIO for a name no interface has (not: exists but is not CAN, no SocketCAN, ...). */
  private interfaceIsMissing(err: unknown): boolean {
    const code = (err as Partial<CanError> | null)?.code;
    if (code !== 'ENODEV' && code !== 'ENXIO') return false;
    try {
      return this.bus.interfaceState(this.canInterface) === 'absent';
    } catch {
      return false;
    }
  }

  private onConnection(socket: Socket): void {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    if (this.liveSessions.size >= this.maxClients) {
      // design.md "Limits": say why, no banner, close.
      this.logger.warn(`refused ${peer}: ${this.maxClients} clients already connected`);
      this.refused.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.refused.delete(socket));
      socket.end(MAX_CLIENTS_REPLY);
      setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
      return;
    }
    const session = new Session(this.allocateChannelId(), socket, this.sessionHost);
    this.sessions.add(session);
    this.liveSessions.add(session);
    this.channelIds.add(session.info.id);
    this.updateOriginTracking();
    this.logger.info(`session ${session.info.id} opened from ${peer}`);
    this.emit('session', { ...session.info } satisfies SessionInfo);
    session.start();
  }

  /**
   * A session's id is its channel id (CHID, obid): 1..2^32-1, since clients keep
   * it in a 32-bit field, and never one a session with an open socket still has.
   */
  private allocateChannelId(): number {
    for (;;) {
      const id = this.nextChannelId;
      this.nextChannelId = id >= 0xffffffff ? 1 : id + 1;
      if (!this.channelIds.has(id)) return id;
    }
  }

  /**
   * The session ended (quit, idle, CAN error, login failure, peer gone): its
   * place is free for a new client now, even while its TCP socket still
   * flushes or waits for a peer that never closes its side.
   */
  private onSessionEnded(session: Session, reason: string): void {
    if (!this.liveSessions.delete(session)) return;
    this.updateOriginTracking();
    const { id, remoteAddress, remotePort } = session.info;
    this.logger.info(`session ${id} from ${remoteAddress}:${remotePort} closed: ${reason}`);
    this.emit('sessionEnd', { ...session.info } satisfies SessionInfo, reason);
  }

  /** Own frames are read back only while another session could receive them (FrameOrigins). */
  private updateOriginTracking(): void {
    const on = this.liveSessions.size >= 2;
    if (on === this.trackOrigins) return;
    this.trackOrigins = on;
    for (const s of this.liveSessions) s.setOriginTracking(on);
  }

  private onSessionClosed(session: Session): void {
    if (!this.sessions.delete(session)) return;
    this.liveSessions.delete(session); // always ended first; kept for safety
    this.channelIds.delete(session.info.id);
    this.maybeFinishClose();
  }

  // ---- the one timer: keep-alives and idle timeouts of every session --------

  private wakeAt(deadline: number): void {
    if (this.closing !== null || !(deadline < this.timerDue)) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDue = deadline;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, Math.ceil(deadline - performance.now())));
    this.timer.unref();
  }

  /** Run onTimer within ACTIVITY_TICK_MS; no clock read (setTimeout uses the loop's cached time). */
  private noteActivity(): void {
    if (this.activityTimer !== null || this.closing !== null) return;
    this.activityTimer = setTimeout(() => {
      this.activityTimer = null;
      this.onTimer();
    }, ACTIVITY_TICK_MS);
    this.activityTimer.unref();
  }

  private onTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer); // when the activity tick runs it
    this.timer = null;
    this.timerDue = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const session of this.sessions) {
      session.onTimer(now);
      next = Math.min(next, session.nextDeadline());
    }
    if (next !== Infinity) this.wakeAt(next);
  }

  // ---- shutdown ------------------------------------------------------------

  /** Stop listening, end every session (TCP and CAN socket), resolve when all are closed. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.activityTimer !== null) clearTimeout(this.activityTimer);
    this.activityTimer = null;
    const tcp = this.tcp;
    const listenerClosed = new Promise<void>((resolve) => {
      if (tcp === null || !tcp.listening) resolve();
      else tcp.close(() => resolve());
    });
    for (const socket of this.refused) socket.destroy();
    for (const session of this.sessions) session.end('server closing', true);
    void listenerClosed.then(() => {
      this.tcpClosed = true;
      this.maybeFinishClose();
    });
    return this.closing;
  }

  private maybeFinishClose(): void {
    if (this.resolveClosed === null || !this.tcpClosed || this.sessions.size > 0) return;
    const resolve = this.resolveClosed;
    this.resolveClosed = null;
    this.logger.info('server closed');
    this.emit('close');
    resolve();
  }
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms: reachable from this host only. */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || a === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

export function createServer(options: VscpServerOptions): VscpServer {
  return new VscpServer(options);
}
