// VSCP GUIDs as uvscpd reads and writes them (protocol §3.3). Pure; never throws.

/** A VSCP GUID: always 16 bytes, byte 0 first as written on the wire. */
export type Guid = Uint8Array;

export const GUID_SIZE = 16;

/** Upper-case hex, no zero padding: the original's "%X" (protocol §3.3). */
const HEX_UNPADDED: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase());

/** Byte -> "%X", for other modules of lib/vscp on hot paths. */
export function hexByte(b: number): string {
  return HEX_UNPADDED[b & 0xff] as string;
}

/** The all-zero GUID (the original's default when no -g is given). */
export function zeroGuid(): Guid {
  return new Uint8Array(GUID_SIZE);
}

/** A fresh 16-byte copy (shorter input is zero-filled, longer is cut). */
export function copyGuid(g: Guid): Guid {
  const out = new Uint8Array(GUID_SIZE);
  out.set(g.length > GUID_SIZE ? g.subarray(0, GUID_SIZE) : g);
  return out;
}

export function guidEquals(a: Guid, b: Guid): boolean {
  for (let i = 0; i < GUID_SIZE; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return false;
  return true;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Parse GUID text (protocol §3.3; SGID, SFLT/SMSK field 3, -g): exactly 16
 * groups separated by ':'; one trailing ':' after the 16th group is
 * tolerated. A group is 1 or 2 hex digits, either case, or '+' and one hex
 * digit: the original reads each group with sscanf("%2x"), where a sign
 * counts as one of the two characters, so '+f' is 0x0F (docs/protocol.md
 * §3.3). A '-' sign is not accepted: the original would store a negated
 * value, not a byte anyone means. Anything else (the '-' shorthand, '::',
 * '{...}' and UUID forms, 3-digit or empty groups) gives null.
 */
export function parseGuid(text: string): Guid | null {
  if (typeof text !== 'string') return null;
  const n = text.length;
  // Longest valid form: 16 * 2 digits + 15 separators + 1 trailing ':' = 48.
  if (n === 0 || n > 48) return null;
  const g = new Uint8Array(GUID_SIZE);
  let i = 0;
  for (let k = 0; k < GUID_SIZE; k++) {
    if (i < n && text.charCodeAt(i) === 0x2b /* + */) {
      // '+' takes one of the group's two characters: exactly one digit follows.
      const d = i + 1 < n ? hexValue(text.charCodeAt(i + 1)) : -1;
      if (d < 0) return null;
      g[k] = d;
      i += 2;
      if (k < GUID_SIZE - 1) {
        if (i >= n || text.charCodeAt(i) !== 0x3a /* : */) return null;
        i++;
      }
      continue;
    }
    const d1 = i < n ? hexValue(text.charCodeAt(i)) : -1;
    if (d1 < 0) return null; // empty group or a non-hex character
    i++;
    let v = d1;
    if (i < n) {
      const d2 = hexValue(text.charCodeAt(i));
      if (d2 >= 0) {
        v = v * 16 + d2;
        i++;
      }
    }
    g[k] = v;
    if (k < GUID_SIZE - 1) {
      if (i >= n || text.charCodeAt(i) !== 0x3a /* : */) return null;
      i++;
    }
  }
  // After the 16th group: end of text, or exactly one ':'.
  if (i === n) return g;
  if (i === n - 1 && text.charCodeAt(i) === 0x3a) return g;
  return null;
}

/** GUID text as the original writes it (protocol §3.3): "%X" per byte, ':'-joined. */
export function formatGuid(g: Guid): string {
  let s = HEX_UNPADDED[(g[0] ?? 0) & 0xff] as string;
  for (let i = 1; i < GUID_SIZE; i++) s += ':' + (HEX_UNPADDED[(g[i] ?? 0) & 0xff] as string);
  return s;
}

/**
 * Bytes 0..14 formatted as in formatGuid, each followed by ':'. The event
 * line GUID is this prefix plus the nickname in hex (protocol §3.4), so a
 * session computes it once per SGID rather than once per frame.
 */
export function formatGuidPrefix(g: Guid): string {
  let s = '';
  for (let i = 0; i < GUID_SIZE - 1; i++) s += (HEX_UNPADDED[(g[i] ?? 0) & 0xff] as string) + ':';
  return s;
}
