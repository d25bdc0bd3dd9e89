// The bus state a CAN socket derives from the error frames it receives, and the
// error counts it shows in getStats(). Pure: the socket feeds decoded frames in
// and emits `busState` itself when update() reports a change.
//
// Follows the kernel's CAN device layer (drivers/net/can/dev): a driver reports a
// state change as a controller frame whose data[1] bits name the new state (so a
// drop from passive to warning arrives as a warning bit alone, a recovery as
// CAN_ERR_CRTL_ACTIVE), bus-off as CAN_ERR_BUSOFF, and a restart after bus-off as
// CAN_ERR_RESTARTED; the state follows the error counters by the protocol's
// thresholds; and the warning / passive / bus-off counts grow only when the state
// becomes more severe.

import type { CanErrorDescription, ControllerState, ErrorCounters } from './error-frame.js';
import type { FrameBatch } from './record.js';
import { CAN_ERR_FLAG } from './types.js';
import { CAN_BUS_OFF_THRESHOLD, CAN_ERROR_PASSIVE_THRESHOLD, CAN_ERROR_WARNING_THRESHOLD, decodeErrorFrame } from './error-frame.js';

/** Fault-confinement state of the CAN controller, as the socket last heard of it. */
export type CanBusState = ControllerState | 'bus-off';

/** Every bus state, by rising severity. */
export const CAN_BUS_STATES: readonly CanBusState[] = ['error-active', 'error-warning', 'error-passive', 'bus-off'];

/** Counts kept from error frames; plain numbers, for getStats(). */
export interface CanBusErrorStats {
  /** Error frames consumed. */
  errorFrames: number;
  /** Times the state became bus-off. */
  busOff: number;
  /** Times the state became error-warning from error-active. */
  errorWarning: number;
  /** Times the state became error-passive from a less severe state. */
  errorPassive: number;
  /** Controller restarts (CAN_ERR_RESTARTED). */
  restarts: number;
  /** Controller RX buffer overflows (CAN_ERR_CRTL_RX_OVERFLOW). */
  rxOverflows: number;
  /** Controller TX buffer overflows (CAN_ERR_CRTL_TX_OVERFLOW). */
  txOverflows: number;
  /** Protocol violations (CAN_ERR_PROT). */
  protocolErrors: number;
  /** Bus errors (CAN_ERR_BUSERROR). */
  busErrors: number;
  /** Transmissions nobody acknowledged (CAN_ERR_ACK). */
  ackErrors: number;
  /** Lost arbitrations (CAN_ERR_LOSTARB). */
  arbitrationLost: number;
  /** Transceiver reports (CAN_ERR_TRX). */
  transceiverErrors: number;
  /** TX timeouts (CAN_ERR_TX_TIMEOUT). */
  txTimeouts: number;
}

/** What update() reports when the state changed. */
export interface BusStateChange {
  readonly previous: CanBusState;
  readonly state: CanBusState;
}

function severity(state: CanBusState): number {
  return CAN_BUS_STATES.indexOf(state);
}

/** The state a pair of error counters means, by the protocol's thresholds (the kernel's can_state_err_to_state). */
export function busStateFromCounters(tx: number, rx: number): CanBusState {
  const worst = Math.max(tx, rx);
  if (worst >= CAN_BUS_OFF_THRESHOLD) return 'bus-off';
  if (worst >= CAN_ERROR_PASSIVE_THRESHOLD) return 'error-passive';
  if (worst >= CAN_ERROR_WARNING_THRESHOLD) return 'error-warning';
  return 'error-active';
}

/**
 * The state an error frame reports, given the current one; undefined when it reports none.
 * In order: bus-off; the state named by the controller bits; the error counters; a restart
 * (error-active). The counters (8 bits in a frame, so never bus-off) do not take the state
 * out of bus-off: only a restart or a controller report does, as in the kernel.
 */
export function reportedBusState(d: CanErrorDescription, current: CanBusState): CanBusState | undefined {
  if (d.busOff) return 'bus-off';
  if (d.controller?.state !== undefined) return d.controller.state;
  if (d.counters !== undefined && (current !== 'bus-off' || d.restarted)) return busStateFromCounters(d.counters.tx, d.counters.rx);
  if (d.restarted) return 'error-active';
  return undefined;
}

function zeroStats(): CanBusErrorStats {
  return {
    errorFrames: 0,
    busOff: 0,
    errorWarning: 0,
    errorPassive: 0,
    restarts: 0,
    rxOverflows: 0,
    txOverflows: 0,
    protocolErrors: 0,
    busErrors: 0,
    ackErrors: 0,
    arbitrationLost: 0,
    transceiverErrors: 0,
    txTimeouts: 0,
  };
}

/** Derives the bus state from decoded error frames and counts what they report. Starts error-active. */
export class BusStateTracker {
  #state: CanBusState = 'error-active';
  #counters: ErrorCounters | undefined;
  readonly #stats: CanBusErrorStats = zeroStats();

  get state(): CanBusState {
    return this.#state;
  }

  /** The error counters of the last frame that carried them (CAN_ERR_CNT); undefined before any. */
  get errorCounters(): ErrorCounters | undefined {
    return this.#counters;
  }

  /** A copy of the counts. */
  stats(): CanBusErrorStats {
    return { ...this.#stats };
  }

  /** Consumes one decoded error frame; returns the change when the state changed, else null. */
  update(d: CanErrorDescription): BusStateChange | null {
    const s = this.#stats;
    s.errorFrames++;
    if (d.txTimeout) s.txTimeouts++;
    if (d.lostArbitration) s.arbitrationLost++;
    if (d.controller?.rxOverflow) s.rxOverflows++;
    if (d.controller?.txOverflow) s.txOverflows++;
    if (d.protocol) s.protocolErrors++;
    if (d.transceiver) s.transceiverErrors++;
    if (d.noAck) s.ackErrors++;
    if (d.busError) s.busErrors++;
    if (d.restarted) s.restarts++;
    if (d.counters) this.#counters = d.counters;

    const next = reportedBusState(d, this.#state);
    if (next === undefined) return null;
    return this.#enter(next);
  }

  /** Decodes and consumes one error frame (see decodeErrorFrame for `id` and `data`). */
  updateFromFrame(id: number, data: Uint8Array): BusStateChange | null {
    return this.update(decodeErrorFrame(id, data));
  }

  /**
   * Back to error-active without an error frame, counts kept: for when the interface
   * was brought down and up again, which restarts the controller without reporting it.
   */
  reset(): BusStateChange | null {
    this.#counters = undefined;
    return this.#enter('error-active');
  }

  #enter(next: CanBusState): BusStateChange | null {
    const previous = this.#state;
    if (next === previous) return null;
    if (severity(next) > severity(previous)) {
      if (next === 'error-warning') this.#stats.errorWarning++;
      else if (next === 'error-passive') this.#stats.errorPassive++;
      else if (next === 'bus-off') this.#stats.busOff++;
    }
    this.#state = next;
    return { previous, state: next };
  }
}

/** Feeds a batch's error frames to `tracker`; returns the state changes in order, or null when there were none. */
export function trackBatch(tracker: BusStateTracker, batch: FrameBatch): BusStateChange[] | null {
  let changes: BusStateChange[] | null = null;
  for (let i = 0; i < batch.count; i++) {
    const rawId = batch.rawId(i);
    if ((rawId & CAN_ERR_FLAG) === 0) continue;
    const off = batch.dataOffset(i);
    const change = tracker.updateFromFrame(rawId, batch.buffer.subarray(off, off + batch.length(i)));
    if (change !== null) (changes ??= []).push(change);
  }
  return changes;
}
