// VSCP Level I <-> 29-bit CAN identifier (CAN4VSCP layout; protocol §3.5, §3.6):
//   bits 28..26 priority (head bits 7..5)
//   bit  25     hard-coded (head bit 4)
//   bits 24..16 class (9 bits)
//   bits 15..8  type
//   bits  7..0  originating nickname
// Pure; no flag bits in the ids returned here.

// Kernel can_id flag bits (linux/can.h). Kept private: lib/can exports the
// public names, and lib/vscp imports nothing of ours (design.md "Shape").
const EFF_FLAG = 0x80000000;
const RTR_FLAG = 0x40000000;
const ERR_FLAG = 0x20000000;

/** Mask of the 29 identifier bits. */
export const VSCP_CAN_ID_MASK = 0x1fffffff;

/** Largest Level I payload on CAN (classic CAN). */
export const VSCP_LEVEL1_MAX_DATA = 8;

/**
 * 29-bit CAN id for a Level I event (protocol §3.5). Head bits 3..0 are
 * dropped; class is taken modulo 512 (9 bits); nickname defaults to 0,
 * which is what uvscpd always transmits.
 */
export function vscpToCanId(head: number, vscpClass: number, vscpType: number, nickname = 0): number {
  return (
    (((head >>> 5) & 0x7) << 26) |
    (((head >>> 4) & 0x1) << 25) |
    ((vscpClass & 0x1ff) << 16) |
    ((vscpType & 0xff) << 8) |
    (nickname & 0xff)
  ) >>> 0;
}

/** Head byte from an id (protocol §3.4): id bits 28..25 -> head bits 7..4; bits 3..0 are 0. */
export function headFromCanId(id: number): number {
  return ((id >>> 25) & 0xf) << 4;
}

/** Class, id bits 24..16 (0..511). */
export function classFromCanId(id: number): number {
  return (id >>> 16) & 0x1ff;
}

/** Type, id bits 15..8. */
export function typeFromCanId(id: number): number {
  return (id >>> 8) & 0xff;
}

/** Originating nickname, id bits 7..0. */
export function nicknameFromCanId(id: number): number {
  return id & 0xff;
}

/**
 * Whether a received frame is converted to an event (protocol §3.6): extended
 * data frames only, DLC 0..8. Standard, RTR and error frames, and longer
 * (CAN FD) payloads, are dropped silently and not counted.
 * `rawId` is the kernel can_id, flag bits included.
 */
export function isVscpFrame(rawId: number, length: number): boolean {
  return (
    (rawId & EFF_FLAG) !== 0 &&
    (rawId & (RTR_FLAG | ERR_FLAG)) === 0 &&
    length >= 0 &&
    length <= VSCP_LEVEL1_MAX_DATA
  );
}
