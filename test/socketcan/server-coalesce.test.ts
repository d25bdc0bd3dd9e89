// The server's receive window after every read (`receiveCoalesceAlways`,
// `--rx-coalesce-always`) on real SocketCAN: at a steady everyday rate a
// session in rcvloop gets several frames per wake-up, so several event lines
// per TCP write, and still every frame, in order. In the CAN guest:
//   CANVM_IFACES="vcan0 vcan1" test/can-vm.sh node --test dist/test/socketcan/server-coalesce.test.js

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { socketCanBus } from '../../lib/can/socketcan.js';
import { startServer } from '../helpers/server.js';
import { createVcan, delay, deleteVcan, uniqueVcanName } from '../helpers/vcan.js';

const FRAMES = 30;
const SPACING_MS = 3;
const WINDOW_US = 10_000;

const iface = createVcan(uniqueVcanName('tc'));
after(() => deleteVcan(iface));

test(`receiveCoalesceAlways: ${FRAMES} frames ${SPACING_MS} ms apart reach rcvloop whole, in order, several per write`, { timeout: 60_000 }, async () => {
  const s = await startServer({ bus: socketCanBus, canInterface: iface, receiveCoalesceUs: WINDOW_US, receiveCoalesceAlways: true });
  const tx = socketCanBus.open(iface);
  try {
    const c = await s.client();
    assert.deepEqual(await c.command('rcvloop'), ['+OK']);
    let reads = 0;
    c.socket.on('data', () => reads++);
    for (let i = 0; i < FRAMES; i++) {
      await tx.send({ id: 0x0c140301, extended: true, data: Uint8Array.from([i]) });
      await delay(SPACING_MS);
    }
    const lines = await c.readLines(FRAMES, 20_000);
    // head,class,type,obid,datetime,timestamp,GUID,d0: the last field is the frame's number.
    assert.deepEqual(
      lines.map((l) => Number(l.split(',').at(-1))),
      Array.from({ length: FRAMES }, (_, i) => i),
    );
    // One write per window, about FRAMES * SPACING_MS / 10 ms, against one per frame without the option.
    console.log(`${FRAMES} events in ${reads} TCP reads (bound ${FRAMES / 2})`);
    assert.ok(reads <= FRAMES / 2, `${reads} TCP reads for ${FRAMES} events`);
  } finally {
    tx.close();
    await s.close();
  }
});
