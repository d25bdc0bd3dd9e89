// VSCP events as MQTT payloads (docs/mqtt.md "Payloads"): the three text
// forms of the VSCP over MQTT specification, written from received CAN
// frames, and read back, auto-detected, into a frame for the bus under the
// rules SEND applies (docs/protocol.md §3.1). Pure; never throws on input.
//
// Every format carries the same field texts: head, class, type and data
// decimal (XML data as 0x-hex, the specification's example), obid 0,
// datetime 'YYYY-MM-DDTHH:MM:SSZ' (UTC, the kernel receive time), timestamp
// the kernel receive time in microseconds mod 2^32 (the event line's,
// docs/protocol.md §3.4), GUID the interface GUID with the sender's
// nickname in byte 15, two hex digits per byte.

import type { Guid } from '../vscp/index.js';
import {
  GUID_SIZE,
  classFromCanId,
  formatDateTime,
  headFromCanId,
  nicknameFromCanId,
  parseGuid,
  parseSendEvent,
  parseStrictUnsigned,
  timestampFromMicros,
  typeFromCanId,
} from '../vscp/index.js';
import { formatGuidPrefixPadded, hex2 } from './topic.js';

export type PayloadFormat = 'json' | 'string' | 'xml';
export const PAYLOAD_FORMATS: readonly PayloadFormat[] = ['json', 'string', 'xml'];

/** Writes one received frame as a payload; `data[offset..offset+length)` is the CAN payload. */
export type FrameFormatter = (rawId: number, data: Uint8Array, offset: number, length: number, timestampUs: number) => string;

const DEC: readonly string[] = Array.from({ length: 512 }, (_, i) => String(i));

/** A formatter for `format`, with the interface GUID fixed (byte 15 comes from each frame). */
export function frameFormatter(format: PayloadFormat, ifguid: Guid): FrameFormatter {
  const prefix = formatGuidPrefixPadded(ifguid);
  switch (format) {
    case 'json':
      return (rawId, data, offset, length, timestampUs) => {
        let s =
          '{"head":' + (DEC[headFromCanId(rawId)] as string) +
          ',"obid":0,"datetime":"' + formatDateTime(timestampUs / 1000) +
          'Z","timestamp":' + timestampFromMicros(timestampUs) +
          ',"class":' + (DEC[classFromCanId(rawId)] as string) +
          ',"type":' + (DEC[typeFromCanId(rawId)] as string) +
          ',"guid":"' + prefix + hex2(nicknameFromCanId(rawId)) + '","data":[';
        for (let i = 0; i < length; i++) s += (i === 0 ? '' : ',') + (DEC[data[offset + i] as number] as string);
        return s + '],"note":""}';
      };
    case 'string':
      return (rawId, data, offset, length, timestampUs) => {
        let s =
          (DEC[headFromCanId(rawId)] as string) + ',' + (DEC[classFromCanId(rawId)] as string) + ',' +
          (DEC[typeFromCanId(rawId)] as string) + ',0,' + formatDateTime(timestampUs / 1000) + 'Z,' +
          timestampFromMicros(timestampUs) + ',' + prefix + hex2(nicknameFromCanId(rawId));
        for (let i = 0; i < length; i++) s += ',' + (DEC[data[offset + i] as number] as string);
        return s;
      };
    case 'xml':
      return (rawId, data, offset, length, timestampUs) => {
        let d = '';
        for (let i = 0; i < length; i++) d += (i === 0 ? '0x' : ',0x') + hex2(data[offset + i] as number);
        return (
          '<event head="' + (DEC[headFromCanId(rawId)] as string) + '" obid="0" datetime="' +
          formatDateTime(timestampUs / 1000) + 'Z" timestamp="' + timestampFromMicros(timestampUs) +
          '" class="' + (DEC[classFromCanId(rawId)] as string) + '" type="' + (DEC[typeFromCanId(rawId)] as string) +
          '" guid="' + prefix + hex2(nicknameFromCanId(rawId)) + '" sizedata="' + length + '" data="' + d + '" />'
        );
      };
  }
}

// ---- reading ---------------------------------------------------------------

/** Longer payloads are refused unread: a Level I event in any form is well under 4 KiB. */
export const MAX_PAYLOAD_BYTES = 16384;
/** A Level I event over Level II carries 16 GUID bytes and 8 data bytes. */
const MAX_DATA_VALUES = 24;
const LEVEL2_CLASS = 1024;
/** Head bits a payload may carry: the byte SEND takes, and 0x0100 (frame version: nanosecond timestamps), dropped on CAN. */
const HEAD_ALLOWED = 0x01ff;

export type DetectedFormat = PayloadFormat | 'binary';

/** A frame for the bus, or why the payload was refused. */
export type ParsedPayload =
  | { ok: true; format: PayloadFormat; id: number; data: Uint8Array }
  | { ok: false; format: DetectedFormat | 'unknown'; reason: string };

/** The format of a payload by its first non-blank character, as the specification says. */
export function detectFormat(text: string): DetectedFormat | null {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    if (c === 0x7b /* { */) return 'json';
    if (c === 0x3c /* < */) return 'xml';
    if (c === 0x00) return 'binary';
    return 'string';
  }
  return null;
}

/** The event fields that decide the CAN frame; the rest of an event is read for its syntax only. */
interface EventFields {
  head: number;
  vscpClass: number;
  vscpType: number;
  data: readonly number[];
}

type FieldsResult = { ok: true; fields: EventFields } | { ok: false; reason: string };

/**
 * Parse a payload in any VSCP text form into a CAN frame under the SEND
 * rules: class 0..511 with at most 8 data bytes; class 512..1023 whose
 * first 16 data bytes are `guid` (this gateway's); class 1024 and up
 * refused. Nickname 0, as SEND sends.
 */
export function parsePayload(payload: Uint8Array | string, guid: Guid): ParsedPayload {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length;
  if (size > MAX_PAYLOAD_BYTES) return { ok: false, format: 'unknown', reason: `payload of ${size} bytes is longer than ${MAX_PAYLOAD_BYTES}` };
  if (typeof payload !== 'string' && payload.length > 0 && payload[0] === 0) {
    return { ok: false, format: 'binary', reason: 'binary (encrypted UDP frame) payloads are not supported' };
  }
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
  const format = detectFormat(text);
  if (format === null) return { ok: false, format: 'unknown', reason: 'empty payload' };
  if (format === 'binary') return { ok: false, format, reason: 'binary (encrypted UDP frame) payloads are not supported' };
  if (format === 'string') {
    // The string form is SEND's own argument (docs/protocol.md §3.1).
    const parsed = parseSendEvent(text.trim(), guid);
    return parsed.ok ? { ok: true, format, id: parsed.id, data: parsed.data } : { ok: false, format, reason: stringReason(text.trim(), guid) };
  }
  const fields = format === 'json' ? readJson(text) : readXml(text);
  if (!fields.ok) return { ok: false, format, reason: fields.reason };
  return toFrame(format, fields.fields, guid);
}

function toFrame(format: PayloadFormat, f: EventFields, guid: Guid): ParsedPayload {
  const refuse = (reason: string): ParsedPayload => ({ ok: false, format, reason });
  if ((f.head & ~HEAD_ALLOWED) !== 0) return refuse(`head ${f.head} has bits above 0x1FF`);
  if (f.vscpClass >= LEVEL2_CLASS) return refuse(`class ${f.vscpClass} is Level II: only classes 0..1023 go on CAN`);
  if (f.vscpType > 255) return refuse(`type ${f.vscpType} is larger than 255`);
  const proxy = f.vscpClass >= 512;
  const payloadBytes = proxy ? Math.max(0, f.data.length - GUID_SIZE) : f.data.length;
  if (payloadBytes > 8) return refuse(`${payloadBytes} data bytes: a CAN frame holds at most 8`);
  if (proxy) {
    for (let i = 0; i < Math.min(GUID_SIZE, f.data.length); i++) {
      if (f.data[i] !== (guid[i] ?? 0)) return refuse(`class ${f.vscpClass}: data bytes 0..15 must be this gateway's GUID`);
    }
  }
  // SEND decides, so that a payload and a SEND line of the same event give the same frame.
  let line = String(f.head & 0xff) + ',' + String(f.vscpClass) + ',' + String(f.vscpType) + ',0,,0,-';
  for (const d of f.data) line += ',' + String(d);
  const parsed = parseSendEvent(line, guid);
  if (!parsed.ok) return refuse('refused by the SEND rules');
  return { ok: true, format, id: parsed.id, data: parsed.data };
}

/** A reason for a string-form payload that SEND refused. */
function stringReason(text: string, guid: Guid): string {
  const fields = text.split(',');
  if (fields.length < 7) return `string form has ${fields.length} fields, at least 7 are needed (head,class,type,obid,datetime,timestamp,GUID)`;
  const vscpClass = parseStrictUnsigned(fields[1] as string, 0xffff);
  if (vscpClass !== null && vscpClass >= LEVEL2_CLASS) return `class ${vscpClass} is Level II: only classes 0..1023 go on CAN`;
  const data = fields.slice(7).filter((d, i, all) => i < all.length - 1 || d !== '');
  if (vscpClass !== null && vscpClass >= 512 && data.length >= 1) {
    for (let i = 0; i < Math.min(GUID_SIZE, data.length); i++) {
      if (parseStrictUnsigned(data[i] as string, 255) !== (guid[i] ?? 0)) return `class ${vscpClass}: data bytes 0..15 must be this gateway's GUID`;
    }
  }
  const payloadBytes = vscpClass !== null && vscpClass >= 512 ? data.length - GUID_SIZE : data.length;
  if (payloadBytes > 8) return `${payloadBytes} data bytes: a CAN frame holds at most 8`;
  return 'string form: head, class, type or a data value is not a number in range';
}

// ---- JSON ------------------------------------------------------------------

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** The current key, else vscpd 15's `vscp`-prefixed one (the specification's older naming). */
function field(obj: Record<string, unknown>, current: string, older: string): unknown {
  const v = own(obj, current);
  return v !== undefined ? v : own(obj, older);
}

function isUint(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

function readJson(text: string): FieldsResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'JSON payload is not an object' };
  const obj = value as Record<string, unknown>;
  const head = field(obj, 'head', 'vscpHead') ?? 0;
  const vscpClass = field(obj, 'class', 'vscpClass');
  const vscpType = field(obj, 'type', 'vscpType');
  const data = field(obj, 'data', 'vscpData') ?? [];
  if (vscpClass === undefined || vscpType === undefined) return { ok: false, reason: 'JSON payload has no "class" or no "type"' };
  if (!isUint(head, 0xffff)) return { ok: false, reason: '"head" must be an integer 0..65535' };
  if (!isUint(vscpClass, 0xffff)) return { ok: false, reason: '"class" must be an integer 0..65535' };
  if (!isUint(vscpType, 0xffff)) return { ok: false, reason: '"type" must be an integer 0..65535' };
  if (!Array.isArray(data)) return { ok: false, reason: '"data" must be an array of bytes' };
  if (data.length > MAX_DATA_VALUES) return { ok: false, reason: `${data.length} data values: at most ${MAX_DATA_VALUES} (8, or 16 GUID bytes and 8)` };
  for (const d of data) if (!isUint(d, 255)) return { ok: false, reason: '"data" must hold integers 0..255' };
  // Fields that do not reach the bus are still checked for their type.
  const obid = field(obj, 'obid', 'vscpObId');
  if (obid !== undefined && !isUint(obid, 0xffffffff)) return { ok: false, reason: '"obid" must be an integer 0..4294967295' };
  const timestamp = field(obj, 'timestamp', 'vscpTimeStamp');
  // Any size: with the frame-version bit in head it holds nanoseconds since the epoch.
  if (timestamp !== undefined && !isUint(timestamp, Infinity)) return { ok: false, reason: '"timestamp" must be a non-negative integer' };
  const datetime = field(obj, 'datetime', 'vscpDateTime');
  if (datetime !== undefined && typeof datetime !== 'string') return { ok: false, reason: '"datetime" must be a string' };
  const guidError = checkGuidText(field(obj, 'guid', 'vscpGuid'));
  if (guidError !== null) return { ok: false, reason: guidError };
  return { ok: true, fields: { head, vscpClass, vscpType, data: data as number[] } };
}

/** The event GUID may be absent, empty, '-' (the interface's), or a GUID. It never reaches CAN (SEND ignores it). */
function checkGuidText(guid: unknown): string | null {
  if (guid === undefined || guid === '' || guid === '-') return null;
  if (typeof guid !== 'string' || parseGuid(guid) === null) return '"guid" must be a GUID (16 hex bytes separated by ":")';
  return null;
}

// ---- XML -------------------------------------------------------------------

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string | null {
  let bad = false;
  const out = text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);?/g, (_m, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(Math.min(parseInt(name.slice(2), 16), 0x10ffff));
    if (name.startsWith('#')) return String.fromCodePoint(Math.min(parseInt(name.slice(1), 10), 0x10ffff));
    const e = XML_ENTITIES[name];
    if (e === undefined) bad = true;
    return e ?? '';
  });
  return bad ? null : out;
}

/** `<event a="1" b='2' />` (or `<event ...></event>`), an optional `<?xml ...?>` before it: the attributes. */
export function readXmlAttributes(text: string): Map<string, string> | string {
  const trimmed = text.trim().replace(/^<\?xml[^>]*\?>\s*/, '');
  const open = /^<event(?=[\s/>])/.exec(trimmed);
  if (open === null) return 'XML payload is not an <event> element';
  const attributes = new Map<string, string>();
  const re = /\s*([A-Za-z_][\w.-]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/y;
  let i = open[0].length;
  for (;;) {
    re.lastIndex = i;
    const m = re.exec(trimmed);
    if (m === null) break;
    const name = m[1] as string;
    if (attributes.has(name)) return `XML attribute ${name} appears twice`;
    const value = decodeEntities(m[3] ?? m[4] ?? '');
    if (value === null) return `XML attribute ${name} has an unknown entity`;
    attributes.set(name, value);
    i = re.lastIndex;
  }
  const rest = trimmed.slice(i).trim();
  if (rest === '/>' || /^>\s*<\/event\s*>$/.test(rest)) return attributes;
  return 'XML payload is not one well-formed <event ... /> element';
}

function attribute(attrs: Map<string, string>, current: string, older: string): string | undefined {
  return attrs.get(current) ?? attrs.get(older);
}

function readXml(text: string): FieldsResult {
  const attrs = readXmlAttributes(text);
  if (typeof attrs === 'string') return { ok: false, reason: attrs };
  const number = (name: string, older: string, max: number, fallback: number | null): number | string => {
    const v = attribute(attrs, name, older);
    if (v === undefined) return fallback ?? `XML event has no ${name}`;
    const n = parseStrictUnsigned(v.trim(), max);
    return n ?? `XML ${name}="${v}" is not a number 0..${max}`;
  };
  const head = number('head', 'vscpHead', 0xffff, 0);
  const vscpClass = number('class', 'vscpClass', 0xffff, null);
  const vscpType = number('type', 'vscpType', 0xffff, null);
  for (const v of [head, vscpClass, vscpType]) if (typeof v === 'string') return { ok: false, reason: v };
  const dataText = (attribute(attrs, 'data', 'vscpData') ?? '').trim();
  const values = dataText === '' ? [] : dataText.split(',');
  if (values.length > MAX_DATA_VALUES) return { ok: false, reason: `${values.length} data values: at most ${MAX_DATA_VALUES} (8, or 16 GUID bytes and 8)` };
  const data: number[] = [];
  for (const v of values) {
    const n = parseStrictUnsigned(v.trim(), 255);
    if (n === null) return { ok: false, reason: `XML data value "${v.trim()}" is not a byte` };
    data.push(n);
  }
  const sizeData = attribute(attrs, 'sizedata', 'vscpSizeData');
  if (sizeData !== undefined && parseStrictUnsigned(sizeData.trim(), 0xffff) !== data.length) {
    return { ok: false, reason: `XML sizedata="${sizeData}" but ${data.length} data values` };
  }
  const guidError = checkGuidText(attribute(attrs, 'guid', 'vscpGuid'));
  if (guidError !== null) return { ok: false, reason: guidError.replace('"guid"', 'XML guid') };
  return { ok: true, fields: { head: head as number, vscpClass: vscpClass as number, vscpType: vscpType as number, data } };
}
