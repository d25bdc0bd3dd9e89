// One TCP client: its protocol state, its own CAN socket (design.md "One CAN
// socket per TCP session"), and the wiring between the two: the input
// backlog, rcvloop event batching and keep-alives, write backpressure and
// teardown. The command semantics live in commands.ts, the ordering of
// replies behind an unfinished SEND in reply-order.ts.

import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as util from 'node:util';
import type { FrameBatch } from '../can/record.js';
import { RECORD_FLAG_LOCAL, RECORD_FLAG_OWN } from '../can/record.js';
import type { BusStateChange, CanBus, CanError, CanSocket, CanSocketOptions } from '../can/types.js';
import { CAN_EFF_FLAG } from '../can/types.js';
import { scheduleMicrotask } from '../microtask.js';
import { PACKAGE_HOME, PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import type { Guid } from '../vscp/index.js';
import { formatEventLine, isVscpFrame } from '../vscp/index.js';
import type { BusErrorReport, CommandReply, ServerFacts, SessionHooks } from './commands.js';
import { REPLY_LINE_TOO_LONG, SessionState, executeLine } from './commands.js';
import { LineSplitter } from './lines.js';
import { ReplyOrder } from './reply-order.js';
import type { FramedLine } from './lines.js';
import type { Logger } from './logger.js';
import type { FrameOrigins } from './origins.js';

const CRLF = '\r\n';

/** Keep-alive period in rcvloop (protocol §5.2: about every 2 s). */
export const KEEPALIVE_INTERVAL_MS = 2000;
/** Keep-alives only go out after this much quiet (protocol §5.2: the original's 200 ms poll timeout). */
export const KEEPALIVE_QUIET_MS = 200;
/** Unsent output above which rcvloop events are dropped and input is paused (design.md "Slow readers"). */
export const SLOW_READER_HIGH_WATER = 256 * 1024;
/** Replies waiting behind an unfinished SEND above which input is paused. */
const MAX_QUEUED_REPLIES = 4096;
/** How long a closing session may take to flush before its socket is destroyed. */
const END_GRACE_MS = 2000;

const CAN_DISCONNECTED = '-OK - CAN Disconnected - bye!' + CRLF;
const IDLE_TIMEOUT = '-OK - Idle timeout - bye!' + CRLF;
const KEEPALIVE = '+OK' + CRLF;
const SEND_FAILED = '-OK - problem when writing to CAN socket' + CRLF;

/** strerror texts for the errors opening a CAN socket can give (protocol §1.2 shows `No such device`). */
const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENODEV: 'No such device',
  ENXIO: 'No such device or address',
  ENETDOWN: 'Network is down',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  EPROTONOSUPPORT: 'Protocol not supported',
  EPERM: 'Operation not permitted',
  EACCES: 'Permission denied',
  EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system',
  ENOBUFS: 'No buffer space available',
  ENOMEM: 'Cannot allocate memory',
  EBADF: 'Bad file descriptor',
  EINVAL: 'Invalid argument',
  ENAMETOOLONG: 'File name too long',
  EADDRNOTAVAIL: 'Cannot assign requested address',
};

/** Longest debug text of one command, and of its status within it. */
/** What INFO and STAT show of the bus, from the session's CAN socket (all zero without one). */
function busErrorReport(can: CanSocket | null): BusErrorReport {
  if (can === null) {
    return { state: 'error-active', busOff: 0, errorWarning: 0, errorPassive: 0, overruns: 0, protocolErrors: 0, ackErrors: 0, restarts: 0 };
  }
  const st = can.getStats();
  return {
    state: st.busState,
    busOff: st.busOff,
    errorWarning: st.errorWarning,
    errorPassive: st.errorPassive,
    // Frames the controller lost either way; the original's "overruns" field names no direction.
    overruns: st.rxOverflows + st.txOverflows,
    protocolErrors: st.protocolErrors,
    ackErrors: st.ackErrors,
    restarts: st.restarts,
  };
}

const MAX_COMMAND_LOG = 120;
const MAX_STATUS_LOG = 60;

/**
 * `<command line> -> <status>` for the debug log: `+OK`, or the whole `-OK - ...`
 * line. The PASS argument is never shown (design.md "Auth"); a long line is cut
 * so that the whole text stays within MAX_COMMAND_LOG characters.
 */
export function commandLogText(line: string, replyText: string): string {
  // The status is the reply's last line; data lines (VERS, INFO, RETR) come before it.
  const body = replyText.endsWith(CRLF) ? replyText.slice(0, -CRLF.length) : replyText;
  const last = body.lastIndexOf(CRLF);
  let status = last < 0 ? body : body.slice(last + CRLF.length);
  status = status.startsWith('+OK') ? '+OK' : status.slice(0, MAX_STATUS_LOG);
  let shown = line.trim();
  // Anything after a leading "pass" is masked, typos (pass<0xA0>secret) included.
  if (shown.length > 4 && shown.slice(0, 4).toLowerCase() === 'pass') shown = shown.slice(0, 4) + ' ***';
  const room = MAX_COMMAND_LOG - status.length - 4;
  if (shown.length > room) shown = shown.slice(0, room - 3) + '...';
  return `${shown} -> ${status}`;
}

/** The text after `error: ` in `-OK - interface [<if>] error: ...`. */
export function errorText(err: unknown): string {
  const { code, errno } = (err ?? {}) as Partial<CanError>;
  if (typeof code === 'string' && ERRNO_TEXT[code] !== undefined) return ERRNO_TEXT[code];
  // Node 23+ knows every strerror text; older ones only the codes above.
  const getMessage = (util as { getSystemErrorMessage?: (errno: number) => string }).getSystemErrorMessage;
  if (typeof errno === 'number' && typeof getMessage === 'function') {
    try {
      return getMessage(errno < 0 ? errno : -errno);
    } catch {
      // fall through to the code
    }
  }
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}

/** Public description of a session, for the server's events. */
export interface SessionInfo {
  id: number;
  remoteAddress: string;
  remotePort: number;
}

/** What a session needs from its server. */
export interface SessionHost {
  readonly facts: ServerFacts;
  readonly bus: CanBus;
  readonly logger: Logger;
  /** Log each command and its status at debug level (false when the logger discards debug). */
  readonly logCommands: boolean;
  readonly initialGuid: Guid;
  readonly fifoSize: number;
  readonly idleTimeoutMs: number;
  /** Options of every session's CAN socket (receive buffer, coalescing window). */
  readonly canOptions: CanSocketOptions;
  /** Who sent what, for the obid of event lines (docs/design.md "Channel ids"). */
  readonly origins: FrameOrigins;
  /** Whether sessions read their own frames back and record what they send (two or more live sessions). */
  readonly trackOrigins: boolean;
  /** The session has a timer deadline (performance.now() ms) that may be earlier than the current one. */
  wakeAt(deadline: number): void;
  /** The session saw input it has not timed yet: run onTimer within ~ACTIVITY_TICK_MS (no clock read here). */
  noteActivity(): void;
  /** The session has ended (its place is free); called exactly once, before sessionClosed. */
  sessionEnded(session: Session, reason: string): void;
  /** The session's TCP socket has closed; called exactly once. */
  sessionClosed(session: Session): void;
}

export class Session {
  readonly info: SessionInfo;
  readonly state: SessionState;
  private can: CanSocket | null = null;
  private readonly splitter = new LineSplitter();
  /** Replies in command order: output waits behind an unfinished SEND. */
  private readonly replies: ReplyOrder = new ReplyOrder({
    write: (text) => this.write(text),
    end: (reason) => this.end(reason, false),
    drained: () => this.maybeResumeInput(),
  });
  /**
   * rcvloop lines received in this JS turn, not yet written: the reactor hands
   * JS several batches at once (one 'frames' event each), and they leave in ONE
   * write at the end of that microtask run. Any other output takes them first.
   */
  private events = '';
  private readonly flushEvents = (): void => {
    const text = this.events;
    if (text === '') return;
    this.events = '';
    if (!this.ending) this.output(text);
  };
  private inputStopped = false;
  /** Complete lines not yet run, one array per input chunk (design.md "Slow readers"); almost always empty. */
  private readonly backlog: FramedLine[][] = [];
  /** Next line to run in backlog[0]. */
  private backlogIndex = 0;
  private runningBacklog = false;
  /** A `quit` was run in the chunk being worked through. */
  private quitInChunk = false;
  /** The peer shut its side: close once the backlog is answered. */
  private peerEndedInput = false;
  private endReason: string | null = null;
  private closedNotified = false;
  private graceTimer: NodeJS.Timeout | null = null;
  // Clocks, in performance.now() milliseconds (monotonic).
  private lastInputAt: number;
  private lastActivityAt: number;
  private lastKeepAliveAt = 0;
  // No clock read per CAN batch or input chunk (each is a system call in some
  // environments): the hot paths bump these counters and onTimer, which has the
  // time anyway, turns a change into lastActivityAt / lastInputAt. Those then
  // lag the true time by at most one timer period (the keep-alive's 200 ms quiet
  // check or the ~200 ms activity tick), which only ever delays a keep-alive or
  // an idle timeout, never advances it (protocol §5.2: "about every 2 s").
  private activity = 0;
  private activitySeen = 0;
  private input = 0;
  private inputSeen = 0;

  constructor(
    id: number,
    private readonly socket: Socket,
    private readonly host: SessionHost,
  ) {
    this.info = { id, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0 };
    const now = performance.now();
    this.lastInputAt = now;
    this.lastActivityAt = now;
    const hooks: SessionHooks = {
      sendFrame: (canId, data) => {
        const can = this.can;
        if (can === null) return Promise.reject(new Error('no CAN socket'));
        const sent = can.send({ id: canId, extended: true, data });
        if (this.host.trackOrigins) {
          const forget = this.host.origins.sent(this.info.id, (canId | CAN_EFF_FLAG) >>> 0, data);
          sent.catch(forget); // refused: it will never be seen
        }
        return sent;
      },
      applyFilter: (filterId, mask) => this.can?.setFilters([{ id: filterId, mask }]),
      loopStarted: () => {
        this.lastKeepAliveAt = performance.now();
        this.host.wakeAt(this.nextDeadline());
      },
      kernelDrops: () => this.can?.getStats().kernelDrops ?? 0,
      busErrors: () => busErrorReport(this.can),
      now: () => Date.now(),
    };
    this.state = new SessionState(host.facts, hooks, host.initialGuid, host.fifoSize, id);

    socket.setNoDelay(true); // event lines are small and latency matters
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onPeerEnd());
    socket.on('drain', () => {
      this.resumeReadingCan();
      this.maybeResumeInput();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.end(`peer error: ${err.code ?? err.message}`, true));
    socket.on('close', () => this.onTcpClose());
  }

  get ending(): boolean {
    return this.endReason !== null;
  }

  /** Banner, then the CAN socket (protocol §1.2, design.md "Banner and VERS", "Interface down"). */
  start(): void {
    const iface = this.host.facts.canInterface;
    this.socket.write(`${PACKAGE_NAME} ${PACKAGE_VERSION}${CRLF}${PACKAGE_HOME}${CRLF}`);
    let can: CanSocket;
    try {
      can = this.host.bus.open(iface, { ...this.host.canOptions, receiveOwnMessages: this.host.trackOrigins });
    } catch (err) {
      this.host.logger.warn(`session ${this.info.id}: cannot open CAN interface ${iface}: ${errorText(err)}`);
      this.socket.write(`-OK - interface [${iface}] error: ${errorText(err)}${CRLF}`);
      this.end('CAN interface error', false);
      return;
    }
    this.can = can;
    can.on('frames', (batch: FrameBatch) => this.onFrames(batch));
    can.on('error', (err: CanError) => this.onCanError(err));
    can.on('busState', (change: BusStateChange) => {
      this.host.logger.warn(`session ${this.info.id}: CAN bus ${iface} ${change.previous} -> ${change.state}`);
    });
    this.socket.write(`+OK - Success, connected to ${iface}${CRLF}`);
    if (this.host.facts.interfaceState() !== 'up') {
      this.host.logger.info(`session ${this.info.id}: CAN interface ${iface} is down`);
      this.socket.write(CAN_DISCONNECTED);
      this.end('CAN interface down', false);
      return;
    }
    if (this.host.idleTimeoutMs > 0) this.host.wakeAt(this.nextDeadline());
  }

  // ---- input ---------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.inputStopped) return;
    // Timed by onTimer (see `input`); with an idle timeout the server ticks within ~200 ms.
    if (this.input === this.inputSeen && this.host.idleTimeoutMs > 0) this.host.noteActivity();
    this.input++;
    const lines = this.splitter.push(chunk);
    if (lines.length === 0) return;
    this.backlog.push(lines);
    this.runBacklog();
  }

  /**
   * Run the complete lines read so far, in order, while the peer reads the
   * replies. Above the high-water mark the rest waits (input paused) until
   * the output drains: one chunk of short commands with long replies (64 KiB
   * of `help`) must not buffer megabytes for a peer that does not read.
   */
  private runBacklog(): void {
    if (this.runningBacklog) return;
    this.runningBacklog = true;
    this.socket.cork(); // the replies of a run leave in one write
    try {
      while (this.backlog.length > 0 && !this.inputStopped) {
        const lines = this.backlog[0]!;
        while (this.backlogIndex < lines.length) {
          if (this.outputFull()) return;
          const line = lines[this.backlogIndex++]!;
          const result = line.overlong ? REPLY_LINE_TOO_LONG : executeLine(this.state, line.text);
          this.emitReply(result);
          if (this.host.logCommands) this.logCommand(line.overlong ? '(line too long)' : line.text, result);
          if (!(result instanceof Promise) && result.close !== undefined) {
            if (result.close === 'now') {
              this.stopInput();
              this.endAfterOutput('login failed');
              return;
            }
            // protocol §1.6 / #33: the rest of this chunk is still answered, then close.
            this.quitInChunk = true;
          }
        }
        this.backlog.shift();
        this.backlogIndex = 0;
        if (this.quitInChunk) {
          this.stopInput();
          this.endAfterOutput('quit');
          return;
        }
      }
      if (this.peerEndedInput && !this.inputStopped) {
        // The peer shut its side after these lines: now they are answered, close (protocol §1.6).
        this.stopInput();
        this.endAfterOutput('peer closed');
      }
    } finally {
      this.runningBacklog = false;
      this.socket.uncork();
      this.maybePauseInput();
    }
  }

  private onPeerEnd(): void {
    // The peer will send nothing more: answer what it sent, then close (protocol §1.6).
    if (this.inputStopped) return;
    this.peerEndedInput = true;
    if (this.backlog.length === 0) this.runBacklog();
  }

  private stopInput(): void {
    this.inputStopped = true;
    this.splitter.reset();
    this.backlog.length = 0;
    this.backlogIndex = 0;
    this.quitInChunk = false;
  }

  /** Unsent output (or replies held behind a SEND) above which no more lines are run. */
  private outputFull(): boolean {
    return this.socket.writableLength + this.replies.bytes > SLOW_READER_HIGH_WATER || this.replies.length > MAX_QUEUED_REPLIES;
  }

  private maybePauseInput(): void {
    if (this.inputStopped || this.socket.isPaused()) return;
    if (this.backlog.length > 0 || this.outputFull()) this.socket.pause();
  }

  private maybeResumeInput(): void {
    if (this.inputStopped || this.ending || this.outputFull()) return;
    if (this.backlog.length > 0) this.runBacklog();
    if (!this.inputStopped && !this.ending && this.backlog.length === 0 && !this.outputFull() && this.socket.isPaused()) this.socket.resume();
  }

  /** Debug log: the command and its status line, once the reply is known. */
  private logCommand(line: string, result: CommandReply | Promise<CommandReply>): void {
    const log = (text: string): void => this.host.logger.debug(`session ${this.info.id}: ${commandLogText(line, text)}`);
    if (!(result instanceof Promise)) log(result.text);
    else result.then((r) => log(r.text), () => log(SEND_FAILED));
  }

  // ---- ordered output ------------------------------------------------------

  private write(text: string): void {
    if (text.length > 0 && !this.socket.destroyed && this.socket.writable) this.socket.write(text, 'latin1');
  }

  /** Replies go out in command order; a SEND still in the CAN layer holds back what follows it. */
  private emitReply(result: CommandReply | Promise<CommandReply>): void {
    if (!(result instanceof Promise)) {
      this.output(result.text);
      return;
    }
    if (this.events !== '') this.flushEvents(); // events received before this command go first
    const replies = this.replies;
    const slot = replies.hold();
    result.then(
      (r) => replies.fill(slot, r.text),
      () => replies.fill(slot, SEND_FAILED),
    );
  }

  /** Text that keeps its place behind any unfinished reply. */
  private output(text: string): void {
    if (this.events !== '') {
      text = this.events + text; // received before this output was made
      this.events = '';
    }
    // Nothing held (almost always): straight to the socket, the cost of a write.
    if (this.replies.empty) this.write(text);
    else this.replies.output(text);
  }

  /** Close once everything queued so far is written. */
  private endAfterOutput(reason: string): void {
    this.replies.endAfterOutput(reason);
  }

  // ---- CAN -----------------------------------------------------------------

  /** Read our own frames back (or stop): see FrameOrigins. */
  setOriginTracking(on: boolean): void {
    try {
      this.can?.setReceiveOwnMessages(on);
    } catch {
      // a socket on a removed interface: it is being closed anyway
    }
  }

  /** HOT PATH: one batch of frames -> counters, FIFO or one write (protocol §3.6, §4.2, §5.2). */
  private onFrames(batch: FrameBatch): void {
    if (this.ending) return;
    this.activity++; // any frame, even one dropped below, delays keep-alives (protocol §5.2; timed in onTimer)
    const state = this.state;
    const prefix = state.guidPrefix;
    const inLoop = state.inLoop;
    const buffer = batch.buffer;
    // The datetime field (1 s resolution) is the time the event reached us. The
    // kernel's receive time of the batch's first frame (SO_TIMESTAMP, the same
    // wall clock) is that time, truer than a read of the clock after the thread
    // hops, and costs no system call. Date.now() only when the kernel gave none.
    const firstUs = batch.count > 0 ? batch.timestamp(0) : 0;
    const receivedAtMs = firstUs > 0 ? firstUs / 1000 : Date.now();
    const origins = this.host.origins;
    const channel = this.info.id;
    let text = '';
    let lines = 0;
    let frames = 0;
    let dataBytes = 0;
    for (let i = 0; i < batch.count; i++) {
      const rawId = batch.rawId(i);
      const length = batch.length(i);
      const flags = batch.flags(i);
      let obid = 0;
      if ((flags & RECORD_FLAG_LOCAL) !== 0) {
        if ((flags & RECORD_FLAG_OWN) !== 0) {
          origins.echo(channel, batch, i); // our own frame: never an event for us (protocol §4.4)
          continue;
        }
        if (!origins.empty) obid = origins.senderOf(batch, i, channel);
      }
      if (!isVscpFrame(rawId, length)) continue;
      frames++;
      dataBytes += length + 4; // protocol §2.2 STAT: dlc + 4
      const line = formatEventLine(rawId, buffer, batch.dataOffset(i), length, batch.timestamp(i), receivedAtMs, prefix, obid);
      if (inLoop) {
        text += line;
        lines++;
      } else {
        state.fifo.push(line); // D1: drop-oldest when full
      }
    }
    if (frames === 0) return;
    const c = state.counters;
    c.rxFrames = (c.rxFrames + frames) >>> 0;
    c.rxData = (c.rxData + dataBytes) >>> 0;
    if (lines > 0) this.pushEvents(text, lines);
  }

  /**
   * rcvloop output, dropped and counted while the peer is not reading (design.md
   * "Slow readers"). Over the high-water mark the CAN socket is not read at
   * all: the kernel buffers, then drops and counts (`kernel drops` in INFO),
   * and the daemon's time goes to the clients that read. 'drain' resumes it.
   */
  private pushEvents(text: string, lines: number): void {
    if (this.socket.writableLength + this.replies.bytes + this.events.length > SLOW_READER_HIGH_WATER) {
      this.state.slowReaderDrops += lines;
      this.stopReadingCan();
      return;
    }
    if (this.events === '') scheduleMicrotask(this.flushEvents);
    this.events += text;
  }

  private stopReadingCan(): void {
    const can = this.can;
    if (can === null || can.isPaused()) return;
    can.pause();
    this.host.logger.debug(`session ${this.info.id}: client not reading, CAN socket paused`);
  }

  private resumeReadingCan(): void {
    const can = this.can;
    if (can !== null && can.isPaused()) can.resume();
  }

  private onCanError(err: CanError): void {
    if (this.ending) return;
    this.host.logger.warn(`session ${this.info.id}: CAN socket error on ${this.host.facts.canInterface}: ${err.code ?? err.message}`);
    // protocol §1.6: tell the client and close. Replies already known go first; unfinished ones cannot finish.
    this.stopInput();
    const settled = this.replies.takeSettled();
    let text = settled.text;
    if (settled.whole) text += this.events; // events not yet written came after every reply
    this.events = '';
    this.write(text + CAN_DISCONNECTED);
    this.end(`CAN error: ${err.code ?? err.message}`, false);
  }

  // ---- timers (driven by the server's single timer) --------------------------

  /** The next time (performance.now() ms) this session needs onTimer, or Infinity. */
  nextDeadline(): number {
    if (this.ending) return Infinity;
    let deadline = Infinity;
    if (this.state.inLoop) deadline = Math.max(this.lastKeepAliveAt + KEEPALIVE_INTERVAL_MS, this.lastActivityAt + KEEPALIVE_QUIET_MS);
    if (this.host.idleTimeoutMs > 0) deadline = Math.min(deadline, this.lastInputAt + this.host.idleTimeoutMs);
    return deadline;
  }

  onTimer(now: number): void {
    if (this.ending) return;
    if (this.input !== this.inputSeen) {
      this.inputSeen = this.input; // input since the last tick: idle and quiet start now (<= one tick late)
      this.lastInputAt = now;
      this.lastActivityAt = now;
    }
    if (this.activity !== this.activitySeen) {
      this.activitySeen = this.activity; // frames since the last tick: quiet starts now (<= 200 ms late)
      this.lastActivityAt = now;
    }
    if (this.host.idleTimeoutMs > 0 && now - this.lastInputAt >= this.host.idleTimeoutMs) {
      this.host.logger.info(`session ${this.info.id}: idle for ${this.host.idleTimeoutMs} ms, closing`);
      this.stopInput();
      this.output(IDLE_TIMEOUT);
      this.endAfterOutput('idle timeout');
      return;
    }
    if (
      this.state.inLoop &&
      now - this.lastKeepAliveAt >= KEEPALIVE_INTERVAL_MS &&
      now - this.lastActivityAt >= KEEPALIVE_QUIET_MS
    ) {
      this.lastKeepAliveAt = now;
      // A peer that is not reading does not need keep-alives piling up.
      if (this.socket.writableLength + this.replies.bytes <= SLOW_READER_HIGH_WATER) this.output(KEEPALIVE);
    }
  }

  // ---- end -----------------------------------------------------------------

  /**
   * End the session: the CAN socket closes now (D5); the TCP socket is ended
   * after its pending output (graceful) or destroyed at once.
   */
  end(reason: string, destroy: boolean): void {
    if (this.endReason === null) {
      this.endReason = reason;
      this.stopInput();
      this.closeCan();
      this.replies.discard();
      this.events = '';
      this.host.sessionEnded(this, reason);
    }
    if (destroy || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    if (!this.socket.writableEnded) this.socket.end();
    if (this.graceTimer === null) {
      // A peer that never reads must not keep the session (and server.close()) waiting.
      this.graceTimer = setTimeout(() => this.socket.destroy(), END_GRACE_MS);
      this.graceTimer.unref();
    }
  }

  private closeCan(): void {
    const can = this.can;
    if (can === null) return;
    this.can = null;
    can.removeAllListeners('frames');
    can.removeAllListeners('error');
    can.on('error', () => undefined); // a late error must not throw
    can.close();
  }

  private onTcpClose(): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    if (this.endReason === null) this.end('peer closed', true);
    this.closeCan();
    if (this.closedNotified) return;
    this.closedNotified = true;
    this.host.sessionClosed(this);
  }
}
