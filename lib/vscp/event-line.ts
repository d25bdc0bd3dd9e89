// The event line uvscpd writes for RETR and rcvloop (protocol §3.4):
//   head,class,type,obid,YYYY-MM-DDTHH:MM:SS,timestamp,GUID[,d0,...]\r\n
// obid is 0 in the original; here the sending session's channel id when
// another session of this daemon sent the frame (docs/design.md "Channel ids").
// HOT PATH: formatEventLine runs for every CAN frame delivered to every
// client, so it uses lookup tables and plain concatenation (no regex, no
// Date object, no per-byte arrays) and caches the datetime per second.

import { hexByte } from './guid.js';

const TWO_32 = 4294967296;

/** "%u" for 0..511 (head, class, type and data all fit). */
const DEC: readonly string[] = Array.from({ length: 512 }, (_, i) => String(i));

// Each `+` makes a new string: a field with its comma from one table halves
// what a line allocates (the line is most of the frame path's garbage).
/** "%u," for 0..511 (head, class, type). */
const DEC_COMMA: readonly string[] = DEC.map((d) => d + ',');
/** ",%u" for 0..255 (data bytes). */
const COMMA_DEC: readonly string[] = DEC.slice(0, 256).map((d) => ',' + d);

/** Two-digit zero-padded 0..99, for the datetime fields. */
const PAD2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + String(i));

/** Civil date from days since 1970-01-01 (H. Hinnant's algorithm; exact for any integer). */
function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097; // 0..146096
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

function formatYear(y: number): string {
  if (y >= 0 && y <= 9999) return String(y).padStart(4, '0');
  return y < 0 ? '-' + String(-y).padStart(4, '0') : String(y);
}

// One-entry cache: consecutive frames nearly always share the second.
let cachedSecond = NaN;
let cachedText = '';

/**
 * Milliseconds since the epoch -> 'YYYY-MM-DDTHH:MM:SS' in UTC: the
 * original's time() formatting (protocol §3.4), no 'Z' and no fraction.
 * Non-finite input is treated as 0 (never throws, unlike Date#toISOString).
 */
export function formatDateTime(ms: number): string {
  const second = Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
  if (second === cachedSecond) return cachedText;
  const days = Math.floor(second / 86400);
  const secOfDay = second - days * 86400; // 0..86399
  const { y, m, d } = civilFromDays(days);
  const hh = Math.floor(secOfDay / 3600);
  const mm = Math.floor((secOfDay % 3600) / 60);
  const ss = secOfDay % 60;
  const text =
    formatYear(y) + '-' + (PAD2[m] as string) + '-' + (PAD2[d] as string) + 'T' +
    (PAD2[hh] as string) + ':' + (PAD2[mm] as string) + ':' + (PAD2[ss] as string);
  cachedSecond = second;
  cachedText = text;
  return text;
}

/**
 * Kernel receive time in microseconds -> the event's timestamp field:
 * floor(us) mod 2^32 (protocol §3.4; wraps about every 71.6 minutes).
 * Non-finite input gives 0.
 */
export function timestampFromMicros(timestampUs: number): number {
  const t = Math.floor(timestampUs);
  if (!Number.isFinite(t)) return 0;
  const r = t % TWO_32; // exact for doubles
  return r < 0 ? r + TWO_32 : r;
}

/**
 * One event line, CRLF included (protocol §3.4), straight from a received frame.
 *
 * - `rawId`: kernel can_id; the caller has already checked isVscpFrame
 *   (flag bits are ignored here).
 * - payload: `length` bytes of `data` from `dataOffset` (so a batch buffer
 *   can be used without slicing); bytes beyond `data` are not read.
 * - `guidPrefix`: formatGuidPrefix(connection GUID); the nickname (id bits
 *   7..0) completes it as GUID byte 15.
 * - `obid`: the obid field, 0..2^32-1 (default 0).
 */
export function formatEventLine(
  rawId: number,
  data: Uint8Array,
  dataOffset: number,
  length: number,
  timestampUs: number,
  receivedAtMs: number,
  guidPrefix: string,
  obid = 0,
): string {
  let line =
    (DEC_COMMA[((rawId >>> 25) & 0xf) << 4] as string) +
    (DEC_COMMA[(rawId >>> 16) & 0x1ff] as string) +
    (DEC_COMMA[(rawId >>> 8) & 0xff] as string) + (obid === 0 ? '0,' : (obid >>> 0) + ',') +
    formatDateTime(receivedAtMs) + ',' +
    timestampFromMicros(timestampUs) + ',' +
    guidPrefix + hexByte(rawId & 0xff);
  const from = dataOffset > 0 ? dataOffset | 0 : 0;
  let end = from + length;
  if (end > data.length) end = data.length;
  for (let i = from; i < end; i++) line += COMMA_DEC[data[i] as number] as string;
  return line + '\r\n';
}
