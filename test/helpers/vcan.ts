// Helpers for SocketCAN tests: virtual CAN interfaces (via `ip`/`tc`), can-utils, and
// small promise utilities. Needs root and the vcan module (the CAN guest has both).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';

import { FrameBatch } from '../../lib/can/record.js';
import type { CanSocket, ReceivedFrame } from '../../lib/can/types.js';

let counter = 0;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip` with arguments; throws with stderr on failure. */
export function ip(...args: string[]): string {
  return run('ip', args);
}

/** `tc` with arguments; throws with stderr on failure. */
export function tc(...args: string[]): string {
  return run('tc', args);
}

/** Loads a kernel module quietly (returns whether modprobe succeeded). */
export function modprobe(module: string): boolean {
  return spawnSync('modprobe', ['-q', module], { stdio: 'ignore' }).status === 0;
}

/** A fresh, unique vcan interface name (at most 15 characters). */
export function uniqueVcanName(prefix = 'tv'): string {
  counter++;
  return `${prefix}${process.pid % 100000}x${counter}`.slice(0, 15);
}

/**
 * Creates a vcan interface (up by default) and returns its name. `mtu`: 72 carries CAN FD
 * frames, 16 classic frames only (set while down: vcan refuses an MTU change when up).
 */
export function createVcan(name = uniqueVcanName(), up = true, mtu?: 16 | 72): string {
  modprobe('vcan');
  ip('link', 'add', 'dev', name, 'type', 'vcan');
  if (mtu !== undefined) ip('link', 'set', name, 'mtu', String(mtu));
  if (up) ip('link', 'set', name, 'up');
  return name;
}

/** Deletes an interface; ignores one that is already gone. */
export function deleteVcan(name: string): void {
  spawnSync('ip', ['link', 'del', 'dev', name], { stdio: 'ignore' });
}

export function setUp(name: string): void {
  ip('link', 'set', name, 'up');
}

export function setDown(name: string): void {
  ip('link', 'set', name, 'down');
}

export function setTxQueueLen(name: string, len: number): void {
  ip('link', 'set', name, 'txqueuelen', String(len));
}

/** Whether this machine's kernel can open CAN sockets (vcan0 present). */
export function vcanPresent(name = 'vcan0'): boolean {
  return spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;
}

/** `cansend iface id#data` (can-utils syntax). */
export function cansend(iface: string, frame: string): void {
  run('cansend', [iface, frame]);
}

/** Starts `candump -L iface` and collects lines until `count` lines or timeout. */
export function candump(iface: string, count: number, timeoutMs = 5000): { ready: Promise<void>; lines: Promise<string[]>; child: ChildProcess } {
  const child = spawn('candump', ['-L', iface], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let pending = '';
  const result = new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`candump on ${iface}: ${lines.length} of ${count} lines within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop()!;
      lines.push(...parts.filter((l) => l.length > 0));
      if (lines.length >= count) {
        clearTimeout(timer);
        child.kill();
        resolve(lines.slice(0, count));
      }
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  // candump has no "ready" signal: give it a moment to open and bind its socket.
  const ready = new Promise<void>((resolve) => setTimeout(resolve, 300));
  return { ready, lines: result, child };
}

/** Rejects after `ms` with a message naming `what`. */
/** `what` may be a function: it is then called at the timeout, to describe the state then. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts collecting `count` decoded frames from `sock`, without a time limit: for tests
 * whose frames arrive only after a step that may take long (a synchronous `tc` call).
 * Put the limit on `done` from that step on.
 */
export function frameCollector(sock: CanSocket, count: number): { frames: ReceivedFrame[]; done: Promise<ReceivedFrame[]> } {
  const frames: ReceivedFrame[] = [];
  let onFrames: ((b: FrameBatch) => void) | undefined;
  const done = new Promise<ReceivedFrame[]>((resolve) => {
    onFrames = (batch: FrameBatch) => {
      for (let i = 0; i < batch.count && frames.length < count; i++) frames.push(batch.frame(i));
      if (frames.length >= count) {
        sock.off('frames', onFrames!);
        resolve(frames);
      }
    };
    sock.on('frames', onFrames);
  });
  return { frames, done };
}

/** Collects `count` decoded frames from `sock` (rejects on timeout). */
export function collectFrames(sock: CanSocket, count: number, timeoutMs = 5000): Promise<ReceivedFrame[]> {
  const c = frameCollector(sock, count);
  return withTimeout(c.done, timeoutMs, () => `${count} frames (got ${c.frames.length})`);
}

/** Resolves when no frame arrived on `sock` for `quietMs`; returns what did arrive. */
export async function framesWithin(sock: CanSocket, ms: number): Promise<ReceivedFrame[]> {
  const frames: ReceivedFrame[] = [];
  const onFrames = (batch: FrameBatch): void => {
    frames.push(...batch.frames());
  };
  sock.on('frames', onFrames);
  await delay(ms);
  sock.off('frames', onFrames);
  return frames;
}

/** Number of open file descriptors of this process. */
export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
