// MQTT PUBLISH packets (QoS 0 and 1) written straight into a buffer, many
// per write: the bridge's publication path, one buffer and one socket write
// per batch of bus events instead of MQTT.js's objects, callbacks and
// writes per message (bench/README.md "MQTT"). MQTT.js still owns the
// connection: CONNECT, SUBSCRIBE, keep-alive, reconnects and everything
// received. Pure; the layout is MQTT 3.1.1 §3.3 and MQTT 5.0 §3.3.

/** The Variable Byte Integer (remaining length) size of `n`. */
function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : 4;
}

/** The remaining length of a PUBLISH: topic (length-prefixed), packet id at QoS 1, MQTT 5's empty property list, payload. */
function remainingLength(topicBytes: number, payloadBytes: number, qos: 0 | 1, v5: boolean): number {
  return 2 + topicBytes + (qos === 1 ? 2 : 0) + (v5 ? 1 : 0) + payloadBytes;
}

/** Bytes of the whole PUBLISH packet. */
export function publishPacketSize(topicBytes: number, payloadBytes: number, qos: 0 | 1, v5: boolean): number {
  const rest = remainingLength(topicBytes, payloadBytes, qos, v5);
  return 1 + varintSize(rest) + rest;
}

/**
 * Write one PUBLISH (not retained, not a duplicate) at `offset`; returns the
 * offset after it. `topic` is the topic's UTF-8 bytes; `payload` must be
 * ASCII (the bridge's formatters write nothing else) and is written as its
 * bytes. `packetId` (1..65535) is used at QoS 1 only. The caller sized the
 * buffer with publishPacketSize.
 */
export function writePublish(buf: Buffer, offset: number, topic: Uint8Array, payload: string, qos: 0 | 1, packetId: number, v5: boolean): number {
  let at = offset;
  buf[at++] = 0x30 | (qos << 1);
  let rest = remainingLength(topic.length, payload.length, qos, v5);
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest > 0) byte |= 0x80;
    buf[at++] = byte;
  } while (rest > 0);
  buf[at++] = topic.length >>> 8;
  buf[at++] = topic.length & 0xff;
  buf.set(topic, at);
  at += topic.length;
  if (qos === 1) {
    buf[at++] = packetId >>> 8;
    buf[at++] = packetId & 0xff;
  }
  if (v5) buf[at++] = 0; // no properties
  at += buf.write(payload, at, 'latin1');
  return at;
}

/** Packet ids the bridge uses for its own publications; MQTT.js gets the rest (PacketIdsAbove). */
export const OWN_PACKET_ID_MAX = 60000;

/**
 * QoS 1 publications sent and not yet acknowledged, oldest first. A broker
 * acknowledges in the order it received (MQTT 3.1.1 §4.6), so an
 * acknowledgement is nearly always for the oldest one.
 */
export class InflightWindow {
  private ids: number[] = [];
  private topics: string[] = [];
  private payloads: string[] = [];
  private head = 0;
  private nextId = 1;

  get size(): number {
    return this.ids.length - this.head;
  }

  /** The next packet id, 1..OWN_PACKET_ID_MAX in turn (never one in flight while fewer than that are). */
  allocate(): number {
    const id = this.nextId;
    this.nextId = id === OWN_PACKET_ID_MAX ? 1 : id + 1;
    return id;
  }

  add(id: number, topic: string, payload: string): void {
    this.ids.push(id);
    this.topics.push(topic);
    this.payloads.push(payload);
  }

  /** Remove the publication with this id; false when none is in flight. */
  acknowledge(id: number): boolean {
    let i = this.head;
    const end = this.ids.length;
    while (i < end && this.ids[i] !== id) i++;
    if (i === end) return false;
    if (i === this.head) {
      this.head++;
      if (this.head === this.ids.length) this.reset();
      else if (this.head > 1024 && this.head * 2 > this.ids.length) this.compact();
    } else {
      this.ids.splice(i, 1);
      this.topics.splice(i, 1);
      this.payloads.splice(i, 1);
    }
    return true;
  }

  /** Every publication in flight, oldest first, and none left: to send again on a new connection. */
  takeAll(): { topics: string[]; payloads: string[] } {
    const out = { topics: this.topics.slice(this.head), payloads: this.payloads.slice(this.head) };
    this.reset();
    return out;
  }

  private reset(): void {
    this.ids = [];
    this.topics = [];
    this.payloads = [];
    this.head = 0;
  }

  private compact(): void {
    this.ids = this.ids.slice(this.head);
    this.topics = this.topics.slice(this.head);
    this.payloads = this.payloads.slice(this.head);
    this.head = 0;
  }
}

/**
 * MQTT.js's packet ids (its own QoS 1/2 publications, SUBSCRIBE) from above
 * OWN_PACKET_ID_MAX, so that they never collide with the bridge's.
 * Implements MQTT.js's IMessageIdProvider.
 */
export class PacketIdsAbove {
  private next = OWN_PACKET_ID_MAX + 1;
  private last: number | null = null;

  allocate(): number | null {
    const id = this.next;
    this.next = id === 65535 ? OWN_PACKET_ID_MAX + 1 : id + 1;
    this.last = id;
    return id;
  }

  getLastAllocated(): number | null {
    return this.last;
  }

  register(num: number): boolean {
    return num > OWN_PACKET_ID_MAX && num <= 65535;
  }

  deallocate(_num: number): void {
    // ids are handed out in turn; nothing to free
  }

  clear(): void {
    this.next = OWN_PACKET_ID_MAX + 1;
    this.last = null;
  }
}
