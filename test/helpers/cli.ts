// Helpers for the CLI tests: run `node bin/uvscpd.js`, wait for its log
// lines, talk to it over TCP, and make sure nothing outlives the test.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Compiled to dist/test/helpers/: the repository is three levels up. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const BIN = join(REPO_ROOT, 'bin', 'uvscpd.js');

/** Every process a test started, killed by killAll() (call it in after()). */
const started = new Set<number>();

export function track(pid: number | undefined): void {
  if (pid !== undefined) started.add(pid);
}

export function untrack(pid: number | undefined): void {
  if (pid !== undefined) started.delete(pid);
}

/**
 * Whether `pid` runs. A zombie counts as exited: a daemon's parent is init
 * (or whatever reaps orphans), which may take its time to reap it.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self'); // no procfs (macOS): kill(0) said it exists
  }
}

/** SIGKILL whatever is still running from this test file. */
export function killAll(): void {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  started.clear();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `cond` every 20 ms until true; throws after `timeoutMs`. */
/** `what` may be a function: it is then called at the timeout, to describe the state then. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(20);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, ms. */
  elapsedMs: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

/** Run the CLI to completion (killed after timeoutMs, default 10 s). */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runCommand(process.execPath, [BIN, ...args], options);
}

export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const t0 = Date.now();
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd ?? REPO_ROOT,
    });
    track(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = options.timeoutMs ?? 10000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrack(child.pid);
      resolveRun({ code, signal, stdout, stderr, elapsedMs: Date.now() - t0 });
    });
  });
}

/** A foreground (-s) uvscpd whose stderr is collected. */
export class Foreground {
  readonly child: ChildProcess;
  stderr = '';
  stdout = '';
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  constructor(args: readonly string[], env?: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env ?? process.env,
      cwd: REPO_ROOT,
    });
    track(this.child.pid);
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.exit = new Promise((r) =>
      this.child.on('close', (code, signal) => {
        untrack(this.child.pid);
        r({ code, signal, at: Date.now() });
      }),
    );
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Resolves with the port from the `listening on ADDR:PORT` log line. */
  async listening(timeoutMs = 10000): Promise<number> {
    let exited = false;
    void this.exit.then(() => (exited = true));
    const re = /listening on (\S+):(\d+)/;
    await waitFor(() => re.test(this.stderr) || exited, timeoutMs, `"listening on" from uvscpd\n${this.stderr}`);
    const m = re.exec(this.stderr);
    if (m === null) throw new Error(`uvscpd exited before listening:\n${this.stderr}`);
    return Number(m[2]);
  }

  /** Wait for exit, at most timeoutMs (then SIGKILL and throw). */
  async waitExit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`uvscpd did not exit within ${timeoutMs} ms\n${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * Run the CLI (daemon mode) on a port that was free a moment ago; another
 * test running in parallel may take it in between, so EADDRINUSE is retried
 * on another port.
 */
export async function runCliOnFreePort(args: (port: number) => string[], options: RunOptions = {}): Promise<RunResult & { port: number }> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const r = await runCli(args(port), options);
    if (r.code !== 0 && r.stderr.includes('EADDRINUSE') && attempt < 4) continue;
    return { ...r, port };
  }
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(prefix = 'uvscpd-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 }) };
}

/** Whether python3 is on PATH (the sd_notify and syslog tests bind AF_UNIX datagram sockets with it). */
/**
 * The python3 the tests run: the system's (scripts/install-deps.sh installs it) when there
 * is one, not a version manager's shim on PATH, which can take seconds to start in the CAN guest.
 */
export const PYTHON3 = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export async function havePython3(): Promise<boolean> {
  try {
    const r = await runCommand(PYTHON3, ['-c', 'import socket; print(socket.AF_UNIX)'], { timeoutMs: 5000 });
    return r.code === 0;
  } catch {
    return false;
  }
}

/**
 * An AF_UNIX SOCK_DGRAM receiver (Node cannot bind one): python3 prints one
 * JSON string per datagram received on `path` (a filesystem path, or '@name'
 * for the abstract namespace).
 */
export class DatagramReceiver {
  readonly child: ChildProcess;
  readonly messages: string[] = [];
  private out = '';
  private ready = false;

  constructor(readonly path: string) {
    const script = [
      'import json, socket, sys',
      'p = sys.argv[1]',
      "addr = '\\0' + p[1:] if p.startswith('@') else p",
      's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
      's.bind(addr)',
      "print('READY', flush=True)",
      'while True:',
      '    d = s.recv(65536)',
      "    print(json.dumps(d.decode('utf-8', 'replace')), flush=True)",
    ].join('\n');
    this.child = spawn(PYTHON3, ['-c', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    track(this.child.pid);
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
      let nl: number;
      while ((nl = this.out.indexOf('\n')) >= 0) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        if (line === 'READY') this.ready = true;
        else this.messages.push(JSON.parse(line) as string);
      }
    });
  }

  async started(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.ready, timeoutMs, `python3 to bind ${this.path}`);
  }

  async waitFor(pred: (m: string) => boolean, timeoutMs = 5000): Promise<string> {
    await waitFor(() => this.messages.some(pred), timeoutMs, `a datagram on ${this.path}; got ${JSON.stringify(this.messages)}`);
    return this.messages.find(pred) as string;
  }

  stop(): void {
    this.child.kill('SIGKILL');
    untrack(this.child.pid);
  }
}
