// The public library API: require('uvscpd') / import ... from 'uvscpd'.
//
// - The VSCP TCP/IP link server (createServer), over SocketCAN or the in-memory bus,
//   with the MQTT bridge beside it when `mqtt` is given.
// - The SocketCAN binding on its own (SocketCanBus / SocketCanSocket). The
//   native addon is loaded on first use, so the rest works without it.
// - The in-memory bus (VirtualCanBus) with the kernel's CAN_RAW semantics.
// - A pure decoder of SocketCAN error frames and a derived bus state.
// - The pure VSCP codec: GUIDs, numbers, CAN-id mapping, event text.
// - The MQTT bridge (MqttBridge) on any CanBus. MQTT.js is loaded when a
//   bridge starts, so the rest never loads it.

export { createServer, VscpGateway } from './gateway.js';
export type { ServerOptions, ServerMqttOptions } from './gateway.js';
export {
  VscpServer,
  DEFAULT_PORT,
  DEFAULT_HOST,
  DEFAULT_CAN_INTERFACE,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_FIFO_SIZE,
} from './server/server.js';
export type { VscpServerOptions, SessionInfo } from './server/server.js';
export type { Logger } from './server/logger.js';
export { silentLogger } from './server/logger.js';

export { SocketCanBus, SocketCanSocket, socketCanBus, addonInfo } from './can/socketcan.js';
export type { AddonInfo } from './can/socketcan.js';
export { VirtualCanBus, VirtualCanSocket } from './can/virtual-bus.js';
export type { VirtualCanBusOptions } from './can/virtual-bus.js';
export { FrameBatch, RECORD_SIZE, decodeRecord, encodeRecord } from './can/record.js';
export * from './can/types.js';
export * from './can/error-frame.js';
export { BusStateTracker, CAN_BUS_STATES, busStateFromCounters, reportedBusState } from './can/bus-state.js';
export type { CanBusState, CanBusErrorStats, BusStateChange } from './can/bus-state.js';

export * from './vscp/index.js';

export * from './mqtt/index.js';

export { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
