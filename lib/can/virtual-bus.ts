// An in-memory CAN bus with the kernel's CAN_RAW semantics, for unit tests,
// for the daemon's built-in `virtual` interface and for machines without
// SocketCAN. Frames reach JavaScript exactly as from the native binding:
// batches of fixed-size records.
//
// Semantics copied from the kernel (net/can/raw.c, af_can.c):
// - a frame sent on one socket reaches every other open socket of the same
//   interface whose filters pass it, when the sender has loopback on;
// - the sender receives its own frame only with receive-own-messages on;
// - a socket's receive queue is bounded; overflow is dropped and counted as
//   the kernel's SO_RXQ_OVFL would (also while the socket is paused);
// - records carry RECORD_FLAG_LOCAL for frames sent by a socket of this bus and
//   RECORD_FLAG_OWN for the sender's own copy, and every receiver of one frame
//   gets the same timestamp, unique on the bus (microseconds plus a sub-microsecond
//   count), as the kernel's MSG_DONTROUTE, MSG_CONFIRM and SO_TIMESTAMPNS give;
// - an interface that goes down makes sends fail with ENETDOWN and raises an
//   `error` event on each socket, which keeps working once it is back up;
// - CAN FD frames reach only sockets opened with `fd` (CAN_RAW_FD_FRAMES) and leave only
//   through interfaces whose MTU is CANFD_MTU (the default, as vcan's);
// - with joinFilters a frame must match every filter, and with more than one filter
//   error frames are not received (CAN_RAW_JOIN_FILTERS).

import { EventEmitter } from 'node:events';

import { BusStateTracker, trackBatch } from './bus-state.js';
import type { CanBusState } from './bus-state.js';
import { ListenerErrors } from './listener-errors.js';
import { CANFD_MTU, CAN_MTU, fdFrameProblem, fdMtuMessage, fdRecordFlags } from './fd.js';
import { FrameBatch, RECORD_FLAG_LOCAL, RECORD_FLAG_OWN, RECORD_SIZE, encodeRecord, frameToRawId } from './record.js';
import type {
  CanBus,
  CanError,
  CanFilter,
  CanFrame,
  CanSocket,
  CanSocketOptions,
  CanSocketStats,
  InterfaceState,
} from './types.js';
import { CAN_ERR_FLAG, CAN_INV_FILTER, CAN_MAX_DLEN } from './types.js';

/** Records per `frames` event, as the native reactor's recvmmsg batch. */
const BATCH_RECORDS = 64;
/** Default receive queue, in frames (the kernel's default buffer holds a few hundred). */
const DEFAULT_RX_QUEUE_FRAMES = 4096;
/** Bytes of kernel buffer one frame costs; converts receiveBufferSize to frames. */
const BYTES_PER_QUEUED_FRAME = 64;
const DEFAULT_TX_QUEUE_LIMIT = 1024;

export interface VirtualCanBusOptions {
  /** Interfaces that exist from the start (up). When omitted, any name is created on first open. */
  interfaces?: readonly string[];
}

interface VirtualInterface {
  state: 'up' | 'down';
  sockets: Set<VirtualCanSocket>;
  /** While true, sent frames park in the sockets' TX queues (a full TX queue on a real bus). */
  transmitPaused: boolean;
  /** CANFD_MTU (carries FD frames) or CAN_MTU (classic only). */
  mtu: number;
}

interface PendingSend {
  rawId: number;
  data: Uint8Array;
  /** RECORD_FLAG_FD|BRS|ESI; 0 for a classic frame. */
  fdFlags: number;
  resolve: () => void;
  reject: (err: CanError) => void;
}

function canError(code: string, message: string, interfaceName: string, syscall?: string): CanError {
  const err = new Error(message) as CanError;
  err.code = code;
  err.interfaceName = interfaceName;
  if (syscall !== undefined) err.syscall = syscall;
  return err;
}

function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

function filterPasses(filters: readonly CanFilter[] | null, rawId: number, join: boolean): boolean {
  if (filters === null) return true;
  for (const f of filters) {
    const match = ((rawId & f.mask) >>> 0) === ((f.id & f.mask & ~CAN_INV_FILTER) >>> 0);
    const passes = (f.id & CAN_INV_FILTER) !== 0 ? !match : match;
    if (passes !== join) return passes; // any: the first pass decides; join: the first miss
  }
  return join && filters.length > 0;
}

export class VirtualCanBus implements CanBus {
  private readonly interfaces = new Map<string, VirtualInterface>();
  private readonly autoCreate: boolean;
  /** Last timestamp given to a frame: whole microseconds and a count below them (0..999). */
  private lastUs = 0;
  private lastSub = 0;

  constructor(options: VirtualCanBusOptions = {}) {
    this.autoCreate = options.interfaces === undefined;
    for (const name of options.interfaces ?? []) this.addInterface(name);
  }

  addInterface(name: string): void {
    if (!this.interfaces.has(name)) {
      this.interfaces.set(name, { state: 'up', sockets: new Set(), transmitPaused: false, mtu: CANFD_MTU });
    }
  }

  open(interfaceName: string, options: CanSocketOptions = {}): CanSocket {
    let iface = this.interfaces.get(interfaceName);
    if (iface === undefined && this.autoCreate) {
      this.addInterface(interfaceName);
      iface = this.interfaces.get(interfaceName);
    }
    if (iface === undefined) {
      throw canError('ENODEV', `virtual CAN interface '${interfaceName}' does not exist (ENODEV)`, interfaceName, 'if_nametoindex');
    }
    const socket = new VirtualCanSocket(this, interfaceName, options);
    iface.sockets.add(socket);
    return socket;
  }

  interfaceState(interfaceName: string): InterfaceState {
    const iface = this.interfaces.get(interfaceName);
    if (iface === undefined) return this.autoCreate ? 'up' : 'absent';
    return iface.state;
  }

  /** Bring an interface up or down, or remove it ('absent'), as `ip link` would. */
  setInterfaceState(interfaceName: string, state: InterfaceState): void {
    const iface = this.interfaces.get(interfaceName);
    if (state === 'absent') {
      if (iface === undefined) return;
      this.interfaces.delete(interfaceName);
      for (const s of iface.sockets) s.raiseError('ENODEV', `CAN interface '${interfaceName}' was removed (ENODEV)`);
      return;
    }
    if (iface === undefined) {
      this.addInterface(interfaceName);
      this.interfaces.get(interfaceName)!.state = state;
      return;
    }
    if (iface.state === state) return;
    iface.state = state;
    if (state === 'down') {
      for (const s of iface.sockets) s.raiseError('ENETDOWN', `CAN interface '${interfaceName}' is down (ENETDOWN)`);
    } else {
      for (const s of iface.sockets) s.flushTx();
    }
  }

  /**
   * Set an interface's MTU, as `ip link set <name> mtu <mtu>`: CAN_MTU makes it carry
   * classic frames only (an FD send then fails with ERR_CAN_FD_MTU), CANFD_MTU (the
   * default) classic and FD frames.
   */
  setInterfaceMtu(interfaceName: string, mtu: number): void {
    if (mtu !== CAN_MTU && mtu !== CANFD_MTU) throw new RangeError(`a CAN interface MTU is ${CAN_MTU} or ${CANFD_MTU} (got ${mtu})`);
    const iface = this.interfaces.get(interfaceName);
    if (iface !== undefined) iface.mtu = mtu;
  }

  /** @internal The MTU of an interface (CANFD_MTU for one created on demand). */
  interfaceMtu(interfaceName: string): number {
    return this.interfaces.get(interfaceName)?.mtu ?? CANFD_MTU;
  }

  /** Hold (true) or release (false) transmission on an interface, as a congested real bus would. */
  setTransmitPaused(interfaceName: string, paused: boolean): void {
    const iface = this.interfaces.get(interfaceName);
    if (iface === undefined) return;
    iface.transmitPaused = paused;
    if (!paused) for (const s of iface.sockets) s.flushTx();
  }

  /**
   * Put a frame on the bus as another node would: every socket of the interface may
   * receive it (an FD frame only the `fd` ones).
   */
  inject(interfaceName: string, frame: CanFrame | { rawId: number; data: Uint8Array }): void {
    const rawId = 'rawId' in frame ? frame.rawId >>> 0 : frameToRawId(frame);
    this.deliver(interfaceName, rawId, frame.data, null, 'rawId' in frame ? 0 : fdRecordFlags(frame));
  }

  /** @internal */
  socketClosed(socket: VirtualCanSocket): void {
    this.interfaces.get(socket.interfaceName)?.sockets.delete(socket);
  }

  /** @internal Whether frames may leave `socket` now; throws the error a send would get. */
  transmitState(interfaceName: string): 'ok' | 'paused' | CanError {
    const iface = this.interfaces.get(interfaceName);
    if (iface === undefined) return canError('ENODEV', `CAN interface '${interfaceName}' does not exist (ENODEV)`, interfaceName, 'send');
    if (iface.state === 'down') return canError('ENETDOWN', `CAN interface '${interfaceName}' is down (ENETDOWN)`, interfaceName, 'send');
    return iface.transmitPaused ? 'paused' : 'ok';
  }

  /** @internal */
  deliver(interfaceName: string, rawId: number, data: Uint8Array, sender: VirtualCanSocket | null, fdFlags = 0): void {
    const iface = this.interfaces.get(interfaceName);
    if (iface === undefined || iface.state === 'down') return;
    if (sender !== null && !sender.loopback) return;
    let timestamp = nowMicros();
    let sub = 0;
    if (timestamp <= this.lastUs) {
      // Several frames in one microsecond: count below it, as nanoseconds would.
      timestamp = this.lastUs;
      sub = this.lastSub + 1;
      if (sub > 999) {
        timestamp++;
        sub = 0;
      }
    }
    this.lastUs = timestamp;
    this.lastSub = sub;
    const flags = (sender === null ? 0 : RECORD_FLAG_LOCAL) | fdFlags;
    for (const s of iface.sockets) {
      if (fdFlags !== 0 && !s.canFd) continue; // the kernel drops FD frames for classic sockets
      if (s === sender) {
        if (s.receiveOwn) s.receive(rawId, data, timestamp, flags | RECORD_FLAG_OWN, sub);
        continue;
      }
      s.receive(rawId, data, timestamp, flags, sub);
    }
  }
}

export class VirtualCanSocket extends EventEmitter implements CanSocket {
  /** @internal */ loopback: boolean;
  /** @internal */ receiveOwn: boolean;
  readonly canFd: boolean;
  private filters: readonly CanFilter[] | null;
  private joinFilters: boolean;
  private errorMask: number;
  private rxQueueFrames: number;
  private readonly txQueueLimit: number;
  private rxQueue: Buffer;
  private rxCount = 0;
  private rxScheduled = false;
  private rxPaused = false;
  private readonly txQueue: PendingSend[] = [];
  private isClosed = false;
  private readonly busStateTracker = new BusStateTracker();
  private readonly stats: Pick<
    CanSocketStats,
    'rxFrames' | 'rxBytes' | 'txFrames' | 'txBytes' | 'kernelDrops' | 'txQueueDepth' | 'txErrors' | 'errorFrames' | 'errors'
  > = {
    rxFrames: 0,
    rxBytes: 0,
    txFrames: 0,
    txBytes: 0,
    kernelDrops: 0,
    txQueueDepth: 0,
    txErrors: 0,
    errorFrames: 0,
    errors: 0,
  };

  constructor(
    private readonly bus: VirtualCanBus,
    readonly interfaceName: string,
    options: CanSocketOptions,
  ) {
    super();
    this.canFd = options.fd === true;
    this.filters = options.filters === undefined ? null : [...options.filters];
    this.joinFilters = options.joinFilters === true;
    this.errorMask = options.errorMask ?? 0;
    this.loopback = options.loopback ?? true;
    this.receiveOwn = options.receiveOwnMessages ?? false;
    this.txQueueLimit = options.txQueueLimit ?? DEFAULT_TX_QUEUE_LIMIT;
    this.rxQueueFrames = DEFAULT_RX_QUEUE_FRAMES;
    if (options.receiveBufferSize !== undefined) this.setReceiveBufferSize(options.receiveBufferSize);
    this.rxQueue = Buffer.alloc(BATCH_RECORDS * RECORD_SIZE);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get busState(): CanBusState {
    return this.busStateTracker.state;
  }

  send(frame: CanFrame): Promise<void> {
    return this.sendMany([frame]);
  }

  sendMany(frames: readonly CanFrame[]): Promise<void> {
    if (this.isClosed) return Promise.reject(canError('EBADF', 'CAN socket is closed', this.interfaceName, 'send'));
    const encoded: { rawId: number; data: Uint8Array; fdFlags: number }[] = [];
    for (const frame of frames) {
      const problem = fdFrameProblem(frame, this.canFd);
      if (problem !== undefined) return Promise.reject(canError(problem.code, problem.message, this.interfaceName, 'send'));
      const fdFlags = fdRecordFlags(frame);
      if (fdFlags !== 0) {
        const mtu = this.bus.interfaceMtu(this.interfaceName);
        if (mtu < CANFD_MTU) return Promise.reject(canError('ERR_CAN_FD_MTU', fdMtuMessage(this.interfaceName, mtu), this.interfaceName, 'send'));
      } else if (frame.data.length > CAN_MAX_DLEN) {
        return Promise.reject(canError('EINVAL', `CAN payload of ${frame.data.length} bytes exceeds 8`, this.interfaceName, 'send'));
      }
      let rawId: number;
      try {
        rawId = frameToRawId(frame);
      } catch (err) {
        return Promise.reject(canError('EINVAL', (err as Error).message, this.interfaceName, 'send'));
      }
      encoded.push({ rawId, data: Uint8Array.from(frame.data), fdFlags });
    }
    const outcomes = encoded.map((f) => this.transmit(f.rawId, f.data, f.fdFlags));
    return Promise.all(outcomes).then(() => undefined);
  }

  private transmit(rawId: number, data: Uint8Array, fdFlags: number): Promise<void> {
    const state = this.bus.transmitState(this.interfaceName);
    if (state instanceof Error) {
      this.stats.txErrors++;
      return Promise.reject(state);
    }
    if (state === 'ok' && this.txQueue.length === 0) {
      this.countTx(data);
      this.bus.deliver(this.interfaceName, rawId, data, this, fdFlags);
      return Promise.resolve();
    }
    if (this.txQueue.length >= this.txQueueLimit) {
      this.stats.txErrors++;
      return Promise.reject(canError('ENOBUFS', `CAN TX queue of '${this.interfaceName}' is full (ENOBUFS)`, this.interfaceName, 'send'));
    }
    return new Promise<void>((resolve, reject) => {
      this.txQueue.push({ rawId, data, fdFlags, resolve, reject });
      this.stats.txQueueDepth = this.txQueue.length;
    });
  }

  private countTx(data: Uint8Array): void {
    this.stats.txFrames++;
    this.stats.txBytes += data.length;
  }

  /** @internal Send parked frames once the interface can take them. */
  flushTx(): void {
    while (this.txQueue.length > 0 && !this.isClosed) {
      const state = this.bus.transmitState(this.interfaceName);
      if (state === 'paused') break;
      const next = this.txQueue.shift()!;
      if (state instanceof Error) {
        this.stats.txErrors++;
        next.reject(state);
      } else {
        this.countTx(next.data);
        this.bus.deliver(this.interfaceName, next.rawId, next.data, this, next.fdFlags);
        next.resolve();
      }
    }
    this.stats.txQueueDepth = this.txQueue.length;
  }

  /** @internal Queue a frame for delivery in the next batch. */
  receive(rawId: number, data: Uint8Array, timestampUs: number, flags = 0, subMicroNs = 0): void {
    if (this.isClosed) return;
    if ((rawId & CAN_ERR_FLAG) !== 0) {
      if ((rawId & this.errorMask) === 0) return;
      if (this.joinFilters && this.filters !== null && this.filters.length > 1) return;
    } else if (!filterPasses(this.filters, rawId, this.joinFilters)) {
      return;
    }
    if (this.rxCount >= this.rxQueueFrames) {
      this.stats.kernelDrops++;
      return;
    }
    const needed = (this.rxCount + 1) * RECORD_SIZE;
    if (needed > this.rxQueue.length) {
      const grown = Buffer.alloc(Math.min(this.rxQueueFrames, this.rxCount * 2) * RECORD_SIZE);
      this.rxQueue.copy(grown, 0, 0, this.rxCount * RECORD_SIZE);
      this.rxQueue = grown;
    }
    encodeRecord(this.rxQueue, this.rxCount * RECORD_SIZE, rawId, data, timestampUs, flags, subMicroNs);
    this.rxCount++;
    if (!this.rxScheduled && !this.rxPaused) {
      this.rxScheduled = true;
      setImmediate(() => this.drainRx());
    }
  }

  private drainRx(): void {
    this.rxScheduled = false;
    if (this.rxPaused) return; // resume() schedules the next drain
    const queue = this.rxQueue;
    const count = this.rxCount;
    this.rxQueue = Buffer.alloc(BATCH_RECORDS * RECORD_SIZE);
    this.rxCount = 0;
    for (let first = 0; first < count && !this.isClosed; first += BATCH_RECORDS) {
      const n = Math.min(BATCH_RECORDS, count - first);
      const batch = new FrameBatch(queue.subarray(first * RECORD_SIZE, (first + n) * RECORD_SIZE), n);
      const listenerErrors = new ListenerErrors();
      for (let i = 0; i < n; i++) {
        this.stats.rxFrames++;
        this.stats.rxBytes += batch.length(i);
        if ((batch.rawId(i) & CAN_ERR_FLAG) !== 0) this.stats.errorFrames++;
      }
      // As on SocketCAN: a throwing listener does not cost the batch its 'frames' event.
      for (const change of (this.errorMask !== 0 ? trackBatch(this.busStateTracker, batch) : null) ?? []) {
        listenerErrors.emit(this, 'busState', change);
      }
      if (!this.isClosed) this.emit('frames', batch);
      listenerErrors.rethrow();
    }
  }

  /** @internal */
  raiseError(code: string, message: string): void {
    if (this.isClosed) return;
    this.stats.errors++;
    const err = canError(code, message, this.interfaceName);
    // Parked frames cannot go out on a down or removed interface.
    this.flushTx();
    setImmediate(() => {
      if (!this.isClosed) this.emit('error', err);
    });
  }

  setFilters(filters: readonly CanFilter[] | null): void {
    this.filters = filters === null ? null : [...filters];
  }

  setJoinFilters(on: boolean): void {
    this.joinFilters = on;
  }

  setErrorMask(mask: number): void {
    this.errorMask = mask >>> 0;
  }

  setLoopback(on: boolean): void {
    this.loopback = on;
  }

  setReceiveOwnMessages(on: boolean): void {
    this.receiveOwn = on;
  }

  setReceiveBufferSize(bytes: number): number {
    if (!Number.isFinite(bytes) || bytes <= 0) throw new RangeError(`invalid receive buffer size ${bytes}`);
    this.rxQueueFrames = Math.max(1, Math.floor(bytes / BYTES_PER_QUEUED_FRAME));
    return this.rxQueueFrames * BYTES_PER_QUEUED_FRAME;
  }

  pause(): this {
    this.rxPaused = true;
    return this;
  }

  resume(): this {
    if (!this.rxPaused) return this;
    this.rxPaused = false;
    if (this.rxCount > 0 && !this.rxScheduled && !this.isClosed) {
      this.rxScheduled = true;
      setImmediate(() => this.drainRx());
    }
    return this;
  }

  isPaused(): boolean {
    return this.rxPaused;
  }

  getStats(): CanSocketStats {
    const { errorFrames: _tracked, ...bus } = this.busStateTracker.stats();
    return { ...this.stats, ...bus, busState: this.busStateTracker.state, txQueueDepth: this.txQueue.length };
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.bus.socketClosed(this);
    const parked = this.txQueue.splice(0);
    this.stats.txQueueDepth = 0;
    for (const p of parked) p.reject(canError('ECANCELED', 'CAN socket closed before the frame was sent', this.interfaceName, 'send'));
    this.rxCount = 0;
    setImmediate(() => this.emit('close'));
  }
}
