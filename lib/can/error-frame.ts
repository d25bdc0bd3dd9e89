// Error frames: how SocketCAN reports trouble on the bus. A frame with
// CAN_ERR_FLAG in its can_id carries error classes in the id bits and the
// details in its 8-byte payload, as linux/can/error.h defines them. This file
// holds those definitions and a pure decoder into a typed description; it
// knows nothing of sockets and never throws on what a frame contains.

import { CAN_ERR_MASK } from './types.js';

/** Payload length of an error frame. */
export const CAN_ERR_DLC = 8;

// Error classes, bits of the can_id.
/** TX timeout (reported by the network device driver). */
export const CAN_ERR_TX_TIMEOUT = 0x00000001;
/** Lost arbitration; the bit position is in data[0]. */
export const CAN_ERR_LOSTARB = 0x00000002;
/** Controller problems; details in data[1]. */
export const CAN_ERR_CRTL = 0x00000004;
/** Protocol violation; type in data[2], location in data[3]. */
export const CAN_ERR_PROT = 0x00000008;
/** Transceiver status in data[4]. */
export const CAN_ERR_TRX = 0x00000010;
/** No ACK received on transmission. */
export const CAN_ERR_ACK = 0x00000020;
/** Bus off. */
export const CAN_ERR_BUSOFF = 0x00000040;
/** Bus error (may flood the receiver). */
export const CAN_ERR_BUSERROR = 0x00000080;
/** Controller restarted. */
export const CAN_ERR_RESTARTED = 0x00000100;
/** TX error counter in data[6], RX error counter in data[7]. */
export const CAN_ERR_CNT = 0x00000200;
/** Every class bit the kernel defines: an errorMask that receives all error frames. */
export const CAN_ERR_ALL_CLASSES = 0x000003ff;
/**
 * The classes that report the bus state and faults without flooding: everything but
 * lost arbitration (ordinary traffic on a shared bus) and the per-error classes
 * (CAN_ERR_PROT, CAN_ERR_BUSERROR, and CAN_ERR_CNT, which also rides on every bus
 * error) that drivers send per faulty bit with berr-reporting on. Controller
 * state frames still carry their counters. An errorMask for a bus-state socket.
 */
export const CAN_ERR_BUS_STATE_MASK =
  CAN_ERR_TX_TIMEOUT | CAN_ERR_CRTL | CAN_ERR_TRX | CAN_ERR_ACK | CAN_ERR_BUSOFF | CAN_ERR_RESTARTED;

// Lost arbitration, data[0]: 0 is unspecified, anything else the bit number in the bitstream.
export const CAN_ERR_LOSTARB_UNSPEC = 0x00;

// Controller status, data[1] (bits).
export const CAN_ERR_CRTL_UNSPEC = 0x00;
/** RX buffer overflow. */
export const CAN_ERR_CRTL_RX_OVERFLOW = 0x01;
/** TX buffer overflow. */
export const CAN_ERR_CRTL_TX_OVERFLOW = 0x02;
/** RX error counter reached the warning level. */
export const CAN_ERR_CRTL_RX_WARNING = 0x04;
/** TX error counter reached the warning level. */
export const CAN_ERR_CRTL_TX_WARNING = 0x08;
/** RX error counter reached the error-passive level. */
export const CAN_ERR_CRTL_RX_PASSIVE = 0x10;
/** TX error counter reached the error-passive level. */
export const CAN_ERR_CRTL_TX_PASSIVE = 0x20;
/** Recovered to error-active. */
export const CAN_ERR_CRTL_ACTIVE = 0x40;

// Protocol violation type, data[2] (bits).
export const CAN_ERR_PROT_UNSPEC = 0x00;
/** Single bit error. */
export const CAN_ERR_PROT_BIT = 0x01;
/** Frame format error. */
export const CAN_ERR_PROT_FORM = 0x02;
/** Bit stuffing error. */
export const CAN_ERR_PROT_STUFF = 0x04;
/** Unable to send a dominant bit. */
export const CAN_ERR_PROT_BIT0 = 0x08;
/** Unable to send a recessive bit. */
export const CAN_ERR_PROT_BIT1 = 0x10;
/** Bus overload. */
export const CAN_ERR_PROT_OVERLOAD = 0x20;
/** Active error announcement. */
export const CAN_ERR_PROT_ACTIVE = 0x40;
/** The error occurred on transmission. */
export const CAN_ERR_PROT_TX = 0x80;

// Protocol violation location, data[3] (values, not bits).
export const CAN_ERR_PROT_LOC_UNSPEC = 0x00;
export const CAN_ERR_PROT_LOC_SOF = 0x03;
export const CAN_ERR_PROT_LOC_ID28_21 = 0x02;
export const CAN_ERR_PROT_LOC_ID20_18 = 0x06;
export const CAN_ERR_PROT_LOC_SRTR = 0x04;
export const CAN_ERR_PROT_LOC_IDE = 0x05;
export const CAN_ERR_PROT_LOC_ID17_13 = 0x07;
export const CAN_ERR_PROT_LOC_ID12_05 = 0x0f;
export const CAN_ERR_PROT_LOC_ID04_00 = 0x0e;
export const CAN_ERR_PROT_LOC_RTR = 0x0c;
export const CAN_ERR_PROT_LOC_RES1 = 0x0d;
export const CAN_ERR_PROT_LOC_RES0 = 0x09;
export const CAN_ERR_PROT_LOC_DLC = 0x0b;
export const CAN_ERR_PROT_LOC_DATA = 0x0a;
export const CAN_ERR_PROT_LOC_CRC_SEQ = 0x08;
export const CAN_ERR_PROT_LOC_CRC_DEL = 0x18;
export const CAN_ERR_PROT_LOC_ACK = 0x19;
export const CAN_ERR_PROT_LOC_ACK_DEL = 0x1b;
export const CAN_ERR_PROT_LOC_EOF = 0x1a;
export const CAN_ERR_PROT_LOC_INTERM = 0x12;

// Transceiver status, data[4]: CANH in the low nibble, CANL in the high one.
export const CAN_ERR_TRX_UNSPEC = 0x00;
export const CAN_ERR_TRX_CANH_NO_WIRE = 0x04;
export const CAN_ERR_TRX_CANH_SHORT_TO_BAT = 0x05;
export const CAN_ERR_TRX_CANH_SHORT_TO_VCC = 0x06;
export const CAN_ERR_TRX_CANH_SHORT_TO_GND = 0x07;
export const CAN_ERR_TRX_CANL_NO_WIRE = 0x40;
export const CAN_ERR_TRX_CANL_SHORT_TO_BAT = 0x50;
export const CAN_ERR_TRX_CANL_SHORT_TO_VCC = 0x60;
export const CAN_ERR_TRX_CANL_SHORT_TO_GND = 0x70;
export const CAN_ERR_TRX_CANL_SHORT_TO_CANH = 0x80;

// Error counter thresholds of the CAN protocol (error-active below the first).
export const CAN_ERROR_WARNING_THRESHOLD = 96;
export const CAN_ERROR_PASSIVE_THRESHOLD = 128;
export const CAN_BUS_OFF_THRESHOLD = 256;

/** An error class, by its bit in the can_id. */
export type CanErrorClass =
  | 'tx-timeout'
  | 'lost-arbitration'
  | 'controller'
  | 'protocol'
  | 'transceiver'
  | 'no-ack'
  | 'bus-off'
  | 'bus-error'
  | 'restarted'
  | 'error-counters';

/** Class names by bit, in bit order. */
export const CAN_ERROR_CLASSES: ReadonlyArray<readonly [bit: number, name: CanErrorClass]> = [
  [CAN_ERR_TX_TIMEOUT, 'tx-timeout'],
  [CAN_ERR_LOSTARB, 'lost-arbitration'],
  [CAN_ERR_CRTL, 'controller'],
  [CAN_ERR_PROT, 'protocol'],
  [CAN_ERR_TRX, 'transceiver'],
  [CAN_ERR_ACK, 'no-ack'],
  [CAN_ERR_BUSOFF, 'bus-off'],
  [CAN_ERR_BUSERROR, 'bus-error'],
  [CAN_ERR_RESTARTED, 'restarted'],
  [CAN_ERR_CNT, 'error-counters'],
];

export type ControllerCondition =
  | 'rx-overflow'
  | 'tx-overflow'
  | 'rx-warning'
  | 'tx-warning'
  | 'rx-passive'
  | 'tx-passive'
  | 'active';

/** Controller conditions by data[1] bit. */
export const CAN_CONTROLLER_CONDITIONS: ReadonlyArray<readonly [bit: number, name: ControllerCondition]> = [
  [CAN_ERR_CRTL_RX_OVERFLOW, 'rx-overflow'],
  [CAN_ERR_CRTL_TX_OVERFLOW, 'tx-overflow'],
  [CAN_ERR_CRTL_RX_WARNING, 'rx-warning'],
  [CAN_ERR_CRTL_TX_WARNING, 'tx-warning'],
  [CAN_ERR_CRTL_RX_PASSIVE, 'rx-passive'],
  [CAN_ERR_CRTL_TX_PASSIVE, 'tx-passive'],
  [CAN_ERR_CRTL_ACTIVE, 'active'],
];

export type ProtocolErrorType = 'bit' | 'form' | 'stuff' | 'bit0' | 'bit1' | 'overload' | 'active';

/** Protocol violation types by data[2] bit (CAN_ERR_PROT_TX is a modifier, see ProtocolViolation.onTransmit). */
export const CAN_PROTOCOL_ERROR_TYPES: ReadonlyArray<readonly [bit: number, name: ProtocolErrorType, text: string]> = [
  [CAN_ERR_PROT_BIT, 'bit', 'bit error'],
  [CAN_ERR_PROT_FORM, 'form', 'form error'],
  [CAN_ERR_PROT_STUFF, 'stuff', 'stuff error'],
  [CAN_ERR_PROT_BIT0, 'bit0', 'cannot send dominant bit'],
  [CAN_ERR_PROT_BIT1, 'bit1', 'cannot send recessive bit'],
  [CAN_ERR_PROT_OVERLOAD, 'overload', 'bus overload'],
  [CAN_ERR_PROT_ACTIVE, 'active', 'active error announcement'],
];

export type ProtocolLocation =
  | 'unspecified'
  | 'sof'
  | 'id28-21'
  | 'id20-18'
  | 'srtr'
  | 'ide'
  | 'id17-13'
  | 'id12-05'
  | 'id04-00'
  | 'rtr'
  | 'res1'
  | 'res0'
  | 'dlc'
  | 'data'
  | 'crc-sequence'
  | 'crc-delimiter'
  | 'ack'
  | 'ack-delimiter'
  | 'eof'
  | 'intermission'
  | 'unknown';

/** Protocol violation locations by data[3] value, with their text. */
export const CAN_PROTOCOL_LOCATIONS: ReadonlyArray<readonly [value: number, name: ProtocolLocation, text: string]> = [
  [CAN_ERR_PROT_LOC_UNSPEC, 'unspecified', 'unspecified location'],
  [CAN_ERR_PROT_LOC_SOF, 'sof', 'start of frame'],
  [CAN_ERR_PROT_LOC_ID28_21, 'id28-21', 'ID bits 28-21 (SFF: 10-3)'],
  [CAN_ERR_PROT_LOC_ID20_18, 'id20-18', 'ID bits 20-18 (SFF: 2-0)'],
  [CAN_ERR_PROT_LOC_SRTR, 'srtr', 'substitute RTR (SFF: RTR)'],
  [CAN_ERR_PROT_LOC_IDE, 'ide', 'identifier extension'],
  [CAN_ERR_PROT_LOC_ID17_13, 'id17-13', 'ID bits 17-13'],
  [CAN_ERR_PROT_LOC_ID12_05, 'id12-05', 'ID bits 12-5'],
  [CAN_ERR_PROT_LOC_ID04_00, 'id04-00', 'ID bits 4-0'],
  [CAN_ERR_PROT_LOC_RTR, 'rtr', 'RTR'],
  [CAN_ERR_PROT_LOC_RES1, 'res1', 'reserved bit 1'],
  [CAN_ERR_PROT_LOC_RES0, 'res0', 'reserved bit 0'],
  [CAN_ERR_PROT_LOC_DLC, 'dlc', 'data length code'],
  [CAN_ERR_PROT_LOC_DATA, 'data', 'data section'],
  [CAN_ERR_PROT_LOC_CRC_SEQ, 'crc-sequence', 'CRC sequence'],
  [CAN_ERR_PROT_LOC_CRC_DEL, 'crc-delimiter', 'CRC delimiter'],
  [CAN_ERR_PROT_LOC_ACK, 'ack', 'ACK slot'],
  [CAN_ERR_PROT_LOC_ACK_DEL, 'ack-delimiter', 'ACK delimiter'],
  [CAN_ERR_PROT_LOC_EOF, 'eof', 'end of frame'],
  [CAN_ERR_PROT_LOC_INTERM, 'intermission', 'intermission'],
];

/** The condition of one bus wire as the transceiver reports it. */
export type WireCondition = 'ok' | 'no-wire' | 'short-to-bat' | 'short-to-vcc' | 'short-to-gnd' | 'short-to-canh' | 'unknown';

/** A controller's fault-confinement state, by rising severity. */
export type ControllerState = 'error-active' | 'error-warning' | 'error-passive';

export interface LostArbitration {
  /** Bit number in the bitstream where arbitration was lost; undefined when unspecified (data[0] = 0). */
  readonly bit: number | undefined;
}

export interface ControllerStatus {
  /** data[1] as received. */
  readonly flags: number;
  /** The conditions set, in bit order. */
  readonly conditions: readonly ControllerCondition[];
  readonly rxOverflow: boolean;
  readonly txOverflow: boolean;
  /**
   * The state the controller reports: the most severe of its warning / passive bits,
   * 'error-active' for CAN_ERR_CRTL_ACTIVE, undefined when it reports no state
   * (only an overflow, or unspecified).
   */
  readonly state: ControllerState | undefined;
  /** data[1] bits that linux/can/error.h does not define. */
  readonly unknownBits: number;
}

export interface ProtocolViolation {
  /** data[2] as received. */
  readonly typeFlags: number;
  /** The violation types set, in bit order; empty when unspecified. */
  readonly types: readonly ProtocolErrorType[];
  /** CAN_ERR_PROT_TX: the error occurred while transmitting. */
  readonly onTransmit: boolean;
  /** data[2] bits that linux/can/error.h does not define. */
  readonly unknownTypeBits: number;
  /** data[3] as received. */
  readonly locationCode: number;
  readonly location: ProtocolLocation;
  /** Human-readable location, e.g. "CRC delimiter". */
  readonly locationText: string;
}

export interface TransceiverStatus {
  /** data[4] as received. */
  readonly code: number;
  readonly canh: WireCondition;
  readonly canl: WireCondition;
  /** Human-readable, e.g. "CANH short to GND". */
  readonly text: string;
}

export interface ErrorCounters {
  /** Transmit error counter (data[6]). */
  readonly tx: number;
  /** Receive error counter (data[7]). */
  readonly rx: number;
}

/**
 * A decoded error frame. Each class has its field: a boolean for classes without
 * details, an object for classes with details, undefined when the class is absent.
 */
export interface CanErrorDescription {
  /** The class bits of the can_id (CAN_ERR_FLAG and higher flag bits removed). */
  readonly classBits: number;
  /** The classes present, in bit order. */
  readonly classes: readonly CanErrorClass[];
  /** Class bits that linux/can/error.h does not define. */
  readonly unknownClassBits: number;
  readonly txTimeout: boolean;
  readonly lostArbitration: LostArbitration | undefined;
  readonly controller: ControllerStatus | undefined;
  readonly protocol: ProtocolViolation | undefined;
  readonly transceiver: TransceiverStatus | undefined;
  readonly noAck: boolean;
  readonly busOff: boolean;
  readonly busError: boolean;
  readonly restarted: boolean;
  /** With CAN_ERR_CNT and the two counter bytes present; else undefined. */
  readonly counters: ErrorCounters | undefined;
  /** A present class needed a payload byte the frame did not have (read as unspecified). */
  readonly truncated: boolean;
}

const LOCATION_BY_CODE = new Map(CAN_PROTOCOL_LOCATIONS.map(([code, name, text]) => [code, { name, text }]));

const CANH_CONDITIONS: Readonly<Record<number, WireCondition>> = {
  [CAN_ERR_TRX_UNSPEC]: 'ok',
  [CAN_ERR_TRX_CANH_NO_WIRE]: 'no-wire',
  [CAN_ERR_TRX_CANH_SHORT_TO_BAT]: 'short-to-bat',
  [CAN_ERR_TRX_CANH_SHORT_TO_VCC]: 'short-to-vcc',
  [CAN_ERR_TRX_CANH_SHORT_TO_GND]: 'short-to-gnd',
};

const CANL_CONDITIONS: Readonly<Record<number, WireCondition>> = {
  [CAN_ERR_TRX_UNSPEC]: 'ok',
  [CAN_ERR_TRX_CANL_NO_WIRE]: 'no-wire',
  [CAN_ERR_TRX_CANL_SHORT_TO_BAT]: 'short-to-bat',
  [CAN_ERR_TRX_CANL_SHORT_TO_VCC]: 'short-to-vcc',
  [CAN_ERR_TRX_CANL_SHORT_TO_GND]: 'short-to-gnd',
  [CAN_ERR_TRX_CANL_SHORT_TO_CANH]: 'short-to-canh',
};

const WIRE_TEXT: Readonly<Record<WireCondition, string>> = {
  ok: 'ok',
  'no-wire': 'no wire',
  'short-to-bat': 'short to BAT',
  'short-to-vcc': 'short to VCC',
  'short-to-gnd': 'short to GND',
  'short-to-canh': 'short to CANH',
  unknown: 'unknown',
};

const KNOWN_CONTROLLER_BITS = CAN_CONTROLLER_CONDITIONS.reduce((m, [bit]) => m | bit, 0);
const KNOWN_PROTOCOL_BITS = CAN_PROTOCOL_ERROR_TYPES.reduce((m, [bit]) => m | bit, CAN_ERR_PROT_TX);

function decodeController(flags: number): ControllerStatus {
  const conditions: ControllerCondition[] = [];
  for (const [bit, name] of CAN_CONTROLLER_CONDITIONS) if ((flags & bit) !== 0) conditions.push(name);
  let state: ControllerState | undefined;
  if ((flags & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE)) !== 0) state = 'error-passive';
  else if ((flags & (CAN_ERR_CRTL_RX_WARNING | CAN_ERR_CRTL_TX_WARNING)) !== 0) state = 'error-warning';
  else if ((flags & CAN_ERR_CRTL_ACTIVE) !== 0) state = 'error-active';
  return {
    flags,
    conditions,
    rxOverflow: (flags & CAN_ERR_CRTL_RX_OVERFLOW) !== 0,
    txOverflow: (flags & CAN_ERR_CRTL_TX_OVERFLOW) !== 0,
    state,
    unknownBits: flags & ~KNOWN_CONTROLLER_BITS & 0xff,
  };
}

function decodeProtocol(typeFlags: number, locationCode: number): ProtocolViolation {
  const types: ProtocolErrorType[] = [];
  for (const [bit, name] of CAN_PROTOCOL_ERROR_TYPES) if ((typeFlags & bit) !== 0) types.push(name);
  const location = LOCATION_BY_CODE.get(locationCode) ?? { name: 'unknown' as const, text: `unknown location 0x${hex2(locationCode)}` };
  return {
    typeFlags,
    types,
    onTransmit: (typeFlags & CAN_ERR_PROT_TX) !== 0,
    unknownTypeBits: typeFlags & ~KNOWN_PROTOCOL_BITS & 0xff,
    locationCode,
    location: location.name,
    locationText: location.text,
  };
}

function decodeTransceiver(code: number): TransceiverStatus {
  const canh = CANH_CONDITIONS[code & 0x0f] ?? 'unknown';
  const canl = CANL_CONDITIONS[code & 0xf0] ?? 'unknown';
  const parts: string[] = [];
  if (canh !== 'ok') parts.push(`CANH ${WIRE_TEXT[canh]}`);
  if (canl !== 'ok') parts.push(`CANL ${WIRE_TEXT[canl]}`);
  return { code, canh, canl, text: parts.length === 0 ? 'unspecified' : parts.join(', ') };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Decodes an error frame. `id` is its can_id, with or without CAN_ERR_FLAG (a
 * ReceivedFrame's `id` or a FrameBatch's `rawId`); `data` its payload. Missing
 * payload bytes read as unspecified and set `truncated`; undefined bits are kept
 * in the `unknown*` fields. Never throws.
 */
export function decodeErrorFrame(id: number, data: Uint8Array): CanErrorDescription {
  const classBits = (Number.isFinite(id) ? id & CAN_ERR_MASK : 0) >>> 0;
  const bytes: ArrayLike<number> = data ?? [];
  let truncated = false;
  const byte = (i: number): number => {
    if (i < bytes.length) return (bytes[i] ?? 0) & 0xff;
    truncated = true;
    return 0;
  };
  const has = (bit: number): boolean => (classBits & bit) !== 0;

  const classes: CanErrorClass[] = [];
  for (const [bit, name] of CAN_ERROR_CLASSES) if (has(bit)) classes.push(name);

  let lostArbitration: LostArbitration | undefined;
  if (has(CAN_ERR_LOSTARB)) {
    const bit = byte(0);
    lostArbitration = { bit: bit === CAN_ERR_LOSTARB_UNSPEC ? undefined : bit };
  }
  const controller = has(CAN_ERR_CRTL) ? decodeController(byte(1)) : undefined;
  const protocol = has(CAN_ERR_PROT) ? decodeProtocol(byte(2), byte(3)) : undefined;
  const transceiver = has(CAN_ERR_TRX) ? decodeTransceiver(byte(4)) : undefined;
  let counters: ErrorCounters | undefined;
  if (has(CAN_ERR_CNT)) {
    if (bytes.length >= 8) counters = { tx: byte(6), rx: byte(7) };
    else truncated = true;
  }

  return {
    classBits,
    classes,
    unknownClassBits: (classBits & ~CAN_ERR_ALL_CLASSES) >>> 0,
    txTimeout: has(CAN_ERR_TX_TIMEOUT),
    lostArbitration,
    controller,
    protocol,
    transceiver,
    noAck: has(CAN_ERR_ACK),
    busOff: has(CAN_ERR_BUSOFF),
    busError: has(CAN_ERR_BUSERROR),
    restarted: has(CAN_ERR_RESTARTED),
    counters,
    truncated,
  };
}

/**
 * One line for logs, e.g. `controller: tx-passive; error counters tx=128 rx=0`
 * or `protocol violation: stuff error on transmit at CRC delimiter; bus error`.
 */
export function describeErrorFrame(d: CanErrorDescription): string {
  const parts: string[] = [];
  if (d.txTimeout) parts.push('tx timeout');
  if (d.lostArbitration) {
    parts.push(d.lostArbitration.bit === undefined ? 'lost arbitration' : `lost arbitration at bit ${d.lostArbitration.bit}`);
  }
  if (d.controller) {
    const c = d.controller;
    let text = `controller: ${c.conditions.length === 0 ? 'unspecified' : c.conditions.join(', ')}`;
    if (c.unknownBits !== 0) text += ` (unknown bits 0x${hex2(c.unknownBits)})`;
    parts.push(text);
  }
  if (d.protocol) {
    const p = d.protocol;
    const types = p.types.map((t) => CAN_PROTOCOL_ERROR_TYPES.find(([, name]) => name === t)![2]);
    let text = `protocol violation: ${types.length === 0 ? 'unspecified' : types.join(', ')}`;
    if (p.unknownTypeBits !== 0) text += ` (unknown bits 0x${hex2(p.unknownTypeBits)})`;
    if (p.onTransmit) text += ' on transmit';
    if (p.location !== 'unspecified') text += ` at ${p.locationText}`;
    parts.push(text);
  }
  if (d.transceiver) parts.push(`transceiver: ${d.transceiver.text}`);
  if (d.noAck) parts.push('no ACK');
  if (d.busOff) parts.push('bus off');
  if (d.busError) parts.push('bus error');
  if (d.restarted) parts.push('controller restarted');
  if (d.counters) parts.push(`error counters tx=${d.counters.tx} rx=${d.counters.rx}`);
  if (d.unknownClassBits !== 0) parts.push(`unknown classes 0x${d.unknownClassBits.toString(16)}`);
  if (d.truncated) parts.push('payload truncated');
  return parts.length === 0 ? 'error frame without error class' : parts.join('; ');
}
