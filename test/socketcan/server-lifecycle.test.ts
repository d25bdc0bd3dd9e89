// Server lifecycle against the real SocketCAN binding on vcan: interface
// errors with the kernel's own errno texts, interface removal, descriptor
// leaks (protocol §9 #2, #99, #101; design.md D5). Needs root and vcan (the CAN guest).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { socketCanBus } from '../../lib/can/socketcan.js';
import { VscpServer } from '../../lib/server/index.js';
import { TestClient } from '../helpers/client.js';
import { sleep, startServer, waitForCdta } from '../helpers/server.js';
import { createVcan, deleteVcan, openFdCount, uniqueVcanName } from '../helpers/vcan.js';

const T = { timeout: 60000 };

test('§9 #2: a missing interface -> -OK - interface [nosuchif] error: No such device, then close', T, async () => {
  const s = await startServer({ bus: socketCanBus, canInterface: 'nosuchif', verifyInterface: false });
  try {
    const c = await TestClient.connect(s.port);
    const lines = await c.expectClose();
    assert.equal(lines.at(-1), '-OK - interface [nosuchif] error: No such device');
    assert.equal(lines.length, 3);
  } finally {
    await s.close();
  }
});

test('§9 #2 (start-up): a missing interface is a warning, the server listens; once a vcan of that name exists, new clients work', T, async () => {
  const name = uniqueVcanName('mi');
  const warnings: string[] = [];
  const logger = { debug: () => undefined, info: () => undefined, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(`error ${m}`) };
  const server = new VscpServer({ bus: socketCanBus, canInterface: name, host: '127.0.0.1', port: 0, logger });
  try {
    const address = await server.listen();
    assert.deepEqual(warnings, [`CAN interface ${name} does not exist (No such device): clients are told so until it does`]);
    const c = await TestClient.connect(address.port);
    const lines = await c.expectClose();
    assert.deepEqual(lines.slice(2), [`-OK - interface [${name}] error: No such device`]);
    createVcan(name);
    const ok = await TestClient.connectReady(address.port);
    execFileSync('cansend', [name, '0C140301#01']);
    await waitForCdta(ok, 1);
    ok.destroy();
  } finally {
    await server.close();
    deleteVcan(name);
  }
});

test('§9 #2 (start-up): a name that is not a CAN interface still makes listen() reject', T, async () => {
  const server = new VscpServer({ bus: socketCanBus, canInterface: 'lo', host: '127.0.0.1', port: 0 });
  await assert.rejects(server.listen(), (err: NodeJS.ErrnoException) => err.code === 'ENODEV' || err.code === 'ENXIO' || err.code === 'EINVAL');
  await server.close();
});

test('§9 #99: removing the interface (ENODEV) -> CAN Disconnected - bye!; the server keeps serving when it is back', T, async () => {
  const name = createVcan();
  const s = await startServer({ bus: socketCanBus, canInterface: name });
  try {
    const a = await s.client();
    deleteVcan(name);
    const rest = await a.expectClose(5000);
    assert.equal(rest.at(-1), '-OK - CAN Disconnected - bye!');
    const late = await TestClient.connect(s.port);
    assert.equal((await late.expectClose()).at(-1), `-OK - interface [${name}] error: No such device`);
    createVcan(name);
    const b = await s.client();
    execFileSync('cansend', [name, '0C140301#01']);
    await waitForCdta(b, 1);
  } finally {
    await s.close();
    deleteVcan(name);
  }
});

test('§9 #101 (D5): 500 connect/quit cycles on SocketCAN leak no descriptor', T, async () => {
  const s = await startServer({ bus: socketCanBus, canInterface: 'vcan0' });
  try {
    // Warm up (first socket creates the reactor's descriptors).
    const w = await s.client();
    await w.command('quit');
    await w.expectClose();
    await sleep(100);
    const before = openFdCount();
    for (let i = 0; i < 500; i++) {
      const c = await TestClient.connect(s.port);
      c.sendLine('quit');
      await c.expectClose();
      c.destroy();
    }
    for (let i = 0; i < 300 && s.server.sessionCount > 0; i++) await sleep(10);
    await sleep(100);
    const after = openFdCount();
    assert.ok(after - before <= 2, `descriptors ${before} -> ${after}`);
    const last = await s.client();
    assert.deepEqual(await last.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('rcvloop on SocketCAN: a paced burst of 2000 frames arrives whole and in order', T, async () => {
  // A big kernel receive buffer: the guest is slow, and this checks the server, not the kernel's drops.
  const s = await startServer({ bus: socketCanBus, canInterface: 'vcan0', receiveBufferSize: 4 * 1024 * 1024 });
  const sender = socketCanBus.open('vcan0');
  try {
    const a = await s.client();
    assert.deepEqual(await a.command('rcvloop'), ['+OK']);
    const total = 2000;
    for (let first = 0; first < total; first += 100) {
      const frames = Array.from({ length: 100 }, (_, k) => {
        const i = first + k;
        return { id: 0x0c140300 | (i & 0xff), extended: true, data: Uint8Array.from([i >> 8, i & 0xff]) };
      });
      await sender.sendMany(frames);
      await sleep(5);
    }
    const lines: string[] = [];
    const deadline = Date.now() + 20000;
    while (lines.length < total && Date.now() < deadline) {
      let l: string;
      try {
        l = await a.readLine(Math.max(1, deadline - Date.now()));
      } catch {
        break;
      }
      if (l !== '+OK') lines.push(l);
    }
    if (lines.length < total) {
      a.sendLine('info');
      const info: string[] = [];
      for (let i = 0; i < 50; i++) {
        const l = await a.readLine(3000);
        info.push(l);
        if (l.startsWith('uptime')) break;
      }
      assert.fail(`received ${lines.length} of ${total} events; ${info.filter((l) => /drops/.test(l)).join('; ')}`);
    }
    const seq = lines.map((l) => {
      const f = l.split(',');
      return Number(f[7]) * 256 + Number(f[8]);
    });
    assert.deepEqual(seq, Array.from({ length: total }, (_, i) => i));
  } finally {
    sender.close();
    await s.close();
  }
});
