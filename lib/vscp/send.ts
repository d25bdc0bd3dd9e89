// The SEND argument -> one CAN frame, exactly as uvscpd parses it
// (protocol §3.1 syntax, §3.2 numbers, §3.5 mapping). Pure; never throws.

import type { Guid } from './guid.js';
import { GUID_SIZE } from './guid.js';
import { vscpToCanId, VSCP_LEVEL1_MAX_DATA } from './mapping.js';
import { parseNumber } from './numbers.js';

export type SendParseResult = { ok: true; id: number; data: Uint8Array } | { ok: false };

const FAIL: SendParseResult = Object.freeze({ ok: false });

/** Index of the first data field: head,class,type,obid,datetime,timestamp,GUID. */
const FIRST_DATA_FIELD = 7;
const LEVEL1_CLASSES = 512;
const MAX_CLASS = 1023;
/**
 * Head bits 8..15 that may be set: the frame version "nanosecond timestamp"
 * (0x0100), which today's vscphelper writes on every event it formats
 * (docs/design.md "Frame version"). It says how fields 4 and 5 are written
 * (empty datetime, 64-bit nanosecond timestamp), which are not parsed here,
 * and has no place in a CAN id.
 */
export const HEAD_FRAME_VERSION_NS = 0x0100;

/**
 * Parse `head,class,type,obid,datetime,timestamp,GUID[,d1,...]` (protocol §3.1)
 * into a 29-bit CAN id (nickname always 0, protocol §3.5) and the payload.
 *
 * - Split on ',' only; empty fields count; ONE trailing ',' is ignored.
 * - At least 7 fields. Fields 3..6 (obid, datetime, timestamp, GUID) are
 *   not parsed at all: any content is accepted, the GUID field included.
 * - head 0..255, class 0..1023, type 0..255, data values 0..255, all in
 *   the §3.2 number syntax (values wrap mod 2^32 before the range check).
 *   The head may also carry HEAD_FRAME_VERSION_NS; any other bit above 7 is
 *   an error. The frame goes out as with those bits clear.
 * - Class 0..511: at most 8 data values.
 * - Class 512..1023 (Level I over Level II): the class sent is class-512;
 *   data values 1..16 must equal bytes 0..15 of the *connection* GUID
 *   (fewer than 16 is allowed and the frame is then empty), values 17..24
 *   are the payload, a 25th is an error.
 */
export function parseSendEvent(text: string, connectionGuid: Guid): SendParseResult {
  if (typeof text !== 'string') return FAIL;
  // Linear in the text length whatever it holds: at most 31 fields can be
  // valid and the loop stops at the first bad one.

  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 0x2c /* , */) end--; // one trailing comma ignored

  // Walk the fields without allocating an array of them.
  let fieldIndex = 0;
  let start = 0;
  let head = 0;
  let vscpClass = 0;
  let vscpType = 0;
  let proxy = false;
  let dataCount = 0; // data values seen (GUID values included for proxy classes)
  const payload = new Uint8Array(VSCP_LEVEL1_MAX_DATA);
  let payloadLength = 0;

  for (;;) {
    let stop = text.indexOf(',', start);
    if (stop < 0 || stop > end) stop = end;

    if (fieldIndex <= 2 || fieldIndex >= FIRST_DATA_FIELD) {
      const v = parseNumber(text.slice(start, stop));
      if (v === null) return FAIL;
      if (fieldIndex === 0) {
        if ((v & ~(0xff | HEAD_FRAME_VERSION_NS)) !== 0) return FAIL;
        head = v & 0xff;
      } else if (fieldIndex === 1) {
        if (v > MAX_CLASS) return FAIL; // true Level II is not supported
        proxy = v >= LEVEL1_CLASSES;
        vscpClass = proxy ? v - LEVEL1_CLASSES : v;
      } else if (fieldIndex === 2) {
        if (v > 255) return FAIL;
        vscpType = v;
      } else {
        if (v > 255) return FAIL;
        if (proxy && dataCount < GUID_SIZE) {
          // Compared as numbers with the connection GUID (protocol §3.1).
          if (v !== (connectionGuid[dataCount] ?? 0)) return FAIL;
        } else {
          if (payloadLength >= VSCP_LEVEL1_MAX_DATA) return FAIL;
          payload[payloadLength++] = v;
        }
        dataCount++;
      }
    }
    // fields 3..6: not parsed (protocol §3.1)

    fieldIndex++;
    if (stop >= end) break;
    start = stop + 1;
  }

  if (fieldIndex < FIRST_DATA_FIELD) return FAIL; // fewer than 7 fields
  return {
    ok: true,
    id: vscpToCanId(head, vscpClass, vscpType, 0),
    data: payload.slice(0, payloadLength),
  };
}
