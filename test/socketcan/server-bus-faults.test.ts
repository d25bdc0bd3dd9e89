// Bus faults on real SocketCAN (vcan, in the CAN guest).
// While frames flow (cangen, plus our own sender) and clients are in
// rcvloop and SENDing, the interface is set down and up, and deleted and
// created again. design.md "Interface down": every session gets
// `-OK - CAN Disconnected - bye!` and is closed; a session opened while
// down gets the banner and the same line (while absent:
// `-OK - interface [<if>] error: No such device`); the daemon keeps
// running and new sessions work once the interface is back. Each test uses
// its own throwaway vcan interface.
//
//   CANVM_IFACES="vcan0 vcan1" CANVM_TIMEOUT=900 /work/shared/tools/can-vm.sh \
//     node --test --test-concurrency=1 dist/test/socketcan/server-bus-faults.test.js

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { socketCanBus } from '../../lib/can/socketcan.js';
import type { CanSocket } from '../../lib/can/types.js';
import { TestClient } from '../helpers/client.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { createVcan, deleteVcan, setDown, setUp, uniqueVcanName } from '../helpers/vcan.js';
import { CountingBus, canRawSocketsOn, sleep, until } from '../helpers/fuzz.js';
import { Foreground, killAll } from '../helpers/cli.js';

const T = { timeout: 240_000 };
const DISCONNECTED = '-OK - CAN Disconnected - bye!';
const EVENT_RE = /^\d+,\d+,\d+,\d+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d+,[0-9A-F:]+(,\d+)*$/;

const cleanups: (() => void)[] = [];
after(() => {
  for (const f of cleanups.splice(0)) f();
  killAll();
});

/** cangen: extended frames, fixed id class 20 type 3 nickname 0x0A, random data, 5 ms apart; ignores ENOBUFS. */
function startCangen(iface: string): ChildProcess {
  const child = spawn('cangen', [iface, '-e', '-I', '0C14030A', '-L', '3', '-g', '5', '-i'], { stdio: 'ignore' });
  child.on('error', () => undefined);
  return child;
}

/** cangen gives up on ENETDOWN: restarted when the interface is back. */
class Cangen {
  child: ChildProcess;
  constructor(readonly iface: string) {
    this.child = startCangen(iface);
  }
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  ensure(): void {
    if (!this.running) this.child = startCangen(this.iface);
  }
  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Our own independent traffic source; survives ENETDOWN/ENODEV (errors counted, not thrown). */
function startSender(iface: string): { stop: () => void; sock: CanSocket } {
  const sock = socketCanBus.open(iface);
  sock.on('error', () => undefined);
  let n = 0;
  const timer = setInterval(() => {
    const frames = Array.from({ length: 4 }, () => ({ id: 0x0c140300 | (n++ & 0xff), extended: true, data: Uint8Array.from([n & 0xff]) }));
    sock.sendMany(frames).catch(() => undefined);
  }, 10);
  return {
    sock,
    stop: () => {
      clearInterval(timer);
      sock.close();
    },
  };
}

/** A client that SENDs one event after another until its session ends; collects every reply line. */
function sendLoop(c: TestClient): { replies: string[]; done: Promise<void> } {
  const replies: string[] = [];
  const done = (async () => {
    for (;;) {
      try {
        replies.push(...(await c.command('send 0,20,3,,,,-,1,2,3', 10_000)));
      } catch {
        return; // the session ended
      }
    }
  })();
  return { replies, done };
}

/** Read event lines until `count` arrived (keep-alives skipped). */
async function readEvents(c: TestClient, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let n = 0;
  while (n < count) {
    const line = await c.readLine(Math.max(1, deadline - Date.now()));
    if (line === '+OK') continue;
    assert.match(line, EVENT_RE);
    n++;
  }
}

interface Rig {
  s: RunningServer<CountingBus>;
  bus: CountingBus;
}

async function rig(iface: string): Promise<Rig> {
  const bus = new CountingBus(socketCanBus);
  const s = await startServer({ bus, canInterface: iface, receiveBufferSize: 1 << 20 });
  return { s, bus };
}

/** Four sessions while traffic flows: two in rcvloop receiving, one SENDing in a loop, one idle. */
async function busySessions(
  s: RunningServer<CountingBus>,
): Promise<{ loopers: TestClient[]; sender: ReturnType<typeof sendLoop>; idle: TestClient; all: TestClient[]; senderClient: TestClient }> {
  const loopers = [await s.client(), await s.client()];
  for (const l of loopers) assert.deepEqual(await l.command('rcvloop'), ['+OK']);
  const senderClient = await s.client();
  const idle = await s.client();
  const sender = sendLoop(senderClient);
  for (const l of loopers) await readEvents(l, 30);
  await until(() => sender.replies.length >= 10, 20_000, 'SENDs to be answered');
  return { loopers, sender, idle, all: [...loopers, idle], senderClient };
}

/**
 * Every session is told DISCONNECTED as its last line and closed; the lines before it are legal.
 * The SENDing client reads through command(), so its DISCONNECTED is the last of its replies.
 */
async function expectAllDisconnected(all: TestClient[], sender: ReturnType<typeof sendLoop>, senderClient: TestClient): Promise<void> {
  for (const c of all) {
    const rest = await c.expectClose(15_000);
    assert.equal(rest.at(-1), DISCONNECTED, `last lines: ${JSON.stringify(rest.slice(-3))}`);
    for (const l of rest.slice(0, -1)) {
      assert.ok(l === '+OK' || l === '-OK - problem when writing to CAN socket' || EVENT_RE.test(l), `unexpected line before the disconnect: ${JSON.stringify(l)}`);
    }
  }
  await sender.done;
  await senderClient.expectClose(15_000);
  assert.equal(sender.replies.at(-1), DISCONNECTED, JSON.stringify(sender.replies.slice(-3)));
  const before = sender.replies.slice(0, -1);
  assert.ok(before.every((l) => l === '+OK' || l === '-OK - problem when writing to CAN socket'), JSON.stringify(before.filter((l) => l !== '+OK').slice(0, 3)));
}

/** The interface works again through the server: events in, SENDs out to another session. */
async function expectWorking(s: RunningServer<CountingBus>): Promise<void> {
  const rx = await s.client();
  const tx = await s.client();
  assert.deepEqual(await rx.command('rcvloop'), ['+OK']);
  await readEvents(rx, 20); // from cangen / the sender
  assert.deepEqual(await tx.command('send 0,20,99,,,,-,7'), ['+OK']);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = await rx.readLine(Math.max(1, deadline - Date.now()));
    if (/^0,20,99,[1-9]\d*,.*,7$/.test(line)) break; // obid: tx's channel id
  }
  rx.destroy();
  tx.destroy();
  await until(() => s.server.sessionCount === 0, 10_000, 'the check sessions to end');
}

test('interface down and up during traffic, twice: every session told and closed; opened-while-down told; works again when up', T, async () => {
  const iface = createVcan(uniqueVcanName('rb'));
  cleanups.push(() => deleteVcan(iface));
  const { s, bus } = await rig(iface);
  const cangen = new Cangen(iface);
  const sender = startSender(iface);
  try {
    for (let round = 0; round < 2; round++) {
      const sessions = await busySessions(s);
      setDown(iface);
      await expectAllDisconnected(sessions.all, sessions.sender, sessions.senderClient);
      await until(() => s.server.sessionCount === 0, 10_000, 'sessions to end');
      // A session opened while the interface is down: banner, then the same line, then closed.
      const late = await TestClient.connect(s.port);
      const lines = await late.expectClose(10_000);
      assert.deepEqual(lines.slice(2), [`+OK - Success, connected to ${iface}`, DISCONNECTED], JSON.stringify(lines));
      await until(() => bus.openCount === 0, 10_000, 'CAN sockets of ended sessions to close');
      await sleep(300); // cangen either gave up on ENETDOWN by now or carries on
      assert.equal(canRawSocketsOn(iface), cangen.running ? 2 : 1, 'only cangen and our sender remain bound in the kernel');
      setUp(iface);
      cangen.ensure();
      await expectWorking(s);
    }
  } finally {
    cangen.stop();
    sender.stop();
    await s.close();
  }
  await sleep(200);
  assert.equal(bus.openCount, 0);
  assert.equal(canRawSocketsOn(iface), 0, 'no CAN_RAW socket left on the interface');
  deleteVcan(iface);
});

test('interface deleted and created again during traffic: sessions told and closed; absent -> No such device; works once re-created', T, async () => {
  const iface = createVcan(uniqueVcanName('rb'));
  cleanups.push(() => deleteVcan(iface));
  const { s, bus } = await rig(iface);
  let cangen = new Cangen(iface);
  let sender = startSender(iface);
  try {
    const sessions = await busySessions(s);
    deleteVcan(iface);
    await expectAllDisconnected(sessions.all, sessions.sender, sessions.senderClient);
    await until(() => s.server.sessionCount === 0, 10_000, 'sessions to end');
    await until(() => bus.openCount === 0, 10_000, 'session CAN sockets to close');
    cangen.stop();
    sender.stop();
    const late = await TestClient.connect(s.port);
    const lines = await late.expectClose(10_000);
    assert.equal(lines.at(-1), `-OK - interface [${iface}] error: No such device`, JSON.stringify(lines));
    assert.equal(lines.length, 3);
    // Back again, with new traffic sources (the old ones were bound to the old interface index).
    createVcan(iface);
    cangen = new Cangen(iface);
    sender = startSender(iface);
    await expectWorking(s);
    // And once more through a full down/up while a session is open.
    const a = await s.client();
    setDown(iface);
    assert.equal((await a.expectClose(10_000)).at(-1), DISCONNECTED);
    setUp(iface);
    cangen.ensure();
    await expectWorking(s);
  } finally {
    cangen.stop();
    sender.stop();
    await s.close();
  }
  await sleep(200);
  assert.equal(bus.openCount, 0);
  assert.equal(canRawSocketsOn(iface), 0);
  deleteVcan(iface);
});

test('the daemon process (bin/uvscpd.js -s on SocketCAN) survives down/up and delete/re-create, then stops cleanly on SIGTERM', T, async () => {
  const iface = createVcan(uniqueVcanName('rd'));
  cleanups.push(() => deleteVcan(iface));
  const d = new Foreground(['-s', '-c', iface, '-i', '127.0.0.1', '-p', '0']);
  cleanups.push(() => {
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
  });
  let cangen = new Cangen(iface);
  try {
    const port = await d.listening(30_000);
    const a = await TestClient.connectReady(port);
    assert.deepEqual(await a.command('rcvloop'), ['+OK']);
    await readEvents(a, 10);
    setDown(iface);
    assert.equal((await a.expectClose(10_000)).at(-1), DISCONNECTED);
    const whileDown = await TestClient.connect(port);
    assert.equal((await whileDown.expectClose(10_000)).at(-1), DISCONNECTED);
    setUp(iface);
    cangen.ensure();
    const b = await TestClient.connectReady(port);
    assert.deepEqual(await b.command('rcvloop'), ['+OK']);
    await readEvents(b, 10);
    cangen.stop();
    deleteVcan(iface);
    assert.equal((await b.expectClose(10_000)).at(-1), DISCONNECTED);
    const whileAbsent = await TestClient.connect(port);
    assert.equal((await whileAbsent.expectClose(10_000)).at(-1), `-OK - interface [${iface}] error: No such device`);
    createVcan(iface);
    cangen = new Cangen(iface);
    const c = await TestClient.connectReady(port);
    assert.deepEqual(await c.command('rcvloop'), ['+OK']);
    await readEvents(c, 10);
    assert.equal(d.child.exitCode, null, 'the daemon is still running');
    d.child.kill('SIGTERM');
    const exit = await d.waitExit(5000);
    assert.equal(exit.code, 0, d.stderr);
    await c.expectClose(5000);
    assert.match(d.stderr, /CAN socket error on \S+: ENETDOWN/);
    assert.match(d.stderr, /cannot open CAN interface \S+: No such device/); // deleting first takes it down: ENETDOWN above
  } finally {
    cangen.stop();
    if (d.child.exitCode === null) d.child.kill('SIGKILL');
    deleteVcan(iface);
  }
});
