// Which session of this daemon sent a received frame: the obid of event lines
// (docs/design.md "Channel ids"). vscpd's tcpiplink driver drops every event
// whose obid equals the CHID of its sending connection, so a frame must carry
// the sender's channel id exactly when one of OUR sessions sent it, and 0 for a
// frame from anywhere else, even one with the same id and data.
//
// Why this design (the kernel tells a receiver nothing about the sender):
// - Every local receiver of one frame gets the same kernel receive timestamp,
//   to the nanosecond (one skb, cloned per socket; SO_TIMESTAMPNS), and the
//   kernel marks a copy as locally sent (MSG_DONTROUTE, RECORD_FLAG_LOCAL) and,
//   for the sender with receive-own-messages on, as its own (MSG_CONFIRM,
//   RECORD_FLAG_OWN). So while two or more sessions are live, each session
//   reads back its own frames ("echoes"), and an echo records
//   (timestamp, id, data) -> sender. A receiver that finds its frame there
//   knows the sender exactly; a frame from another program has another
//   timestamp, so a match on id and data alone can never fool it.
// - The one thread reading the sockets hands each socket's frames to
//   JavaScript separately, so a receiver may look before the sender's echo
//   is in. For that window a frame a session has handed to the kernel and
//   whose echo has not come back yet ("in flight", matched by id and data,
//   oldest first) names the sender. Only in that window (normally well below
//   a millisecond, at most IN_FLIGHT_TTL_MS) could an identical frame from
//   another local program be taken for the session's.
// - Frames from other nodes of a real bus are never LOCAL: one flag test, no
//   lookup. With one session nothing is tracked at all (no echoes, no cost).
// Both tables are bounded; each entry is a few numbers.

import type { FrameBatch } from '../can/record.js';

/** How long a sent frame whose echo has not come back may still name its sender. */
export const IN_FLIGHT_TTL_MS = 2000;
/** Most frames remembered while their echo is awaited. */
const MAX_IN_FLIGHT = 4096;
/** Most echoed frames remembered for receivers that read later (their buffers hold far fewer). */
const MAX_ECHOED = 8192;

interface InFlight {
  readonly channel: number;
  readonly rawId: number;
  readonly length: number;
  /** Payload bytes 0..3 and 4..7, little-endian. */
  readonly lo: number;
  readonly hi: number;
  readonly sentAt: number;
  done: boolean;
}

interface Echoed {
  readonly subNs: number;
  readonly rawId: number;
  readonly length: number;
  readonly lo: number;
  readonly hi: number;
  readonly channel: number;
}

function packLo(data: Uint8Array, offset: number, length: number): number {
  let v = 0;
  for (let i = 0; i < 4 && i < length; i++) v |= data[offset + i]! << (8 * i);
  return v >>> 0;
}

function packHi(data: Uint8Array, offset: number, length: number): number {
  let v = 0;
  for (let i = 4; i < 8 && i < length; i++) v |= data[offset + i]! << (8 * (i - 4));
  return v >>> 0;
}

export class FrameOrigins {
  /** Frames sent by sessions whose echo has not been read, by raw id, oldest first. */
  private readonly inFlight = new Map<number, InFlight[]>();
  /** The same entries in send order, for expiry. */
  private readonly inFlightOrder: InFlight[] = [];
  private inFlightHead = 0;
  /** Echoed frames by receive time (whole microseconds). */
  private readonly echoed = new Map<number, Echoed[]>();
  /** Their keys in echo order, for the bound. */
  private readonly echoedOrder: number[] = [];
  private echoedHead = 0;
  private echoedCount = 0;

  constructor(private readonly clock: () => number) {}

  /** Whether anything is remembered (the hot path skips lookups when not). */
  get empty(): boolean {
    return this.echoedCount === 0 && this.inFlightOrder.length === this.inFlightHead;
  }

  /**
   * A session handed a frame to its CAN socket (`rawId` in kernel form). Returns a
   * function that forgets it again, for a send the kernel refused.
   */
  sent(channel: number, rawId: number, data: Uint8Array): () => void {
    const now = this.clock();
    this.expire(now);
    const entry: InFlight = {
      channel,
      rawId: rawId >>> 0,
      length: data.length,
      lo: packLo(data, 0, data.length),
      hi: packHi(data, 0, data.length),
      sentAt: now,
      done: false,
    };
    let list = this.inFlight.get(entry.rawId);
    if (list === undefined) this.inFlight.set(entry.rawId, (list = []));
    list.push(entry);
    this.inFlightOrder.push(entry);
    if (this.inFlightOrder.length - this.inFlightHead > MAX_IN_FLIGHT) this.retire(this.inFlightOrder[this.inFlightHead++]!);
    this.compactInFlight();
    return () => this.retire(entry);
  }

  /** Session `channel` read its own frame `i` of `batch` back (RECORD_FLAG_OWN): the kernel delivered it. */
  echo(channel: number, batch: FrameBatch, i: number): void {
    const rawId = batch.rawId(i) >>> 0;
    const length = batch.length(i);
    const offset = batch.dataOffset(i);
    const lo = packLo(batch.buffer, offset, length);
    const hi = packHi(batch.buffer, offset, length);
    const list = this.inFlight.get(rawId);
    if (list !== undefined) {
      for (const e of list) {
        if (e.channel === channel && e.length === length && e.lo === lo && e.hi === hi) {
          this.retire(e);
          break;
        }
      }
    }
    const us = batch.timestamp(i);
    let bucket = this.echoed.get(us);
    if (bucket === undefined) this.echoed.set(us, (bucket = []));
    bucket.push({ subNs: batch.subMicroNs(i), rawId, length, lo, hi, channel });
    this.echoedOrder.push(us);
    this.echoedCount++;
    if (this.echoedCount > MAX_ECHOED) this.dropOldestEcho();
  }

  /**
   * The channel id of the session that sent frame `i` of `batch` (a LOCAL frame
   * a session other than `receiver` read), or 0 when none of ours did.
   */
  senderOf(batch: FrameBatch, i: number, receiver: number): number {
    const rawId = batch.rawId(i) >>> 0;
    const length = batch.length(i);
    const offset = batch.dataOffset(i);
    let lo = -1;
    let hi = -1;
    const bucket = this.echoed.get(batch.timestamp(i));
    if (bucket !== undefined) {
      const subNs = batch.subMicroNs(i);
      lo = packLo(batch.buffer, offset, length);
      hi = packHi(batch.buffer, offset, length);
      for (const e of bucket) {
        if (e.subNs === subNs && e.rawId === rawId && e.length === length && e.lo === lo && e.hi === hi) return e.channel;
      }
    }
    const list = this.inFlight.get(rawId);
    if (list === undefined) return 0;
    if (lo < 0) {
      lo = packLo(batch.buffer, offset, length);
      hi = packHi(batch.buffer, offset, length);
    }
    const oldest = this.clock() - IN_FLIGHT_TTL_MS;
    for (const e of list) {
      if (e.channel !== receiver && e.sentAt >= oldest && e.length === length && e.lo === lo && e.hi === hi) return e.channel;
    }
    return 0;
  }

  private retire(e: InFlight): void {
    if (e.done) return;
    e.done = true;
    const list = this.inFlight.get(e.rawId);
    if (list === undefined) return;
    const at = list.indexOf(e);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.inFlight.delete(e.rawId);
  }

  private expire(now: number): void {
    const oldest = now - IN_FLIGHT_TTL_MS;
    while (this.inFlightHead < this.inFlightOrder.length) {
      const e = this.inFlightOrder[this.inFlightHead]!;
      if (!e.done && e.sentAt >= oldest) break;
      this.retire(e);
      this.inFlightHead++;
    }
  }

  /** Drop retired entries from the front of the order list now and then (amortized O(1)). */
  private compactInFlight(): void {
    if (this.inFlightHead > 1024 && this.inFlightHead * 2 > this.inFlightOrder.length) {
      this.inFlightOrder.splice(0, this.inFlightHead);
      this.inFlightHead = 0;
    }
  }

  private dropOldestEcho(): void {
    const us = this.echoedOrder[this.echoedHead++]!;
    const bucket = this.echoed.get(us);
    if (bucket !== undefined) {
      bucket.shift();
      if (bucket.length === 0) this.echoed.delete(us);
    }
    this.echoedCount--;
    if (this.echoedHead > 1024 && this.echoedHead * 2 > this.echoedOrder.length) {
      this.echoedOrder.splice(0, this.echoedHead);
      this.echoedHead = 0;
    }
  }
}
