// An event model for library users and tests: the event line of protocol §3.4
// as a value, its parser and formatter, and the CAN frame -> event
// conversion of §3.6. Pure; never throws on any input.

import type { Guid } from './guid.js';
import { GUID_SIZE, copyGuid, formatGuid, parseGuid } from './guid.js';
import { classFromCanId, headFromCanId, isVscpFrame, nicknameFromCanId, typeFromCanId } from './mapping.js';
import { formatDateTime, timestampFromMicros } from './event-line.js';
import { parseStrictUnsigned } from './numbers.js';

export interface VscpEvent {
  /** 0..255; from CAN only bits 7..4 are ever set (protocol §3.4). */
  head: number;
  /** 0..65535 when parsed; 0..511 from CAN. */
  vscpClass: number;
  /** 0..65535 when parsed; 0..255 from CAN. */
  vscpType: number;
  /** 0..2^32-1; always 0 from uvscpd. */
  obid: number;
  /** Kept as text: 'YYYY-MM-DDTHH:MM:SS' from uvscpd; '' and ISO forms with fraction/'Z' are also read. */
  datetime: string;
  /** 0..2^32-1 (microseconds mod 2^32 from uvscpd). */
  timestamp: number;
  /** 16 bytes. */
  guid: Guid;
  data: Uint8Array;
}

const U32_MAX = 4294967295;
/** Largest VSCP Level II payload; Level I lines carry at most 8 (+16 for proxy classes). */
export const VSCP_MAX_DATA = 512;
/** Longer input cannot be a valid line (512 values of "0xFF," is 2.5 KiB). */
const MAX_LINE_LENGTH = 8192;

// Empty (vscpd 2026), uvscpd's form, or vscpd 2020's with fraction and 'Z'.
const DATETIME_RE = /^(?:\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z?)?$/;

/**
 * Parse one event line (protocol §3.4) as written by formatEventLine, the
 * original uvscpd, or vscpd 2020: CRLF (or LF) optional; numbers decimal or
 * 0x hex without sign (no wrapping: out-of-range values are errors); GUID
 * groups padded or not (parseGuid); data values 0..255, at most 512.
 * Returns null on anything else, including an empty data field or a
 * trailing comma.
 */
export function parseEventLine(line: string): VscpEvent | null {
  if (typeof line !== 'string' || line.length > MAX_LINE_LENGTH) return null;
  let text = line;
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n')) text = text.slice(0, -1);

  const f = text.split(',');
  if (f.length < 7 || f.length - 7 > VSCP_MAX_DATA) return null;
  const head = parseStrictUnsigned(f[0] as string, 255);
  const vscpClass = parseStrictUnsigned(f[1] as string, 0xffff);
  const vscpType = parseStrictUnsigned(f[2] as string, 0xffff);
  const obid = parseStrictUnsigned(f[3] as string, U32_MAX);
  const datetime = f[4] as string;
  const timestamp = parseStrictUnsigned(f[5] as string, U32_MAX);
  const guid = parseGuid(f[6] as string);
  if (head === null || vscpClass === null || vscpType === null || obid === null || timestamp === null || guid === null) {
    return null;
  }
  if (!DATETIME_RE.test(datetime)) return null;

  const data = new Uint8Array(f.length - 7);
  for (let i = 7; i < f.length; i++) {
    const v = parseStrictUnsigned(f[i] as string, 255);
    if (v === null) return null;
    data[i - 7] = v;
  }
  return { head, vscpClass, vscpType, obid, datetime, timestamp, guid, data };
}

/**
 * The event in uvscpd's text format (protocol §3.4), without CRLF: decimal
 * numbers, unpadded upper-case GUID, decimal data. For a line in that
 * canonical form, formatEvent(parseEventLine(line)) gives the line back.
 * Also a valid SEND argument for Level I classes (protocol §3.1).
 */
export function formatEvent(event: VscpEvent): string {
  let s =
    String(event.head) + ',' + String(event.vscpClass) + ',' + String(event.vscpType) + ',' +
    String(event.obid) + ',' + event.datetime + ',' + String(event.timestamp) + ',' + formatGuid(event.guid);
  const d = event.data;
  for (let i = 0; i < d.length; i++) s += ',' + String(d[i]);
  return s;
}

/**
 * A received CAN frame as an event (protocol §3.6 / §3.4), or null for frames
 * the original drops (standard, RTR, error, more than 8 bytes). The GUID is
 * the connection GUID with byte 15 replaced by the source nickname; obid 0;
 * datetime from `receivedAtMs`; timestamp floor(timestampUs) mod 2^32.
 * `data` is copied.
 */
export function canFrameToEvent(
  rawId: number,
  data: Uint8Array,
  timestampUs: number,
  receivedAtMs: number,
  connectionGuid: Guid,
): VscpEvent | null {
  if (!isVscpFrame(rawId, data.length)) return null;
  const guid = copyGuid(connectionGuid);
  guid[GUID_SIZE - 1] = nicknameFromCanId(rawId);
  return {
    head: headFromCanId(rawId),
    vscpClass: classFromCanId(rawId),
    vscpType: typeFromCanId(rawId),
    obid: 0,
    datetime: formatDateTime(receivedAtMs),
    timestamp: timestampFromMicros(timestampUs),
    guid,
    data: new Uint8Array(data),
  };
}
