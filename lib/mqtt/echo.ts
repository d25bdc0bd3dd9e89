// Recognising the bridge's own publications when a subscription brings them
// back (docs/mqtt.md "Loops"). MQTT 5's no-local option keeps the
// broker from sending them in the first place; this memory is what holds
// on any broker and protocol version: the last N messages published, by
// topic and payload. A payload carries the kernel receive time in
// microseconds, so a message equal in both is this gateway's own.

export class RecentPublications {
  private readonly ring: (string | undefined)[];
  private readonly counts = new Map<string, number>();
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${String(capacity)}`);
    this.ring = new Array<string | undefined>(capacity);
  }

  /** NUL cannot occur in a topic, so it separates the two unambiguously. */
  private static key(topic: string, payload: string): string {
    return topic + '\u0000' + payload;
  }

  remember(topic: string, payload: string): void {
    const evicted = this.ring[this.next];
    if (evicted !== undefined) {
      const n = this.counts.get(evicted) ?? 0;
      if (n <= 1) this.counts.delete(evicted);
      else this.counts.set(evicted, n - 1);
    }
    const key = RecentPublications.key(topic, payload);
    this.ring[this.next] = key;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
  }

  /** Whether a message equal in topic and payload was among the last `capacity` published. */
  has(topic: string, payload: string): boolean {
    return this.counts.has(RecentPublications.key(topic, payload));
  }

  get size(): number {
    return this.counts.size;
  }
}
