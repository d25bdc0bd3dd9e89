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

import type * as Gateway from './gateway.js';
import type * as Mqtt from './mqtt/index.js';
import { VscpServer } from './server/server.js';

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
export {
  FrameBatch,
  RECORD_SIZE,
  RECORD_FLAG_FD,
  RECORD_FLAG_BRS,
  RECORD_FLAG_ESI,
  RECORD_FLAG_LOCAL,
  RECORD_FLAG_OWN,
  RECORD_FLAG_HW_TIMESTAMP,
  decodeRecord,
  encodeRecord,
} from './can/record.js';
export { CANFD_MAX_DLEN, CAN_MTU, CANFD_MTU, CANFD_LENGTHS, isFdLength } from './can/fd.js';
export * from './can/types.js';
export * from './can/error-frame.js';
export { BusStateTracker, CAN_BUS_STATES, busStateFromCounters, reportedBusState } from './can/bus-state.js';
export type { CanBusState, CanBusErrorStats, BusStateChange } from './can/bus-state.js';

export * from './vscp/index.js';

// The MQTT bridge, and the server composed with it, are loaded on first use:
// a program that never touches them loads nothing of lib/mqtt, and MQTT.js
// itself loads only when a bridge starts (docs/mqtt.md "Start-up").
function mqtt(): typeof Mqtt {
  return require('./mqtt/index.js') as typeof Mqtt;
}
function gateway(): typeof Gateway {
  return require('./gateway.js') as typeof Gateway;
}

/** The TCP server, with an MQTT bridge beside it (a VscpGateway) when `options.mqtt` is given. */
export function createServer(options: Gateway.ServerOptions): VscpServer {
  return options.mqtt === undefined ? new VscpServer(options) : gateway().createServer(options);
}

export type {
  MqttBridgeState,
  MqttBridgeStats,
  MqttRefusal,
  MqttBridgeOptions,
  MqttLogger,
  MqttQos,
  MqttCliSettings,
  CliResult,
  CliValue,
  PayloadFormat,
  ParsedPayload,
  FrameFormatter,
} from './mqtt/index.js';
export type VscpGateway = Gateway.VscpGateway;
export declare const VscpGateway: typeof Gateway.VscpGateway;
export type MqttBridge = Mqtt.MqttBridge;
export declare const MqttBridge: typeof Mqtt.MqttBridge;
export type PublishTopic = Mqtt.PublishTopic;
export declare const PublishTopic: typeof Mqtt.PublishTopic;
export declare const createMqttBridge: typeof Mqtt.createMqttBridge;
export declare const DEFAULT_MQTT_QOS: typeof Mqtt.DEFAULT_MQTT_QOS;
export declare const DEFAULT_MQTT_FORMAT: typeof Mqtt.DEFAULT_MQTT_FORMAT;
export declare const DEFAULT_MQTT_QUEUE_SIZE: typeof Mqtt.DEFAULT_MQTT_QUEUE_SIZE;
export declare const DEFAULT_MQTT_GATEWAY_TOPIC: typeof Mqtt.DEFAULT_MQTT_GATEWAY_TOPIC;
export declare const DEFAULT_MQTT_TOPIC: typeof Mqtt.DEFAULT_MQTT_TOPIC;
export declare const DEFAULT_MQTT_SUBSCRIBE: typeof Mqtt.DEFAULT_MQTT_SUBSCRIBE;
export declare const MQTT_OPTION_NAMES: typeof Mqtt.MQTT_OPTION_NAMES;
export declare const mqttSettingsFromCli: typeof Mqtt.mqttSettingsFromCli;
export declare const displayMqttUrl: typeof Mqtt.displayMqttUrl;
export declare const PAYLOAD_FORMATS: typeof Mqtt.PAYLOAD_FORMATS;
export declare const frameFormatter: typeof Mqtt.frameFormatter;
export declare const parsePayload: typeof Mqtt.parsePayload;
export declare const detectFormat: typeof Mqtt.detectFormat;
export declare const expandSubscription: typeof Mqtt.expandSubscription;
export declare const filterMayMatchTemplate: typeof Mqtt.filterMayMatchTemplate;
export declare const formatGuidPadded: typeof Mqtt.formatGuidPadded;

/** Every value of lib/mqtt/index.ts: defined below as getters that load it on first use. */
const MQTT_VALUES = [
  'MqttBridge',
  'PublishTopic',
  'createMqttBridge',
  'DEFAULT_MQTT_QOS',
  'DEFAULT_MQTT_FORMAT',
  'DEFAULT_MQTT_QUEUE_SIZE',
  'DEFAULT_MQTT_GATEWAY_TOPIC',
  'DEFAULT_MQTT_TOPIC',
  'DEFAULT_MQTT_SUBSCRIBE',
  'MQTT_OPTION_NAMES',
  'mqttSettingsFromCli',
  'displayMqttUrl',
  'PAYLOAD_FORMATS',
  'frameFormatter',
  'parsePayload',
  'detectFormat',
  'expandSubscription',
  'filterMayMatchTemplate',
  'formatGuidPadded',
] as const satisfies readonly (keyof typeof Mqtt)[];
for (const name of MQTT_VALUES) Object.defineProperty(exports, name, { enumerable: true, get: () => mqtt()[name] });
Object.defineProperty(exports, 'VscpGateway', { enumerable: true, get: () => gateway().VscpGateway });

export { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
