// lib/server: the VSCP TCP/IP link server (design.md "The TypeScript layer").

export type { Logger } from './logger.js';
export { silentLogger } from './logger.js';
export type { VscpServerOptions, SessionInfo } from './server.js';
export {
  VscpServer,
  createServer,
  DEFAULT_PORT,
  DEFAULT_HOST,
  DEFAULT_CAN_INTERFACE,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_FIFO_SIZE,
} from './server.js';
export { KEEPALIVE_INTERVAL_MS, SLOW_READER_HIGH_WATER } from './session.js';
export type { BusErrorReport, CommandReply, ServerFacts, SessionHooks, SessionCounters } from './commands.js';
export { SessionState, executeLine, COMMAND_WORDS, MAX_ARGS } from './commands.js';
export { Credentials } from './credentials.js';
export type { FramedLine } from './lines.js';
export { LineSplitter, tokenize, MAX_LINE_CHARS } from './lines.js';
export { BoundedFifo } from './fifo.js';
