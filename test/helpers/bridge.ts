// Bridges for the MQTT tests: on the in-memory bus, a logger that keeps
// every line, and waiting for conditions.

import { once } from 'node:events';
import type { CanSocket } from '../../lib/can/types.js';
import type { FrameBatch } from '../../lib/can/record.js';
import type { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { MqttBridge } from '../../lib/mqtt/bridge.js';
import type { MqttBridgeOptions, MqttLogger } from '../../lib/mqtt/options.js';

export interface CapturedLogger extends MqttLogger {
  readonly lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => {
    lines.push(`${level} ${msg}`);
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Start a bridge and wait for its first broker connection. */
export async function connectedBridge(options: MqttBridgeOptions, timeoutMs = 15_000): Promise<MqttBridge> {
  const bridge = new MqttBridge({ reconnectMinMs: 100, reconnectMaxMs: 500, ...options });
  const connected = once(bridge, 'connect', { signal: AbortSignal.timeout(timeoutMs) });
  try {
    await bridge.start();
    await connected;
  } catch (err) {
    await bridge.stop(); // a bridge left running would publish into the next test
    throw new Error(`bridge not connected within ${timeoutMs} ms: ${JSON.stringify(bridge.stats())}`, { cause: err });
  }
  return bridge;
}

/** Poll until `cond` holds (test/helpers/cli.ts waitFor), and sleep. */
export { waitFor as waitUntil, sleep } from './cli.js';

export interface SeenFrame {
  rawId: number;
  data: number[];
  timestamp: number;
}

/** Every frame a socket receives, decoded. */
export function recordFrames(socket: CanSocket): SeenFrame[] {
  const seen: SeenFrame[] = [];
  socket.on('frames', (batch: FrameBatch) => {
    for (let i = 0; i < batch.count; i++) {
      const f = batch.frame(i);
      seen.push({ rawId: batch.rawId(i), data: [...f.data], timestamp: f.timestamp });
    }
  });
  return seen;
}

/** A VSCP frame on vcan0 of `bus` whose first three data bytes are `seq`: for order and loss checks (numbersOf). */
export function injectNumbered(bus: VirtualCanBus, seq: number): void {
  const id = ((3 << 26) | (20 << 16) | (3 << 8) | 0x31) >>> 0;
  bus.inject('vcan0', { id, extended: true, data: Uint8Array.from([seq >> 16, (seq >> 8) & 0xff, seq & 0xff]) });
}

/** The seq (injectNumbered) of each `topic {json}` line. */
export function numbersOf(lines: readonly string[]): number[] {
  return lines.map((l) => {
    const d = (JSON.parse(l.slice(l.indexOf(' ') + 1)) as { data: number[] }).data;
    return (d[0]! << 16) | (d[1]! << 8) | d[2]!;
  });
}
