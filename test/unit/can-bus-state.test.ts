// The bus state derived from error frames, as the kernel's CAN device layer
// moves it, and the counts the socket shows in getStats().

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BusStateTracker, CAN_BUS_STATES, busStateFromCounters, reportedBusState } from '../../lib/can/bus-state.js';
import type { CanBusErrorStats, CanBusState } from '../../lib/can/bus-state.js';
import { decodeErrorFrame } from '../../lib/can/error-frame.js';

/** Feeds an error frame (can_id, leading payload bytes; the rest of the 8 are zero) to the tracker. */
function frame(tracker: BusStateTracker, id: number, bytes: number[] = []): ReturnType<BusStateTracker['update']> {
  const data = new Uint8Array(8);
  data.set(bytes);
  return tracker.updateFromFrame(id, data);
}

// Frames as the kernel sends them (CAN_ERR_FLAG | classes; data[1] controller bits).
const WARNING = (t: BusStateTracker) => frame(t, 0x20000004, [0, 0x08]);
const PASSIVE = (t: BusStateTracker) => frame(t, 0x20000004, [0, 0x20]);
const ACTIVE = (t: BusStateTracker) => frame(t, 0x20000004, [0, 0x40]);
const BUS_OFF = (t: BusStateTracker) => frame(t, 0x20000040);
const RESTARTED = (t: BusStateTracker) => frame(t, 0x20000100);

const ZERO: CanBusErrorStats = {
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

test('a new tracker is error-active with every count at zero', () => {
  const t = new BusStateTracker();
  assert.equal(t.state, 'error-active');
  assert.deepEqual(t.stats(), ZERO);
  assert.equal(t.errorCounters, undefined);
  assert.deepEqual(CAN_BUS_STATES, ['error-active', 'error-warning', 'error-passive', 'bus-off']);
});

test('escalation to bus-off and recovery by restart, each change reported once', () => {
  const t = new BusStateTracker();
  assert.deepEqual(WARNING(t), { previous: 'error-active', state: 'error-warning' });
  assert.equal(WARNING(t), null);
  assert.deepEqual(PASSIVE(t), { previous: 'error-warning', state: 'error-passive' });
  assert.deepEqual(BUS_OFF(t), { previous: 'error-passive', state: 'bus-off' });
  assert.equal(BUS_OFF(t), null);
  assert.deepEqual(RESTARTED(t), { previous: 'bus-off', state: 'error-active' });
  assert.equal(t.state, 'error-active');
  assert.deepEqual(t.stats(), { ...ZERO, errorFrames: 6, errorWarning: 1, errorPassive: 1, busOff: 1, restarts: 1 });
});

test('the controller steps back down: passive to warning to active', () => {
  const t = new BusStateTracker();
  PASSIVE(t);
  // can_change_state() reports a drop to warning with the warning bit alone.
  assert.deepEqual(WARNING(t), { previous: 'error-passive', state: 'error-warning' });
  assert.deepEqual(ACTIVE(t), { previous: 'error-warning', state: 'error-active' });
  assert.equal(ACTIVE(t), null);
  // Only escalations count: active -> passive counts passive (not warning); the way down counts nothing.
  assert.deepEqual(t.stats(), { ...ZERO, errorFrames: 4, errorPassive: 1 });
});

test('a controller that recovers from bus-off by itself reports error-active', () => {
  const t = new BusStateTracker();
  BUS_OFF(t);
  assert.deepEqual(ACTIVE(t), { previous: 'bus-off', state: 'error-active' });
  assert.equal(t.stats().restarts, 0);
  assert.equal(t.stats().busOff, 1);
});

test('counts follow the kernel: each entry into a more severe state', () => {
  const t = new BusStateTracker();
  for (let i = 0; i < 3; i++) {
    WARNING(t);
    ACTIVE(t);
  }
  PASSIVE(t);
  BUS_OFF(t);
  RESTARTED(t);
  BUS_OFF(t);
  RESTARTED(t);
  const s = t.stats();
  assert.equal(s.errorWarning, 3);
  assert.equal(s.errorPassive, 1);
  assert.equal(s.busOff, 2);
  assert.equal(s.restarts, 2);
  assert.equal(s.errorFrames, 11);
});

test('error counters set the state by the 96 / 128 thresholds', () => {
  const cases: Array<[number, number, CanBusState]> = [
    [0, 0, 'error-active'],
    [95, 95, 'error-active'],
    [96, 0, 'error-warning'],
    [0, 96, 'error-warning'],
    [127, 127, 'error-warning'],
    [128, 0, 'error-passive'],
    [3, 128, 'error-passive'],
    [255, 255, 'error-passive'],
    [256, 0, 'bus-off'],
  ];
  for (const [tx, rx, state] of cases) assert.equal(busStateFromCounters(tx, rx), state, `tx=${tx} rx=${rx}`);

  // A protocol error carrying the counters (CAN_ERR_PROT | CAN_ERR_BUSERROR | CAN_ERR_CNT).
  const t = new BusStateTracker();
  assert.equal(frame(t, 0x20000288, [0, 0, 0x04, 0x02, 0, 0, 95, 0]), null);
  assert.deepEqual(frame(t, 0x20000288, [0, 0, 0x04, 0x02, 0, 0, 96, 0]), { previous: 'error-active', state: 'error-warning' });
  assert.deepEqual(frame(t, 0x20000288, [0, 0, 0x04, 0x02, 0, 0, 100, 128]), { previous: 'error-warning', state: 'error-passive' });
  assert.deepEqual(t.errorCounters, { tx: 100, rx: 128 });
  // Counters falling again bring the state down.
  assert.deepEqual(frame(t, 0x20000288, [0, 0, 0x04, 0x02, 0, 0, 10, 20]), { previous: 'error-passive', state: 'error-active' });
  assert.deepEqual(t.stats(), { ...ZERO, errorFrames: 4, protocolErrors: 4, busErrors: 4, errorWarning: 1, errorPassive: 1 });
});

test('the controller bits win over the counters of the same frame', () => {
  const t = new BusStateTracker();
  assert.deepEqual(frame(t, 0x20000204, [0, 0x08, 0, 0, 0, 0, 130, 0]), { previous: 'error-active', state: 'error-warning' });
  assert.deepEqual(t.errorCounters, { tx: 130, rx: 0 });
});

test('counters alone do not take the state out of bus-off; a restart with counters does', () => {
  const t = new BusStateTracker();
  BUS_OFF(t);
  assert.equal(frame(t, 0x20000200, [0, 0, 0, 0, 0, 0, 0, 0]), null);
  assert.equal(t.state, 'bus-off');
  assert.deepEqual(frame(t, 0x20000300, [0, 0, 0, 0, 0, 0, 100, 0]), { previous: 'bus-off', state: 'error-warning' });
  // Bus-off with counters is bus-off whatever the counters say.
  assert.deepEqual(frame(t, 0x20000240, [0, 0, 0, 0, 0, 0, 0, 0]), { previous: 'error-warning', state: 'bus-off' });
});

test('frames that report no state leave it alone but are counted', () => {
  const t = new BusStateTracker();
  PASSIVE(t);
  const noState: Array<[number, number[]]> = [
    [0x20000001, []], // tx timeout
    [0x20000002, [7]], // lost arbitration
    [0x20000004, [0, 0x01]], // rx overflow
    [0x20000004, [0, 0x02]], // tx overflow
    [0x20000004, [0, 0x00]], // controller, unspecified
    [0x20000008, [0, 0, 0x01, 0x0a]], // protocol: bit error in the data
    [0x20000010, [0, 0, 0, 0, 0x04]], // transceiver: CANH no wire
    [0x20000020, []], // no ACK
    [0x20000080, []], // bus error
    [0x20000400, []], // a class the kernel does not define
    [0x20000000, []], // no class at all
  ];
  for (const [id, bytes] of noState) assert.equal(frame(t, id, bytes), null, `0x${id.toString(16)}`);
  assert.equal(t.state, 'error-passive');
  assert.deepEqual(t.stats(), {
    ...ZERO,
    errorFrames: 12,
    errorPassive: 1,
    txTimeouts: 1,
    arbitrationLost: 1,
    rxOverflows: 1,
    txOverflows: 1,
    protocolErrors: 1,
    transceiverErrors: 1,
    ackErrors: 1,
    busErrors: 1,
  });
});

test('one frame with several classes counts each of them', () => {
  const t = new BusStateTracker();
  // RX and TX overflow plus TX passive, a protocol violation, no ACK and lost arbitration.
  const change = frame(t, 0x200000ae, [3, 0x23, 0x80, 0x19, 0, 0, 0, 0]);
  assert.deepEqual(change, { previous: 'error-active', state: 'error-passive' });
  assert.deepEqual(t.stats(), {
    ...ZERO,
    errorFrames: 1,
    errorPassive: 1,
    rxOverflows: 1,
    txOverflows: 1,
    protocolErrors: 1,
    busErrors: 1,
    ackErrors: 1,
    arbitrationLost: 1,
  });
});

test('malformed frames neither throw nor move the state', () => {
  const t = new BusStateTracker();
  WARNING(t);
  assert.equal(t.updateFromFrame(0x20000004, new Uint8Array(0)), null); // controller byte missing
  assert.equal(t.updateFromFrame(0x20000200, Uint8Array.of(1, 2, 3)), null); // counters missing
  assert.equal(t.updateFromFrame(Number.NaN, new Uint8Array(8)), null);
  assert.equal(t.state, 'error-warning');
  assert.equal(t.errorCounters, undefined);
  assert.equal(t.stats().errorFrames, 4);
});

test('reset returns to error-active without counting, and forgets the counters', () => {
  const t = new BusStateTracker();
  frame(t, 0x20000240, [0, 0, 0, 0, 0, 0, 250, 3]);
  assert.deepEqual(t.errorCounters, { tx: 250, rx: 3 });
  assert.deepEqual(t.reset(), { previous: 'bus-off', state: 'error-active' });
  assert.equal(t.reset(), null);
  assert.equal(t.errorCounters, undefined);
  assert.deepEqual(t.stats(), { ...ZERO, errorFrames: 1, busOff: 1 });
});

test('stats() is a copy the caller may change', () => {
  const t = new BusStateTracker();
  BUS_OFF(t);
  const s = t.stats();
  s.busOff = 99;
  assert.equal(t.stats().busOff, 1);
});

test('reportedBusState gives the order bus-off, controller bits, counters, restart', () => {
  const d = (id: number, bytes: number[] = []): ReturnType<typeof decodeErrorFrame> => {
    const data = new Uint8Array(8);
    data.set(bytes);
    return decodeErrorFrame(id, data);
  };
  assert.equal(reportedBusState(d(0x20000144, [0, 0x40]), 'error-active'), 'bus-off');
  assert.equal(reportedBusState(d(0x20000304, [0, 0x20, 0, 0, 0, 0, 0, 0]), 'error-active'), 'error-passive');
  assert.equal(reportedBusState(d(0x20000300, [0, 0, 0, 0, 0, 0, 0, 120]), 'bus-off'), 'error-warning');
  assert.equal(reportedBusState(d(0x20000100), 'bus-off'), 'error-active');
  assert.equal(reportedBusState(d(0x20000200, [0, 0, 0, 0, 0, 0, 200, 0]), 'bus-off'), undefined);
  assert.equal(reportedBusState(d(0x20000008, [0, 0, 0x01]), 'error-warning'), undefined);
});
