// A connection storm against the client limit (design.md
// "Limits"). 200 simultaneous connects: each refused client gets exactly
// `-OK - Max number of clients connected.` and is closed; admitted clients
// keep working during and after the storm.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { startServer } from '../helpers/server.js';
import { CountingBus, sleep, until } from '../helpers/fuzz.js';
import { TestClient } from '../helpers/client.js';
import { BIN } from '../helpers/cli.js';

const STORM = 200;
const REFUSED = '-OK - Max number of clients connected.\r\n';
const BANNER_END = '+OK - Success, connected to vcan0\r\n';

/** Connect, collect everything until the server closes (or `holdMs` passes: then report 'open'). */
function stormClient(port: number, holdMs: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', (err: NodeJS.ErrnoException) => (text += `<error ${err.code}>`));
    const timer = setTimeout(() => {
      resolve({ text, closed: false });
      socket.destroy();
    }, holdMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

test(`${STORM} simultaneous connects against 5 busy slots: each refused exactly so and closed; the 5 admitted keep working`, { timeout: 30_000 }, async () => {
  const bus = new CountingBus(new VirtualCanBus({ interfaces: ['vcan0'] }));
  const s = await startServer({ bus });
  try {
    const admitted = [];
    for (let i = 0; i < 5; i++) admitted.push(await s.client());
    assert.deepEqual(await admitted[0]!.command('rcvloop'), ['+OK']);
    const storm = Promise.all(Array.from({ length: STORM }, () => stormClient(s.port, 5000)));
    // Commands during the storm: SENDs from 4 clients reach the looping one.
    let sends = 0;
    for (let round = 0; round < 10; round++) {
      for (const c of admitted.slice(1)) {
        assert.deepEqual(await c.command(`send 0,20,3,,,,-,${round}`), ['+OK']);
        sends++;
      }
    }
    const results = await storm;
    const wrong = results.filter((r) => r.text !== REFUSED || !r.closed);
    assert.equal(wrong.length, 0, `${wrong.length} storm clients not refused exactly: ${JSON.stringify(wrong.slice(0, 3))}`);
    let events = 0;
    while (events < sends) {
      const line = await admitted[0]!.readLine(5000);
      if (line !== '+OK') events++;
    }
    // After the storm: all five still answer, the count is right, nothing leaked.
    for (const c of admitted) assert.deepEqual(await c.command('noop'), ['+OK']);
    assert.equal(s.server.sessionCount, 5);
    assert.equal(bus.openCount, 5, 'refused clients never got a CAN socket');
    // A freed slot is usable again.
    admitted[4]!.sendLine('quit');
    await admitted[4]!.expectClose();
    await until(() => s.server.sessionCount === 4, 5000, 'the slot to free');
    const late = await stormClient(s.port, 300);
    assert.ok(late.text.endsWith(BANNER_END) && !late.closed, JSON.stringify(late));
  } finally {
    await s.close();
  }
  assert.equal(bus.openCount, 0);
});

test(`${STORM} simultaneous connects to an empty server: exactly 5 admitted with a banner, the rest refused`, { timeout: 30_000 }, async () => {
  const s = await startServer();
  try {
    const results = await Promise.all(Array.from({ length: STORM }, () => stormClient(s.port, 1500)));
    const admitted = results.filter((r) => r.text.endsWith(BANNER_END) && !r.closed);
    const refused = results.filter((r) => r.text === REFUSED && r.closed);
    assert.equal(admitted.length, 5);
    assert.equal(refused.length, STORM - 5, JSON.stringify(results.filter((r) => !admitted.includes(r) && !refused.includes(r)).slice(0, 3)));
    await until(() => s.server.sessionCount === 0, 5000, 'admitted storm clients to go');
    const c = await s.client();
    assert.deepEqual(await c.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('descriptor exhaustion (ulimit -n 48, 200 connects): the daemon survives, answers only with legal bytes, and serves again afterwards', { timeout: 30_000 }, async (t) => {
  // The CLI in a child with a small descriptor limit: accept() fails with EMFILE part of the time.
  const child = spawn('sh', ['-c', `ulimit -n 48 && exec "${process.execPath}" "${BIN}" -s -c virtual -i 127.0.0.1 -p 0 --max-clients 20`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await until(() => /listening on \S+:\d+/.test(stderr) || child.exitCode !== null, 10_000, 'uvscpd to listen');
    const port = Number(/listening on \S+:(\d+)/.exec(stderr)![1]);
    const results = await Promise.all(Array.from({ length: STORM }, () => stormClient(port, 2000)));
    const kinds = new Map<string, number>();
    for (const r of results) {
      const kind = r.text.endsWith('+OK - Success, connected to virtual\r\n') ? 'banner' : r.text === REFUSED ? 'refused' : r.text === '' ? 'silent close' : `other ${JSON.stringify(r.text)}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    t.diagnostic(JSON.stringify([...kinds]));
    assert.ok([...kinds.keys()].every((k) => ['banner', 'refused', 'silent close'].includes(k)), JSON.stringify([...kinds]));
    assert.ok((kinds.get('banner') ?? 0) <= 20);
    assert.equal(child.exitCode, null, `uvscpd died:\n${stderr}`);
    // The storm is over (stormClient destroyed its sockets): descriptors are free again.
    await sleep(1500);
    const c = await TestClient.connectReady(port);
    assert.deepEqual(await c.command('noop'), ['+OK']);
    c.destroy();
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
