// The server's CAN scenarios (protocol §9 #61–#72, #76–#82, #84, #95, #99) on real
// SocketCAN: the sessions use the native binding (SocketCanBus) on vcan; the
// independent injector is can-utils `cansend`, the independent observer is
// `candump -L`. The same scenarios run on the VirtualCanBus in
// test/protocol/can.test.ts. Needs root and vcan (the CAN guest:
//   CANVM_IFACES="vcan0 vcan1" test/can-vm.sh node --test dist/test/socketcan/server-can.test.js).

import { after, test } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import { socketCanBus } from '../../lib/can/socketcan.js';
import { CAN_SCENARIOS } from '../helpers/can-scenarios.js';
import type { BusObserver, CanRig, ObservedFrame } from '../helpers/can-scenarios.js';
import { CAN_EFF_FLAG, CAN_ERR_FLAG, CAN_RTR_FLAG } from '../../lib/can/types.js';
import { createVcan, deleteVcan } from '../helpers/vcan.js';

const IFACE = 'vcan0';

/** A frame in cansend's syntax: 123#0102, 1C14030A#000123, 1C14030A#R, 20000080#00... */
export function cansendText(f: ObservedFrame): string {
  const hex = (n: number, w: number): string => n.toString(16).toUpperCase().padStart(w, '0');
  let id: string;
  if ((f.rawId & CAN_ERR_FLAG) !== 0) id = hex(f.rawId & 0x3fffffff, 8); // CAN_ERR_FLAG stays in the 8-digit id
  else if ((f.rawId & CAN_EFF_FLAG) !== 0) id = hex(f.rawId & 0x1fffffff, 8);
  else id = hex(f.rawId & 0x7ff, 3);
  if ((f.rawId & CAN_RTR_FLAG) !== 0) return `${id}#R`;
  return `${id}#${f.data.map((b) => hex(b, 2)).join('')}`;
}

/** Parse one `candump -L` line: `(1600000000.000000) vcan0 0C140300#000123`. */
function parseCandump(line: string): ObservedFrame | null {
  const m = /^\(\d+\.\d+\)\s+\S+\s+([0-9A-Fa-f]+)#(R\d?|[0-9A-Fa-f]*)$/.exec(line.trim());
  if (m === null) return null;
  const idText = m[1]!;
  let rawId = parseInt(idText, 16);
  if (idText.length === 8 && (rawId & CAN_ERR_FLAG) === 0) rawId = (rawId | CAN_EFF_FLAG) >>> 0;
  const body = m[2]!;
  if (body.startsWith('R')) return { rawId: (rawId | CAN_RTR_FLAG) >>> 0, data: [] };
  const data: number[] = [];
  for (let i = 0; i + 1 < body.length; i += 2) data.push(parseInt(body.slice(i, i + 2), 16));
  return { rawId: rawId >>> 0, data };
}

function candumpObserver(iface: string): Promise<BusObserver> {
  const child = spawn('candump', ['-L', iface], { stdio: ['ignore', 'pipe', 'ignore'] });
  const frames: ObservedFrame[] = [];
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    pending += d.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const p of parts) {
      const f = parseCandump(p);
      if (f !== null) frames.push(f);
    }
  });
  const observer: BusObserver = {
    frames,
    async waitFor(count: number, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (frames.length < count) {
        if (Date.now() > deadline) throw new Error(`candump saw ${frames.length} of ${count} frames`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return frames.slice();
    },
    async close() {
      child.kill();
    },
  };
  // candump has no "ready" signal: give it a moment to open and bind its socket.
  return new Promise((resolve) => setTimeout(() => resolve(observer), 400));
}

function vcanRig(iface: string, withLinkControl: boolean): CanRig {
  const rig: CanRig = {
    name: `SocketCAN ${iface}`,
    bus: socketCanBus,
    iface,
    quietMs: 300,
    async inject(frames: readonly ObservedFrame[]) {
      // One shell running cansend per frame keeps the order and costs one spawn from here.
      const script = frames.map((f) => `cansend ${iface} ${cansendText(f)}`).join(' && ');
      execFileSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    },
    observe: () => candumpObserver(iface),
  };
  if (withLinkControl) {
    rig.setLinkUp = async (up: boolean) => {
      execFileSync('ip', ['link', 'set', iface, up ? 'up' : 'down']);
    };
  }
  return rig;
}

const disposable: string[] = [];
after(() => {
  for (const name of disposable) deleteVcan(name);
});

for (const scenario of CAN_SCENARIOS) {
  test(`${scenario.title} [SocketCAN vcan]`, { timeout: 60000 }, async () => {
    if (scenario.needsLinkControl === true) {
      // Destructive: its own interface, never vcan0.
      const name = createVcan();
      disposable.push(name);
      await scenario.run(vcanRig(name, true));
    } else {
      await scenario.run(vcanRig(IFACE, false));
    }
  });
}
