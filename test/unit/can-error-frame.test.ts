// The error-frame decoder against linux/can/error.h: every class, controller
// condition, protocol type and location, and transceiver status the kernel defines,
// frames as drivers build them, and malformed input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ef from '../../lib/can/error-frame.js';
import { decodeErrorFrame, describeErrorFrame } from '../../lib/can/error-frame.js';
import { CAN_EFF_FLAG, CAN_ERR_FLAG } from '../../lib/can/types.js';

/** An 8-byte error payload with the given bytes set. */
function payload(bytes: Record<number, number> = {}): Uint8Array {
  const data = new Uint8Array(8);
  for (const [i, v] of Object.entries(bytes)) data[Number(i)] = v;
  return data;
}

const errId = (classes: number): number => (CAN_ERR_FLAG | classes) >>> 0;

test('every constant has the value of linux/can/error.h', () => {
  // Copied by hand from the kernel header, so a typo on either side fails.
  const kernel: Record<string, number> = {
    CAN_ERR_DLC: 8,
    CAN_ERR_TX_TIMEOUT: 0x001,
    CAN_ERR_LOSTARB: 0x002,
    CAN_ERR_CRTL: 0x004,
    CAN_ERR_PROT: 0x008,
    CAN_ERR_TRX: 0x010,
    CAN_ERR_ACK: 0x020,
    CAN_ERR_BUSOFF: 0x040,
    CAN_ERR_BUSERROR: 0x080,
    CAN_ERR_RESTARTED: 0x100,
    CAN_ERR_CNT: 0x200,
    CAN_ERR_LOSTARB_UNSPEC: 0x00,
    CAN_ERR_CRTL_UNSPEC: 0x00,
    CAN_ERR_CRTL_RX_OVERFLOW: 0x01,
    CAN_ERR_CRTL_TX_OVERFLOW: 0x02,
    CAN_ERR_CRTL_RX_WARNING: 0x04,
    CAN_ERR_CRTL_TX_WARNING: 0x08,
    CAN_ERR_CRTL_RX_PASSIVE: 0x10,
    CAN_ERR_CRTL_TX_PASSIVE: 0x20,
    CAN_ERR_CRTL_ACTIVE: 0x40,
    CAN_ERR_PROT_UNSPEC: 0x00,
    CAN_ERR_PROT_BIT: 0x01,
    CAN_ERR_PROT_FORM: 0x02,
    CAN_ERR_PROT_STUFF: 0x04,
    CAN_ERR_PROT_BIT0: 0x08,
    CAN_ERR_PROT_BIT1: 0x10,
    CAN_ERR_PROT_OVERLOAD: 0x20,
    CAN_ERR_PROT_ACTIVE: 0x40,
    CAN_ERR_PROT_TX: 0x80,
    CAN_ERR_PROT_LOC_UNSPEC: 0x00,
    CAN_ERR_PROT_LOC_SOF: 0x03,
    CAN_ERR_PROT_LOC_ID28_21: 0x02,
    CAN_ERR_PROT_LOC_ID20_18: 0x06,
    CAN_ERR_PROT_LOC_SRTR: 0x04,
    CAN_ERR_PROT_LOC_IDE: 0x05,
    CAN_ERR_PROT_LOC_ID17_13: 0x07,
    CAN_ERR_PROT_LOC_ID12_05: 0x0f,
    CAN_ERR_PROT_LOC_ID04_00: 0x0e,
    CAN_ERR_PROT_LOC_RTR: 0x0c,
    CAN_ERR_PROT_LOC_RES1: 0x0d,
    CAN_ERR_PROT_LOC_RES0: 0x09,
    CAN_ERR_PROT_LOC_DLC: 0x0b,
    CAN_ERR_PROT_LOC_DATA: 0x0a,
    CAN_ERR_PROT_LOC_CRC_SEQ: 0x08,
    CAN_ERR_PROT_LOC_CRC_DEL: 0x18,
    CAN_ERR_PROT_LOC_ACK: 0x19,
    CAN_ERR_PROT_LOC_ACK_DEL: 0x1b,
    CAN_ERR_PROT_LOC_EOF: 0x1a,
    CAN_ERR_PROT_LOC_INTERM: 0x12,
    CAN_ERR_TRX_UNSPEC: 0x00,
    CAN_ERR_TRX_CANH_NO_WIRE: 0x04,
    CAN_ERR_TRX_CANH_SHORT_TO_BAT: 0x05,
    CAN_ERR_TRX_CANH_SHORT_TO_VCC: 0x06,
    CAN_ERR_TRX_CANH_SHORT_TO_GND: 0x07,
    CAN_ERR_TRX_CANL_NO_WIRE: 0x40,
    CAN_ERR_TRX_CANL_SHORT_TO_BAT: 0x50,
    CAN_ERR_TRX_CANL_SHORT_TO_VCC: 0x60,
    CAN_ERR_TRX_CANL_SHORT_TO_GND: 0x70,
    CAN_ERR_TRX_CANL_SHORT_TO_CANH: 0x80,
    CAN_ERROR_WARNING_THRESHOLD: 96,
    CAN_ERROR_PASSIVE_THRESHOLD: 128,
    CAN_BUS_OFF_THRESHOLD: 256,
  };
  const exported = ef as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(kernel)) assert.equal(exported[name], value, name);
  // And nothing named like a kernel constant is exported that the list above misses.
  const extra = Object.keys(exported).filter((k) => /^CAN_ERR(OR)?_|^CAN_BUS_OFF/.test(k) && !(k in kernel));
  assert.deepEqual(extra.sort(), ['CAN_ERROR_CLASSES', 'CAN_ERR_ALL_CLASSES', 'CAN_ERR_BUS_STATE_MASK']);
  assert.equal(ef.CAN_ERR_ALL_CLASSES, 0x3ff);
  assert.equal(ef.CAN_ERR_BUS_STATE_MASK, 0x175);
});

test('each error class alone decodes to its name and its field only', () => {
  const cases: Array<[number, ef.CanErrorClass, keyof ef.CanErrorDescription]> = [
    [0x001, 'tx-timeout', 'txTimeout'],
    [0x002, 'lost-arbitration', 'lostArbitration'],
    [0x004, 'controller', 'controller'],
    [0x008, 'protocol', 'protocol'],
    [0x010, 'transceiver', 'transceiver'],
    [0x020, 'no-ack', 'noAck'],
    [0x040, 'bus-off', 'busOff'],
    [0x080, 'bus-error', 'busError'],
    [0x100, 'restarted', 'restarted'],
    [0x200, 'error-counters', 'counters'],
  ];
  const fields: Array<keyof ef.CanErrorDescription> = cases.map(([, , f]) => f);
  for (const [bit, name, field] of cases) {
    const d = decodeErrorFrame(errId(bit), payload());
    assert.deepEqual(d.classes, [name], name);
    assert.equal(d.classBits, bit, name);
    assert.equal(d.unknownClassBits, 0, name);
    assert.equal(d.truncated, false, name);
    for (const f of fields) {
      const v = d[f];
      const present = v !== undefined && v !== false;
      assert.equal(present, f === field, `${name}: field ${f}`);
    }
  }
});

test('all classes at once are listed in bit order', () => {
  const d = decodeErrorFrame(errId(0x3ff), payload());
  assert.deepEqual(d.classes, [
    'tx-timeout',
    'lost-arbitration',
    'controller',
    'protocol',
    'transceiver',
    'no-ack',
    'bus-off',
    'bus-error',
    'restarted',
    'error-counters',
  ]);
});

test('the id is taken with or without CAN_ERR_FLAG, and other flag bits are ignored', () => {
  const withFlag = decodeErrorFrame(0x20000040, payload());
  const without = decodeErrorFrame(0x40, payload());
  const withEff = decodeErrorFrame((CAN_EFF_FLAG | CAN_ERR_FLAG | 0x40) >>> 0, payload());
  for (const d of [withFlag, without, withEff]) {
    assert.equal(d.busOff, true);
    assert.equal(d.classBits, 0x40);
    assert.deepEqual(d.classes, ['bus-off']);
  }
});

test('every controller condition, and the state the controller bits report', () => {
  const cases: Array<[number, ef.ControllerCondition, ef.ControllerState | undefined]> = [
    [0x01, 'rx-overflow', undefined],
    [0x02, 'tx-overflow', undefined],
    [0x04, 'rx-warning', 'error-warning'],
    [0x08, 'tx-warning', 'error-warning'],
    [0x10, 'rx-passive', 'error-passive'],
    [0x20, 'tx-passive', 'error-passive'],
    [0x40, 'active', 'error-active'],
  ];
  for (const [bit, name, state] of cases) {
    const c = decodeErrorFrame(errId(ef.CAN_ERR_CRTL), payload({ 1: bit })).controller!;
    assert.deepEqual(c.conditions, [name], name);
    assert.equal(c.flags, bit);
    assert.equal(c.state, state, name);
    assert.equal(c.rxOverflow, bit === 0x01, name);
    assert.equal(c.txOverflow, bit === 0x02, name);
    assert.equal(c.unknownBits, 0, name);
  }
  const unspecified = decodeErrorFrame(errId(ef.CAN_ERR_CRTL), payload()).controller!;
  assert.deepEqual(unspecified.conditions, []);
  assert.equal(unspecified.state, undefined);
});

test('the most severe controller bit sets the reported state', () => {
  const state = (bits: number): ef.ControllerState | undefined =>
    decodeErrorFrame(errId(ef.CAN_ERR_CRTL), payload({ 1: bits })).controller!.state;
  assert.equal(state(0x04 | 0x20), 'error-passive');
  assert.equal(state(0x0c), 'error-warning');
  assert.equal(state(0x40 | 0x08), 'error-warning');
  assert.equal(state(0x01 | 0x40), 'error-active');
  assert.equal(state(0x03), undefined);
});

test('every protocol violation type, with and without the transmit bit', () => {
  const cases: Array<[number, ef.ProtocolErrorType]> = [
    [0x01, 'bit'],
    [0x02, 'form'],
    [0x04, 'stuff'],
    [0x08, 'bit0'],
    [0x10, 'bit1'],
    [0x20, 'overload'],
    [0x40, 'active'],
  ];
  for (const [bit, name] of cases) {
    for (const tx of [0, 0x80]) {
      const p = decodeErrorFrame(errId(ef.CAN_ERR_PROT), payload({ 2: bit | tx })).protocol!;
      assert.deepEqual(p.types, [name], name);
      assert.equal(p.onTransmit, tx !== 0, name);
      assert.equal(p.typeFlags, bit | tx);
      assert.equal(p.unknownTypeBits, 0);
    }
  }
  const tx = decodeErrorFrame(errId(ef.CAN_ERR_PROT), payload({ 2: 0x80 })).protocol!;
  assert.deepEqual(tx.types, []);
  assert.equal(tx.onTransmit, true);
});

test('every protocol violation location the kernel defines has its name and text', () => {
  const cases: Array<[number, ef.ProtocolLocation, string]> = [
    [0x00, 'unspecified', 'unspecified location'],
    [0x03, 'sof', 'start of frame'],
    [0x02, 'id28-21', 'ID bits 28-21 (SFF: 10-3)'],
    [0x06, 'id20-18', 'ID bits 20-18 (SFF: 2-0)'],
    [0x04, 'srtr', 'substitute RTR (SFF: RTR)'],
    [0x05, 'ide', 'identifier extension'],
    [0x07, 'id17-13', 'ID bits 17-13'],
    [0x0f, 'id12-05', 'ID bits 12-5'],
    [0x0e, 'id04-00', 'ID bits 4-0'],
    [0x0c, 'rtr', 'RTR'],
    [0x0d, 'res1', 'reserved bit 1'],
    [0x09, 'res0', 'reserved bit 0'],
    [0x0b, 'dlc', 'data length code'],
    [0x0a, 'data', 'data section'],
    [0x08, 'crc-sequence', 'CRC sequence'],
    [0x18, 'crc-delimiter', 'CRC delimiter'],
    [0x19, 'ack', 'ACK slot'],
    [0x1b, 'ack-delimiter', 'ACK delimiter'],
    [0x1a, 'eof', 'end of frame'],
    [0x12, 'intermission', 'intermission'],
  ];
  assert.equal(cases.length, ef.CAN_PROTOCOL_LOCATIONS.length);
  for (const [code, name, text] of cases) {
    const p = decodeErrorFrame(errId(ef.CAN_ERR_PROT), payload({ 3: code })).protocol!;
    assert.equal(p.location, name, `0x${code.toString(16)}`);
    assert.equal(p.locationText, text);
    assert.equal(p.locationCode, code);
  }
  // Every other byte value is unknown, and says which.
  const known = new Set(cases.map(([code]) => code));
  for (let code = 0; code < 256; code++) {
    if (known.has(code)) continue;
    const p = decodeErrorFrame(errId(ef.CAN_ERR_PROT), payload({ 3: code })).protocol!;
    assert.equal(p.location, 'unknown', `0x${code.toString(16)}`);
    assert.equal(p.locationText, `unknown location 0x${code.toString(16).padStart(2, '0')}`);
  }
});

test('every transceiver status the kernel defines names its wire and fault', () => {
  const cases: Array<[number, ef.WireCondition, ef.WireCondition, string]> = [
    [0x00, 'ok', 'ok', 'unspecified'],
    [0x04, 'no-wire', 'ok', 'CANH no wire'],
    [0x05, 'short-to-bat', 'ok', 'CANH short to BAT'],
    [0x06, 'short-to-vcc', 'ok', 'CANH short to VCC'],
    [0x07, 'short-to-gnd', 'ok', 'CANH short to GND'],
    [0x40, 'ok', 'no-wire', 'CANL no wire'],
    [0x50, 'ok', 'short-to-bat', 'CANL short to BAT'],
    [0x60, 'ok', 'short-to-vcc', 'CANL short to VCC'],
    [0x70, 'ok', 'short-to-gnd', 'CANL short to GND'],
    [0x80, 'ok', 'short-to-canh', 'CANL short to CANH'],
  ];
  for (const [code, canh, canl, text] of cases) {
    const t = decodeErrorFrame(errId(ef.CAN_ERR_TRX), payload({ 4: code })).transceiver!;
    assert.deepEqual(t, { code, canh, canl, text }, `0x${code.toString(16)}`);
  }
  // A fault on each wire at once, and nibbles the kernel does not define.
  assert.deepEqual(decodeErrorFrame(errId(ef.CAN_ERR_TRX), payload({ 4: 0x47 })).transceiver, {
    code: 0x47,
    canh: 'short-to-gnd',
    canl: 'no-wire',
    text: 'CANH short to GND, CANL no wire',
  });
  const odd = decodeErrorFrame(errId(ef.CAN_ERR_TRX), payload({ 4: 0x93 })).transceiver!;
  assert.equal(odd.canh, 'unknown');
  assert.equal(odd.canl, 'unknown');
  assert.equal(odd.text, 'CANH unknown, CANL unknown');
});

test('lost arbitration gives the bit number, or none when unspecified', () => {
  assert.deepEqual(decodeErrorFrame(errId(ef.CAN_ERR_LOSTARB), payload({ 0: 5 })).lostArbitration, { bit: 5 });
  assert.deepEqual(decodeErrorFrame(errId(ef.CAN_ERR_LOSTARB), payload({ 0: 31 })).lostArbitration, { bit: 31 });
  assert.deepEqual(decodeErrorFrame(errId(ef.CAN_ERR_LOSTARB), payload()).lostArbitration, { bit: undefined });
});

test('error counters come from data[6] and data[7] only with CAN_ERR_CNT', () => {
  const data = payload({ 6: 0x80, 7: 0x61 });
  assert.deepEqual(decodeErrorFrame(errId(ef.CAN_ERR_CRTL | ef.CAN_ERR_CNT), data).counters, { tx: 128, rx: 97 });
  assert.equal(decodeErrorFrame(errId(ef.CAN_ERR_CRTL), data).counters, undefined);
  assert.deepEqual(decodeErrorFrame(errId(ef.CAN_ERR_CNT), payload({ 6: 255, 7: 0 })).counters, { tx: 255, rx: 0 });
});

test('frames as kernel drivers build them', () => {
  // can_bus_off(): CAN_ERR_BUSOFF, empty details.
  const busOff = decodeErrorFrame(0x20000040, payload());
  assert.deepEqual(busOff.classes, ['bus-off']);
  assert.equal(describeErrorFrame(busOff), 'bus off');

  // can_change_state() to tx passive, with the counters the driver adds.
  const passive = decodeErrorFrame(0x20000204, payload({ 1: 0x20, 6: 128, 7: 5 }));
  assert.equal(passive.controller!.state, 'error-passive');
  assert.deepEqual(passive.controller!.conditions, ['tx-passive']);
  assert.deepEqual(passive.counters, { tx: 128, rx: 5 });
  assert.equal(describeErrorFrame(passive), 'controller: tx-passive; error counters tx=128 rx=5');

  // can_change_state() with both counters at warning level.
  const warning = decodeErrorFrame(0x20000004, payload({ 1: 0x0c }));
  assert.deepEqual(warning.controller!.conditions, ['rx-warning', 'tx-warning']);
  assert.equal(describeErrorFrame(warning), 'controller: rx-warning, tx-warning');

  // can_change_state() back to error-active.
  const active = decodeErrorFrame(0x20000004, payload({ 1: 0x40 }));
  assert.equal(active.controller!.state, 'error-active');
  assert.equal(describeErrorFrame(active), 'controller: active');

  // can_restart() after bus-off.
  const restarted = decodeErrorFrame(0x20000100, payload());
  assert.equal(restarted.restarted, true);
  assert.equal(describeErrorFrame(restarted), 'controller restarted');

  // A bus error as an SJA1000 reports it: stuff error while transmitting, in the ID.
  const stuff = decodeErrorFrame(0x20000088, payload({ 2: 0x84, 3: 0x02 }));
  assert.deepEqual(stuff.classes, ['protocol', 'bus-error']);
  assert.deepEqual(stuff.protocol!.types, ['stuff']);
  assert.equal(stuff.protocol!.onTransmit, true);
  assert.equal(stuff.protocol!.location, 'id28-21');
  assert.equal(describeErrorFrame(stuff), 'protocol violation: stuff error on transmit at ID bits 28-21 (SFF: 10-3); bus error');

  // No ACK: the ACK class with a protocol location in the ACK slot, as several drivers send.
  const ack = decodeErrorFrame(0x200000a8, payload({ 3: 0x19 }));
  assert.deepEqual(ack.classes, ['protocol', 'no-ack', 'bus-error']);
  assert.equal(describeErrorFrame(ack), 'protocol violation: unspecified at ACK slot; no ACK; bus error');

  // Lost arbitration in bit 12.
  assert.equal(describeErrorFrame(decodeErrorFrame(0x20000002, payload({ 0: 12 }))), 'lost arbitration at bit 12');

  // Controller RX overflow (an overrun).
  const overflow = decodeErrorFrame(0x20000004, payload({ 1: 0x01 }));
  assert.equal(overflow.controller!.rxOverflow, true);
  assert.equal(overflow.controller!.state, undefined);
  assert.equal(describeErrorFrame(overflow), 'controller: rx-overflow');

  // TX timeout from the netdev watchdog, and a transceiver fault.
  assert.equal(describeErrorFrame(decodeErrorFrame(0x20000001, payload())), 'tx timeout');
  assert.equal(describeErrorFrame(decodeErrorFrame(0x20000010, payload({ 4: 0x70 }))), 'transceiver: CANL short to GND');
});

test('malformed frames never throw: short payloads read as unspecified and say so', () => {
  const everything = errId(0x3ff);
  for (let len = 0; len < 8; len++) {
    const d = decodeErrorFrame(everything, new Uint8Array(len).fill(0x01));
    assert.equal(d.truncated, true, `length ${len}`);
    assert.equal(d.counters, undefined, `length ${len}`);
    assert.equal(d.classes.length, 10);
    assert.match(describeErrorFrame(d), /payload truncated$/);
  }
  const short = decodeErrorFrame(errId(ef.CAN_ERR_CRTL | ef.CAN_ERR_LOSTARB), Uint8Array.of(7));
  assert.deepEqual(short.lostArbitration, { bit: 7 });
  assert.equal(short.controller!.flags, 0);
  assert.equal(short.truncated, true);
  // Classes without details need no payload.
  assert.equal(decodeErrorFrame(0x20000040, new Uint8Array(0)).truncated, false);
  // A longer payload (CAN FD) is read for its first 8 bytes.
  const fd = new Uint8Array(64).fill(0xee);
  fd[6] = 1;
  fd[7] = 2;
  const long = decodeErrorFrame(errId(ef.CAN_ERR_CNT), fd);
  assert.deepEqual(long.counters, { tx: 1, rx: 2 });
  assert.equal(long.truncated, false);
});

test('bits the kernel does not define are kept and shown, not dropped', () => {
  const d = decodeErrorFrame(errId(0x1c00 | ef.CAN_ERR_CRTL | ef.CAN_ERR_PROT), payload({ 1: 0x80 | 0x04, 2: 0x00, 3: 0x55 }));
  assert.equal(d.unknownClassBits, 0x1c00);
  assert.deepEqual(d.classes, ['controller', 'protocol']);
  assert.equal(d.controller!.unknownBits, 0x80);
  assert.deepEqual(d.controller!.conditions, ['rx-warning']);
  assert.equal(d.protocol!.location, 'unknown');
  assert.equal(
    describeErrorFrame(d),
    'controller: rx-warning (unknown bits 0x80); protocol violation: unspecified at unknown location 0x55; unknown classes 0x1c00',
  );
  const none = decodeErrorFrame(CAN_ERR_FLAG, payload());
  assert.deepEqual(none.classes, []);
  assert.equal(describeErrorFrame(none), 'error frame without error class');
});

test('nonsense arguments never throw', () => {
  for (const id of [Number.NaN, Infinity, -1, 2 ** 40]) {
    assert.doesNotThrow(() => describeErrorFrame(decodeErrorFrame(id, payload())));
  }
  assert.deepEqual(decodeErrorFrame(Number.NaN, payload()).classes, []);
  const missing = decodeErrorFrame(0x20000008, undefined as unknown as Uint8Array);
  assert.equal(missing.truncated, true);
  assert.equal(missing.protocol!.location, 'unspecified');
});
