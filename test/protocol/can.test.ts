// The CAN scenarios of protocol §9 over real TCP with the in-memory VirtualCanBus;
// an independent virtual socket observes, bus.inject plays the other nodes.
// The same scenarios run on SocketCAN vcan in test/socketcan/server-can.test.ts.

import { test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { FrameBatch } from '../../lib/can/record.js';
import { CAN_SCENARIOS } from '../helpers/can-scenarios.js';
import type { BusObserver, CanRig, ObservedFrame } from '../helpers/can-scenarios.js';

function virtualRig(): CanRig {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  return {
    name: 'virtual',
    bus,
    iface: 'vcan0',
    quietMs: 100,
    async inject(frames: readonly ObservedFrame[]) {
      for (const f of frames) bus.inject('vcan0', { rawId: f.rawId, data: Uint8Array.from(f.data) });
    },
    async observe(): Promise<BusObserver> {
      const socket = bus.open('vcan0');
      const frames: ObservedFrame[] = [];
      let wake: (() => void) | null = null;
      socket.on('frames', (batch: FrameBatch) => {
        for (let i = 0; i < batch.count; i++) {
          const off = batch.dataOffset(i);
          frames.push({ rawId: batch.rawId(i), data: [...batch.buffer.subarray(off, off + batch.length(i))] });
        }
        wake?.();
      });
      return {
        frames,
        async waitFor(count: number, timeoutMs = 3000) {
          const deadline = Date.now() + timeoutMs;
          while (frames.length < count) {
            if (Date.now() > deadline) throw new Error(`observer saw ${frames.length} of ${count} frames`);
            await new Promise<void>((r) => {
              wake = r;
              setTimeout(r, 20);
            });
          }
          return frames.slice();
        },
        async close() {
          socket.close();
        },
      };
    },
    async setLinkUp(up: boolean) {
      bus.setInterfaceState('vcan0', up ? 'up' : 'down');
    },
  };
}

for (const scenario of CAN_SCENARIOS) {
  test(`${scenario.title} [virtual bus]`, { timeout: 20000 }, () => scenario.run(virtualRig()));
}
