// A real Mosquitto per test: its own configuration (anonymous, password
// file, TLS with certificates made here), a free loopback port, started and
// stopped by the test. Also the third-party clients mosquitto_sub and
// mosquitto_pub. Debian's `mosquitto` and `mosquitto-clients`
// (scripts/install-deps.sh); a missing binary fails the test, never skips it.

import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { freePort } from './cli.js';
import { join } from 'node:path';

const MOSQUITTO_CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'];

export function mosquittoBinary(): string {
  const found = MOSQUITTO_CANDIDATES.find((p) => existsSync(p));
  if (found === undefined) throw new Error('mosquitto is not installed (Debian: mosquitto, mosquitto-clients; run scripts/install-deps.sh)');
  return found;
}

/** Every broker and client process a test file started, for killAllBrokers() in after(). */
const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function killAllBrokers(): void {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

export { freePort } from './cli.js';

export function tempDir(prefix = 'uvscpd-mqtt-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

/** Certificates made at test time with openssl: a CA, the broker's (localhost, 127.0.0.1), a client's, and a stranger CA. */
export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting it must fail the broker's certificate. */
  otherCaCert: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCertificates(): TestCertificates {
  const dir = tempDir('uvscpd-certs-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=uvscpd test CA'], dir);
  openssl(['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.crt', '-days', '2', '-subj', '/CN=uvscpd other CA'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'server.ext'], dir);
  openssl(['req', ...ec, '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=uvscpd-client'], dir);
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2'], dir);
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    otherCaCert: join(dir, 'other.crt'),
  };
}

export interface BrokerOptions {
  /** user -> password: a password file made with mosquitto_passwd; anonymous clients refused. */
  users?: Readonly<Record<string, string>>;
  /** TLS listener with these certificates; `requireClientCert` asks clients for one signed by the CA. */
  tls?: TestCertificates;
  requireClientCert?: boolean;
  /** Listen on this port (e.g. one a bridge already tries); default a free one. */
  port?: number;
  /** Keep sessions and queued messages across restarts (in the broker's own directory). */
  persistence?: boolean;
  /** Extra configuration lines. */
  extra?: readonly string[];
}

export class Broker {
  private child: ChildProcess | null = null;
  private logText = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly configFile: string,
    readonly options: BrokerOptions,
  ) {}

  get tls(): boolean {
    return this.options.tls !== undefined;
  }

  static async start(options: BrokerOptions = {}): Promise<Broker> {
    mosquittoBinary(); // fails at once, with the reason, when it is not installed
    const dir = tempDir();
    for (let attempt = 0; ; attempt++) {
      const port = options.port ?? (await freePort());
      const lines = [
        `listener ${port} 127.0.0.1`,
        ...(options.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
        // Tests count every message: the broker must not drop any for a slow subscriber.
        'max_queued_messages 1000000',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'log_type information',
        'connection_messages true',
        // As root Mosquitto would switch to the mosquitto user, who cannot read this test's files.
        'user root',
      ];
      if (options.users !== undefined) {
        const passwords = join(dir, 'passwords');
        writeFileSync(passwords, '');
        for (const [user, password] of Object.entries(options.users)) {
          execFileSync('mosquitto_passwd', ['-b', passwords, user, password], { stdio: 'ignore' });
        }
        lines.push(`password_file ${passwords}`, 'allow_anonymous false');
      } else {
        lines.push('allow_anonymous true');
      }
      if (options.tls !== undefined) {
        lines.push(`cafile ${options.tls.caCert}`, `certfile ${options.tls.serverCert}`, `keyfile ${options.tls.serverKey}`);
        if (options.requireClientCert) lines.push('require_certificate true');
      }
      lines.push(...(options.extra ?? []));
      const configFile = join(dir, 'mosquitto.conf');
      writeFileSync(configFile, lines.join('\n') + '\n');
      const broker = new Broker(port, dir, configFile, options);
      try {
        await broker.launch();
        return broker;
      } catch (err) {
        if (attempt >= 2 || options.port !== undefined) throw err; // the free port was taken meanwhile: try another
      }
    }
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://${this.tls ? 'localhost' : '127.0.0.1'}:${this.port}`;
  }

  /** Everything the broker logged (stderr), across restarts. */
  get log(): string {
    return this.logText;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private launch(): Promise<void> {
    const child = spawn(mosquittoBinary(), ['-c', this.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    this.child = child;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => finish(new Error(`mosquitto did not start within 5 s:\n${this.logText}`)), 5000);
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) {
          child.kill('SIGKILL');
          reject(err);
        } else {
          resolve();
        }
      };
      child.stderr!.on('data', (d: Buffer) => {
        this.logText += d.toString('utf8');
        if (/mosquitto version \S+ running/.test(this.logText.slice(-400))) finish();
      });
      child.on('exit', (code, signal) => {
        children.delete(child);
        if (this.child === child) this.child = null;
        finish(new Error(`mosquitto exited (${code ?? signal}):\n${this.logText}`));
      });
    });
  }

  /** SIGTERM and wait for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }

  /** Start again on the same port with the same configuration. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** How many times the broker logged a client connecting from the network. */
  connectionAttempts(): number {
    return (this.logText.match(/New connection from /g) ?? []).length;
  }
}

/** mosquitto_sub/mosquitto_pub arguments to reach `broker`: its CA (and client certificate), its first user. */
export function clientArgs(broker: Broker): string[] {
  const args = ['-h', broker.tls ? 'localhost' : '127.0.0.1', '-p', String(broker.port)];
  const { tls, requireClientCert, users } = broker.options;
  if (tls !== undefined) args.push('--cafile', tls.caCert);
  if (tls !== undefined && requireClientCert) args.push('--cert', tls.clientCert, '--key', tls.clientKey);
  const first = users === undefined ? undefined : Object.entries(users)[0];
  if (first !== undefined) args.push('-u', first[0], '-P', first[1]);
  return args;
}

/** mosquitto_pub of one message (`-m`), waiting for it to finish. */
export function mosquittoPub(broker: Broker, topic: string, message: string, more: string[] = []): void {
  execFileSync('mosquitto_pub', [...clientArgs(broker), '-t', topic, '-m', message, ...more], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface Subscriber {
  /** `topic payload` lines (mosquitto_sub -v) received so far. */
  readonly lines: string[];
  /** Resolves with the first `count` lines; rejects on timeout. */
  waitFor(count: number, timeoutMs?: number): Promise<string[]>;
  stop(): void;
}

/**
 * mosquitto_sub -v on `topics`, started once it is subscribed (it prints
 * nothing before: a retained marker message is used to know). `extra`
 * are more mosquitto_sub arguments (-V mqttv5, -q 1, ...).
 */
export async function mosquittoSub(broker: Broker, topics: readonly string[], extra: string[] = []): Promise<Subscriber> {
  const marker = `uvscpd-test/ready/${process.pid}/${Math.random().toString(36).slice(2)}`;
  const args = [...clientArgs(broker), '-v', ...extra, '-t', marker];
  for (const t of topics) args.push('-t', t);
  const child = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines: string[] = [];
  let pending = '';
  let ready: (() => void) | null = null;
  const readyPromise = new Promise<void>((r) => (ready = r));
  child.stdout!.on('data', (d: Buffer) => {
    pending += d.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const p of parts) {
      if (p.startsWith(marker + ' ')) ready?.();
      else lines.push(p);
    }
  });
  // Until mosquitto_sub is subscribed, publish the marker again and again (not retained: nothing stays behind).
  const deadline = Date.now() + 5000;
  let subscribed = false;
  void readyPromise.then(() => (subscribed = true));
  while (!subscribed) {
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('mosquitto_sub did not subscribe within 5 s');
    }
    mosquittoPub(broker, marker, 'x');
    await Promise.race([readyPromise, new Promise((r) => setTimeout(r, 100))]);
  }
  return {
    lines,
    async waitFor(count: number, timeoutMs = 5000) {
      const end = Date.now() + timeoutMs;
      while (lines.length < count) {
        if (Date.now() > end) throw new Error(`mosquitto_sub got ${lines.length} of ${count} messages: ${JSON.stringify(lines.slice(-5))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return lines.slice(0, count);
    },
    stop() {
      child.kill();
    },
  };
}
