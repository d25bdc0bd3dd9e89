// The bridge's publication queue: received frames waiting for the broker,
// bounded, dropping the oldest when full (docs/design.md D1, as a session's
// FIFO). Frames are kept as fixed records in one preallocated buffer, so a
// full queue costs exactly its capacity and queuing allocates nothing; they
// are formatted only when they leave, so a drop costs no formatting either.

/** Record: u32 can_id, u8 length, 3 bytes padding, 8 payload bytes, f64 timestamp (us). */
const RECORD = 24;
const ID = 0;
const LEN = 4;
const DATA = 8;
const TIME = 16;
const MAX_DATA = 8;

/** Largest capacity: 10 million frames is 240 MB, more than any gateway should hold. */
export const MAX_QUEUE_CAPACITY = 10_000_000;

export class FrameQueue {
  private readonly records: Buffer;
  private head = 0; // index of the oldest record
  private count = 0;
  private droppedTotal = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_QUEUE_CAPACITY) {
      throw new RangeError(`queue capacity must be an integer from 1 to ${MAX_QUEUE_CAPACITY}, got ${String(capacity)}`);
    }
    this.records = Buffer.alloc(capacity * RECORD);
  }

  get size(): number {
    return this.count;
  }

  /** Frames dropped because the queue was full. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /**
   * Append a frame (`length` bytes of `data` from `offset`, at most 8).
   * When full, the oldest frame is dropped first; returns false then.
   */
  push(rawId: number, data: Uint8Array, offset: number, length: number, timestampUs: number): boolean {
    let kept = true;
    if (this.count === this.capacity) {
      this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
      this.count--;
      this.droppedTotal++;
      kept = false;
    }
    let slot = this.head + this.count;
    if (slot >= this.capacity) slot -= this.capacity;
    const at = slot * RECORD;
    const n = length < MAX_DATA ? length : MAX_DATA;
    this.records.writeUInt32LE(rawId >>> 0, at + ID);
    this.records[at + LEN] = n;
    for (let i = 0; i < n; i++) this.records[at + DATA + i] = data[offset + i] as number;
    this.records.writeDoubleLE(timestampUs, at + TIME);
    this.count++;
    return kept;
  }

  /** The oldest frame's fields, valid until the next push or shift. Throws on an empty queue. */
  peekRawId(): number {
    return this.records.readUInt32LE(this.oldest() + ID);
  }

  peekLength(): number {
    return this.records[this.oldest() + LEN] as number;
  }

  peekTimestamp(): number {
    return this.records.readDoubleLE(this.oldest() + TIME);
  }

  /** The buffer and offset of the oldest frame's payload, for formatting in place. */
  get buffer(): Buffer {
    return this.records;
  }

  peekDataOffset(): number {
    return this.oldest() + DATA;
  }

  /** Remove the oldest frame. */
  shift(): void {
    if (this.count === 0) throw new RangeError('queue is empty');
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private oldest(): number {
    if (this.count === 0) throw new RangeError('queue is empty');
    return this.head * RECORD;
  }
}
