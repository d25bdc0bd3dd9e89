// Commands over real TCP with the VirtualCanBus (protocol §2, §4–§7; §9 #34–#60,
// #73–#77, #83–#95; design.md D2, D3, D10, D12, "Auth").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAN_EFF_FLAG } from '../../lib/can/types.js';
import { parseGuid } from '../../lib/vscp/index.js';
import { versionReply } from '../../lib/version.js';
import { TestClient } from '../helpers/client.js';
import { sleep, startServer, waitForCdta } from '../helpers/server.js';
import type { RunningServer } from '../helpers/server.js';
import type { VscpServerOptions } from '../../lib/server/index.js';
import type { VirtualCanBus } from '../../lib/can/virtual-bus.js';

type VirtualServer = RunningServer<VirtualCanBus>;

const T = { timeout: 15000 };
const ZERO = '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0';

async function withServer(options: Partial<Omit<VscpServerOptions, 'bus'>>, body: (s: VirtualServer) => Promise<void>): Promise<void> {
  const s = await startServer<VirtualCanBus>(options);
  try {
    await body(s);
  } finally {
    await s.close();
  }
}

function injectEvent(s: VirtualServer, id: number, data: number[]): void {
  s.bus.inject('vcan0', { rawId: (CAN_EFF_FLAG | id) >>> 0, data: Uint8Array.from(data) });
}

test('§9 #34: cdta and checkdata -> "0 " (trailing space) then +OK', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    c.sendLine('cdta');
    await c.readLines(2);
    assert.ok(c.allReceived.toString('latin1').endsWith('0 \r\n+OK\r\n'));
    assert.deepEqual(await c.command('checkdata'), ['0 ', '+OK']);
  }));

test('§9 #35 (design.md "Extra spellings": chkdata, clrall, getchid, help, info, test, retrieve, receiveloop accepted; chdata, challenge, measurement still invalid)', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('chkdata'), ['0 ', '+OK']);
    assert.deepEqual(await c.command('clrall'), ['+OK - All events cleared.']);
    const [chid] = await c.command('chid');
    assert.deepEqual(await c.command('getchid'), [chid, '+OK']);
    assert.deepEqual(await c.command('TEST'), ['+OK']);
    assert.deepEqual(await c.command('RETRIEVE'), ['-OK - No event(s) available']);
    assert.deepEqual(await c.command('RECEIVELOOP'), ['+OK']);
    assert.deepEqual(await c.command('quitloop'), ['+OK']);
    const help = await c.command('help');
    assert.equal(help.at(-1), '+OK');
    assert.ok(help.length > 10);
    const info = await c.command('info');
    assert.equal(info.at(-1), '+OK');
    assert.ok(info.some((l) => l === 'clients: 1 of 5'), info.join('|'));
    for (const w of ['chdata', 'challenge', 'measurement', 'exit']) assert.deepEqual(await c.command(w), ['-OK - invalid command'], w);
  }));

test('§9 #36/#37/#42/#43/#44 (changed: CHID is a non-zero channel id)/#45/#46: clra, ggid, wcyd, vers, chid, stat, restart/shutdown', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('clra'), ['+OK - All events cleared.']);
    assert.deepEqual(await c.command('ggid'), [ZERO, '+OK']);
    assert.deepEqual(await c.command('getguid'), [ZERO, '+OK']);
    assert.deepEqual(await c.command('wcyd'), ['00-00-00-00-00-00-80-28', '+OK']);
    assert.deepEqual(await c.command('whatcanyoudo'), ['00-00-00-00-00-00-80-28', '+OK']);
    assert.deepEqual(await c.command('vers'), [versionReply(), '+OK']);
    assert.deepEqual(await c.command('version'), [versionReply(), '+OK']);
    const chid = await c.command('chid');
    assert.equal(chid[1], '+OK');
    assert.match(chid[0]!, /^[1-9][0-9]*$/);
    assert.deepEqual(await c.command('stat'), ['0,0,0,0,0,0,0', '+OK']);
    assert.deepEqual(await c.command('restart'), ['-OK - uvscpd is not capable of restart/shutdown']);
    assert.deepEqual(await c.command('shutdown'), ['-OK - uvscpd is not capable of restart/shutdown']);
    assert.deepEqual(await c.command('shutdown pw'), ['-OK - wrong number of arguments']);
  }));

test('§9 #38: guid option -> GGID prints FF:EE:...:11:0', T, () =>
  withServer({ guid: parseGuid('FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00')! }, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('ggid'), ['FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:0', '+OK']);
  }));

test('§9 #39/#40/#41: sgid validation; trailing colon; per connection', T, () =>
  withServer({}, async (s) => {
    const a = await s.client();
    const b = await s.client();
    assert.deepEqual(await a.command('sgid 1:2:3'), ['-OK - Invalid GUID']);
    assert.deepEqual(await a.command('sgid ' + Array(17).fill('1').join(':')), ['-OK - Invalid GUID']);
    assert.deepEqual(await a.command('sgid abc:' + Array(15).fill('1').join(':')), ['-OK - Invalid GUID']);
    assert.deepEqual(await a.command('sgid 0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:'), ['+OK']);
    assert.deepEqual(await a.command('ggid'), ['0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:F', '+OK']);
    assert.deepEqual(await b.command('ggid'), [ZERO, '+OK']);
  }));

test('§9 #47/#48: interface list (any case, extras ignored); Started = listen time, same for every client', T, () =>
  withServer({}, async (s) => {
    const a = await s.client();
    const b = await s.client();
    const one = await a.command('interface list');
    assert.equal(one.length, 2);
    assert.match(one[0]!, /^0,1,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0,vcan0\|Started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.equal(one[1], '+OK');
    assert.deepEqual(await a.command('INTERFACE LIST'), one);
    assert.deepEqual(await b.command('interface list extra'), one);
    const started = Date.parse(one[0]!.split('|Started ')[1]! + 'Z');
    assert.ok(Math.abs(started - Date.now()) < 5000);
  }));

test('§9 #49 (D3: interface <unknown> answers -OK, the rest of the chunk still runs)', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    c.write('interface foo\r\nnoop\r\n');
    assert.deepEqual(await c.readLines(2), ['-OK - invalid command', '+OK']);
  }));

test('§9 #50 (D2: interface with no argument -> wrong number of arguments, the daemon lives)', T, () =>
  withServer({}, async (s) => {
    const a = await s.client();
    const b = await s.client();
    assert.deepEqual(await a.command('interface'), ['-OK - wrong number of arguments']);
    assert.deepEqual(await b.command('noop'), ['+OK']);
  }));

test('§9 #51–#59 (#56 changed: head 256 = frame version 0x100 is accepted, 512 is not): SEND parsing over TCP', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    const ok = [
      'send 0,20,3,,,,-,0,1,35',
      'send 0,20,3,0,,0,,',
      'send 0,20,3,,,,-,1,2,3,4,5,6,7,8',
      'send 0,20,3,,,,-,0x1F,0XfF',
      'send 0,20,3,,,,-,1,',
      'send 0,1023,255,,,,-',
      'send 0x,20,3,,,,-',
      'send -0,+20,3,,,,-',
      'send 0,20,3,2020-03-08T19:15:53.000Z,{x},$v,-',
      'send 0,532,3,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,2,3,4,5,6,7,8',
      'send 256,20,3,,,,-',
      'send 256,20,3,0,,1786000000000000000,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00,0,1,35',
    ];
    for (const line of ok) assert.deepEqual(await c.command(line), ['+OK'], line);
    const bad = [
      'send 0,20,3,,,,',
      'send 0,20,3,,,,-,1,2,3,4,5,6,7,8,9',
      'send 0,20,3,,,,-,256',
      'send 0,20,3,,,,-,,1',
      'send 512,20,3,,,,-',
      'send 768,20,3,0,,1786000000000000000,-',
      'send 0,1024,3,,,,-',
      'send 0,20,256,,,,-',
      'send ff,20,3,,,,-',
      'send 0,532,3,,,,-,0,0,0,1',
      'send 0,532,3,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,2,3,4,5,6,7,8,9',
    ];
    for (const line of bad) assert.deepEqual(await c.command(line), ['-OK - format error in CAN frame'], line);
    assert.deepEqual(await c.command('send'), ['-OK - wrong number of arguments']);
    assert.deepEqual(await c.command('send 0, 20,3,,,,-'), ['-OK - wrong number of arguments']);
  }));

test('§9 #94: two SENDs of 3 and 0 data bytes -> stat 0,0,0,0,0,11,2', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    await c.command('send 0,20,3,,,,-,1,2,3');
    await c.command('send 0,20,3,,,,-');
    assert.deepEqual(await c.command('stat'), ['0,0,0,0,0,11,2', '+OK']);
  }));

test('§9 #60: SEND that the CAN layer refuses -> problem when writing; txFrames still grows', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    s.bus.setTransmitPaused('vcan0', true);
    // Fill the TX queue: 1024 frames park, the next ones get ENOBUFS.
    const n = 1030;
    let text = '';
    for (let i = 0; i < n; i++) text += 'send 0,20,3,,,,-,1\r\n';
    text += 'stat\r\n';
    c.write(text);
    await c.expectSilence(200); // every reply waits behind the first parked SEND
    s.bus.setTransmitPaused('vcan0', false);
    const lines = await c.readLines(n + 2, 10000);
    assert.deepEqual(lines.slice(0, 1024), Array(1024).fill('+OK'));
    assert.deepEqual(lines.slice(1024, n), Array(n - 1024).fill('-OK - problem when writing to CAN socket'));
    assert.deepEqual(lines.slice(n), [`0,0,0,0,0,${n * 5},${n}`, '+OK']);
  }));

test('SEND: no reply vanishes and order holds while the TX queue is full (mixed with other commands)', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    s.bus.setTransmitPaused('vcan0', true);
    c.write('send 0,20,3,,,,-,1\r\nnoop\r\nsend 0,20,3,,,,-\r\nvers\r\n');
    await c.expectSilence(150);
    s.bus.setTransmitPaused('vcan0', false);
    assert.deepEqual(await c.readLines(5), ['+OK', '+OK', '+OK', versionReply(), '+OK']);
    await c.expectSilence(100);
  }));

test('SEND racing an interface-down: the session still ends with CAN Disconnected - bye!', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    // The down event reaches the session a tick later; whatever the SEND got, the last word is the disconnect.
    s.bus.setInterfaceState('vcan0', 'down');
    c.write('send 0,20,3,,,,-,1\r\n');
    const rest = await c.expectClose();
    assert.equal(rest.at(-1), '-OK - CAN Disconnected - bye!');
  }));

test('§9 #73/#74/#75/#76/#77: RETR, CDTA and CLRA on received events', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('retr'), ['-OK - No event(s) available']);
    assert.deepEqual(await c.command('retr 0'), ['+OK']);
    for (const n of [1, 2, 3]) injectEvent(s, 0x0c140300, [n]);
    await waitForCdta(c, 3);
    const first = await c.command('retr');
    assert.equal(first.length, 2);
    assert.match(first[0]!, /^96,20,3,0,[^,]+,\d+,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0,1$/);
    assert.equal(first[1], '+OK');
    const rest = await c.command('retr 5');
    assert.deepEqual(rest.map((l) => l.split(',').at(-1)), ['2', '3', '-OK - No event(s) available']);
    assert.deepEqual(await c.command('retr 3x'), ['-OK']);
    assert.deepEqual(await c.command('retr 1 2'), ['-OK - wrong number of arguments']);
    for (const n of [4, 5, 6]) injectEvent(s, 0x0c140300, [n]);
    await waitForCdta(c, 3);
    assert.deepEqual((await c.command('retr +2')).map((l) => l.split(',').at(-1)), ['4', '5', '+OK']);
    assert.deepEqual((await c.command('retr -1')).map((l) => l.split(',').at(-1)), ['6', '-OK - No event(s) available']);
    injectEvent(s, 0x0c140300, [7]);
    await waitForCdta(c, 1);
    assert.deepEqual(await c.command('clra'), ['+OK - All events cleared.']);
    assert.deepEqual(await c.command('cdta'), ['0 ', '+OK']);
  }));

test('§9 #78 (D1): fifoSize is an option; overflow drops the oldest and INFO counts it', T, () =>
  withServer({ fifoSize: 3 }, async (s) => {
    const c = await s.client();
    for (let n = 0; n < 5; n++) injectEvent(s, 0x0c140300, [n]);
    await waitForCdta(c, 3);
    assert.ok((await c.command('info')).includes('fifo: 3 of 3 events, 2 dropped when full'));
    assert.deepEqual((await c.command('retr 3')).map((l) => l.split(',').at(-1)), ['2', '3', '4', '+OK']);
  }));

test('§9 #83/#86/#88: rcvloop flushes buffered events after +OK; commands work inside; quitloop', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    injectEvent(s, 0x0c140300, [1]);
    injectEvent(s, 0x0c140300, [2]);
    await waitForCdta(c, 2);
    c.sendLine('rcvloop');
    const lines = await c.readLines(3);
    assert.equal(lines[0], '+OK');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',').at(-1)), ['1', '2']);
    assert.deepEqual(await c.command('send 0,20,3,,,,-'), ['+OK']);
    assert.deepEqual(await c.command('retr'), ['-OK - No event(s) available']);
    assert.deepEqual(await c.command('cdta'), ['0 ', '+OK']);
    assert.deepEqual(await c.command('stat'), ['0,0,0,10,2,4,1', '+OK']);
    assert.deepEqual(await c.command('rcvloop x'), ['-OK - wrong number of arguments']);
    assert.deepEqual(await c.command('quitloop'), ['+OK']);
    assert.deepEqual(await c.command('quitloop'), ['+OK']);
  }));

test('§9 #85/#87: idle rcvloop keep-alives: bare +OK, first within 2.2 s, then about every 2 s; none after quitloop', { timeout: 15000 }, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('rcvloop'), ['+OK']);
    const t0 = Date.now();
    assert.equal(await c.readLine(2600), '+OK');
    const first = Date.now() - t0;
    assert.ok(first >= 900 && first <= 2300, `first keep-alive after ${first} ms`);
    assert.equal(await c.readLine(2600), '+OK');
    const second = Date.now() - t0 - first;
    assert.ok(second >= 1700 && second <= 2400, `second keep-alive after ${second} ms`);
    assert.deepEqual(await c.command('quitloop'), ['+OK']);
    await c.expectSilence(2500);
  }));

test('§5.2: steady CAN traffic suppresses keep-alives; events are pushed at once', { timeout: 15000 }, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('rcvloop'), ['+OK']);
    const timer = setInterval(() => injectEvent(s, 0x0c140300, [1]), 50);
    try {
      await sleep(2600);
    } finally {
      clearInterval(timer);
    }
    const lines = c.unread.toString('latin1').split('\r\n').filter((l) => l.length > 0);
    assert.ok(lines.length > 20, `${lines.length} events`);
    assert.ok(!lines.includes('+OK'), 'no keep-alive while traffic flows');
  }));

test('§9 #89: no credentials configured -> no user/password configured', T, () =>
  withServer({}, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('user'), ['+OK - no user configured']);
    assert.deepEqual(await c.command('user x'), ['+OK - no user configured']);
    assert.deepEqual(await c.command('pass'), ['+OK - no password configured']);
    assert.deepEqual(await c.command('pass y'), ['+OK - no password configured']);
  }));

test('§9 #90/#91/#93: credentials checked, not enforced; connection stays open', T, () =>
  withServer({ user: 'admin', password: 'secret' }, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('send 0,20,3,,,,-'), ['+OK']);
    assert.deepEqual(await c.command('user bob'), ['-OK - invalid user']);
    assert.deepEqual(await c.command('pass x'), ['-OK - invalid password']);
    assert.deepEqual(await c.command('retr'), ['-OK - No event(s) available']);
    assert.deepEqual(await c.command('user'), ['-OK - please supply username']);
    assert.deepEqual(await c.command('pass'), ['-OK - please supply password']);
    assert.deepEqual(await c.command('user a b'), ['-OK - wrong number of arguments']);
    assert.deepEqual(await c.command('user admin'), ['+OK']);
    assert.deepEqual(await c.command('pass secret'), ['+OK']);
  }));

test('§9 #92 (D10: user Admin matches exactly; admin does not)', T, () =>
  withServer({ user: 'Admin', password: 'PassWord' }, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('user Admin'), ['+OK']);
    assert.deepEqual(await c.command('user admin'), ['-OK - invalid user']);
    assert.deepEqual(await c.command('PASS PassWord'), ['+OK']);
  }));

test('design.md "Auth" (requireLogin): commands gated until login; wrong password replies then closes', T, () =>
  withServer({ user: 'admin', password: 'secret', requireLogin: true }, async (s) => {
    const c = await s.client();
    assert.deepEqual(await c.command('retr'), ['-OK - Need to log in to perform this command.']);
    assert.deepEqual(await c.command('noop'), ['+OK']);
    assert.deepEqual(await c.command('user admin'), ['+OK']);
    assert.deepEqual(await c.command('pass secret'), ['+OK']);
    assert.deepEqual(await c.command('retr'), ['-OK - No event(s) available']);
    const d = await s.client();
    d.write('user admin\r\npass wrong\r\nnoop\r\n');
    assert.deepEqual(await d.expectClose(), ['+OK', '-OK - invalid password']);
  }));

test('idle timeout (option): a silent session is told and closed; off by default', { timeout: 10000 }, async () => {
  await withServer({ idleTimeoutMs: 300 }, async (s) => {
    const c = await s.client();
    const t0 = Date.now();
    assert.deepEqual(await c.expectClose(2000), ['-OK - Idle timeout - bye!']);
    assert.ok(Date.now() - t0 >= 250);
    const d = await s.client();
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      assert.deepEqual(await d.command('noop'), ['+OK']); // input keeps it alive
    }
  });
  await withServer({}, async (s) => {
    const c = await s.client();
    await c.expectSilence(500);
    assert.deepEqual(await c.command('noop'), ['+OK']);
  });
});

test('client helper sanity: the banner client is a fresh connection', T, () =>
  withServer({}, async (s) => {
    const c = await TestClient.connectReady(s.port);
    assert.deepEqual(await c.command('noop'), ['+OK']);
    c.destroy();
  }));
