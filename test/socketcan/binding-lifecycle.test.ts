// SocketCAN binding: interface down/up and removal while open, process lifetime (ref,
// unref, GC), worker threads.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';

import { socketCanBus } from '../../lib/can/socketcan.js';
import type { CanError } from '../../lib/can/types.js';
import { collectFrames, createVcan, delay, deleteVcan, openFdCount, setDown, setUp, withTimeout } from '../helpers/vcan.js';

const SOCKETCAN_JS = join(__dirname, '..', '..', 'lib', 'can', 'socketcan.js');
/** Under valgrind (scripts/asan.sh sets UVSCPD_TEST_SLOW) everything is ~30x slower. */
const SLOW = process.env['UVSCPD_TEST_SLOW'] ? 10 : 1;

/**
 * Run `script` in a child Node.js; kill it after `timeoutMs`, or, with `killAfterOutputMs`,
 * that long after its first output (a slow guest can take seconds just to start Node).
 */
function runChild(
  args: string[],
  script: string,
  timeoutMs: number,
  killAfterOutputMs?: number,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [...args, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let outputTimer: NodeJS.Timeout | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (killAfterOutputMs !== undefined && outputTimer === undefined) outputTimer = setTimeout(() => child.kill('SIGKILL'), killAfterOutputMs);
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (outputTimer !== undefined) clearTimeout(outputTimer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

function errorsOf(sock: ReturnType<typeof socketCanBus.open>): CanError[] {
  const errors: CanError[] = [];
  sock.on('error', (e: CanError) => errors.push(e));
  return errors;
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await delay(10);
  }
}

describe('SocketCAN binding: interface state changes', () => {
  it('reports ENETDOWN once when the interface goes down, and works again after up', { timeout: 30_000 * SLOW }, async () => {
    const iface = createVcan();
    const tx = socketCanBus.open(iface);
    const rx = socketCanBus.open(iface);
    const rxErrors = errorsOf(rx);
    const txErrors = errorsOf(tx);
    try {
      setDown(iface);
      await until(() => rxErrors.length > 0 && txErrors.length > 0, 5000 * SLOW, 'error events');
      assert.equal(rxErrors[0]!.code, 'ENETDOWN');
      assert.equal(rxErrors[0]!.interfaceName, iface);
      assert.match(rxErrors[0]!.message, new RegExp(`ip link set ${iface} up`));
      assert.equal(socketCanBus.interfaceState(iface), 'down');
      await assert.rejects(tx.send({ id: 1, data: new Uint8Array([1]) }), (e: CanError) => e.code === 'ENETDOWN');
      // Level-triggered EPOLLERR must not spin: measure this process's CPU while down.
      const c0 = process.cpuUsage();
      await delay(500);
      const c = process.cpuUsage(c0);
      assert.ok((c.user + c.system) / 1000 < 200 * SLOW, `CPU while down: ${(c.user + c.system) / 1000} ms in 500 ms`);
      assert.equal(rxErrors.length, 1, 'one error event per transition');
      assert.equal(txErrors.length, 1, 'a failing send does not repeat the event');
      assert.equal(txErrors[0]!.code, 'ENETDOWN');
      assert.equal(rx.getStats().errors, 1);
      setUp(iface);
      const got = collectFrames(rx, 1);
      await tx.send({ id: 2, data: new Uint8Array([2]) });
      assert.equal((await got)[0]!.id, 2);
      // And a second transition is reported again.
      setDown(iface);
      await until(() => rxErrors.length === 2, 5000 * SLOW, 'second error event');
      setUp(iface);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });

  it('reports ENODEV when the interface is removed, and binds again when it returns', { timeout: 30_000 * SLOW }, async () => {
    const iface = createVcan();
    const tx = socketCanBus.open(iface);
    const rx = socketCanBus.open(iface);
    const rxErrors = errorsOf(rx);
    errorsOf(tx);
    try {
      deleteVcan(iface);
      // Removing an up interface takes it down first: ENETDOWN may come before ENODEV.
      await until(() => rxErrors.some((e) => e.code === 'ENODEV'), 5000 * SLOW, 'ENODEV event');
      const last = rxErrors[rxErrors.length - 1]!;
      assert.equal(last.code, 'ENODEV');
      assert.ok(rxErrors.length <= 2 && rxErrors.every((e) => e.code === 'ENODEV' || e.code === 'ENETDOWN'));
      assert.match(last.message, /was removed/);
      assert.equal(socketCanBus.interfaceState(iface), 'absent');
      await assert.rejects(tx.send({ id: 1, data: new Uint8Array(0) }), (e: CanError) => e.code === 'ENODEV');
      // Recreate: the sender binds again on its next send, the receiver within ~1 s.
      createVcan(iface);
      await delay(1500 * SLOW);
      const got = collectFrames(rx, 1, 5000 * SLOW);
      await tx.send({ id: 3, data: new Uint8Array([3]) });
      assert.equal((await got)[0]!.id, 3);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });

  it('removed after going down, then a send at once: ENODEV (not ENXIO), reported once, and both sockets work again', { timeout: 30_000 * SLOW }, async () => {
    // Regression: after ENETDOWN was reported, a send that saw the removal first (ENXIO
    // from raw_sendmsg) was neither mapped to ENODEV nor reported, so the re-bind never
    // started and sends failed with ENXIO even after the interface came back.
    const iface = createVcan();
    const tx = socketCanBus.open(iface);
    const rx = socketCanBus.open(iface);
    const txErrors = errorsOf(tx);
    const rxErrors = errorsOf(rx);
    try {
      setDown(iface);
      await until(() => txErrors.length > 0 && rxErrors.length > 0, 5000 * SLOW, 'ENETDOWN events');
      assert.equal(txErrors[0]!.code, 'ENETDOWN');
      // Remove it while sending without pause (microtasks only: the reactor thread and the
      // kernel race with this loop): ENETDOWN until the removal is seen, then ENODEV. The
      // kernel unlists the device some milliseconds before it notifies the socket, so
      // sends see the removal (ENXIO from raw_sendmsg) before the reactor does.
      const del = spawn('ip', ['link', 'del', 'dev', iface], { stdio: 'ignore' });
      const codes: string[] = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 5000 * SLOW) {
        const code = await tx.send({ id: 1, data: new Uint8Array([1]) }).then(
          () => 'ok',
          (e: CanError) => e.code,
        );
        if (codes[codes.length - 1] !== code) codes.push(code);
        if (code !== 'ENETDOWN') break;
      }
      await new Promise((r) => (del.exitCode === null ? del.once('close', r) : r(undefined)));
      assert.deepEqual(codes.slice(-1), ['ENODEV'], `send outcomes in order: ${codes.join(', ')}`);
      await assert.rejects(tx.send({ id: 1, data: new Uint8Array([1]) }), (e: CanError) => e.code === 'ENODEV');
      await until(
        () => txErrors.some((e) => e.code === 'ENODEV') && rxErrors.some((e) => e.code === 'ENODEV'),
        5000 * SLOW,
        'ENODEV events',
      );
      await delay(200 * SLOW);
      assert.equal(txErrors.filter((e) => e.code === 'ENODEV').length, 1, 'the removal is reported once');
      assert.equal(rxErrors.filter((e) => e.code === 'ENODEV').length, 1, 'the removal is reported once');
      createVcan(iface);
      // The sender binds again on its next send, the receiver within ~1 s.
      await delay(1500 * SLOW);
      const got = collectFrames(rx, 1, 5000 * SLOW);
      await tx.send({ id: 4, data: new Uint8Array([4]) });
      assert.equal((await got)[0]!.id, 4);
      const back = collectFrames(tx, 1, 5000 * SLOW);
      await rx.send({ id: 5, data: new Uint8Array([5]) });
      assert.equal((await back)[0]!.id, 5);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });
});

describe('SocketCAN binding: lifetime', () => {
  it('open() fails with EAGAIN (no abort) when the reactor thread cannot start, and works once it can', { timeout: 30_000 * SLOW }, async () => {
    // An unprivileged child (CAN_RAW needs no privilege) whose RLIMIT_NPROC is lowered
    // below its current thread count after start-up: creating the reactor thread fails.
    const script = `
      const fs = require('fs');
      const { socketCanBus } = require(${JSON.stringify(SOCKETCAN_JS)});
      const count = () => fs.readdirSync('/proc/self/fd').length;
      socketCanBus.interfaceState('vcan0'); // load the addon now
      let round = 0;
      process.on('SIGUSR2', () => {
        round++;
        const before = count();
        try {
          const s = socketCanBus.open('vcan0');
          s.close();
          console.log(JSON.stringify({ round, ok: true }));
        } catch (e) {
          console.log(JSON.stringify({ round, ok: false, code: e.code, syscall: e.syscall, message: e.message, leaked: count() - before }));
        }
        if (round === 2) process.exit(0);
      });
      setInterval(() => {}, 1000);
      console.log('ready');`;
    const child = spawn(
      'setpriv',
      ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines: string[] = [];
    let waiting: (() => void) | undefined;
    let pending = '';
    child.stdout!.on('data', (d: Buffer) => {
      pending += d.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      lines.push(...parts.filter((l) => l.length > 0));
      waiting?.();
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const line = (n: number): Promise<string> =>
      withTimeout(
        new Promise<string>((resolve) => {
          const check = (): void => {
            if (lines.length >= n) resolve(lines[n - 1]!);
          };
          waiting = check;
          check();
        }),
        10_000 * SLOW,
        `child output line ${n} (stderr: ${stderr})`,
      );
    try {
      assert.equal(await line(1), 'ready');
      execFileSync('prlimit', ['--pid', String(child.pid), '--nproc=1:1']);
      child.kill('SIGUSR2');
      const failed = JSON.parse(await line(2)) as { ok: boolean; code: string; syscall: string; message: string; leaked: number };
      assert.equal(failed.ok, false, 'open() must fail while no thread can be created');
      assert.equal(failed.code, 'EAGAIN');
      assert.equal(failed.syscall, 'pthread_create');
      assert.match(failed.message, /reactor thread could not be started/);
      assert.equal(failed.leaked, 0, 'no descriptor leaked by the failed open');
      execFileSync('prlimit', ['--pid', String(child.pid), '--nproc=unlimited:unlimited']);
      child.kill('SIGUSR2');
      assert.deepEqual(JSON.parse(await line(3)), { round: 2, ok: true });
      assert.equal(await withTimeout(exited, 10_000 * SLOW, 'child exits'), 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('an unref()ed open socket lets the process exit; a ref()ed one keeps it alive', { timeout: 30_000 * SLOW }, async () => {
    const unrefd = await runChild(
      [],
      `const { socketCanBus } = require(${JSON.stringify(SOCKETCAN_JS)});
       const s = socketCanBus.open('vcan0'); s.on('frames', () => {}); s.unref();
       process.on('exit', () => console.log('exit'));`,
      10_000,
    );
    assert.equal(unrefd.code, 0, unrefd.stderr);
    assert.equal(unrefd.stdout.trim(), 'exit');
    const refd = await runChild(
      [],
      `const { socketCanBus } = require(${JSON.stringify(SOCKETCAN_JS)});
       const s = socketCanBus.open('vcan0'); s.on('frames', () => {}); console.log('open');`,
      30_000 * SLOW,
      2000,
    );
    assert.equal(refd.code, null, 'still running when killed');
    assert.equal(refd.stdout.trim(), 'open');
    const closed = await runChild(
      [],
      `const { socketCanBus } = require(${JSON.stringify(SOCKETCAN_JS)});
       const s = socketCanBus.open('vcan0'); s.on('frames', () => {});
       setTimeout(() => s.close(), 100);`,
      10_000,
    );
    assert.equal(closed.code, 0, closed.stderr);
  });

  it('an unclosed socket that is garbage-collected closes its descriptor', { timeout: 60_000 * SLOW }, async () => {
    const r = await runChild(
      ['--expose-gc'],
      `const fs = require('fs');
       const { socketCanBus } = require(${JSON.stringify(SOCKETCAN_JS)});
       const count = () => fs.readdirSync('/proc/self/fd').length;
       (async () => {
         socketCanBus.open('vcan0').close(); // load the addon, start and stop the reactor once
         await new Promise((r) => setTimeout(r, 50));
         const base = count();
         (function () { for (let i = 0; i < 200; i++) socketCanBus.open('vcan0').unref().on('frames', () => {}); })();
         const opened = count();
         for (let i = 0; i < 20 && count() > base; i++) { gc(); await new Promise((r) => setTimeout(r, 50)); }
         console.log(JSON.stringify({ base, opened, after: count() }));
       })();`,
      50_000,
    );
    assert.equal(r.code, 0, r.stderr);
    const { base, opened, after } = JSON.parse(r.stdout) as { base: number; opened: number; after: number };
    assert.ok(opened >= base + 200, `opened ${opened} vs base ${base}`);
    assert.equal(after, base, `descriptors after GC: ${after}, baseline ${base}`);
  });

  it('close() from inside a frames handler with more batches queued: no crash, no frames after close', { timeout: 30_000 * SLOW }, async () => {
    const iface = createVcan();
    const tx = socketCanBus.open(iface);
    const rx = socketCanBus.open(iface);
    try {
      let afterClose = 0;
      let batches = 0;
      rx.on('frames', () => {
        if (rx.closed) afterClose++;
        batches++;
        rx.close();
      });
      const frames = Array.from({ length: 2000 }, (_, i) => ({ id: i & 0x7ff, data: new Uint8Array([i & 0xff]) }));
      await tx.sendMany(frames);
      await withTimeout(new Promise((r) => rx.once('close', r)), 5000 * SLOW, 'close event');
      await delay(200);
      assert.equal(batches, 1);
      assert.equal(afterClose, 0);
    } finally {
      tx.close();
      rx.close();
      deleteVcan(iface);
    }
  });
});

describe('SocketCAN binding: worker threads', () => {
  const workerScript = `
    const { parentPort, workerData } = require('worker_threads');
    const { socketCanBus } = require(workerData.path);
    const s = socketCanBus.open('vcan0');
    s.on('frames', (b) => {
      const f = b.frame(0);
      s.send({ id: f.id + 1, data: f.data }).then(() => {
        if (workerData.close) { s.close(); parentPort.postMessage('closed'); }
      });
    });
    parentPort.postMessage('ready');
  `;

  it('opens, uses and closes sockets inside a worker', { timeout: 30_000 * SLOW }, async () => {
    const fdBase = openFdCount();
    const w = new Worker(workerScript, { eval: true, workerData: { path: SOCKETCAN_JS, close: true } });
    const exited = new Promise((r) => w.once('exit', r));
    await withTimeout(new Promise((r) => w.once('message', r)), 10_000 * SLOW, 'worker ready');
    const s = socketCanBus.open('vcan0', { filters: [{ id: 0x51, mask: 0x7ff }] });
    try {
      const got = collectFrames(s, 1);
      const closed = new Promise((r) => w.once('message', r));
      await s.send({ id: 0x50, data: new Uint8Array([5]) });
      assert.equal((await got)[0]!.id, 0x51);
      assert.equal(await withTimeout(closed, 5000 * SLOW, 'worker closed'), 'closed');
      // The worker's event loop is now empty: it exits on its own.
      const code = await withTimeout(exited, 10_000 * SLOW, 'worker exits');
      assert.equal(code, 0);
    } finally {
      s.close();
    }
    assert.equal(openFdCount(), fdBase);
  });

  it('terminating a worker with open sockets frees them', { timeout: 30_000 * SLOW }, async () => {
    const fdBase = openFdCount();
    for (let round = 0; round < 3; round++) {
      const w = new Worker(workerScript, { eval: true, workerData: { path: SOCKETCAN_JS, close: false } });
      await withTimeout(new Promise((r) => w.once('message', r)), 10_000 * SLOW, 'worker ready');
      const tx = socketCanBus.open('vcan0');
      // Keep traffic flowing into the worker's socket while it is terminated.
      const frames = Array.from({ length: 500 }, (_, i) => ({ id: 0x60, data: new Uint8Array([i & 0xff]) }));
      const sending = tx.sendMany(frames);
      await w.terminate();
      await sending;
      tx.close();
    }
    await delay(100);
    assert.equal(openFdCount(), fdBase);
    // The process is still healthy.
    const a = socketCanBus.open('vcan0');
    const b = socketCanBus.open('vcan0');
    const got = collectFrames(b, 1);
    await a.send({ id: 0x70, data: new Uint8Array(0) });
    assert.equal((await got)[0]!.id, 0x70);
    a.close();
    b.close();
  });
});

