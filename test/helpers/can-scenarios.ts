// The CAN conformance scenarios (protocol §9 #61–#72, #78–#82, #84, #95, #99),
// written once and run against any bus: the VirtualCanBus in
// test/protocol/can.test.ts, SocketCAN on vcan in test/socketcan/server-can.test.ts.
// Each scenario starts its own server on the rig's bus and checks what
// clients and an INDEPENDENT observer/injector (another socket on the
// virtual bus; cansend / a raw socket on vcan) see.

import assert from 'node:assert/strict';
import type { CanBus } from '../../lib/can/types.js';
import { TestClient } from './client.js';
import { sleep, startServer, waitForCdta } from './server.js';
import type { RunningServer } from './server.js';

export const CAN_EFF_FLAG = 0x80000000;
export const CAN_RTR_FLAG = 0x40000000;
export const CAN_ERR_FLAG = 0x20000000;

export interface ObservedFrame {
  /** Kernel can_id, flag bits included. */
  rawId: number;
  data: number[];
}

export interface BusObserver {
  /** Frames seen so far. */
  readonly frames: ObservedFrame[];
  /** Resolves once at least `count` frames were seen. */
  waitFor(count: number, timeoutMs?: number): Promise<ObservedFrame[]>;
  close(): Promise<void>;
}

/** The bus under test plus an independent way to put frames on it and watch it. */
export interface CanRig {
  readonly name: string;
  readonly bus: CanBus;
  readonly iface: string;
  /** Put frames on the bus as other nodes would (rawId in kernel form). */
  inject(frames: readonly ObservedFrame[]): Promise<void>;
  observe(): Promise<BusObserver>;
  /** Bring the interface down or up (`ip link set`); only rigs with a disposable interface. */
  setLinkUp?(up: boolean): Promise<void>;
  /** How long to wait to be sure something did NOT arrive. */
  readonly quietMs: number;
}

export interface CanScenario {
  title: string;
  /** Rigs without setLinkUp skip scenarios that need it. */
  needsLinkControl?: boolean;
  run(rig: CanRig): Promise<void>;
}

const ZERO_PREFIX = '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:';

/** Split an event line (protocol §3.4) into named fields. */
export function parseEventLine(line: string): { head: number; cls: number; type: number; obid: string; datetime: string; timestamp: string; guid: string; data: number[] } {
  const f = line.split(',');
  assert.ok(f.length >= 7, `event line has 7+ fields: ${line}`);
  return {
    head: Number(f[0]),
    cls: Number(f[1]),
    type: Number(f[2]),
    obid: f[3]!,
    datetime: f[4]!,
    timestamp: f[5]!,
    guid: f[6]!,
    data: f.slice(7).map(Number),
  };
}

async function withServer(rig: CanRig, body: (s: RunningServer) => Promise<void>): Promise<void> {
  const s = await startServer({ bus: rig.bus, canInterface: rig.iface });
  try {
    await body(s);
  } finally {
    await s.close();
  }
}

function frame(rawId: number, data: number[] = []): ObservedFrame {
  return { rawId: rawId >>> 0, data };
}

/** Read `count` rcvloop event lines (keep-alives skipped). */
async function readEvents(c: TestClient, count: number): Promise<ReturnType<typeof parseEventLine>[]> {
  const out: ReturnType<typeof parseEventLine>[] = [];
  while (out.length < count) {
    const line = await c.readLine(5000);
    if (line === '+OK') continue;
    out.push(parseEventLine(line));
  }
  return out;
}

/** Send a command, read its status line and check it. */
async function expectOk(c: TestClient, line: string): Promise<void> {
  assert.deepEqual(await c.command(line), ['+OK'], line);
}

export const CAN_SCENARIOS: readonly CanScenario[] = [
  {
    title: '§9 #61: send 96,20,3,,,,-,0,1,35 -> EFF id 0x0C140300, DLC 3, 00 01 23 on the bus',
    async run(rig) {
      await withServer(rig, async (s) => {
        const obs = await rig.observe();
        try {
          const a = await s.client();
          await expectOk(a, 'send 96,20,3,,,,-,0,1,35');
          const [f] = await obs.waitFor(1);
          assert.deepEqual(f, frame(CAN_EFF_FLAG | 0x0c140300, [0, 1, 35]));
        } finally {
          await obs.close();
        }
      });
    },
  },
  {
    title: '§9 #62/#63/#64: head bits 7..4 map to id 28..25; nickname always 0; class 532 -> 20 without the GUID bytes',
    async run(rig) {
      await withServer(rig, async (s) => {
        const obs = await rig.observe();
        try {
          const a = await s.client();
          await expectOk(a, 'send 255,20,3,,,,-');
          await expectOk(a, 'send 15,20,3,,,,-');
          await expectOk(a, 'send 96,20,3,0,,0,1:2:3:4:5:6:7:8:9:A:B:C:D:E:F:AA,1');
          await expectOk(a, 'sgid 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A');
          await expectOk(a, 'send 96,20,3,,,,-,2');
          await expectOk(a, 'send 96,532,9,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,10,3,208');
          const got = await obs.waitFor(5);
          assert.deepEqual(got, [
            frame(CAN_EFF_FLAG | 0x1e140300),
            frame(CAN_EFF_FLAG | 0x00140300),
            frame(CAN_EFF_FLAG | 0x0c140300, [1]),
            frame(CAN_EFF_FLAG | 0x0c140300, [2]),
            frame(CAN_EFF_FLAG | 0x0c140900, [3, 208]),
          ]);
        } finally {
          await obs.close();
        }
      });
    },
  },
  {
    title: '§9 #65 (changed: obid is A\'s channel id)/#66: B receives A\'s frame with B\'s GUID and nickname 0; A does not receive its own',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        const b = await s.client();
        await expectOk(b, 'sgid 1:2:3:4:5:6:7:8:9:A:B:C:D:E:F:10');
        const chidA = (await a.command('chid'))[0]!;
        await expectOk(a, 'rcvloop');
        await expectOk(a, 'send 96,20,3,,,,-,0,1,35');
        await waitForCdta(b, 1);
        const reply = await b.command('retr');
        assert.equal(reply.length, 2);
        assert.equal(reply[1], '+OK');
        const e = parseEventLine(reply[0]!);
        assert.deepEqual([e.head, e.cls, e.type, e.obid, e.guid, e.data], [96, 20, 3, chidA, '1:2:3:4:5:6:7:8:9:A:B:C:D:E:F:0', [0, 1, 35]]);
        // A, in rcvloop, sees nothing of its own frame (a keep-alive may come, an event may not).
        await sleep(rig.quietMs);
        const seen = a.unread.toString('latin1').split('\r\n').filter((l) => l.length > 0 && l !== '+OK');
        assert.deepEqual(seen, []);
        await expectOk(a, 'quitloop');
        assert.deepEqual(await a.command('cdta'), ['0 ', '+OK']);
      });
    },
  },
  {
    title: 'CHID: a non-zero channel id per live session, unique among them; GETCHID says the same',
    async run(rig) {
      await withServer(rig, async (s) => {
        const clients = [await s.client(), await s.client(), await s.client()];
        const ids: string[] = [];
        for (const c of clients) {
          const reply = await c.command('chid');
          assert.equal(reply[1], '+OK');
          assert.match(reply[0]!, /^[1-9][0-9]*$/);
          assert.deepEqual(await c.command('getchid'), reply);
          ids.push(reply[0]!);
        }
        assert.equal(new Set(ids).size, 3, ids.join(','));
        await expectOk(clients[1]!, 'noop');
        assert.deepEqual(await clients[1]!.command('quit'), ['+OK - bye']);
        const next = await s.client();
        const [nextId] = await next.command('chid');
        assert.ok(nextId !== ids[0] && nextId !== ids[2], `${nextId} is not a live session's id (${ids.join(',')})`);
      });
    },
  },
  {
    title: 'obid, the tcpiplink driver\'s pattern: connection 1 asks CHID and sends, connection 2 in rcvloop gets the bus\'s and other clients\' events with other obids and its partner\'s with the partner\'s id',
    async run(rig) {
      await withServer(rig, async (s) => {
        const sender = await s.client();
        const chid = (await sender.command('chid'))[0]!;
        const receiver = await s.client();
        await expectOk(receiver, 'sflt 0,0,0,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00');
        await expectOk(receiver, 'smsk 0,0,0,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00');
        await expectOk(receiver, 'rcvloop');
        const other = await s.client();
        const otherChid = (await other.command('chid'))[0]!;
        await expectOk(sender, 'send 96,20,3,,,,-,1');
        await expectOk(other, 'send 96,20,3,,,,-,2');
        await rig.inject([frame(CAN_EFF_FLAG | 0x0c140301, [3])]);
        await expectOk(sender, 'send 256,20,3,0,,1786000000000000000,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00,4');
        const events = await readEvents(receiver, 4);
        const byData = new Map(events.map((e) => [e.data[0], e.obid]));
        assert.deepEqual(
          [byData.get(1), byData.get(2), byData.get(3), byData.get(4)],
          [chid, otherChid, '0', chid],
          events.map((e) => `${e.data[0]}:${e.obid}`).join(' '),
        );
        // What the driver keeps: everything whose obid is not its sending connection's CHID.
        assert.deepEqual(events.filter((e) => e.obid !== chid).map((e) => e.data[0]).sort(), [2, 3]);
        // The sender itself never gets its own frames back (protocol §4.4), but gets the others'.
        await waitForCdta(sender, 2);
        await sleep(rig.quietMs);
        const got = (await sender.command('retr 5')).slice(0, -1).map(parseEventLine);
        assert.deepEqual(got.map((e) => [e.data[0], e.obid]).sort(), [[2, otherChid], [3, '0']]);
      });
    },
  },
  {
    title: 'obid: a frame from outside gets 0 even with the id and data of a frame a session sent earlier',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        const chidA = (await a.command('chid'))[0]!;
        const b = await s.client();
        await expectOk(b, 'rcvloop');
        const n = 20;
        for (let i = 0; i < n; i++) await expectOk(a, `send 96,20,3,,,,-,${i},9`);
        const first = await readEvents(b, n);
        assert.deepEqual(first.map((e) => [e.data[0], e.obid]), Array.from({ length: n }, (_, i) => [i, chidA]));
        const same: ObservedFrame[] = [];
        for (let i = 0; i < n; i++) same.push(frame(CAN_EFF_FLAG | 0x0c140300, [i, 9]));
        await rig.inject(same);
        const second = await readEvents(b, n);
        assert.deepEqual(second.map((e) => [e.data[0], e.obid]), Array.from({ length: n }, (_, i) => [i, '0']));
        // And A's next identical frame carries A's id again.
        await expectOk(a, 'send 96,20,3,,,,-,0,9');
        const [again] = await readEvents(b, 1);
        assert.deepEqual([again!.data, again!.obid], [[0, 9], chidA]);
      });
    },
  },
  {
    title: 'frame version: SEND with head 0x100, an empty datetime and a nanosecond timestamp puts the frame on the bus as head 0 would',
    async run(rig) {
      await withServer(rig, async (s) => {
        const obs = await rig.observe();
        try {
          const a = await s.client();
          await expectOk(a, 'send 256,20,3,0,,1786000000000000000,00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00,0,1,35');
          await expectOk(a, 'send 0x160,20,3,0,,1786000000000000001,-,7');
          assert.deepEqual(await a.command('send 0x260,20,3,0,,1786000000000000001,-,7'), ['-OK - format error in CAN frame']);
          const got = await obs.waitFor(2);
          assert.deepEqual(got, [frame(CAN_EFF_FLAG | 0x00140300, [0, 1, 35]), frame(CAN_EFF_FLAG | 0x0c140300, [7])]);
        } finally {
          await obs.close();
        }
      });
    },
  },
  {
    title: '§9 #67/#68: an injected 1C14030A#000123 reaches every client as 224,20,3,...:A,0,1,35; 1E14030A -> head 240',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        const b = await s.client();
        await rig.inject([frame(CAN_EFF_FLAG | 0x1c14030a, [0, 1, 35]), frame(CAN_EFF_FLAG | 0x1e14030a)]);
        for (const c of [a, b]) {
          await waitForCdta(c, 2);
          const reply = await c.command('retr 2');
          assert.equal(reply[2], '+OK');
          const e1 = parseEventLine(reply[0]!);
          assert.deepEqual([e1.head, e1.cls, e1.type, e1.obid, e1.guid, e1.data], [224, 20, 3, '0', ZERO_PREFIX + 'A', [0, 1, 35]]);
          const e2 = parseEventLine(reply[1]!);
          assert.deepEqual([e2.head, e2.guid, e2.data], [240, ZERO_PREFIX + 'A', []]);
          assert.match(reply[1]!, /,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:A$/);
        }
      });
    },
  },
  {
    title: '§9 #69/#70/#95: standard, RTR and error frames ignored; an 8-byte frame -> 8 values; stat rx 12,1',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        await rig.inject([
          frame(0x123, [1, 2]),
          frame(CAN_EFF_FLAG | CAN_RTR_FLAG | 0x0c140300),
          frame(CAN_ERR_FLAG | 0x80, [0, 0, 0, 0, 0, 0, 0, 0]),
          frame(CAN_EFF_FLAG | 0x0c140301, [1, 2, 3, 4, 5, 6, 7, 255]),
        ]);
        await waitForCdta(a, 1);
        const reply = await a.command('retr');
        assert.deepEqual(parseEventLine(reply[0]!).data, [1, 2, 3, 4, 5, 6, 7, 255]);
        assert.deepEqual(await a.command('stat'), ['0,0,0,12,1,0,0', '+OK']);
      });
    },
  },
  {
    title: '§9 #71/#72: datetime is UTC without Z, timestamp decimal < 2^32; GUID follows SGID',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        await expectOk(a, 'sgid FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00');
        const before = Date.now();
        await rig.inject([frame(CAN_EFF_FLAG | 0x0c140305, [9])]);
        await waitForCdta(a, 1);
        const e = parseEventLine((await a.command('retr'))[0]!);
        assert.match(e.datetime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
        const when = Date.parse(e.datetime + 'Z');
        assert.ok(Math.abs(when - before) < 5000, `datetime ${e.datetime} is now, in UTC`);
        assert.match(e.timestamp, /^\d+$/);
        assert.ok(Number(e.timestamp) < 2 ** 32);
        assert.equal(e.guid, 'FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:5');
      });
    },
  },
  {
    title: '§9 #76/#78 (D1): 150 frames without RETR -> CDTA 100, the newest 100 in order',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        const frames: ObservedFrame[] = [];
        for (let i = 0; i < 150; i++) frames.push(frame(CAN_EFF_FLAG | 0x0c140000 | ((i >> 8) << 8) | (i & 0xff), [i]));
        await rig.inject(frames);
        await waitForCdta(a, 100, 10000);
        // Let any stragglers arrive, then check nothing beyond 100 is kept.
        await sleep(rig.quietMs);
        assert.deepEqual(await a.command('cdta'), ['100 ', '+OK']);
        const reply = await a.command('retr 100');
        assert.equal(reply.length, 101);
        assert.equal(reply[100], '+OK');
        assert.deepEqual(
          reply.slice(0, 100).map((l) => parseEventLine(l).data[0]),
          Array.from({ length: 100 }, (_, i) => i + 50),
        );
        const info = await a.command('info');
        assert.ok(info.some((l) => /fifo: 0 of 100 events, 50 dropped/.test(l)), info.join('|'));
      });
    },
  },
  {
    title: '§9 #79: sflt class 20 + smsk 511 -> only class-20 frames buffered and counted',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        await expectOk(a, 'sflt 0,20,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0');
        await expectOk(a, 'smsk 0,511,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0');
        await rig.inject([
          frame(CAN_EFF_FLAG | 0x0c150300, [1]),
          frame(CAN_EFF_FLAG | 0x0c140300, [2, 3]),
          frame(CAN_EFF_FLAG | 0x00100300, [4]),
          frame(CAN_EFF_FLAG | 0x1c1403ff, [5]),
        ]);
        await waitForCdta(a, 2);
        await sleep(rig.quietMs);
        const reply = await a.command('retr 5');
        assert.deepEqual(reply.slice(0, 2).map((l) => parseEventLine(l).data), [[2, 3], [5]]);
        assert.equal(reply[2], '-OK - No event(s) available');
        assert.deepEqual(await a.command('stat'), ['0,0,0,11,2,0,0', '+OK']);
      });
    },
  },
  {
    title: '§9 #81/#82: nickname filter (byte 15 = 0A, mask FF) passes only nickname 0x0A, only on that connection',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        const b = await s.client();
        await expectOk(a, 'sflt 0,0,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0A');
        await expectOk(a, 'smsk 0,0,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:FF');
        await rig.inject([frame(CAN_EFF_FLAG | 0x0c14030b), frame(CAN_EFF_FLAG | 0x0c14030a), frame(CAN_EFF_FLAG | 0x0d00010a)]);
        await waitForCdta(b, 3);
        await waitForCdta(a, 2);
        await sleep(rig.quietMs);
        const reply = await a.command('retr 3');
        assert.deepEqual(reply.slice(0, 2).map((l) => parseEventLine(l).guid), [ZERO_PREFIX + 'A', ZERO_PREFIX + 'A']);
        assert.equal(reply[2], '-OK - No event(s) available');
      });
    },
  },
  {
    title: '§9 #84/#87: in rcvloop frames are pushed at once; after quitloop they are buffered again',
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        await expectOk(a, 'rcvloop');
        await rig.inject([frame(CAN_EFF_FLAG | 0x0c140301, [7])]);
        const line = await a.readLine();
        assert.deepEqual(parseEventLine(line).data, [7]);
        await expectOk(a, 'quitloop');
        await rig.inject([frame(CAN_EFF_FLAG | 0x0c140301, [8])]);
        await waitForCdta(a, 1);
      });
    },
  },
  {
    title: '§9 #99 / design.md "Interface down": link down -> CAN Disconnected - bye! and close; down at connect -> banner then bye; back up -> new sessions work',
    needsLinkControl: true,
    async run(rig) {
      await withServer(rig, async (s) => {
        const a = await s.client();
        const b = await s.client();
        await expectOk(b, 'rcvloop');
        await rig.setLinkUp!(false);
        for (const c of [a, b]) {
          const rest = await c.expectClose(5000);
          assert.equal(rest.filter((l) => l !== '+OK').at(-1), '-OK - CAN Disconnected - bye!');
        }
        const late = await TestClient.connect(s.port);
        try {
          const lines = await late.expectClose(5000);
          assert.equal(lines.length, 4, lines.join('|'));
          assert.equal(lines[2], `+OK - Success, connected to ${rig.iface}`);
          assert.equal(lines[3], '-OK - CAN Disconnected - bye!');
        } finally {
          late.destroy();
        }
        await rig.setLinkUp!(true);
        const c = await s.client();
        await expectOk(c, 'noop');
        await rig.inject([frame(CAN_EFF_FLAG | 0x0c140301, [1])]);
        await waitForCdta(c, 1);
      });
    },
  },
];
