// SocketCAN sockets over the native addon: the CanSocket / CanBus contract of types.ts.
//
// Receiving: the native reactor thread reads frames in batches and hands each batch
// over as one Buffer of 80-byte records (record.ts); a batch is one 'frames' event.
// Sending: frames sent during one tick are coalesced into one native sendmmsg call.
// Frames the kernel takes at once settle without any native callback; frames parked
// in the native TX queue (kernel queue full) settle when the reactor has flushed them.

import { EventEmitter } from 'node:events';
import { constants as osConstants } from 'node:os';

import { BusStateTracker, trackBatch } from './bus-state.js';
import type { CanBusState } from './bus-state.js';
import type { NativeCanSocket, NativeSocketOptions, NativeSocketStats } from './native.js';
import { addonInfo, errnoCode, errnoError, loadAddon } from './native.js';
import { ListenerErrors } from './listener-errors.js';
import { CANFD_MTU, fdFrameProblem, fdMtuMessage, fdRecordFlags } from './fd.js';
import { FrameBatch, RECORD_SIZE, TX_DATA_OFFSET, TX_FD_RECORD_SIZE, TX_FLAGS_OFFSET, TX_ID_OFFSET, TX_LEN_OFFSET, TX_RECORD_SIZE, frameToRawId } from './record.js';
import type {
  CanBus,
  CanError,
  CanFdErrorCode,
  CanFilter,
  CanFrame,
  CanSocket,
  CanSocketOptions,
  CanSocketStats,
  InterfaceState,
} from './types.js';
import { CAN_MAX_DLEN, MAX_RECEIVE_COALESCE_US } from './types.js';
import { scheduleMicrotask } from '../microtask.js';

export { addonInfo };
export type { AddonInfo } from './native.js';

const kOnNative = Symbol('uvscpd.onNative');
const ECANCELED = osConstants.errno.ECANCELED;
const EINVAL = osConstants.errno.EINVAL;
const REBIND_INTERVAL_MS = 1000;

interface SendRequest {
  frames: number;
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Raw ids and payloads, encoded when the tick's frames are flushed. */
  rawIds: number[];
  data: Uint8Array[];
  /** RECORD_FLAG_FD|BRS|ESI per frame; null when the request has no FD frame. */
  fdFlags: number[] | null;
}

/** Describes an errno from the CAN layer with what to do about it. */
export function canError(errno: number, syscall: string, interfaceName: string, detail?: string): CanError {
  const code = errnoCode(errno);
  const name = interfaceName;
  let message: string;
  switch (code) {
    case 'ENODEV':
    case 'ENXIO':
      message =
        detail === 'not-can'
          ? `'${name}' is not a CAN interface (${code}): pick a CAN interface from \`ip -details link show type can\` or \`ip link show type vcan\``
          : detail === 'removed'
            ? `CAN interface '${name}' was removed (${code}): it works again once the interface exists and is up (\`ip link add ${name} type vcan\` for a virtual one)`
            : `CAN interface '${name}' does not exist (${code}): check \`ip link show\`, or create a virtual one with \`ip link add ${name} type vcan && ip link set ${name} up\``;
      break;
    case 'EAFNOSUPPORT':
    case 'EPROTONOSUPPORT':
      message =
        `cannot open CAN interface '${name}': this kernel has no SocketCAN support (${code}): ` +
        'load the can and can_raw modules (`modprobe can_raw`), ' +
        'or use a kernel built with CONFIG_CAN and CONFIG_CAN_RAW (inside a container, the host kernel decides)';
      break;
    case 'ENETDOWN':
      message =
        `CAN interface '${name}' is down (ENETDOWN): bring it up with \`ip link set ${name} up\` ` +
        `(a real CAN controller also needs a bitrate: \`ip link set ${name} up type can bitrate 500000\`)`;
      break;
    case 'EPERM':
    case 'EACCES':
      message = `permission denied on CAN interface '${name}' (${code}) in ${syscall}: run as root or grant CAP_NET_RAW / CAP_NET_ADMIN`;
      break;
    case 'ENOBUFS':
      message =
        `the transmit queue of CAN interface '${name}' is full (ENOBUFS): the bus is busy or nobody acknowledges frames; ` +
        'a send whose unsent frames do not all fit in the native queue (txQueueLimit) is refused and none of those frames is sent; check the bus, the bitrate and `ip -details -statistics link show`';
      break;
    case 'EAGAIN':
      message =
        syscall === 'pthread_create'
          ? `cannot open a socket on CAN interface '${name}': the SocketCAN reactor thread could not be started (EAGAIN): ` +
            'the process or system thread limit is reached (check `ulimit -u`, the pids cgroup limit (systemd TasksMax=) and kernel.threads-max)'
          : `CAN interface '${name}' cannot take the frame now (EAGAIN)`;
      break;
    case 'ENAMETOOLONG':
      message = `CAN interface name '${name}' is too long (ENAMETOOLONG): at most 15 characters`;
      break;
    case 'EINVAL':
      message = `invalid argument for CAN interface '${name}' in ${syscall} (EINVAL)`;
      break;
    case 'ECANCELED':
      message = `the socket on CAN interface '${name}' was closed before the frame was sent (ECANCELED)`;
      break;
    default:
      message = `${syscall} on CAN interface '${name}' failed (${code})`;
  }
  return errnoError(errno, syscall, message, { interfaceName: name }) as CanError;
}

/** A CanError with one of the CAN FD codes (not an errno). */
export function fdError(code: CanFdErrorCode, message: string, interfaceName: string): CanError {
  const e = new Error(`${message} (CAN interface '${interfaceName}', ${code})`) as CanError;
  e.code = code;
  e.interfaceName = interfaceName;
  return e;
}

function closedError(interfaceName: string): CanError {
  const e = new Error(`the socket on CAN interface '${interfaceName}' is closed`) as CanError;
  e.code = 'ERR_SOCKET_CLOSED';
  e.interfaceName = interfaceName;
  return e;
}

/** Throws a RangeError unless `value` is an integer in [min, max]. */
function checkIntOption(name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`CAN socket option ${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
}

/** Converts an error thrown by the addon (with errno and syscall) into a CanError. */
function fromNative(err: unknown, interfaceName: string): Error {
  const e = err as Error & { errno?: number; syscall?: string; code?: string };
  if (e && typeof e.errno === 'number' && e.code === undefined) {
    return canError(e.errno, e.syscall ?? 'unknown', interfaceName);
  }
  return err as Error;
}

function encodeFilters(filters: readonly CanFilter[] | null): Uint32Array | null {
  if (filters === null) return null;
  const out = new Uint32Array(filters.length * 2);
  filters.forEach((f, i) => {
    if (!Number.isInteger(f.id) || !Number.isInteger(f.mask)) throw new TypeError('filter id and mask must be integers');
    out[2 * i] = f.id >>> 0;
    out[2 * i + 1] = f.mask >>> 0;
  });
  return out;
}

function dispatch(
  owner: object,
  batches: Buffer[] | undefined,
  completions: Int32Array | undefined,
  errors: number[] | undefined,
): void {
  (owner as SocketCanSocket)[kOnNative](batches, completions, errors);
}

export class SocketCanSocket extends EventEmitter implements CanSocket {
  readonly interfaceName: string;
  #native: NativeCanSocket;
  #closed = false;
  #queue: SendRequest[] = [];
  #queuedFrames = 0;
  #flushScheduled = false;
  #nextSeq = 0;
  #parked = new Map<number, SendRequest>();
  #lastStats: NativeSocketStats | undefined;
  #busState = new BusStateTracker();
  /** Only a socket that asked for error frames looks for them in its batches. */
  #errorMask = 0;
  #rebindTimer: NodeJS.Timeout | undefined;
  #refed = true;
  #paused = false;
  readonly #fd: boolean;
  /** The interface's MTU as last read (CAN FD sockets only; re-read when it says classic). */
  #mtu = CANFD_MTU;
  /** Requests with an FD frame queued for the next flush. */
  #queuedFd = false;

  /** Opens a CAN_RAW socket bound to `interfaceName`. Throws a CanError. Prefer `socketCanBus.open()`. */
  constructor(interfaceName: string, options: CanSocketOptions = {}) {
    super();
    this.interfaceName = interfaceName;
    // Validated before the addon is loaded or any socket exists.
    if (options.txQueueLimit !== undefined) checkIntOption('txQueueLimit', options.txQueueLimit, 1, 1_000_000);
    if (options.receiveBufferSize !== undefined) checkIntOption('receiveBufferSize', options.receiveBufferSize, 1, 0x7fffffff);
    if (options.receiveCoalesceUs !== undefined) checkIntOption('receiveCoalesceUs', options.receiveCoalesceUs, 0, MAX_RECEIVE_COALESCE_US);
    const native: NativeSocketOptions = {};
    this.#fd = options.fd === true;
    if (this.#fd) native.fd = true;
    if (options.hardwareTimestamps === true) native.hardwareTimestamps = true;
    if (options.joinFilters !== undefined) native.joinFilters = options.joinFilters;
    if (options.filters !== undefined) native.filters = encodeFilters(options.filters);
    if (options.errorMask !== undefined) native.errorMask = options.errorMask >>> 0;
    this.#errorMask = native.errorMask ?? 0;
    if (options.loopback !== undefined) native.loopback = options.loopback;
    if (options.receiveOwnMessages !== undefined) native.receiveOwnMessages = options.receiveOwnMessages;
    if (options.receiveBufferSize !== undefined) native.receiveBufferSize = options.receiveBufferSize;
    if (options.receiveCoalesceUs !== undefined) native.receiveCoalesceUs = options.receiveCoalesceUs;
    if (options.receiveCoalesceAlways !== undefined) native.receiveCoalesceAlways = options.receiveCoalesceAlways === true;
    if (options.txQueueLimit !== undefined) native.txQueueLimit = options.txQueueLimit;
    const addon = loadAddon();
    try {
      this.#native = new addon.CanSocket(this, dispatch, interfaceName, native);
    } catch (err) {
      const e = err as Error & { errno?: number; syscall?: string };
      if (typeof e.errno === 'number') {
        const code = errnoCode(e.errno);
        let detail: string | undefined;
        if ((code === 'ENODEV' || code === 'ENXIO') && e.syscall === 'bind') detail = 'not-can';
        else if (code === 'ENODEV' && addon.interfaceState(interfaceName) !== 0) detail = 'not-can';
        throw canError(e.errno, e.syscall ?? 'socket', interfaceName, detail);
      }
      throw err;
    }
    if (this.#fd) this.#readMtu();
  }

  get canFd(): boolean {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get busState(): CanBusState {
    return this.#busState.state;
  }

  /** The socket's file descriptor (-1 once closed). For diagnostics. */
  get fd(): number {
    return this.#native.fd();
  }

  send(frame: CanFrame): Promise<void> {
    return this.sendMany([frame]);
  }

  sendMany(frames: readonly CanFrame[]): Promise<void> {
    if (this.#closed) return Promise.reject(closedError(this.interfaceName));
    if (frames.length === 0) return Promise.resolve();
    const rawIds: number[] = new Array(frames.length);
    const data: Uint8Array[] = new Array(frames.length);
    let fdFlags: number[] | null = null;
    try {
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        rawIds[i] = frameToRawId(f);
        if (!(f.data instanceof Uint8Array)) throw new TypeError('frame.data must be a Uint8Array');
        if (f.fd === true || f.brs === true || f.esi === true) {
          fdFlags ??= new Array<number>(frames.length).fill(0);
          fdFlags[i] = this.#checkFd(f);
        } else if (f.data.length > CAN_MAX_DLEN) {
          throw new RangeError(`CAN payload of ${f.data.length} bytes exceeds ${CAN_MAX_DLEN}`);
        }
        data[i] = f.data;
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (fdFlags !== null) this.#queuedFd = true;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ frames: frames.length, remaining: frames.length, settled: false, resolve, reject, rawIds, data, fdFlags });
      this.#queuedFrames += frames.length;
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        scheduleMicrotask(() => this.#flush());
      }
    });
  }

  /** The record flags of an FD frame; throws the CanError of a frame this socket cannot send. */
  #checkFd(f: CanFrame): number {
    const problem = fdFrameProblem(f, this.#fd);
    if (problem !== undefined) throw fdError(problem.code, problem.message, this.interfaceName);
    // Re-read: the interface may have been given MTU 72 since.
    if (this.#mtu < CANFD_MTU && this.#readMtu() < CANFD_MTU) throw this.#mtuError();
    return fdRecordFlags(f);
  }

  /**
   * The error of a failed send. The kernel refuses an FD frame with EINVAL when the
   * interface's MTU was made classic after the check in sendMany: say so.
   */
  #sendError(errno: number, fdRecords: boolean): CanError {
    if (fdRecords && errno === EINVAL && this.#readMtu() < CANFD_MTU) return this.#mtuError();
    return canError(errno, 'send', this.interfaceName);
  }

  /**
   * Reads the interface's MTU into #mtu and returns it. One that cannot be read (the
   * interface is gone) counts as FD-capable: the send then fails with the kernel's error.
   */
  #readMtu(): number {
    const mtu = this.#native.mtu();
    this.#mtu = mtu < 0 ? CANFD_MTU : mtu;
    return this.#mtu;
  }

  #mtuError(): CanError {
    return fdError('ERR_CAN_FD_MTU', fdMtuMessage(this.interfaceName, this.#mtu), this.interfaceName);
  }

  #flush(): void {
    this.#flushScheduled = false;
    const reqs = this.#queue;
    const total = this.#queuedFrames;
    const fdRecords = this.#queuedFd;
    this.#queue = [];
    this.#queuedFrames = 0;
    this.#queuedFd = false;
    if (reqs.length === 0) return;
    if (this.#closed) {
      for (const r of reqs) this.#fail(r, canError(ECANCELED, 'send', this.interfaceName));
      return;
    }
    // Classic-only sends keep the small records; one FD frame makes every record FD-sized.
    const recordSize = fdRecords ? TX_FD_RECORD_SIZE : TX_RECORD_SIZE;
    const buf = Buffer.alloc(total * recordSize);
    // Request boundaries: the native side parks the unsent part of a request entirely or
    // not at all, so each request's frames are either sent/parked or refused, never split
    // between parked and refused (a retry of a refused send cannot duplicate parked frames).
    const ends = reqs.length > 1 ? new Uint32Array(reqs.length) : undefined;
    let off = 0;
    let end = 0;
    for (let k = 0; k < reqs.length; k++) {
      const r = reqs[k]!;
      end += r.frames;
      if (ends) ends[k] = end;
      for (let i = 0; i < r.frames; i++) {
        const d = r.data[i]!;
        buf.writeUInt32LE(r.rawIds[i]!, off + TX_ID_OFFSET);
        buf[off + TX_LEN_OFFSET] = d.length;
        if (r.fdFlags !== null) buf[off + TX_FLAGS_OFFSET] = r.fdFlags[i]!;
        buf.set(d, off + TX_DATA_OFFSET);
        off += recordSize;
      }
      r.rawIds = [];
      r.data = [];
      r.fdFlags = null;
    }
    const seq0 = this.#nextSeq;
    this.#nextSeq = (this.#nextSeq + total) | 0;
    let result: number | [number, number, number];
    try {
      result = fdRecords ? this.#native.send(buf, total, seq0, ends, true) : this.#native.send(buf, total, seq0, ends);
    } catch (err) {
      const e = fromNative(err, this.interfaceName);
      for (const r of reqs) this.#fail(r, e);
      return;
    }
    if (typeof result === 'number') {
      for (const r of reqs) {
        r.settled = true;
        r.resolve();
      }
      return;
    }
    const [sent, parked, errno] = result;
    let failure: CanError | undefined;
    let index = 0;
    for (const r of reqs) {
      for (let i = 0; i < r.frames; i++, index++) {
        if (index < sent) {
          r.remaining--;
        } else if (index < sent + parked) {
          this.#parked.set((seq0 + index) | 0, r);
        } else {
          failure ??= this.#sendError(errno, fdRecords);
          this.#fail(r, failure);
        }
      }
      if (!r.settled && r.remaining === 0) {
        r.settled = true;
        r.resolve();
      }
    }
  }

  #fail(r: SendRequest, err: Error): void {
    if (r.settled) return;
    r.settled = true;
    r.reject(err);
  }

  #complete(seq: number, errno: number): void {
    const r = this.#parked.get(seq);
    if (!r) return;
    this.#parked.delete(seq);
    if (errno !== 0) {
      this.#fail(r, canError(errno, 'send', this.interfaceName));
      return;
    }
    r.remaining--;
    if (!r.settled && r.remaining === 0) {
      r.settled = true;
      r.resolve();
    }
  }

  /** @internal Called by the addon on this socket's thread. */
  [kOnNative](batches: Buffer[] | undefined, completions: Int32Array | undefined, errors: number[] | undefined): void {
    if (completions) {
      for (let i = 0; i + 1 < completions.length; i += 2) this.#complete(completions[i]!, completions[i + 1]!);
    }
    const listenerErrors = new ListenerErrors();
    if (batches) {
      // Everything the reactor had ready goes out as ONE 'frames' event: a consumer
      // (a server session) then pays its per-event work (one TCP write, say) once per
      // delivery instead of once per recvmmsg batch (docs/design.md, "The native layer").
      const ready = batches.length > 1 ? Buffer.concat(batches) : batches[0];
      if (ready !== undefined && !this.#closed) {
        const batch = new FrameBatch(ready, ready.length / RECORD_SIZE);
        const changes = this.#errorMask !== 0 ? trackBatch(this.#busState, batch) : null;
        if (changes !== null) for (const change of changes) listenerErrors.emit(this, 'busState', change);
        if (!this.#closed) listenerErrors.emit(this, 'frames', batch);
      }
    }
    if (errors) {
      for (const errno of errors) {
        if (this.#closed) break;
        if (errnoCode(errno) === 'ENODEV') this.#watchForReturn();
        const err = canError(errno, 'recvmsg', this.interfaceName, errnoCode(errno) === 'ENODEV' ? 'removed' : undefined);
        listenerErrors.emit(this, 'error', err);
      }
    }
    listenerErrors.rethrow();
  }

  /**
   * The kernel unbinds a socket whose interface is removed. Watch (once a second,
   * without keeping the process alive) for an interface of the same name and bind
   * to it again, so the socket works again when the interface comes back.
   */
  #watchForReturn(): void {
    if (this.#rebindTimer || this.#closed) return;
    this.#rebindTimer = setInterval(() => {
      if (this.#closed) return this.#stopWatching();
      if (this.#native.rebind() === 0) {
        this.#stopWatching();
        this.#rebound();
      }
    }, REBIND_INTERVAL_MS);
    this.#rebindTimer.unref();
  }

  /** A new interface of the same name has a freshly started controller: error-active, without an error frame saying so. */
  #rebound(): void {
    const change = this.#busState.reset();
    if (change !== null) this.emit('busState', change);
  }

  #stopWatching(): void {
    if (this.#rebindTimer) clearInterval(this.#rebindTimer);
    this.#rebindTimer = undefined;
  }

  setFilters(filters: readonly CanFilter[] | null): void {
    this.#configure({ filters: encodeFilters(filters) });
  }

  setJoinFilters(on: boolean): void {
    this.#configure({ joinFilters: on });
  }

  setErrorMask(mask: number): void {
    this.#configure({ errorMask: mask >>> 0 });
    this.#errorMask = mask >>> 0;
  }

  setLoopback(on: boolean): void {
    this.#configure({ loopback: on });
  }

  setReceiveOwnMessages(on: boolean): void {
    this.#configure({ receiveOwnMessages: on });
  }

  setReceiveBufferSize(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > 0x7fffffff) throw new RangeError(`invalid receive buffer size ${bytes}`);
    return this.#configure({ receiveBufferSize: bytes }) ?? 0;
  }

  /** Every option change goes through the native configure(), as the constructor's options do. */
  #configure(options: NativeSocketOptions): number | undefined {
    return this.#call(() => this.#native.configure(options));
  }

  pause(): this {
    if (!this.#paused && !this.#closed) this.#call(() => this.#native.setReceiving(false));
    this.#paused = true;
    return this;
  }

  resume(): this {
    if (this.#paused && !this.#closed) this.#call(() => this.#native.setReceiving(true));
    this.#paused = false;
    return this;
  }

  isPaused(): boolean {
    return this.#paused;
  }

  #call<T>(fn: () => T): T {
    if (this.#closed) throw closedError(this.interfaceName);
    try {
      return fn();
    } catch (err) {
      throw fromNative(err, this.interfaceName);
    }
  }

  getStats(): CanSocketStats {
    const native = this.#closed && this.#lastStats ? this.#lastStats : this.#native.stats();
    const { errorFrames: _tracked, ...bus } = this.#busState.stats();
    return { ...native, ...bus, busState: this.#busState.state };
  }

  /** Keeps the event loop alive while open (the default). A ref'd open socket is also kept from garbage collection, like a net.Socket. */
  ref(): this {
    if (!this.#closed) this.#native.ref();
    this.#refed = true;
    return this;
  }

  /** Lets the process exit although this socket is open; an unreachable unref'd socket is garbage-collected and its descriptor closed. */
  unref(): this {
    if (!this.#closed) this.#native.unref();
    this.#refed = false;
    return this;
  }

  /** Whether the socket keeps the event loop alive. */
  hasRef(): boolean {
    return !this.#closed && this.#refed;
  }

  close(): void {
    if (this.#closed) return;
    this.#lastStats = this.#native.stats();
    this.#closed = true;
    this.#stopWatching();
    const outcomes = this.#native.close();
    if (this.#lastStats) this.#lastStats.txQueueDepth = 0;
    if (outcomes) {
      for (let i = 0; i + 1 < outcomes.length; i += 2) this.#complete(outcomes[i]!, outcomes[i + 1]!);
    }
    for (const r of this.#parked.values()) this.#fail(r, canError(ECANCELED, 'send', this.interfaceName));
    this.#parked.clear();
    const queued = this.#queue;
    this.#queue = [];
    this.#queuedFrames = 0;
    this.#queuedFd = false;
    for (const r of queued) this.#fail(r, canError(ECANCELED, 'send', this.interfaceName));
    process.nextTick(() => this.emit('close'));
  }
}

export class SocketCanBus implements CanBus {
  open(interfaceName: string, options?: CanSocketOptions): SocketCanSocket {
    return new SocketCanSocket(interfaceName, options);
  }

  interfaceState(interfaceName: string): InterfaceState {
    let state: number;
    try {
      state = loadAddon().interfaceState(interfaceName);
    } catch (err) {
      throw fromNative(err, interfaceName);
    }
    return state === 2 ? 'up' : state === 1 ? 'down' : 'absent';
  }
}

export const socketCanBus = new SocketCanBus();
