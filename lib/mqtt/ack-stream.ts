// The broker connection as MQTT.js sees it: the real socket (TCP, TLS or
// WebSocket stream) with the bridge's own PUBACKs taken out of what it
// reads (puback.ts). Writes and the connection's end, errors and close go
// through unchanged. The bridge writes its PUBLISH batches on the real
// socket itself; MQTT.js writes CONNECT, SUBSCRIBE, PINGREQ and its own
// publications through this stream, straight on to the socket.

import { Duplex } from 'node:stream';
import type { PubackHandler } from './puback.js';
import { PubackExtractor } from './puback.js';

export interface AckFilterEvents {
  /** One own PUBACK. */
  onAck: PubackHandler;
  /** After each chunk read that held at least one own PUBACK: refill the window once per read. */
  onAcksRead: () => void;
}

export class AckFilteringStream extends Duplex {
  private readonly extractor: PubackExtractor;
  private acksInChunk = 0;
  private readonly countAck: PubackHandler;
  private readonly passOn = (bytes: Buffer): void => {
    // MQTT.js reads slower than the socket: stop reading until it asks for more (_read).
    if (!this.push(bytes)) this.inner.pause();
  };

  constructor(
    readonly inner: Duplex,
    ownIdMax: number,
    events: AckFilterEvents,
  ) {
    super();
    this.extractor = new PubackExtractor(ownIdMax);
    this.countAck = (id, reasonCode) => {
      this.acksInChunk++;
      events.onAck(id, reasonCode);
    };
    inner.on('data', (chunk: Buffer) => {
      this.acksInChunk = 0;
      this.extractor.feed(chunk, this.countAck, this.passOn);
      if (this.acksInChunk > 0) events.onAcksRead();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err: Error) => this.destroy(err));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {
    this.inner.resume();
  }

  // MQTT.js writes one packet in several pieces; the bridge writes on the real socket directly.
  // Each piece is handed to the socket at once (its own buffer takes it), never held back for a
  // callback: otherwise a batch of the bridge's publications could land inside a packet.
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.inner.write(chunk);
    callback();
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (err?: Error | null) => void): void {
    const inner = this.inner;
    inner.cork();
    for (const c of chunks) inner.write(c.chunk);
    inner.uncork();
    callback();
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.inner.destroy();
    callback(err);
  }
}
