// Error frames on real SocketCAN (vcan, in the CAN guest): `cansend` writes a frame
// with CAN_ERR_FLAG in its can_id (8 hex digits with that bit stay an error frame) and
// vcan delivers it to the sockets whose error mask has its classes. The socket derives
// the bus state from them; the daemon shows it in STAT and INFO (docs/design.md "STAT").
//
//   test/can-vm.sh node --test dist/test/socketcan/server-bus-errors.test.js

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BusStateChange } from '../../lib/can/bus-state.js';
import { CAN_ERR_BUS_STATE_MASK } from '../../lib/can/error-frame.js';
import { socketCanBus } from '../../lib/can/socketcan.js';
import type { SocketCanBus } from '../../lib/can/socketcan.js';
import { startServer, waitForCdta } from '../helpers/server.js';
import { cansend, collectFrames, createVcan, deleteVcan, framesWithin, withTimeout } from '../helpers/vcan.js';

const T = { timeout: 60_000 };
const ifaces: string[] = [];
after(() => {
  for (const name of ifaces.splice(0)) deleteVcan(name);
});

function freshVcan(): string {
  const name = createVcan();
  ifaces.push(name);
  return name;
}

// Controller frame with data[1] = CAN_ERR_CRTL_RX_PASSIVE; bus-off; a class-20 type-3 event.
const PASSIVE = '20000004#0010000000000000';
const BUS_OFF = '20000040#0000000000000000';
const EVENT = '0C140300#07';

test('an error frame sent on vcan moves the bus state of a socket whose error mask asks for it', T, async () => {
  const iface = freshVcan();
  const watcher = socketCanBus.open(iface, { errorMask: CAN_ERR_BUS_STATE_MASK });
  const plain = socketCanBus.open(iface);
  try {
    const changes: BusStateChange[] = [];
    watcher.on('busState', (c: BusStateChange) => changes.push(c));
    let plainChanges = 0;
    plain.on('busState', () => plainChanges++);
    const got = collectFrames(watcher, 3);
    cansend(iface, PASSIVE);
    cansend(iface, BUS_OFF);
    cansend(iface, EVENT);
    const frames = await got;
    assert.deepEqual(
      frames.map((f) => [f.error, f.id]),
      [
        [true, 0x04],
        [true, 0x40],
        [false, 0x0c140300],
      ],
      'the error flag arrives as cansend set it',
    );
    assert.deepEqual(changes, [
      { previous: 'error-active', state: 'error-passive' },
      { previous: 'error-passive', state: 'bus-off' },
    ]);
    assert.equal(watcher.busState, 'bus-off');
    const st = watcher.getStats();
    assert.equal(st.busState, 'bus-off');
    assert.equal(st.errorFrames, 2);
    assert.equal(st.busOff, 1);
    assert.equal(st.errorPassive, 1);

    // Without an error mask: no error frames, no state.
    const plainFrames = await framesWithin(plain, 100);
    assert.deepEqual(plainFrames.map((f) => f.error), [false]);
    assert.equal(plainChanges, 0);
    assert.equal(plain.busState, 'error-active');
    assert.equal(plain.getStats().busOff, 0);

    // A new interface of the same name is a fresh controller: error-active again once rebound.
    const socketErrors: string[] = [];
    watcher.on('error', (err: NodeJS.ErrnoException) => socketErrors.push(err.code ?? err.message));
    plain.on('error', () => undefined); // the interface goes away under it too
    // Not events.once: it rejects on the 'error' events the removal brings.
    const back = new Promise<BusStateChange>((resolve) => watcher.once('busState', resolve));
    deleteVcan(iface);
    createVcan(iface);
    const change = await withTimeout(back, 10_000, 'busState after the interface came back');
    assert.deepEqual(change, { previous: 'bus-off', state: 'error-active' });
    assert.equal(watcher.getStats().busOff, 1, 'counts are kept');
    assert.ok(socketErrors.includes('ENODEV'), socketErrors.join(','));
    // The error mask survives the rebind.
    const again = collectFrames(watcher, 1);
    cansend(iface, BUS_OFF);
    assert.equal((await again)[0]!.error, true);
    assert.equal(watcher.busState, 'bus-off');
    assert.equal(watcher.getStats().busOff, 2);
  } finally {
    watcher.close();
    plain.close();
  }
});

test('design.md "STAT": error frames on vcan set STAT\'s first fields and INFO\'s bus lines, and are no event', T, async () => {
  const iface = freshVcan();
  const s = await startServer<SocketCanBus>({ bus: socketCanBus, canInterface: iface });
  try {
    const c = await s.client();
    cansend(iface, PASSIVE);
    cansend(iface, BUS_OFF);
    cansend(iface, EVENT);
    await waitForCdta(c, 1);
    assert.deepEqual(await c.command('stat'), ['1,0,0,5,1,0,0', '+OK']);
    const info = await c.command('info');
    assert.deepEqual(
      info.filter((l) => l.startsWith('bus ')),
      ['bus state: bus-off', 'bus errors: bus-off 1, warning 0, passive 1, overruns 0, protocol 0, no-ack 0, restarts 0'],
    );
    const retr = await c.command('retr 5');
    assert.equal(retr.length, 2, retr.join('|'));
    assert.match(retr[0]!, /^96,20,3,/);
  } finally {
    await s.close();
  }
});
