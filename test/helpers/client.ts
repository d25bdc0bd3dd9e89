// A small line-oriented TCP client for protocol tests: connect, read the
// banner, send raw bytes or lines, read lines with a timeout, expect silence
// or the close. Every wait is bounded.

import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';

const DEFAULT_TIMEOUT_MS = 3000;

export class TestClient {
  /** Every byte received, in `store[0..storeLength)`; grown by doubling (no O(n²) concatenation). */
  private store = Buffer.alloc(4096);
  private storeLength = 0;
  /** Bytes of `received` already handed out as lines. */
  private consumed = 0;
  private ended = false;
  private closedFlag = false;
  private errorCode: string | null = null;
  private waiters: (() => void)[] = [];

  private get received(): Buffer {
    return this.store.subarray(0, this.storeLength);
  }

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (this.storeLength + chunk.length > this.store.length) {
        const grown = Buffer.alloc(Math.max(this.store.length * 2, this.storeLength + chunk.length));
        this.store.copy(grown, 0, 0, this.storeLength);
        this.store = grown;
      }
      chunk.copy(this.store, this.storeLength);
      this.storeLength += chunk.length;
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errorCode = err.code ?? err.message;
      this.wake();
    });
    socket.on('close', () => {
      this.closedFlag = true;
      this.wake();
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = DEFAULT_TIMEOUT_MS): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ port, host });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', reject);
        resolve(new TestClient(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Connect and read the 3-line banner; returns its lines. */
  static async connectReady(port: number, host = '127.0.0.1'): Promise<TestClient> {
    const c = await TestClient.connect(port, host);
    const banner = await c.readUntilStatus();
    const last = banner[banner.length - 1] ?? '';
    if (!last.startsWith('+OK')) {
      c.destroy();
      throw new Error(`banner did not end with +OK: ${JSON.stringify(banner)}`);
    }
    return c;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  get peerEnded(): boolean {
    return this.ended;
  }

  get socketError(): string | null {
    return this.errorCode;
  }

  /** Every byte received so far. */
  get allReceived(): Buffer {
    return this.received;
  }

  /** Bytes received but not yet read as lines. */
  get unread(): Buffer {
    return this.received.subarray(this.consumed);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `ready()` holds, the timeout passes (reject) or the socket closes (ready checked last). */
  private waitFor(ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (ready()) {
          clearTimeout(timer);
          resolve();
        } else if (this.closedFlag) {
          clearTimeout(timer);
          reject(new Error(`connection closed while waiting for ${what}; unread: ${JSON.stringify(this.unread.toString('latin1'))}`));
        } else {
          this.waiters.push(check);
        }
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((f) => f !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; unread: ${JSON.stringify(this.unread.toString('latin1').slice(0, 300))}`));
      }, timeoutMs);
      check();
    });
  }

  write(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Send `text` + CRLF. */
  sendLine(text: string): void {
    this.write(text + '\r\n');
  }

  /**
   * Next line, without its CRLF. Rejects if a line ends in a bare LF
   * (every server line must end in CRLF, protocol §9 #7).
   */
  async readLine(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    await this.waitFor(() => this.received.indexOf(0x0a, this.consumed) >= 0, 'a line', timeoutMs);
    const lf = this.received.indexOf(0x0a, this.consumed);
    const raw = this.received.subarray(this.consumed, lf);
    this.consumed = lf + 1;
    if (raw.length === 0 || raw[raw.length - 1] !== 0x0d) throw new Error(`line without CRLF: ${JSON.stringify(raw.toString('latin1'))}`);
    return raw.subarray(0, raw.length - 1).toString('latin1');
  }

  async readLines(count: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(await this.readLine(Math.max(1, deadline - Date.now())));
    return out;
  }

  /** Lines up to and including the first one starting with +OK or -OK. */
  async readUntilStatus(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    const out: string[] = [];
    for (;;) {
      const line = await this.readLine(Math.max(1, deadline - Date.now()));
      out.push(line);
      if (line.startsWith('+OK') || line.startsWith('-OK')) return out;
    }
  }

  /** Send a command line and return its reply lines (through the status line). */
  async command(text: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    this.sendLine(text);
    return this.readUntilStatus(timeoutMs);
  }

  /** Resolves when the server closes the connection; returns the lines not yet read. */
  async expectClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string[]> {
    await this.waitFor(() => this.ended || this.closedFlag, 'the connection to close', timeoutMs);
    const rest = this.unread.toString('latin1');
    this.consumed = this.received.length;
    return rest.length === 0 ? [] : rest.replace(/\r\n$/, '').split('\r\n');
  }

  /** Asserts that nothing more arrives within `ms`. */
  async expectSilence(ms: number): Promise<void> {
    const before = this.received.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.received.length !== before) {
      throw new Error(`expected silence, got ${JSON.stringify(this.received.subarray(before).toString('latin1'))}`);
    }
  }

  /** Everything received so far, as text (one char per byte). */
  get receivedText(): string {
    return this.received.toString('latin1');
  }

  /** Waits until everything received so far contains `text` (or matches it). */
  async waitForText(text: string | RegExp, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const found = (): boolean => (typeof text === 'string' ? this.receivedText.includes(text) : text.test(this.receivedText));
    await this.waitFor(found, String(text), timeoutMs);
    return this.receivedText;
  }

  /** Number of bytes received so far (for waiting on arbitrary output). */
  get receivedLength(): number {
    return this.received.length;
  }

  /** Waits until at least `bytes` bytes have been received in total. */
  async waitForBytes(bytes: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    await this.waitFor(() => this.received.length >= bytes, `${bytes} bytes`, timeoutMs);
  }

  /** Half-close: send FIN, keep reading. */
  endInput(): void {
    this.socket.end();
  }

  /** Close now (RST if unread data is pending). */
  destroy(): void {
    this.socket.destroy();
  }

  /** Close with a TCP reset. */
  reset(): void {
    this.socket.resetAndDestroy();
  }
}
