// The broker's PUBACKs for the bridge's own QoS 1 publications, taken out
// of the incoming byte stream before MQTT.js sees it. MQTT.js parses every
// packet into an object with its generic parser and handles one packet per
// tick; at thousands of acknowledgements a second that is most of the
// bridge's cost, and a PINGRESP waits behind all of them. Here a PUBACK is
// read in place (MQTT 3.1.1 §3.4: 0x40 0x02 id id; MQTT 5.0 §3.4 adds a
// reason code and properties) and everything else goes on, byte for byte,
// to MQTT.js. Pure: no I/O.

const PUBACK = 0x40;
/** A fixed header is at most 5 bytes (type, 4-byte remaining length); a PUBACK's id and reason code are 3 more. */
const MAX_DECISION_BYTES = 8;

const enum Mode {
  /** At a packet's first byte, or some of its first bytes are held. */
  Header,
  /** Inside a packet that goes to MQTT.js. */
  Pass,
  /** Inside an own PUBACK already reported (its properties). */
  Skip,
  /** The framing made no sense: everything goes to MQTT.js, whose parser reports the error. */
  Raw,
}

const enum Verdict {
  NeedMore,
  Other,
  Own,
  Malformed,
}

export type PubackHandler = (packetId: number, reasonCode: number) => void;
export type PassHandler = (bytes: Buffer) => void;

/**
 * Splits one connection's incoming bytes: PUBACKs whose packet id is
 * 1..ownIdMax are reported through `onAck` (reason code 0 when the packet
 * has none); all other bytes are handed to `pass`, in order, as they come.
 * A PUBACK split across chunks is held until it can be told apart. One
 * extractor per connection.
 */
export class PubackExtractor {
  private mode = Mode.Header;
  /** Bytes of the packet at hand not yet passed: it may still be an own PUBACK. */
  private readonly held = Buffer.alloc(MAX_DECISION_BYTES);
  private heldLength = 0;
  /** Bytes of the current packet still to come, in Pass and Skip. */
  private left = 0;
  // classify()'s findings about the packet it looked at.
  private packetLength = 0;
  private packetId = 0;
  private reasonCode = 0;

  constructor(private readonly ownIdMax: number) {
    if (!Number.isInteger(ownIdMax) || ownIdMax < 1 || ownIdMax > 65535) throw new RangeError(`ownIdMax must be 1..65535, got ${String(ownIdMax)}`);
  }

  /** Own acknowledgements go to onAck, the rest of `chunk` to pass (zero or more slices of it). */
  feed(chunk: Buffer, onAck: PubackHandler, pass: PassHandler): void {
    const end = chunk.length;
    let i = 0;
    /** Start of the bytes of this chunk that go to MQTT.js and are not handed over yet. */
    let run = 0;
    while (i < end) {
      const mode = this.mode;
      if (mode === Mode.Raw) {
        i = end;
        break;
      }
      if (mode === Mode.Pass || mode === Mode.Skip) {
        const k = Math.min(this.left, end - i);
        i += k;
        this.left -= k;
        if (mode === Mode.Skip) run = i;
        if (this.left === 0) this.mode = Mode.Header;
        continue;
      }
      if (this.heldLength === 0) {
        // The common case: the packet's first bytes are all in this chunk.
        const verdict = this.classify(chunk, i, end);
        if (verdict === Verdict.Other) {
          this.enter(Mode.Pass, this.packetLength);
        } else if (verdict === Verdict.Own) {
          if (i > run) pass(chunk.subarray(run, i));
          onAck(this.packetId, this.reasonCode);
          this.enter(Mode.Skip, this.packetLength);
          run = i;
        } else if (verdict === Verdict.NeedMore) {
          if (i > run) pass(chunk.subarray(run, i));
          chunk.copy(this.held, 0, i, end);
          this.heldLength = end - i;
          i = end;
          run = end;
        } else {
          this.mode = Mode.Raw;
        }
        continue;
      }
      // The packet began in an earlier chunk: add bytes one at a time until it can be classified.
      this.held[this.heldLength++] = chunk[i++] as number;
      run = i;
      const verdict = this.classify(this.held, 0, this.heldLength);
      if (verdict === Verdict.NeedMore) continue;
      const heldBytes = this.heldLength;
      this.heldLength = 0;
      if (verdict === Verdict.Own) {
        onAck(this.packetId, this.reasonCode);
        this.enter(Mode.Skip, this.packetLength - heldBytes);
      } else {
        pass(Buffer.from(this.held.subarray(0, heldBytes)));
        if (verdict === Verdict.Other) this.enter(Mode.Pass, this.packetLength - heldBytes);
        else this.mode = Mode.Raw;
      }
    }
    if (end > run) pass(run === 0 ? chunk : chunk.subarray(run, end));
  }

  private enter(mode: Mode.Pass | Mode.Skip, left: number): void {
    this.left = left;
    this.mode = left > 0 ? mode : Mode.Header;
  }

  /** Look at the packet starting at b[start] (bytes up to `end` are there) and say what it is. */
  private classify(b: Uint8Array, start: number, end: number): Verdict {
    let at = start + 1;
    let remaining = 0;
    let factor = 1;
    for (;;) {
      if (at >= end) return Verdict.NeedMore;
      const byte = b[at++] as number;
      remaining += (byte & 0x7f) * factor;
      if (byte < 0x80) break;
      if (at - start > 4) return Verdict.Malformed; // a fifth length byte
      factor *= 128;
    }
    const headerLength = at - start;
    this.packetLength = headerLength + remaining;
    // Anything but a well-formed PUBACK is MQTT.js's business, even a bad one.
    if (b[start] !== PUBACK || remaining < 2) return Verdict.Other;
    const needed = headerLength + (remaining >= 3 ? 3 : 2);
    if (end - start < needed) return Verdict.NeedMore;
    const id = ((b[at] as number) << 8) | (b[at + 1] as number);
    if (id === 0 || id > this.ownIdMax) return Verdict.Other;
    this.packetId = id;
    this.reasonCode = remaining >= 3 ? (b[at + 2] as number) : 0;
    return Verdict.Own;
  }
}
