// Everything at once, seeded. Many connections send fuzz input
// and misbehave at random (reset mid-stream, destroy, half-close, stop
// reading, rcvloop) while frames are injected, the CAN TX queue stalls and
// the interface goes down and up. Oracle: invariants. The server never
// throws; every line it writes ends in CRLF; `-OK - CAN Disconnected - bye!`
// is always a session's last line; no session produces more status lines
// than it was sent complete lines (plus keep-alives and the final line);
// afterwards every session and CAN socket is gone and a new client works.
//
// Replay: FUZZ_SEED=<printed seed> node --test dist/test/robustness/chaos.test.js

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { CAN_EFF_FLAG } from '../../lib/can/types.js';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { COMMAND_WORDS } from '../../lib/server/index.js';
import { startServer } from '../helpers/server.js';
import { CountingBus, FramingModel, Rng, generateInput, heapAfterGc, intFromEnv, isStatusLine, seedFromEnv, seedLines, sleep, until } from '../helpers/fuzz.js';

const SEED = seedFromEnv();
const CONNECTIONS = intFromEnv('CHAOS_CONNECTIONS', 300);
const PARALLEL = 8;
console.log(`# chaos: FUZZ_SEED=${SEED} CHAOS_CONNECTIONS=${CONNECTIONS}`);

const DISCONNECTED = '-OK - CAN Disconnected - bye!';

interface Outcome {
  text: string;
  completeLines: number;
}

function chaosConnection(port: number, rng: Rng, corpus: readonly Buffer[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const framing = new FramingModel();
    let completeLines = 0;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(hard);
      resolve({ text: Buffer.concat(chunks).toString('latin1'), completeLines });
    };
    const hard = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // Node (20.x at least) never emits 'close' when resetAndDestroy's reset
      // fails: the socket is destroyed by then, so this is its end.
      if (err.syscall === 'reset') finish();
    });
    socket.on('close', finish);
    socket.on('connect', async () => {
      if (rng.chance(0.2)) {
        socket.pause();
        setTimeout(() => socket.resume(), rng.range(10, 300));
      }
      const writes = rng.range(0, 30);
      for (let w = 0; w < writes && !socket.destroyed; w++) {
        const parts: Buffer[] = [];
        const n = rng.range(1, 50);
        for (let i = 0; i < n; i++) {
          const line = rng.chance(0.05) ? Buffer.from(rng.pick(['rcvloop', 'quitloop', 'retr 100', 'help', 'send 0,20,3,,,,-,1'])) : generateInput(rng, corpus);
          if (/^\s*quit\s*$/i.test(line.toString('latin1'))) continue;
          parts.push(line, Buffer.from('\r\n'));
        }
        const data = Buffer.concat(parts);
        completeLines += framing.feed(data).length;
        socket.write(data);
        if (rng.chance(0.3)) await sleep(rng.range(0, 20));
      }
      const end = rng.int(4);
      // A reset needs the write side still open: once the server has closed and
      // the socket auto-ended (allowHalfOpen false), libuv refuses it (EINVAL).
      if (end === 0 && !socket.writableEnded) socket.resetAndDestroy();
      else if (end <= 1) socket.destroy();
      else if (end === 2) socket.end();
      else setTimeout(() => socket.destroy(), rng.range(0, 200));
    });
  });
}

test(`chaos: ${CONNECTIONS} misbehaving connections while the bus stalls, floods and goes down`, { timeout: 120_000 }, async (t) => {
  t.diagnostic(`FUZZ_SEED=${SEED}`);
  const virtual = new VirtualCanBus({ interfaces: ['vcan0'] });
  const bus = new CountingBus(virtual, { txQueueLimit: 32 });
  const s = await startServer({ bus, maxClients: PARALLEL + 2, idleTimeoutMs: 1000 });
  const root = new Rng(SEED);
  const corpus = seedLines(COMMAND_WORDS).map((l) => Buffer.from(l, 'latin1'));
  const heap0 = await heapAfterGc();
  let stop = false;
  const busRng = root.fork(0xb05);
  const weather = (async () => {
    let n = 0;
    while (!stop) {
      const r = busRng.int(20);
      if (r === 0) {
        virtual.setInterfaceState('vcan0', 'down');
        await sleep(busRng.range(1, 30));
        virtual.setInterfaceState('vcan0', 'up');
      } else if (r <= 2) {
        virtual.setTransmitPaused('vcan0', busRng.chance(0.5));
      } else {
        for (let i = busRng.range(0, 300); i > 0; i--) virtual.inject('vcan0', { rawId: (CAN_EFF_FLAG | 0x0c140300 | (n++ & 0xff)) >>> 0, data: Uint8Array.from([n & 0xff]) });
      }
      await sleep(busRng.range(1, 15));
    }
    virtual.setTransmitPaused('vcan0', false);
    virtual.setInterfaceState('vcan0', 'up');
  })();
  const problems: string[] = [];
  let next = 0;
  let served = 0;
  try {
    const worker = async (): Promise<void> => {
      while (next < CONNECTIONS) {
        const index = next++;
        const o = await chaosConnection(s.port, root.fork(index), corpus);
        const where = `connection ${index} (FUZZ_SEED=${SEED})`;
        if (o.text.length === 0) continue; // gone before the banner
        served++;
        const raw = o.text.split('\n');
        raw.pop(); // an unfinished last line (reset mid-write) is fine
        if (raw.some((l) => !l.endsWith('\r'))) problems.push(`${where}: a line without CRLF`);
        const lines = raw.map((l) => l.slice(0, -1));
        const body = lines.slice(3);
        const d = body.indexOf(DISCONNECTED);
        if (d >= 0 && d !== body.length - 1) problems.push(`${where}: lines after the disconnect: ${JSON.stringify(body.slice(d, d + 3))}`);
        const statuses = body.filter(isStatusLine);
        const extra = statuses.filter((l) => l === '+OK').length; // keep-alives are indistinguishable
        if (statuses.length - extra > o.completeLines + 1) problems.push(`${where}: ${statuses.length} status lines for ${o.completeLines} lines sent`);
        if (problems.length > 5) return;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => worker()));
  } finally {
    stop = true;
    await weather;
  }
  try {
    assert.deepEqual(problems, []);
    assert.ok(served > CONNECTIONS / 2, `only ${served} connections got a banner`);
    await until(() => s.server.sessionCount === 0, 10_000, `sessions to end (${s.server.sessionCount} left)`);
    await until(() => bus.openCount === 0, 5000, `CAN sockets to close (${bus.openCount} open)`);
    const c = await s.client();
    assert.deepEqual(await c.command('send 0,20,3,,,,-,1'), ['+OK']);
    c.destroy();
    await until(() => s.server.sessionCount === 0, 5000, 'the last session to end');
    const grown = (await heapAfterGc()) - heap0;
    t.diagnostic(`${served} sessions served; CAN sockets opened ${bus.opened}; heap after GC grew ${(grown / 1048576).toFixed(1)} MiB`);
    assert.ok(grown < 16 * 1048576, `heap after GC grew ${(grown / 1048576).toFixed(1)} MiB (FUZZ_SEED=${SEED})`);
  } finally {
    await s.close();
  }
});
