// The TCP server with the MQTT bridge beside it: what `createServer({ mqtt })`
// returns and what the daemon runs with --mqtt. server/ and mqtt/ do not
// know each other (docs/design.md "Dependency direction"); this module
// composes them: one bus, one interface, one GUID and one logger for both,
// the bridge's state in INFO, started and stopped with the listener.

import type { AddressInfo } from 'node:net';
import { MqttBridge } from './mqtt/bridge.js';
import type { MqttBridgeOptions } from './mqtt/options.js';
import { DEFAULT_CAN_INTERFACE, VscpServer } from './server/server.js';
import type { VscpServerOptions } from './server/server.js';

/**
 * The bridge options of a server: bus, interface, GUID, logger and receive
 * buffer size come from the server's. The coalescing window does not: the
 * sessions' window is for TCP clients, who get each frame at once on a quiet
 * bus; the bridge has its own (receiveCoalesceUs, receiveCoalesceAlways).
 */
export type ServerMqttOptions = Omit<MqttBridgeOptions, 'bus' | 'canInterface'>;

export interface ServerOptions extends VscpServerOptions {
  /** Publish the bus to an MQTT broker and send events from it to the bus (docs/mqtt.md). Off when absent. */
  mqtt?: ServerMqttOptions;
}

type InfoLines = () => readonly string[];

/**
 * Server options with the bridge's lines added to INFO through the
 * server's `infoLines` hook. Built with Object.assign so that it compiles
 * whether or not this tree's VscpServerOptions declares the hook yet.
 */
function withInfoLines(options: VscpServerOptions, lines: InfoLines): VscpServerOptions {
  const own = (options as { infoLines?: InfoLines }).infoLines;
  return Object.assign({}, options, { infoLines: (): readonly string[] => [...(own?.() ?? []), ...lines()] });
}

/** A VscpServer whose listen() also starts an MQTT bridge on the same bus, and whose close() stops it. */
export class VscpGateway extends VscpServer {
  /** The bridge: stats(), statusLines(), events. */
  readonly mqtt: MqttBridge;

  constructor(options: ServerOptions & { mqtt: ServerMqttOptions }) {
    const bridge = new MqttBridge({
      bus: options.bus,
      canInterface: options.canInterface ?? DEFAULT_CAN_INTERFACE,
      ...(options.guid === undefined ? {} : { guid: options.guid }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.receiveBufferSize === undefined ? {} : { receiveBufferSize: options.receiveBufferSize }),
      ...options.mqtt,
    });
    super(withInfoLines(options, () => bridge.statusLines()));
    this.mqtt = bridge;
  }

  /** Listen, then start the bridge (which does not wait for the broker: TCP clients are served meanwhile). */
  override async listen(): Promise<AddressInfo> {
    const address = await super.listen();
    await this.mqtt.start();
    return address;
  }

  /** Close the listener and every session, and stop the bridge (offline status published), together. */
  override close(): Promise<void> {
    return Promise.all([super.close(), this.mqtt.stop()]).then(() => undefined);
  }
}

/** The TCP server, with an MQTT bridge when `options.mqtt` is given. */
export function createServer(options: ServerOptions): VscpServer {
  if (options.mqtt === undefined) return new VscpServer(options);
  return new VscpGateway(options as ServerOptions & { mqtt: ServerMqttOptions });
}
