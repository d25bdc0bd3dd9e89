// Fixed-size frame records: how received frames travel from the native
// reactor (and the in-memory bus) to JavaScript, many to one Buffer.
//
// Layout of one record, little-endian, RECORD_SIZE bytes:
//   0  u32  can_id, kernel form (CAN_EFF_FLAG / CAN_RTR_FLAG / CAN_ERR_FLAG included)
//   4  u8   len: payload length (0..8 classic; 0..64 CAN FD)
//   5  u8   flags: RECORD_FLAG_FD, RECORD_FLAG_BRS, RECORD_FLAG_ESI (0 for classic frames),
//           RECORD_FLAG_LOCAL, RECORD_FLAG_OWN, RECORD_FLAG_HW_TIMESTAMP
//   6  u16  nanoseconds of the receive time below the microsecond (0..999)
//   8  f64  receive timestamp, whole microseconds since the Unix epoch (the kernel's, or
//           the device's with RECORD_FLAG_HW_TIMESTAMP)
//  16  u8[64] payload; bytes past `len` are unspecified
//
// These constants exist twice, here (the in-memory bus works without the addon) and in
// native/layout.h; the addon exports its values and lib/can/native.ts refuses to load
// one that differs.

import type { CanFrame, ReceivedFrame } from './types.js';
import { CAN_EFF_FLAG, CAN_EFF_MASK, CAN_ERR_FLAG, CAN_RTR_FLAG, CAN_SFF_MASK } from './types.js';

export const RECORD_SIZE = 80;
export const RECORD_ID_OFFSET = 0;
export const RECORD_LEN_OFFSET = 4;
export const RECORD_FLAGS_OFFSET = 5;
export const RECORD_TIMESTAMP_OFFSET = 8;
export const RECORD_DATA_OFFSET = 16;
export const RECORD_DATA_CAPACITY = 64;

export const RECORD_FLAG_FD = 0x01;
export const RECORD_FLAG_BRS = 0x02;
export const RECORD_FLAG_ESI = 0x04;
/**
 * Sent by a socket of this host (a local program, another socket of this
 * process): the kernel's MSG_DONTROUTE. Frames from other nodes of the bus
 * have it clear.
 */
export const RECORD_FLAG_LOCAL = 0x10;
/** Sent by this very socket; only with receiveOwnMessages (the kernel's MSG_CONFIRM). */
export const RECORD_FLAG_OWN = 0x20;
/** The timestamp is the device's (hardwareTimestamps and a device that gives one). */
export const RECORD_FLAG_HW_TIMESTAMP = 0x40;
export const RECORD_SUB_MICRO_NS_OFFSET = 6;

// Layout of one frame handed to the native send, little-endian: TX_RECORD_SIZE bytes when
// the send has classic frames only, TX_FD_RECORD_SIZE when it has an FD frame:
//   0 u32 can_id, kernel form   4 u8 len
//   5 u8 flags: RECORD_FLAG_FD|BRS|ESI (FD records; zero in classic ones)   6..7 zero
//   8 u8[8] payload (classic records), u8[64] (FD records)
export const TX_RECORD_SIZE = 16;
export const TX_FD_RECORD_SIZE = 72;
export const TX_ID_OFFSET = 0;
export const TX_LEN_OFFSET = 4;
export const TX_FLAGS_OFFSET = 5;
export const TX_DATA_OFFSET = 8;

/** A view over `count` records at the start of `buffer`. */
export class FrameBatch {
  constructor(
    readonly buffer: Buffer,
    readonly count: number,
  ) {
    if (count < 0 || count * RECORD_SIZE > buffer.length) {
      throw new RangeError(`batch of ${count} records does not fit in ${buffer.length} bytes`);
    }
  }

  /** Kernel can_id of record `i`, flag bits included. */
  rawId(i: number): number {
    return this.buffer.readUInt32LE(i * RECORD_SIZE + RECORD_ID_OFFSET);
  }

  length(i: number): number {
    return this.buffer[i * RECORD_SIZE + RECORD_LEN_OFFSET]!;
  }

  flags(i: number): number {
    return this.buffer[i * RECORD_SIZE + RECORD_FLAGS_OFFSET]!;
  }

  /** Microseconds since the epoch. */
  timestamp(i: number): number {
    return this.buffer.readDoubleLE(i * RECORD_SIZE + RECORD_TIMESTAMP_OFFSET);
  }

  /**
   * Nanoseconds of the receive time below timestamp(i) (0..999). Every local
   * receiver of one frame sees the same timestamp and sub-microsecond part.
   */
  subMicroNs(i: number): number {
    return this.buffer.readUInt16LE(i * RECORD_SIZE + RECORD_SUB_MICRO_NS_OFFSET);
  }

  /** The receive time of record `i` in nanoseconds since the epoch. */
  timestampNs(i: number): bigint {
    return recordTimestampNs(this.buffer, i * RECORD_SIZE);
  }

  /** Whether record `i` is a CAN FD frame. */
  isFd(i: number): boolean {
    return (this.flags(i) & RECORD_FLAG_FD) !== 0;
  }

  /** Whether record `i`'s time is the device's (hardwareTimestamps), not the kernel's. */
  hardwareTimestamp(i: number): boolean {
    return (this.flags(i) & RECORD_FLAG_HW_TIMESTAMP) !== 0;
  }

  /** Offset of record `i`'s payload in `buffer`. */
  dataOffset(i: number): number {
    return i * RECORD_SIZE + RECORD_DATA_OFFSET;
  }

  /** Decode record `i` into an object (copies the payload). */
  frame(i: number): ReceivedFrame {
    return decodeRecord(this.buffer, i * RECORD_SIZE);
  }

  /** Decode every record. Convenient, not for hot paths. */
  frames(): ReceivedFrame[] {
    const out: ReceivedFrame[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.frame(i);
    return out;
  }
}

/** Kernel can_id of a frame to send; throws RangeError on an impossible frame. */
export function frameToRawId(frame: CanFrame): number {
  const id = frame.id;
  if (!Number.isInteger(id) || id < 0) throw new RangeError(`invalid CAN id ${id}`);
  if (frame.extended) {
    if (id > CAN_EFF_MASK) throw new RangeError(`extended CAN id 0x${id.toString(16)} exceeds 29 bits`);
  } else if (id > CAN_SFF_MASK) {
    throw new RangeError(`standard CAN id 0x${id.toString(16)} exceeds 11 bits`);
  }
  let raw = id;
  if (frame.extended) raw |= CAN_EFF_FLAG;
  if (frame.rtr) raw |= CAN_RTR_FLAG;
  return raw >>> 0;
}

/**
 * Write `frame` as a record at `offset` of `target` (timestamp as given).
 * Used by the in-memory bus and by tests; the native side writes the same layout.
 */
export function encodeRecord(
  target: Buffer,
  offset: number,
  rawId: number,
  data: Uint8Array,
  timestampUs: number,
  flags = 0,
  subMicroNs = 0,
): void {
  if (data.length > RECORD_DATA_CAPACITY) throw new RangeError(`payload of ${data.length} bytes exceeds ${RECORD_DATA_CAPACITY}`);
  if (offset < 0 || offset + RECORD_SIZE > target.length) throw new RangeError('record does not fit in the target buffer');
  target.writeUInt32LE(rawId >>> 0, offset + RECORD_ID_OFFSET);
  target[offset + RECORD_LEN_OFFSET] = data.length;
  target[offset + RECORD_FLAGS_OFFSET] = flags;
  target.writeUInt16LE(subMicroNs, offset + RECORD_SUB_MICRO_NS_OFFSET);
  target.writeDoubleLE(timestampUs, offset + RECORD_TIMESTAMP_OFFSET);
  target.set(data, offset + RECORD_DATA_OFFSET);
}

function recordTimestampNs(source: Buffer, offset: number): bigint {
  const us = BigInt(source.readDoubleLE(offset + RECORD_TIMESTAMP_OFFSET));
  return us * 1000n + BigInt(source.readUInt16LE(offset + RECORD_SUB_MICRO_NS_OFFSET));
}

export function decodeRecord(source: Buffer, offset: number): ReceivedFrame {
  const raw = source.readUInt32LE(offset + RECORD_ID_OFFSET);
  const flags = source[offset + RECORD_FLAGS_OFFSET]!;
  const start = offset + RECORD_DATA_OFFSET;
  const len = Math.max(0, Math.min(source[offset + RECORD_LEN_OFFSET]!, RECORD_DATA_CAPACITY, source.length - start));
  const error = (raw & CAN_ERR_FLAG) !== 0;
  const extended = (raw & CAN_EFF_FLAG) !== 0;
  // A byte loop into a pooled Buffer: for payloads of at most 64 bytes about twice as cheap as
  // Buffer.from(subarray), which builds a view first and then copies generically.
  const data = Buffer.allocUnsafe(len);
  for (let k = 0; k < len; k++) data[k] = source[start + k]!;
  return {
    id: error ? raw & CAN_EFF_MASK : extended ? raw & CAN_EFF_MASK : raw & CAN_SFF_MASK,
    extended,
    rtr: (raw & CAN_RTR_FLAG) !== 0,
    error,
    data,
    timestamp: source.readDoubleLE(offset + RECORD_TIMESTAMP_OFFSET),
    timestampNs: recordTimestampNs(source, offset),
    hardwareTimestamp: (flags & RECORD_FLAG_HW_TIMESTAMP) !== 0,
    fd: (flags & RECORD_FLAG_FD) !== 0,
    brs: (flags & RECORD_FLAG_BRS) !== 0,
    esi: (flags & RECORD_FLAG_ESI) !== 0,
  };
}
