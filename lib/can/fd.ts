// CAN FD rules shared by the SocketCAN binding and the in-memory bus: which payload
// lengths an FD frame may have, and whether a frame to send is possible on a socket.
// Pure: no I/O. Lengths are refused, never padded: the receiver would see other bytes.

import { RECORD_FLAG_BRS, RECORD_FLAG_ESI, RECORD_FLAG_FD } from './record.js';
import type { CanFdErrorCode, CanFrame } from './types.js';

/** Largest payload of a CAN FD frame. */
export const CANFD_MAX_DLEN = 64;
/** Bytes of one classic frame on a CAN_RAW socket, and the MTU of a classic-only interface. */
export const CAN_MTU = 16;
/** Bytes of one CAN FD frame on a CAN_RAW socket, and the MTU of an interface that carries CAN FD. */
export const CANFD_MTU = 72;

/** The payload lengths a CAN FD frame can carry (its DLC codes 0..15). */
export const CANFD_LENGTHS: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]);

/** Whether `len` is a payload length a CAN FD frame can carry. */
export function isFdLength(len: number): boolean {
  return len <= 8 ? Number.isInteger(len) && len >= 0 : CANFD_LENGTHS.includes(len);
}

export interface FdFrameProblem {
  /** Every CAN FD code but ERR_CAN_FD_MTU, which is about the interface, not the frame. */
  code: Exclude<CanFdErrorCode, 'ERR_CAN_FD_MTU'>;
  message: string;
}

/**
 * Why `frame` cannot be sent on a socket with (`socketFd`) or without CAN FD, or
 * undefined when it can as far as FD goes (ids and classic lengths are checked elsewhere).
 */
export function fdFrameProblem(frame: CanFrame, socketFd: boolean): FdFrameProblem | undefined {
  if (frame.fd !== true) {
    if (frame.brs === true || frame.esi === true) {
      return { code: 'ERR_CAN_FD_FLAGS', message: 'brs and esi exist only on CAN FD frames: set fd: true or drop them' };
    }
    return undefined;
  }
  if (!socketFd) {
    return {
      code: 'ERR_CAN_FD_DISABLED',
      message: 'a CAN FD frame needs a socket opened with { fd: true } (CAN_RAW_FD_FRAMES)',
    };
  }
  if (frame.rtr === true) return { code: 'ERR_CAN_FD_RTR', message: 'CAN FD has no remote (RTR) frames' };
  const len = frame.data.length;
  if (!isFdLength(len)) {
    return {
      code: 'ERR_CAN_FD_LENGTH',
      message: `a CAN FD payload of ${len} bytes is impossible: FD lengths are ${CANFD_LENGTHS.join(', ')} (pad the payload yourself)`,
    };
  }
  return undefined;
}

/** The record flags of a frame: RECORD_FLAG_FD, with BRS and ESI as asked, or 0 for a classic frame. */
export function fdRecordFlags(frame: CanFrame): number {
  if (frame.fd !== true) return 0;
  return RECORD_FLAG_FD | (frame.brs === true ? RECORD_FLAG_BRS : 0) | (frame.esi === true ? RECORD_FLAG_ESI : 0);
}

/** The message of ERR_CAN_FD_MTU: the interface carries classic frames only. */
export function fdMtuMessage(interfaceName: string, mtu: number): string {
  return (
    `CAN interface '${interfaceName}' carries classic frames only (MTU ${mtu}): ` +
    `a CAN FD frame needs MTU ${CANFD_MTU} (\`ip link set ${interfaceName} mtu ${CANFD_MTU}\` while it is down; ` +
    'a real controller also needs `fd on` and a data bitrate)'
  );
}
