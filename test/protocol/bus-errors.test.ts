// The bus state over real TCP with the VirtualCanBus: error frames move STAT's first
// three fields and INFO's bus lines, are logged, and never become events
// (protocol §2.2 STAT, §3.6; docs/design.md "STAT").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CAN_ERR_BUSOFF,
  CAN_ERR_CRTL,
  CAN_ERR_CRTL_ACTIVE,
  CAN_ERR_CRTL_RX_OVERFLOW,
  CAN_ERR_CRTL_RX_PASSIVE,
  CAN_ERR_CRTL_TX_WARNING,
  CAN_ERR_LOSTARB,
  CAN_ERR_RESTARTED,
} from '../../lib/can/error-frame.js';
import { CAN_EFF_FLAG, CAN_ERR_FLAG } from '../../lib/can/types.js';
import type { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import type { Logger } from '../../lib/server/logger.js';
import { sleep, startServer, waitForCdta } from '../helpers/server.js';

const T = { timeout: 15000 };
const MATCH_ALL = '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0';

function injectError(bus: VirtualCanBus, classes: number, data: readonly number[] = []): void {
  const payload = new Uint8Array(8);
  payload.set(data);
  bus.inject('vcan0', { rawId: (CAN_ERR_FLAG | classes) >>> 0, data: payload });
}

/** A class-20 type-3 event with one data byte. */
function injectEvent(bus: VirtualCanBus): void {
  bus.inject('vcan0', { rawId: (CAN_EFF_FLAG | 0x00140300) >>> 0, data: Uint8Array.of(7) });
}

function busLines(info: string[]): string[] {
  return info.filter((l) => l.startsWith('bus '));
}

test('design.md "STAT": error frames set STAT\'s bus-off, warning and overrun fields and INFO\'s bus lines, never an event', T, async () => {
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
  const s = await startServer<VirtualCanBus>({ logger });
  try {
    const a = await s.client();
    const loop = await s.client();
    // Error frames reach the session whatever its VSCP filter (CAN_RAW_ERR_FILTER is separate from CAN_RAW_FILTER).
    assert.deepEqual(await a.command('sflt 0,20,0,' + MATCH_ALL), ['+OK']);
    assert.deepEqual(await a.command('smsk 0,511,0,' + MATCH_ALL), ['+OK']);
    assert.deepEqual(busLines(await a.command('info')), [
      'bus state: error-active',
      'bus errors: bus-off 0, warning 0, passive 0, overruns 0, protocol 0, no-ack 0, restarts 0',
    ]);
    assert.deepEqual(await loop.command('rcvloop'), ['+OK']);
    const loopStart = loop.allReceived.length;

    injectError(s.bus, CAN_ERR_CRTL, [0, CAN_ERR_CRTL_TX_WARNING]);
    injectError(s.bus, CAN_ERR_CRTL, [0, CAN_ERR_CRTL_RX_PASSIVE]);
    injectError(s.bus, CAN_ERR_BUSOFF); // can_id 0x20000040
    injectError(s.bus, CAN_ERR_CRTL, [0, CAN_ERR_CRTL_RX_OVERFLOW]);
    injectError(s.bus, CAN_ERR_LOSTARB, [5]); // outside the daemon's error mask: not even counted
    injectEvent(s.bus); // delivered after the error frames: once it is there, they were handled
    await waitForCdta(a, 1);

    assert.deepEqual(await a.command('stat'), ['1,1,1,5,1,0,0', '+OK']);
    assert.deepEqual(busLines(await a.command('info')), [
      'bus state: bus-off',
      'bus errors: bus-off 1, warning 1, passive 1, overruns 1, protocol 0, no-ack 0, restarts 0',
    ]);
    const retr = await a.command('retr');
    assert.equal(retr.length, 2, 'one event only: ' + retr.join('|'));
    assert.match(retr[0]!, /^0,20,3,/);

    injectError(s.bus, CAN_ERR_RESTARTED | CAN_ERR_CRTL, [0, CAN_ERR_CRTL_ACTIVE]);
    injectEvent(s.bus);
    await waitForCdta(a, 1);
    assert.deepEqual(busLines(await a.command('info')), [
      'bus state: error-active',
      'bus errors: bus-off 1, warning 1, passive 1, overruns 1, protocol 0, no-ack 0, restarts 1',
    ]);
    assert.deepEqual(await a.command('stat'), ['1,1,1,10,2,0,0', '+OK']);

    // The session in the loop got the two events and nothing for the error frames.
    await sleep(50);
    assert.equal((await loop.command('quitloop')).at(-1), '+OK'); // the events come before it
    const loopText = loop.allReceived.subarray(loopStart).toString('latin1');
    const eventLines = loopText.split('\r\n').filter((l) => /^\d+,\d+,\d+,/.test(l));
    assert.equal(eventLines.length, 2, loopText);
    for (const l of eventLines) assert.match(l, /^0,20,3,/);

    const sessionOf = (m: string): string => /^session (\d+):/.exec(m)?.[1] ?? '';
    const transitions = warnings.filter((m) => m.includes(': CAN bus vcan0 '));
    const sessions = new Set(transitions.map(sessionOf));
    assert.equal(sessions.size, 2, transitions.join('\n'));
    for (const id of sessions) {
      assert.deepEqual(
        transitions.filter((m) => sessionOf(m) === id).map((m) => m.slice(m.indexOf('CAN bus'))),
        [
          'CAN bus vcan0 error-active -> error-warning',
          'CAN bus vcan0 error-warning -> error-passive',
          'CAN bus vcan0 error-passive -> bus-off',
          'CAN bus vcan0 bus-off -> error-active',
        ],
      );
    }
  } finally {
    await s.close();
  }
});
