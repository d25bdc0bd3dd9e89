// Number syntax of the VSCP link protocol as the original uvscpd reads it
// (protocol §3.2, and §2.2 for the RETR count). Pure functions; never throw.
//
// The original reads a token starting "0x" as hex and anything else as
// decimal, with glibc scanf semantics, and requires the whole token to be
// consumed (protocol §3.2). What we reproduce:
//   - hex: "0x"/"0X" then zero or more hex digits (either case); "0x" alone
//     is 0 (glibc consumes the bare prefix). No sign can follow the prefix,
//     and a token starting with a sign is not hex ("+0x1" is decimal "+0"
//     followed by junk, so it is rejected).
//   - decimal: an optional "+" or "-", then one or more digits; leading
//     zeros stay decimal ("010" = 10).
//   - the result is reduced modulo 2^32 ("4294967296" = 0, "-1" = 4294967295)
//     and range checks are the caller's business.
//
// Deliberate divergences from glibc:
//   - glibc's strtoul saturates at ULONG_MAX for magnitudes >= 2^64 (such a
//     token would read as 4294967295); we keep wrapping modulo 2^32 at any
//     length: one rule, identical for every value a real client sends. (On
//     32-bit glibc, unsigned long is 32 bits and the original would saturate
//     already at 2^32; docs/protocol.md's "wraps" is the x86-64 behaviour.)
//   - scanf skips leading white space; tokens never contain any (the line
//     framer removes bytes below 0x20 and splits on spaces), so we reject it.

const TWO_32 = 4294967296;

/** Value of an ASCII hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  const l = c | 0x20; // fold A-F onto a-f
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Decimal digits of `token` from `start` to the end, reduced mod 2^32.
 * Returns null unless there is at least one digit and nothing else.
 */
function decimalMod32(token: string, start: number): number | null {
  const n = token.length;
  if (start >= n) return null;
  let v = 0;
  for (let i = start; i < n; i++) {
    const d = token.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    // v < 2^32, so v*10+d < 2^36: exact in a double.
    v = (v * 10 + d) % TWO_32;
  }
  return v;
}

/** Optional sign then decimal digits, %u semantics, result in 0..2^32-1. */
function signedDecimalMod32(token: string): number | null {
  if (typeof token !== 'string' || token.length === 0) return null;
  const c = token.charCodeAt(0);
  if (c === 0x2b /* + */) return decimalMod32(token, 1);
  if (c === 0x2d /* - */) {
    const v = decimalMod32(token, 1);
    if (v === null) return null;
    return v === 0 ? 0 : TWO_32 - v; // negation modulo 2^32, as strtoul does
  }
  return decimalMod32(token, 0);
}

/**
 * Parse a number token (protocol §3.2): SEND fields 0-2 and 7+, SFLT/SMSK
 * fields 0-2. Returns an unsigned 32-bit integer, or null when the token
 * is not a number in the original's syntax.
 */
export function parseNumber(token: string): number | null {
  if (typeof token !== 'string') return null;
  const n = token.length;
  if (n >= 2 && token.charCodeAt(0) === 0x30 && (token.charCodeAt(1) | 0x20) === 0x78 /* x */) {
    // Arguments keep their case in our server (design.md D10), so "0X" counts too.
    let v = 0;
    for (let i = 2; i < n; i++) {
      const d = hexDigit(token.charCodeAt(i));
      if (d < 0) return null;
      v = (v * 16 + d) % TWO_32;
    }
    return v; // "0x" alone is 0 (protocol §3.2)
  }
  return signedDecimalMod32(token);
}

/**
 * Parse the RETR count (protocol §2.2): "%u" then nothing trailing. Decimal
 * only, optional sign, wraps modulo 2^32 ("-1" = 4294967295). "0x5" is
 * rejected because %u reads "0" and "x5" is left over.
 */
export function parseRetrCount(token: string): number | null {
  return signedDecimalMod32(token);
}

/**
 * Strict unsigned number for reading event lines (not the original's
 * syntax): decimal digits, or "0x"/"0X" with at least one hex digit; no
 * sign, no wrapping. Returns null when the value exceeds `max`.
 */
export function parseStrictUnsigned(token: string, max: number): number | null {
  if (typeof token !== 'string') return null;
  const n = token.length;
  if (n === 0) return null;
  let v = 0;
  if (n >= 2 && token.charCodeAt(0) === 0x30 && (token.charCodeAt(1) | 0x20) === 0x78) {
    if (n === 2) return null;
    for (let i = 2; i < n; i++) {
      const d = hexDigit(token.charCodeAt(i));
      if (d < 0) return null;
      v = v * 16 + d;
      if (v > max) return null;
    }
    return v;
  }
  for (let i = 0; i < n; i++) {
    const d = token.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
    if (v > max) return null;
  }
  return v;
}
