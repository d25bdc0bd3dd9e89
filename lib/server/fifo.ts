// A bounded first-in first-out ring: the per-session receive buffer
// (protocol §4.2) with design.md D1: when full, a push drops the OLDEST entry and
// counts it (the original deadlocked instead, protocol §4.3). Pure.

export class BoundedFifo<T> {
  private readonly slots: (T | undefined)[];
  private head = 0; // index of the oldest entry
  private count = 0;
  private droppedCount = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`invalid FIFO capacity ${capacity}`);
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Entries dropped because the FIFO was full, since creation (never reset by clear). */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Append; when full, the oldest entry is discarded first. Returns true when one was. */
  push(item: T): boolean {
    const cap = this.capacity;
    if (this.count === cap) {
      this.slots[this.head] = item; // overwrite the oldest, which makes the next one the oldest
      this.head = this.head + 1 === cap ? 0 : this.head + 1;
      this.droppedCount++;
      return true;
    }
    let tail = this.head + this.count;
    if (tail >= cap) tail -= cap;
    this.slots[tail] = item;
    this.count++;
    return false;
  }

  /** Remove and return the oldest entry, or undefined when empty. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
    return item;
  }

  /** Remove and return every entry, oldest first. */
  drain(): T[] {
    const out: T[] = new Array<T>(this.count);
    for (let i = 0; i < out.length; i++) out[i] = this.shift() as T;
    return out;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}
