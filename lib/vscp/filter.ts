// SFLT / SMSK argument -> the 29-bit value uvscpd installs as a kernel
// filter id or mask (protocol §2.2 SFLT/SMSK). Pure; never throws.

import { parseGuid, GUID_SIZE } from './guid.js';
import { parseNumber } from './numbers.js';

/**
 * Parse `priority,class,type,GUID` (protocol §2.2): exactly 4 comma-separated,
 * non-empty fields; priority 0..7, class 0..1023 (512..1023 folded to
 * 0..511), type 0..255 in the §3.2 number syntax; GUID per §3.3, of which
 * only byte 15 (the nickname) is used.
 *
 * Returns (priority<<26) | ((class mod 512)<<16) | (type<<8) | guid[15] as
 * an unsigned number without CAN_EFF_FLAG; bit 25 (hard-coded) can never
 * be set, as in the original. Null on any format error.
 *
 * A trailing comma makes a 5th (empty) field and is an error, like the
 * 2022+ "filter index" 5th field (protocol §2.2).
 */
export function parseFilterArgument(text: string): number | null {
  if (typeof text !== 'string') return null;
  const c1 = text.indexOf(',');
  if (c1 < 0) return null;
  const c2 = text.indexOf(',', c1 + 1);
  if (c2 < 0) return null;
  const c3 = text.indexOf(',', c2 + 1);
  if (c3 < 0) return null;
  if (text.indexOf(',', c3 + 1) >= 0) return null; // more than 4 fields

  // Empty number fields are rejected by parseNumber(''), an empty GUID by parseGuid('').
  const priority = parseNumber(text.slice(0, c1));
  if (priority === null || priority > 7) return null;
  const vscpClass = parseNumber(text.slice(c1 + 1, c2));
  if (vscpClass === null || vscpClass > 1023) return null;
  const vscpType = parseNumber(text.slice(c2 + 1, c3));
  if (vscpType === null || vscpType > 255) return null;
  const guid = parseGuid(text.slice(c3 + 1));
  if (guid === null) return null;

  return ((priority << 26) | ((vscpClass % 512) << 16) | (vscpType << 8) | (guid[GUID_SIZE - 1] as number)) >>> 0;
}
