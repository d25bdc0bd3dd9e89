// Unit tests of the command table and dispatcher, with no socket at all
// (protocol §1.4–§1.6, §2, §6, §7; design.md D2, D3, D10, D12, "Auth").

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InterfaceState } from '../../lib/can/types.js';
import { COMMAND_WORDS, SessionState, executeLine } from '../../lib/server/commands.js';
import { Credentials } from '../../lib/server/credentials.js';
import type { BusErrorReport, CommandReply, ServerFacts, SessionHooks } from '../../lib/server/commands.js';
import { versionReply } from '../../lib/version.js';
import { zeroGuid } from '../../lib/vscp/index.js';

interface Fixture {
  state: SessionState;
  sent: { id: number; data: number[] }[];
  filters: { id: number; mask: number }[];
  loopStarts: number;
  sendOutcome: 'ok' | 'fail';
}

function fixture(
  opts: {
    user?: string;
    password?: string;
    requireLogin?: boolean;
    fifo?: number;
    channelId?: number;
    infoLines?: () => readonly string[];
    busErrors?: BusErrorReport;
  } = {},
): Fixture {
  const fx: Fixture = { state: undefined as unknown as SessionState, sent: [], filters: [], loopStarts: 0, sendOutcome: 'ok' };
  const facts: ServerFacts = {
    canInterface: 'vcan0',
    startedAtMs: Date.UTC(2020, 11, 19, 21, 48, 53),
    maxClients: 5,
    clientCount: 1,
    credentials: new Credentials(opts.user, opts.password),
    requireLogin: opts.requireLogin ?? false,
    interfaceState: (): InterfaceState => 'up',
    ...(opts.infoLines === undefined ? {} : { infoLines: opts.infoLines }),
  };
  const hooks: SessionHooks = {
    sendFrame: (id, data) => {
      fx.sent.push({ id, data: [...data] });
      return fx.sendOutcome === 'ok' ? Promise.resolve() : Promise.reject(new Error('ENOBUFS'));
    },
    applyFilter: (id, mask) => fx.filters.push({ id, mask }),
    loopStarted: () => {
      fx.loopStarts++;
    },
    kernelDrops: () => 7,
    busErrors: () =>
      opts.busErrors ?? { state: 'error-active', busOff: 0, errorWarning: 0, errorPassive: 0, overruns: 0, protocolErrors: 0, ackErrors: 0, restarts: 0 },
    now: () => Date.UTC(2020, 11, 19, 22, 48, 53),
  };
  fx.state = new SessionState(facts, hooks, zeroGuid(), opts.fifo ?? 100, opts.channelId ?? 1);
  return fx;
}

function lines(reply: CommandReply): string[] {
  assert.ok(reply.text.endsWith('\r\n'), 'reply ends in CRLF');
  return reply.text.slice(0, -2).split('\r\n');
}

function run(s: SessionState, line: string): string[] {
  const r = executeLine(s, line);
  assert.ok(!(r instanceof Promise), `${line} answered synchronously`);
  return lines(r);
}

async function runAsync(s: SessionState, line: string): Promise<string[]> {
  return lines(await executeLine(s, line));
}

const ZERO = '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0';

test('§9 #8/#11/#13/#14/#15/#16: noop, case, args, empty, unknown, no prefix match', () => {
  const { state } = fixture();
  assert.deepEqual(run(state, 'noop'), ['+OK']);
  assert.deepEqual(run(state, 'NoOp'), ['+OK']);
  assert.deepEqual(run(state, 'noop x'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(state, ''), ['-OK - no input']);
  assert.deepEqual(run(state, '    '), ['-OK - no input']);
  assert.deepEqual(run(state, 'foo'), ['-OK - invalid command']);
  assert.deepEqual(run(state, 'noopx'), ['-OK - invalid command']);
  assert.deepEqual(run(state, '__proto__'), ['-OK - invalid command']);
  assert.deepEqual(run(state, 'constructor'), ['-OK - invalid command']);
});

test('§9 #20/#21 (D11): kept DEL / high bytes make the word unknown', () => {
  const { state } = fixture();
  assert.deepEqual(run(state, 'noop\x7f'), ['-OK - invalid command']);
  assert.deepEqual(run(state, 'noop\xff'), ['-OK - invalid command']);
  assert.deepEqual(run(state, 'NOOP\xc0'), ['-OK - invalid command']);
});

test('§9 #26–#29: + repeats the last line; + x; +5', () => {
  const { state } = fixture();
  assert.deepEqual(run(state, '+'), ['-OK - no input']);
  assert.deepEqual(run(state, 'vers'), [versionReply(), '+OK']);
  assert.deepEqual(run(state, '+'), [versionReply(), '+OK']);
  assert.deepEqual(run(state, '   +   '), [versionReply(), '+OK']);
  assert.deepEqual(run(state, 'foo'), ['-OK - invalid command']);
  assert.deepEqual(run(state, '+'), ['-OK - invalid command']);
  assert.deepEqual(run(state, '+ x'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(state, '+'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(state, '+5'), ['-OK - invalid command']);
  assert.deepEqual(run(state, '++'), ['-OK - invalid command']);
  assert.deepEqual(run(state, ''), ['-OK - no input']);
  assert.deepEqual(run(state, '+'), ['-OK - no input']);
});

test('§9 #31/#32: quit closes; quit now does not', () => {
  const { state } = fixture();
  const r = executeLine(state, 'quit');
  assert.ok(!(r instanceof Promise));
  assert.equal(r.text, '+OK - bye\r\n');
  assert.equal(r.close, 'quit');
  const r2 = executeLine(state, 'quit now');
  assert.ok(!(r2 instanceof Promise));
  assert.equal(r2.close, undefined);
  assert.deepEqual(lines(r2), ['-OK - wrong number of arguments']);
});

test('§9 #34/#36/#37/#42/#43/#44/#45/#46: fixed replies and aliases (#44: CHID answers the channel id, not 0)', () => {
  const { state } = fixture({ channelId: 42 });
  for (const w of ['cdta', 'checkdata', 'chkdata']) assert.deepEqual(run(state, w), ['0 ', '+OK']);
  for (const w of ['clra', 'clrall']) assert.deepEqual(run(state, w), ['+OK - All events cleared.']);
  for (const w of ['ggid', 'getguid']) assert.deepEqual(run(state, w), [ZERO, '+OK']);
  for (const w of ['wcyd', 'whatcanyoudo']) assert.deepEqual(run(state, w), ['00-00-00-00-00-00-80-28', '+OK']);
  for (const w of ['vers', 'version']) assert.deepEqual(run(state, w), [versionReply(), '+OK']);
  for (const w of ['chid', 'getchid']) assert.deepEqual(run(state, w), ['42', '+OK']);
  assert.deepEqual(run(state, 'stat'), ['0,0,0,0,0,0,0', '+OK']);
  for (const w of ['restart', 'shutdown']) assert.deepEqual(run(state, w), ['-OK - uvscpd is not capable of restart/shutdown']);
  assert.deepEqual(run(state, 'shutdown pw'), ['-OK - wrong number of arguments']);
});

test('§9 #35 (D12): chkdata, clrall, getchid, help, info, retrieve, receiveloop, test accepted; others still invalid', () => {
  for (const w of ['chkdata', 'clrall', 'getchid', 'help', 'info', 'retrieve', 'receiveloop', 'test']) assert.ok(COMMAND_WORDS.includes(w), w);
  const { state } = fixture();
  for (const w of ['chdata', 'challenge', 'measurement', 'clearall', 'exit']) {
    assert.deepEqual(run(state, w), ['-OK - invalid command'], w);
  }
});

test('spellings of the specification: TEST answers +OK; RETRIEVE works as RETR; RECEIVELOOP as RCVLOOP', () => {
  const { state } = fixture();
  assert.deepEqual(run(state, 'TEST'), ['+OK']);
  assert.deepEqual(run(state, 'test x'), ['-OK - wrong number of arguments']);
  state.fifo.push('a\r\n');
  state.fifo.push('b\r\n');
  assert.deepEqual(run(state, 'RETRIEVE'), ['a', '+OK']);
  assert.deepEqual(run(state, 'retrieve 5'), ['b', '-OK - No event(s) available']);
  state.fifo.push('c\r\n');
  assert.deepEqual(run(state, 'RECEIVELOOP'), ['+OK', 'c']);
  assert.equal(state.inLoop, true);
  assert.deepEqual(run(state, 'quitloop'), ['+OK']);
  assert.equal(state.inLoop, false);
});

test('help lists the specification spellings retrieve, receiveloop and test', () => {
  const { state } = fixture();
  const body = run(state, 'help').join('\n');
  assert.match(body, /retr\|retrieve /);
  assert.match(body, /rcvloop\|receiveloop /);
  assert.match(body, /\btest\b/);
});

test('infoLines: extra lines come after INFO\'s own and before +OK, sanitized like them', () => {
  const { state } = fixture({ infoLines: () => ['mqtt: connected to broker', '+OK looks like status', 'two\r\nlines\u0000here'] });
  const out = run(state, 'info');
  assert.equal(out[out.length - 1], '+OK');
  const uptime = out.findIndex((l) => l.startsWith('uptime:'));
  assert.deepEqual(out.slice(uptime + 1, -1), ['mqtt: connected to broker', ' +OK looks like status', 'two  lines here']);
  const failing = fixture({
    infoLines: () => {
      throw new Error('boom');
    },
  });
  const out2 = run(failing.state, 'info');
  assert.equal(out2[out2.length - 1], '+OK');
  assert.equal(out2[out2.length - 2], '(extra info unavailable)');
  const none = run(fixture().state, 'info');
  assert.ok(none[none.length - 2]!.startsWith('uptime:'), 'without the hook INFO ends with its own lines');
});

test('D12: help lists every command; no line looks like a status line', () => {
  const { state } = fixture();
  const out = run(state, 'help');
  assert.equal(out[out.length - 1], '+OK');
  const body = out.slice(0, -1).join('\n');
  for (const w of COMMAND_WORDS) assert.ok(body.includes(w), `help mentions ${w}`);
  for (const l of out.slice(0, -1)) assert.ok(!l.startsWith('+') && !l.startsWith('-') && !l.includes('OK'), l);
});

test('D12: info reports interface, clients, FIFO fill and drops, kernel drops, uptime', () => {
  const fx = fixture({ fifo: 2 });
  fx.state.fifo.push('a\r\n');
  fx.state.fifo.push('b\r\n');
  fx.state.fifo.push('c\r\n');
  const out = run(fx.state, 'info');
  assert.equal(out[out.length - 1], '+OK');
  const body = out.slice(0, -1);
  for (const l of body) assert.ok(!l.startsWith('+') && !l.startsWith('-'), l);
  const text = body.join('\n');
  assert.match(text, /interface: vcan0 up/);
  assert.match(text, /clients: 1 of 5/);
  assert.match(text, /fifo: 2 of 2 events, 1 dropped/);
  assert.match(text, /kernel drops: 7/);
  assert.match(text, /bus state: error-active\nbus errors: bus-off 0, warning 0, passive 0, overruns 0, protocol 0, no-ack 0, restarts 0\n/);
  assert.match(text, /uptime: 3600 s/);
});

test('design.md "STAT": the first three STAT fields are bus-off, error-warning and overrun counts; info shows the bus', () => {
  const busErrors: BusErrorReport = {
    state: 'error-passive',
    busOff: 2,
    errorWarning: 3,
    errorPassive: 4,
    overruns: 5,
    protocolErrors: 6,
    ackErrors: 7,
    restarts: 1,
  };
  const fx = fixture({ busErrors });
  assert.deepEqual(run(fx.state, 'stat'), ['2,3,5,0,0,0,0', '+OK']);
  const out = run(fx.state, 'info');
  assert.ok(out.includes('bus state: error-passive'), out.join('\n'));
  assert.ok(out.includes('bus errors: bus-off 2, warning 3, passive 4, overruns 5, protocol 6, no-ack 7, restarts 1'), out.join('\n'));
  busErrors.busOff = 2 ** 32 + 1; // 32-bit unsigned and wrapping, as the other fields (protocol §2.2)
  assert.deepEqual(run(fx.state, 'stat'), ['1,3,5,0,0,0,0', '+OK']);
});

test('§9 #39/#40/#72: sgid validation and GUID change', () => {
  const { state } = fixture();
  assert.deepEqual(run(state, 'sgid 1:2:3'), ['-OK - Invalid GUID']);
  assert.deepEqual(run(state, 'sgid ' + Array(17).fill('1').join(':')), ['-OK - Invalid GUID']);
  assert.deepEqual(run(state, 'sgid abc:' + Array(15).fill('1').join(':')), ['-OK - Invalid GUID']);
  assert.deepEqual(run(state, 'sgid'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(state, 'sgid 0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:'), ['+OK']);
  assert.deepEqual(run(state, 'getguid'), ['0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:F', '+OK']);
  assert.equal(state.guidPrefix, '0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:');
});

test('§9 #47/#48, #50 (D2), #49 (D3): interface', () => {
  const { state } = fixture();
  const list = [`0,1,${ZERO},vcan0|Started 2020-12-19T21:48:53`, '+OK'];
  assert.deepEqual(run(state, 'interface list'), list);
  assert.deepEqual(run(state, 'INTERFACE LIST'), list);
  assert.deepEqual(run(state, 'interface list extra'), list);
  assert.deepEqual(run(state, 'interface'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(state, 'interface foo'), ['-OK - invalid command']);
});

test('§9 #51/#52/#53/#94: send parses, counts before writing, replies +OK', async () => {
  const fx = fixture();
  assert.deepEqual(await runAsync(fx.state, 'send 0,20,3,,,,-,0,1,35'), ['+OK']);
  assert.deepEqual(fx.sent, [{ id: 0x00140300, data: [0, 1, 35] }]);
  assert.deepEqual(await runAsync(fx.state, 'send 0,20,3,0,,0,,'), ['+OK']);
  assert.deepEqual(run(fx.state, 'stat'), ['0,0,0,0,0,11,2', '+OK']);
  assert.deepEqual(run(fx.state, 'send'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(fx.state, 'send 0, 20,3,,,,-'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(fx.state, 'send 0,20,3,,,,'), ['-OK - format error in CAN frame']);
  // failed parses are not counted
  assert.deepEqual(run(fx.state, 'stat'), ['0,0,0,0,0,11,2', '+OK']);
});

test('§9 #60: a failed CAN write -> problem when writing, still counted', async () => {
  const fx = fixture();
  fx.sendOutcome = 'fail';
  assert.deepEqual(await runAsync(fx.state, 'send 0,20,3,,,,-,1'), ['-OK - problem when writing to CAN socket']);
  assert.deepEqual(run(fx.state, 'stat'), ['0,0,0,0,0,5,1', '+OK']);
});

test('§9 #73/#74/#75/#77: retr, cdta and clra on the FIFO', () => {
  const { state } = fixture();
  assert.deepEqual(run(state, 'retr'), ['-OK - No event(s) available']);
  assert.deepEqual(run(state, 'retr 0'), ['+OK']);
  for (const e of ['e1', 'e2', 'e3']) state.fifo.push(e + '\r\n');
  assert.deepEqual(run(state, 'cdta'), ['3 ', '+OK']);
  assert.deepEqual(run(state, 'retr'), ['e1', '+OK']);
  assert.deepEqual(run(state, 'retr 3x'), ['-OK']);
  assert.deepEqual(run(state, 'retr 0x5'), ['-OK']);
  assert.deepEqual(run(state, 'retr 1 2'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(state, 'retr 5'), ['e2', 'e3', '-OK - No event(s) available']);
  for (const e of ['e4', 'e5', 'e6']) state.fifo.push(e + '\r\n');
  assert.deepEqual(run(state, 'retr +2'), ['e4', 'e5', '+OK']);
  assert.deepEqual(run(state, 'retr -1'), ['e6', '-OK - No event(s) available']);
  state.fifo.push('e7\r\n');
  assert.deepEqual(run(state, 'retr 4294967296'), ['+OK']); // wraps to 0
  assert.deepEqual(run(state, 'clra'), ['+OK - All events cleared.']);
  assert.deepEqual(run(state, 'cdta'), ['0 ', '+OK']);
});

test('§9 #79/#80: sflt/smsk install one {id, mask} filter; format errors', () => {
  const fx = fixture();
  assert.deepEqual(run(fx.state, 'sflt 0,20,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), ['+OK']);
  assert.deepEqual(fx.filters.at(-1), { id: 20 << 16, mask: 0 });
  assert.deepEqual(run(fx.state, 'smsk 0,511,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), ['+OK']);
  assert.deepEqual(fx.filters.at(-1), { id: 20 << 16, mask: 511 << 16 });
  assert.deepEqual(run(fx.state, 'setmask 7,1023,255,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:ff'), ['+OK']);
  assert.equal(fx.filters.at(-1)!.mask, 0x1dffffff);
  assert.deepEqual(run(fx.state, 'smsk 8,0,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'), ['-OK - format error in mask frame']);
  assert.deepEqual(run(fx.state, 'setfilter 0,0,0'), ['-OK - format error in filter frame']);
  assert.deepEqual(run(fx.state, 'sflt 0,0,0,0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0,1'), ['-OK - format error in filter frame']);
  assert.equal(fx.filters.length, 3);
});

test('§9 #83/#86/#87/#88: rcvloop flushes after +OK; quitloop', () => {
  const fx = fixture();
  fx.state.fifo.push('e1\r\n');
  fx.state.fifo.push('e2\r\n');
  assert.deepEqual(run(fx.state, 'rcvloop'), ['+OK', 'e1', 'e2']);
  assert.equal(fx.state.inLoop, true);
  assert.equal(fx.loopStarts, 1);
  assert.deepEqual(run(fx.state, 'retr'), ['-OK - No event(s) available']);
  assert.deepEqual(run(fx.state, 'cdta'), ['0 ', '+OK']);
  assert.deepEqual(run(fx.state, 'rcvloop x'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(fx.state, 'quitloop'), ['+OK']);
  assert.equal(fx.state.inLoop, false);
  assert.deepEqual(run(fx.state, 'quitloop'), ['+OK']);
});

test('§9 #89: without credentials user/pass answer "no ... configured"', () => {
  const { state } = fixture();
  assert.deepEqual(run(state, 'user'), ['+OK - no user configured']);
  assert.deepEqual(run(state, 'user x'), ['+OK - no user configured']);
  assert.deepEqual(run(state, 'pass'), ['+OK - no password configured']);
  assert.deepEqual(run(state, 'pass y'), ['+OK - no password configured']);
});

test('§9 #90/#91/#93: configured credentials are checked, not enforced', () => {
  const { state } = fixture({ user: 'admin', password: 'secret' });
  assert.deepEqual(run(state, 'user admin'), ['+OK']);
  assert.deepEqual(run(state, 'user bob'), ['-OK - invalid user']);
  assert.deepEqual(run(state, 'user'), ['-OK - please supply username']);
  assert.deepEqual(run(state, 'user a b'), ['-OK - wrong number of arguments']);
  assert.deepEqual(run(state, 'pass secret'), ['+OK']);
  assert.deepEqual(run(state, 'pass x'), ['-OK - invalid password']);
  assert.deepEqual(run(state, 'pass'), ['-OK - please supply password']);
  assert.deepEqual(run(state, 'retr'), ['-OK - No event(s) available']);
  assert.deepEqual(run(state, 'stat'), ['0,0,0,0,0,0,0', '+OK']);
});

test('§9 #92 (D10): credentials with capitals match exactly, case-sensitively', () => {
  const { state } = fixture({ user: 'Admin', password: 'S3cret' });
  assert.deepEqual(run(state, 'USER Admin'), ['+OK']);
  assert.deepEqual(run(state, 'user admin'), ['-OK - invalid user']);
  assert.deepEqual(run(state, 'pass S3cret'), ['+OK']);
  assert.deepEqual(run(state, 'pass s3cret'), ['-OK - invalid password']);
});

test('D10: a non-ASCII UTF-8 password sent as bytes matches', () => {
  const { state } = fixture({ password: 'pässwörd' });
  const wire = Buffer.from('pässwörd', 'utf8').toString('latin1');
  assert.deepEqual(run(state, 'pass ' + wire), ['+OK']);
  assert.deepEqual(run(state, 'pass pässwörd'), ['-OK - invalid password']);
});

test('design.md "Auth" (requireLogin): gate, allowed commands, wrong password closes', () => {
  const { state } = fixture({ user: 'admin', password: 'secret', requireLogin: true });
  for (const cmd of ['retr', 'send 0,20,3,,,,-', 'stat', 'cdta', 'rcvloop', 'info']) {
    assert.deepEqual(run(state, cmd), ['-OK - Need to log in to perform this command.'], cmd);
  }
  assert.deepEqual(run(state, 'noop'), ['+OK']);
  assert.deepEqual(run(state, 'version'), [versionReply(), '+OK']);
  assert.equal(run(state, 'help').at(-1), '+OK');
  assert.deepEqual(run(state, 'user admin'), ['+OK']);
  assert.deepEqual(run(state, 'stat'), ['-OK - Need to log in to perform this command.']);
  assert.deepEqual(run(state, '+'), ['-OK - Need to log in to perform this command.']);
  assert.deepEqual(run(state, 'pass secret'), ['+OK']);
  assert.deepEqual(run(state, 'stat'), ['0,0,0,0,0,0,0', '+OK']);
  const bad = fixture({ user: 'admin', password: 'secret', requireLogin: true });
  const r = executeLine(bad.state, 'pass wrong');
  assert.ok(!(r instanceof Promise));
  assert.deepEqual(lines(r), ['-OK - invalid password']);
  assert.equal(r.close, 'now');
});
