// lib/vscp: the VSCP side of uvscpd as pure functions (design.md "The
// TypeScript layer"). Imports nothing else of this project.

export type { Guid } from './guid.js';
export { GUID_SIZE, zeroGuid, copyGuid, guidEquals, parseGuid, formatGuid, formatGuidPrefix } from './guid.js';
export { parseNumber, parseRetrCount, parseStrictUnsigned } from './numbers.js';
export {
  VSCP_CAN_ID_MASK,
  VSCP_LEVEL1_MAX_DATA,
  vscpToCanId,
  headFromCanId,
  classFromCanId,
  typeFromCanId,
  nicknameFromCanId,
  isVscpFrame,
} from './mapping.js';
export type { SendParseResult } from './send.js';
export { parseSendEvent } from './send.js';
export { parseFilterArgument } from './filter.js';
export { formatEventLine, formatDateTime, timestampFromMicros } from './event-line.js';
export type { VscpEvent } from './event.js';
export { VSCP_MAX_DATA, parseEventLine, formatEvent, canFrameToEvent } from './event.js';
