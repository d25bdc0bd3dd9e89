// Start a VscpServer on 127.0.0.1, an ephemeral port, for protocol tests.

import type { AddressInfo } from 'node:net';
import type { CanBus } from '../../lib/can/types.js';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { VscpServer } from '../../lib/server/server.js';
import type { VscpServerOptions } from '../../lib/server/server.js';
import { TestClient } from './client.js';

export interface RunningServer<B extends CanBus = CanBus> {
  server: VscpServer;
  bus: B;
  port: number;
  address: AddressInfo;
  /** Connect and read the banner. */
  client(): Promise<TestClient>;
  /** Close every client made through `client()` and the server. */
  close(): Promise<void>;
}

export async function startServer<B extends CanBus = VirtualCanBus>(
  options: Partial<VscpServerOptions> & { bus?: B } = {},
): Promise<RunningServer<B>> {
  const bus = (options.bus ?? new VirtualCanBus({ interfaces: [options.canInterface ?? 'vcan0'] })) as B;
  const server = new VscpServer({ canInterface: 'vcan0', host: '127.0.0.1', port: 0, ...options, bus });
  const address = await server.listen();
  const clients: TestClient[] = [];
  return {
    server,
    bus,
    port: address.port,
    address,
    async client() {
      const c = await TestClient.connectReady(address.port);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.destroy();
      await server.close();
    },
  };
}

/** Poll `cdta` until it reports `count` events (CAN delivery is asynchronous). */
export async function waitForCdta(client: TestClient, count: number, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const reply = await client.command('cdta');
    last = reply[0] ?? '';
    if (last === `${count} `) return;
    await new Promise((r) => setTimeout(r, 15));
  }
  throw new Error(`cdta never reached ${count} (last ${JSON.stringify(last)})`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
