// Property tests of the VSCP codec: the parsers never
// throw on arbitrary input, and the formats round-trip:
//   formatEvent(parseEventLine(x)) == x for canonical lines,
//   CAN frame -> event line -> parseEventLine == canFrameToEvent,
//   parseSendEvent(formatEvent(e)) agrees with the CAN mapping (protocol §3.5/§3.6),
//   parseGuid(formatGuid(g)) == g.
// Seeded: FUZZ_SEED=<printed seed> replays a run; FUZZ_PROP_RUNS changes the count.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canFrameToEvent,
  formatDateTime,
  formatEvent,
  formatEventLine,
  formatGuid,
  formatGuidPrefix,
  parseEventLine,
  parseFilterArgument,
  parseGuid,
  parseNumber,
  parseRetrCount,
  parseSendEvent,
  parseStrictUnsigned,
  vscpToCanId,
  type Guid,
  type VscpEvent,
} from '../../lib/vscp/index.js';
import { LineSplitter, MAX_LINE_CHARS, tokenize } from '../../lib/server/lines.js';
import { Rng, intFromEnv, seedFromEnv } from '../helpers/fuzz.js';

const SEED = seedFromEnv();
const RUNS = intFromEnv('FUZZ_PROP_RUNS', 20_000);
const EFF = 0x80000000;
console.log(`# vscp-property: FUZZ_SEED=${SEED} FUZZ_PROP_RUNS=${RUNS}`);

const rng = new Rng(SEED);

function randomString(r: Rng): string {
  const kind = r.int(4);
  const n = r.range(0, kind === 3 ? 400 : 60);
  let s = '';
  for (let i = 0; i < n; i++) {
    if (kind === 0) s += String.fromCharCode(r.int(256)); // latin1 bytes
    else if (kind === 1) s += String.fromCharCode(r.int(0x10000)); // any UTF-16 unit, lone surrogates included
    else s += r.pick(['0', '1', '9', 'x', 'X', 'f', 'F', ',', ':', '-', '+', ' ', '.', 'T', 'Z', '255', '256', '0x', '4294967296', '']);
  }
  return s;
}

function randomGuid(r: Rng): Guid {
  return Uint8Array.from(r.bytes(16));
}

function where(i: number, what: unknown): string {
  return `run ${i} (FUZZ_SEED=${SEED}): ${JSON.stringify(what, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v))}`;
}

test('parsers never throw, whatever the input (random strings, bytes, non-strings)', () => {
  const guid = randomGuid(rng);
  const odd: unknown[] = [undefined, null, 0, 1.5, {}, [], Symbol.iterator, 10n];
  for (const x of odd) {
    assert.equal(parseEventLine(x as string), null);
    assert.deepEqual(parseSendEvent(x as string, guid), { ok: false });
    assert.equal(parseGuid(x as string), null);
    assert.equal(parseNumber(x as string), null);
    assert.equal(parseFilterArgument(x as string), null);
    assert.equal(parseStrictUnsigned(x as string, 255), null);
  }
  const splitter = new LineSplitter();
  for (let i = 0; i < RUNS; i++) {
    const s = randomString(rng);
    try {
      const e = parseEventLine(s);
      if (e !== null) assert.ok(e.guid.length === 16 && e.data.length <= 512);
      const p = parseSendEvent(s, guid);
      if (p.ok) {
        assert.ok(p.id >= 0 && p.id <= 0x1fffffff && (p.id & 0xff) === 0, 'id is 29 bits with nickname 0');
        assert.ok(p.data.length <= 8);
      }
      const g = parseGuid(s);
      if (g !== null) assert.equal(g.length, 16);
      const n = parseNumber(s);
      if (n !== null) assert.ok(Number.isInteger(n) && n >= 0 && n < 2 ** 32);
      const c = parseRetrCount(s);
      if (c !== null) assert.ok(Number.isInteger(c) && c >= 0 && c < 2 ** 32);
      const f = parseFilterArgument(s);
      if (f !== null) assert.ok(f >= 0 && f <= 0x1fffffff && (f & 0x02000000) === 0, 'bit 25 never set');
      parseStrictUnsigned(s, 0xffffffff);
      const tok = tokenize(s);
      assert.ok(tok.length <= 10 && tok.every((t) => t.length > 0 && !t.includes(' ')));
      for (const line of splitter.push(Buffer.from(s, 'latin1'))) {
        if (!line.overlong) assert.ok(line.text.length < 320 && !/[\x00-\x1f]/.test(line.text));
      }
      splitter.push(rng.bytes(rng.range(0, 700)));
      if (i % 2 === 0) {
        // Whatever is held ends as one line at the next LF: overlong, or under the limit.
        // (Odd rounds carry it into the next input instead.)
        const [held, ...more] = splitter.push(Buffer.from('\n'));
        assert.equal(more.length, 0);
        assert.ok(held !== undefined && (held.overlong || held.text.length < MAX_LINE_CHARS));
      }
    } catch (err) {
      assert.fail(`${where(i, s)}: ${(err as Error).stack}`);
    }
  }
});

function randomCanonicalEvent(r: Rng): VscpEvent {
  const dataLength = r.chance(0.9) ? r.range(0, 8) : r.range(0, 512);
  return {
    head: r.int(256),
    vscpClass: r.chance(0.5) ? r.int(512) : r.int(65536),
    vscpType: r.chance(0.5) ? r.int(256) : r.int(65536),
    obid: r.chance(0.5) ? 0 : r.next(),
    datetime: r.chance(0.1) ? '' : formatDateTime(r.int(4102444800) * 1000 + r.int(1000)),
    timestamp: r.next(),
    guid: randomGuid(r),
    data: Uint8Array.from(r.bytes(dataLength)),
  };
}

test('formatEvent -> parseEventLine -> formatEvent is the identity on canonical events', () => {
  for (let i = 0; i < RUNS; i++) {
    const e = randomCanonicalEvent(rng);
    const line = formatEvent(e);
    const back = parseEventLine(line);
    assert.ok(back !== null, where(i, line));
    assert.deepEqual(back, e, where(i, line));
    assert.equal(formatEvent(back), line, where(i, line));
    // With CRLF, as on the wire.
    assert.equal(formatEvent(parseEventLine(line + '\r\n')!), line);
  }
});

test('CAN frame -> event line -> parseEventLine gives canFrameToEvent, with the protocol §3.4 field mapping', () => {
  for (let i = 0; i < RUNS; i++) {
    const id29 = rng.next() & 0x1fffffff;
    const rawId = (EFF | id29) >>> 0;
    const data = Uint8Array.from(rng.bytes(rng.range(0, 8)));
    const timestampUs = rng.chance(0.5) ? rng.next() * 1000 + rng.int(1000) : Date.now() * 1000;
    const receivedAtMs = rng.int(4102444800) * 1000;
    const guid = randomGuid(rng);
    const line = formatEventLine(rawId, data, 0, data.length, timestampUs, receivedAtMs, formatGuidPrefix(guid));
    assert.ok(line.endsWith('\r\n'));
    const parsed = parseEventLine(line);
    const expected = canFrameToEvent(rawId, data, timestampUs, receivedAtMs, guid);
    assert.ok(parsed !== null && expected !== null, where(i, line));
    assert.deepEqual(parsed, expected, where(i, line));
    assert.equal(parsed.head, ((id29 >>> 25) & 0xf) << 4);
    assert.equal(parsed.vscpClass, (id29 >>> 16) & 0x1ff);
    assert.equal(parsed.vscpType, (id29 >>> 8) & 0xff);
    assert.equal(parsed.guid[15], id29 & 0xff);
    assert.deepEqual(parsed.guid.subarray(0, 15), guid.subarray(0, 15));
    assert.equal(parsed.obid, 0);
    assert.ok(parsed.timestamp >= 0 && parsed.timestamp < 2 ** 32);
    // Standard, RTR and error frames are not events.
    assert.equal(canFrameToEvent(id29 & 0x7ff, data, timestampUs, receivedAtMs, guid), null);
    assert.equal(canFrameToEvent((rawId | 0x40000000) >>> 0, data, timestampUs, receivedAtMs, guid), null);
    assert.equal(canFrameToEvent((rawId | 0x20000000) >>> 0, data, timestampUs, receivedAtMs, guid), null);
  }
});

test('parseSendEvent on formatted events agrees with the CAN mapping (received event re-sent = same frame, nickname 0)', () => {
  for (let i = 0; i < RUNS; i++) {
    const id29 = rng.next() & 0x1fffffff;
    const data = Uint8Array.from(rng.bytes(rng.range(0, 8)));
    const connGuid = randomGuid(rng);
    const e = canFrameToEvent((EFF | id29) >>> 0, data, rng.next(), Date.now(), connGuid)!;
    const text = formatEvent(e);
    const sent = parseSendEvent(text, randomGuid(rng)); // fields 3..6 are not parsed: any GUID
    assert.ok(sent.ok, where(i, text));
    assert.equal(sent.id, (id29 & 0x1fffff00) >>> 0, where(i, text));
    assert.deepEqual(sent.data, data);
    // Level I over Level II (class + 512): the 16 connection GUID bytes, then the payload.
    const proxy = formatEvent({ ...e, vscpClass: e.vscpClass + 512, data: Uint8Array.from([...connGuid, ...data]) });
    const sentProxy = parseSendEvent(proxy, connGuid);
    assert.ok(sentProxy.ok, where(i, proxy));
    assert.equal(sentProxy.id, (id29 & 0x1fffff00) >>> 0);
    assert.deepEqual(sentProxy.data, data);
    // Any head: bits 7..5 priority, bit 4 hard-coded, bits 3..0 dropped (protocol §3.5).
    const head = rng.int(256);
    const withHead = parseSendEvent(formatEvent({ ...e, head }), connGuid);
    assert.ok(withHead.ok);
    assert.equal(withHead.id, vscpToCanId(head, e.vscpClass, e.vscpType, 0));
    assert.equal(withHead.id >>> 25, head >>> 4);
    // A 9th data byte is a format error (protocol §3.1).
    if (data.length === 8) assert.equal(parseSendEvent(text + ',1', connGuid).ok, false);
  }
});

test('parseGuid(formatGuid(g)) == g, padded or not, any case, one trailing colon', () => {
  for (let i = 0; i < RUNS; i++) {
    const g = randomGuid(rng);
    const text = formatGuid(g);
    assert.deepEqual(parseGuid(text), g, where(i, text));
    const padded = Array.from(g, (b) => b.toString(16).padStart(2, '0')).join(':');
    assert.deepEqual(parseGuid(rng.chance(0.5) ? padded : padded.toUpperCase()), g);
    assert.deepEqual(parseGuid(text + ':'), g);
    assert.equal(parseGuid(text + '::'), null);
    assert.equal(parseGuid(text.split(':').slice(0, 15).join(':')), null);
  }
});
