// SIGTERM during a flood still stops cleanly (protocol §8.3, §9 #98). The real
// CLI (`node bin/uvscpd.js -s -c virtual`) with five clients in rcvloop
// SENDing as fast as they can (on the virtual bus every SEND reaches the
// four others): SIGTERM -> exit status 0 within 2 s, every client closed,
// no process left behind.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Foreground, isAlive, killAll } from '../helpers/cli.js';
import { sleep } from '../helpers/fuzz.js';

after(() => killAll());

/** Processes whose parent is `pid` (from /proc/<n>/stat). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface Flooder {
  socket: Socket;
  received: number;
  closed: Promise<void>;
  stop: () => void;
}

function flooder(port: number, index: number): Promise<Flooder> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    let received = 0;
    let running = true;
    let banner = '';
    const batch = Buffer.from(`send 0,20,${index},,,,-,1,2,3,4,5,6,7,8\r\n`.repeat(200));
    const pump = (): void => {
      while (running && !socket.destroyed && socket.write(batch)) {
        // keep writing until the kernel pushes back
      }
      if (running && !socket.destroyed) socket.once('drain', pump);
    };
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      received += d.length;
      if (banner !== null) {
        banner += d.toString('latin1');
        if (banner.includes('+OK - Success')) {
          banner = null as unknown as string;
          socket.write('rcvloop\r\n');
          const f: Flooder = {
            socket,
            get received() {
              return received;
            },
            closed,
            stop: () => (running = false),
          };
          pump();
          resolve(f);
        }
      }
    });
    socket.on('connect', () => undefined);
    setTimeout(() => reject(new Error('no banner within 5 s')), 5000).unref();
  });
}

test('SIGTERM during a flood from five clients: exit 0 within 2 s, clients closed, nothing left running', { timeout: 30_000 }, async (t) => {
  const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0']);
  try {
    const port = await d.listening();
    const clients = await Promise.all([0, 1, 2, 3, 4].map((i) => flooder(port, i)));
    // Let the flood build up: every client both sends and receives.
    await sleep(700);
    const before = clients.map((c) => c.received);
    await sleep(300);
    assert.ok(clients.every((c, i) => c.received > before[i]!), 'the flood is flowing to every client');
    const kids = childrenOf(d.pid);
    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const exit = await d.waitExit(5000);
    const elapsed = exit.at - t0;
    for (const c of clients) c.stop();
    t.diagnostic(`exit ${exit.code} after ${elapsed} ms; stderr tail: ${d.stderr.trim().split('\n').slice(-2).join(' | ')}`);
    assert.equal(exit.signal, null, `killed by ${exit.signal}`);
    assert.equal(exit.code, 0, d.stderr);
    assert.ok(elapsed < 2000, `exit took ${elapsed} ms (the requirement is 2 s)`);
    assert.doesNotMatch(d.stderr, /exiting anyway|fatal/, 'a graceful stop, not the hard timer');
    // Every client sees its connection close.
    await Promise.race([Promise.all(clients.map((c) => c.closed)), sleep(3000).then(() => assert.fail('a client was not closed'))]);
    assert.equal(isAlive(d.pid), false);
    for (const k of kids) assert.equal(isAlive(k), false, `child ${k} of uvscpd still runs`);
    assert.deepEqual(childrenOf(d.pid), []);
  } finally {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  }
});
