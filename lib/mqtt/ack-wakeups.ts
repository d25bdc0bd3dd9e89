// One wake-up per batch of QoS 1 acknowledgements instead of one per PUBACK.
// The broker answers each publication with a 4-byte PUBACK of its own, and a
// bridge idle in epoll woke for each one that came alone: a turn of the event
// loop and a read, most of what QoS 1 costs where the broker shares the CPU.
// SO_RCVLOWAT set to the least the outstanding acknowledgements add up to
// makes the kernel report the connection readable once they are there. The
// end of the connection and its errors wake it whatever the mark.
//
// A broker that sends with Nagle's algorithm (Mosquitto's default) holds
// every PUBACK after the first until the bridge's TCP acknowledges it, and
// that rides on the bridge's next write, or comes with the delayed ACK
// timer (40 ms or more). So the mark waits only while the bridge can still
// write: with the window full it is one byte, and every PUBACK is read as it
// comes, as without the mark.
//
// Plain TCP only: under TLS or WebSocket framing the bytes per
// acknowledgement are not known, and those connections keep the default.

import type { Duplex } from 'node:stream';
import { loadAddon } from '../can/native.js';

/** The smallest PUBACK: MQTT 3.1.1, and MQTT 5.0 with reason code Success and no properties. */
const PUBACK_MIN_BYTES = 4;

/**
 * At most this many acknowledgements are waited for: publications whose
 * PUBACK came but was not read yet are sent again after a reconnect.
 */
export const MAX_AWAITED_ACKS = 64;

/**
 * The receive low-water mark, in bytes, while `outstanding` publications wait
 * for their acknowledgements in a window of `window`. The acknowledgement at
 * the head of the stream may be partly read already (PubackExtractor holds
 * it), so it counts one byte.
 */
export function ackLowWaterBytes(outstanding: number, window: number): number {
  if (outstanding <= 1 || outstanding >= window) return 1;
  return PUBACK_MIN_BYTES * (Math.min(outstanding, MAX_AWAITED_ACKS) - 1) + 1;
}

/** setsockopt(SO_RCVLOWAT); false when the kernel refuses. */
export type LowWaterSetter = (fd: number, bytes: number) => boolean;

let addonSetter: LowWaterSetter | null | undefined;

/**
 * The addon's setter, or null where the addon is not built or predates it,
 * and with UVSCPD_MQTT_ACK_LOW_WATER=0 (for measuring what the mark saves,
 * and for a broker it does not suit). The addon is looked for once.
 */
export function lowWaterSetter(): LowWaterSetter | null {
  if (process.env.UVSCPD_MQTT_ACK_LOW_WATER === '0') return null;
  if (addonSetter === undefined) {
    try {
      const addon = loadAddon();
      const set = addon.setReceiveLowWater;
      addonSetter = typeof set === 'function' ? (fd, bytes) => set.call(addon, fd, bytes) : null;
    } catch {
      addonSetter = null;
    }
  }
  return addonSetter;
}

interface NodeSocketInternals {
  encrypted?: boolean;
  /** Node's TCP handle; its `fd` is the descriptor on Unix. Null once the socket is closed. */
  _handle?: { fd?: unknown } | null;
}

/** Reads the descriptor of a plain TCP connection when called; null for TLS and WebSocket streams. */
function plainTcpDescriptor(connection: Duplex): (() => number) | null {
  const s = connection as Duplex & NodeSocketInternals;
  if (s.encrypted === true || s._handle === undefined) return null;
  return () => {
    const fd = s._handle?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : -1;
  };
}

/** The low-water mark of one broker connection. */
export class AckWakeups {
  private current = 1;
  /** While true the mark stays at one byte. */
  private held = false;
  private pingOutstanding = false;
  /** Null when the mark is not used on this connection, or the kernel refused it. */
  private descriptor: (() => number) | null;

  constructor(
    connection: Duplex,
    private readonly setLowWater: LowWaterSetter | null,
  ) {
    this.descriptor = setLowWater === null ? null : plainTcpDescriptor(connection);
  }

  /** Whether the mark is used on this connection. */
  get active(): boolean {
    return this.descriptor !== null;
  }

  /** After publishing and after reading acknowledgements: wait for what is outstanding now. */
  update(outstanding: number, window: number): void {
    if (this.descriptor === null) return;
    this.apply(this.held || this.pingOutstanding ? 1 : ackLowWaterBytes(outstanding, window));
  }

  /** A PINGREQ went out: its 2-byte answer must not wait behind acknowledgements. */
  pingSent(): void {
    this.pingOutstanding = true;
    this.apply(1);
  }

  pingAnswered(): void {
    this.pingOutstanding = false;
  }

  /** Every byte wakes from now on (the bridge is stopping and waits for the last acknowledgements). */
  release(): void {
    this.held = true;
    this.apply(1);
  }

  private apply(bytes: number): void {
    const descriptor = this.descriptor;
    if (descriptor === null || bytes === this.current) return;
    const fd = descriptor();
    if (fd < 0) return; // closed
    if (this.setLowWater?.(fd, bytes) === true) this.current = bytes;
    else this.descriptor = null;
  }
}
