// The CAN socket contract shared by the SocketCAN binding and the in-memory bus.
// Nothing here knows about VSCP.

import type { EventEmitter } from 'node:events';

import type { BusStateChange, CanBusErrorStats, CanBusState } from './bus-state.js';

export type { BusStateChange, CanBusErrorStats, CanBusState };

/** Flag bits of a kernel `can_id` (linux/can.h). */
export const CAN_EFF_FLAG = 0x80000000;
export const CAN_RTR_FLAG = 0x40000000;
export const CAN_ERR_FLAG = 0x20000000;
export const CAN_SFF_MASK = 0x000007ff;
export const CAN_EFF_MASK = 0x1fffffff;
export const CAN_ERR_MASK = 0x1fffffff;
/** Set in a filter's `id` to invert it (CAN_INV_FILTER). */
export const CAN_INV_FILTER = 0x20000000;
/** Largest payload of a classic CAN frame. */
export const CAN_MAX_DLEN = 8;

/** Error codes of the CAN FD checks on a send (besides errno codes such as 'ENETDOWN'). */
export type CanFdErrorCode = 'ERR_CAN_FD_DISABLED' | 'ERR_CAN_FD_MTU' | 'ERR_CAN_FD_LENGTH' | 'ERR_CAN_FD_RTR' | 'ERR_CAN_FD_FLAGS';

/** A frame to send. `id` has no flag bits: 11 bits, or 29 with `extended`. */
export interface CanFrame {
  id: number;
  extended?: boolean;
  rtr?: boolean;
  /**
   * Payload: 0..8 bytes for a classic frame (for an RTR frame only its length counts);
   * for a CAN FD frame one of the FD lengths 0..8, 12, 16, 20, 24, 32, 48, 64.
   */
  data: Uint8Array;
  /** A CAN FD frame (needs a socket opened with `fd: true`). */
  fd?: boolean;
  /** CAN FD bit rate switch: the data phase at the data bitrate. FD frames only. */
  brs?: boolean;
  /** CAN FD error state indicator (the sender is error-passive). FD frames only. */
  esi?: boolean;
}

/** A received frame, decoded from a batch record. */
export interface ReceivedFrame {
  id: number;
  extended: boolean;
  rtr: boolean;
  /** An error frame: `id` holds the CAN_ERR_* class bits. */
  error: boolean;
  data: Buffer;
  /** Receive time, microseconds since the Unix epoch (exact in a double). */
  timestamp: number;
  /** The same time in nanoseconds since the Unix epoch. */
  timestampNs: bigint;
  /** The time is the device's (hardwareTimestamps), not the kernel's. */
  hardwareTimestamp: boolean;
  /** A CAN FD frame (only an `fd` socket receives them). */
  fd: boolean;
  /** CAN FD bit rate switch (false on classic frames). */
  brs: boolean;
  /** CAN FD error state indicator (false on classic frames). */
  esi: boolean;
}

/**
 * A kernel receive filter (`struct can_filter`): a frame passes when
 * `(frame_can_id & mask) === (id & mask)`. Both are in kernel form, flag
 * bits included (add CAN_EFF_FLAG to both to match only extended frames;
 * CAN_INV_FILTER in `id` inverts the match).
 */
export interface CanFilter {
  id: number;
  mask: number;
}

/** Largest receiveCoalesceUs, in microseconds (also native/layout.h; see lib/can/native.ts). */
export const MAX_RECEIVE_COALESCE_US = 10_000;

export interface CanSocketOptions {
  /**
   * CAN FD (CAN_RAW_FD_FRAMES): the socket sends and receives FD frames besides classic
   * ones. Default false: classic frames only, and an FD frame on the bus does not reach
   * the socket. Chosen at open.
   */
  fd?: boolean;
  /** Receive filters; any match passes (all must, with joinFilters). Default: receive every frame. An empty list receives nothing. */
  filters?: readonly CanFilter[];
  /**
   * CAN_RAW_JOIN_FILTERS: a frame passes only when it matches every filter, not any.
   * With more than one filter, error frames are then not received at all (the kernel
   * counts them against the filters too). Default false.
   */
  joinFilters?: boolean;
  /**
   * Take the device's receive time (SO_TIMESTAMPING, raw hardware time) when it gives
   * one; frames then say `hardwareTimestamp: true`. Without one (vcan, most USB
   * adapters) the kernel's time stands, as without this option. SocketCAN only; chosen
   * at open. A hardware time differs between receivers of one frame on this host.
   */
  hardwareTimestamps?: boolean;
  /** CAN_ERR_* classes delivered as error frames. Default 0 (none). */
  errorMask?: number;
  /** Local loopback of sent frames to other sockets. Default true (kernel default). */
  loopback?: boolean;
  /** Receive the frames this socket sends itself. Default false (kernel default). */
  receiveOwnMessages?: boolean;
  /** Kernel receive buffer in bytes (SO_RCVBUFFORCE when permitted, else SO_RCVBUF). Default: kernel's. */
  receiveBufferSize?: number;
  /**
   * Receive coalescing window under load, in microseconds (0..MAX_RECEIVE_COALESCE_US). Default 0 (off).
   * When a read empties the socket after finding more than one frame waiting, or finds
   * the previous read's frames not yet handled, the next read waits this long, so one
   * wake-up carries every frame that arrived meanwhile: fewer, larger `'frames'` events
   * under load at the price of up to this much latency. The one reader thread serves
   * every SocketCAN socket of the process, so while a socket with a window is busy, all
   * sockets are read (and parked frames flushed) once per window; when nothing is busy,
   * a frame is read as soon as it arrives. SocketCAN only: the in-memory bus ignores it.
   */
  receiveCoalesceUs?: number;
  /**
   * Wait the `receiveCoalesceUs` window after every read that found frames, not only under
   * load. Default false. For a consumer that counts CPU per frame rather than latency: at a
   * steady rate each `'frames'` event then carries about rate × window frames (10 at
   * 10,000 frames/s with 1000 µs), while a frame after a quiet spell is still read at once.
   * No effect without a window. SocketCAN only.
   */
  receiveCoalesceAlways?: boolean;
  /** Frames parked while the kernel TX queue is full before `send` fails with ENOBUFS. Default 1024. */
  txQueueLimit?: number;
}

/**
 * Counters of a socket. The bus-error counts (busOff, errorWarning, rxOverflows, ...)
 * come from the error frames the socket receives, so they stay 0 unless its
 * errorMask asks for the classes that report them; `errorFrames` counts every
 * error frame received.
 */
export interface CanSocketStats extends Omit<CanBusErrorStats, 'errorFrames'> {
  /** The bus state derived from the error frames received (error-active until one reports otherwise). */
  busState: CanBusState;
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  /** Frames the kernel dropped for this socket because its receive buffer was full (SO_RXQ_OVFL). */
  kernelDrops: number;
  /** Frames parked in the native TX queue waiting for the kernel. */
  txQueueDepth: number;
  /** Sends that failed (after any parking). */
  txErrors: number;
  /** Error frames received. */
  errorFrames: number;
  /** Socket errors reported (ENETDOWN, ...). */
  errors: number;
}

/** An `Error` from the CAN layer, with a Node-style code such as 'ENODEV'. */
export interface CanError extends Error {
  code: string;
  errno?: number;
  syscall?: string;
  interfaceName?: string;
}

export type InterfaceState = 'up' | 'down' | 'absent';

/**
 * One CAN_RAW socket bound to one interface.
 *
 * Events:
 * - `frames` (batch: FrameBatch): received frames, many per event (all that
 *   were ready when JavaScript got to them). The batch's buffer is only
 *   valid during the call; copy what you keep.
 * - `busState` (change: BusStateChange): the bus state derived from received
 *   error frames changed (`error-active`, `error-warning`, `error-passive`,
 *   `bus-off`); emitted before the `frames` event that carries the error frame.
 *   Needs an errorMask with the classes that report states (CAN_ERR_BUS_STATE_MASK).
 * - `error` (err: CanError): a socket error such as ENETDOWN (interface
 *   down) or ENODEV (interface removed). The socket stays open and works
 *   again when the interface comes back. As with net.Socket, an `error`
 *   with no listener throws.
 * - `close` (): after `close()`.
 */
export interface CanSocket extends EventEmitter {
  readonly interfaceName: string;
  readonly closed: boolean;
  /** The bus state derived from the error frames received; error-active until one reports otherwise. */
  readonly busState: CanBusState;
  /** Whether the socket carries CAN FD frames (opened with `fd: true`). */
  readonly canFd: boolean;
  /**
   * Send one frame. Resolves once the kernel took it; rejects with a CanError. Never blocks.
   * An FD frame the socket or interface cannot carry rejects with an ERR_CAN_FD_* code.
   */
  send(frame: CanFrame): Promise<void>;
  /** Send several frames in order (one sendmmsg where possible). Resolves once all are taken. */
  sendMany(frames: readonly CanFrame[]): Promise<void>;
  setFilters(filters: readonly CanFilter[] | null): void;
  /** CAN_RAW_JOIN_FILTERS: frames must match every filter (see CanSocketOptions.joinFilters). */
  setJoinFilters(on: boolean): void;
  setErrorMask(mask: number): void;
  setLoopback(on: boolean): void;
  setReceiveOwnMessages(on: boolean): void;
  /** Returns the size the kernel actually granted. */
  setReceiveBufferSize(bytes: number): number;
  /**
   * Stop reading this socket: frames wait in its receive buffer (the kernel's, for
   * SocketCAN) and, once that is full, are dropped and counted in `kernelDrops`,
   * costing this process nothing. Frames already read (at most a couple of batches)
   * may still arrive as `frames` events. Idempotent. For a consumer that cannot keep
   * up, e.g. a TCP client that stopped reading.
   */
  pause(): this;
  /** Read again after pause(): what the buffer kept arrives first. Idempotent. */
  resume(): this;
  /** Whether pause() is in effect. */
  isPaused(): boolean;
  getStats(): CanSocketStats;
  /** Keep the event loop alive while open (the default). */
  ref(): this;
  /**
   * Let the process exit even though this socket is open. Unlike a net.Socket, an
   * unref()ed socket that nothing references any more may be garbage-collected (and so
   * closed): keep a reference to it for as long as you need it.
   */
  unref(): this;
  /** Idempotent. Frames still parked in the TX queue are dropped and their sends reject with ECANCELED. */
  close(): void;
}

/** Where sockets come from: SocketCAN, or the in-memory bus. */
export interface CanBus {
  /** Open a socket on `interfaceName`. Throws a CanError (ENODEV, EAFNOSUPPORT, ...). */
  open(interfaceName: string, options?: CanSocketOptions): CanSocket;
  /** Whether the interface exists and is up. */
  interfaceState(interfaceName: string): InterfaceState;
}
