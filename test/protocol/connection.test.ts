// Connection lifecycle over real TCP with the VirtualCanBus (protocol §1.1,
// §1.2, §8.4, §9 #1–#7; design.md "Limits", "Interface down", banner).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer as createTcpServer } from 'node:net';
import type { Socket } from 'node:net';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { VscpServer, createServer } from '../../lib/server/index.js';
import type { Logger, SessionInfo } from '../../lib/server/index.js';
import { PACKAGE_HOME, PACKAGE_NAME, PACKAGE_VERSION } from '../../lib/version.js';
import { TestClient } from '../helpers/client.js';
import { sleep, startServer } from '../helpers/server.js';

const T = { timeout: 10000 };

test('§9 #1/#7 (design.md "Banner and VERS"): name+version, home, +OK - Success, connected to vcan0, all CRLF, before any input', T, async () => {
  const s = await startServer();
  try {
    const c = await TestClient.connect(s.port);
    const banner = await c.readLines(3); // readLine rejects a line without CRLF
    assert.deepEqual(banner, [`${PACKAGE_NAME} ${PACKAGE_VERSION}`, PACKAGE_HOME, '+OK - Success, connected to vcan0']);
    assert.equal(c.allReceived.toString('latin1'), banner.map((l) => l + '\r\n').join(''));
    c.destroy();
  } finally {
    await s.close();
  }
});

test('§9 #2: a missing interface -> -OK - interface [nosuchif] error: No such device, then close (verifyInterface off)', T, async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const s = await startServer({ bus, canInterface: 'nosuchif', verifyInterface: false });
  try {
    const c = await TestClient.connect(s.port);
    const lines = await c.expectClose();
    assert.deepEqual(lines, [`${PACKAGE_NAME} ${PACKAGE_VERSION}`, PACKAGE_HOME, '-OK - interface [nosuchif] error: No such device']);
  } finally {
    await s.close();
  }
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: () => undefined,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

test('§9 #2 (start-up): a missing interface is a warning naming it, listen() resolves, clients are told until it exists', T, async () => {
  const bus = new VirtualCanBus({ interfaces: [] });
  const logger = recordingLogger();
  const server = new VscpServer({ bus, canInterface: 'vcan9', host: '127.0.0.1', port: 0, logger });
  try {
    const address = await server.listen();
    const warnings = logger.lines.filter((l) => l.startsWith('warn '));
    assert.deepEqual(warnings, ['warn CAN interface vcan9 does not exist (No such device): clients are told so until it does']);
    assert.ok(!logger.lines.some((l) => l.startsWith('error ')), logger.lines.join('|'));
    for (let i = 0; i < 2; i++) {
      const c = await TestClient.connect(address.port);
      assert.deepEqual(await c.expectClose(), [`${PACKAGE_NAME} ${PACKAGE_VERSION}`, PACKAGE_HOME, '-OK - interface [vcan9] error: No such device']);
    }
    // The interface appears (a USB adapter plugged in, `ip link add`): the next client works.
    bus.addInterface('vcan9');
    const ok = await TestClient.connectReady(address.port);
    assert.deepEqual(await ok.command('noop'), ['+OK']);
    ok.destroy();
  } finally {
    await server.close();
  }
});

test('§9 #2 (start-up): other errors opening the interface make listen() reject, unlogged', T, async () => {
  const failing = (code: string, state: 'up' | 'absent') => {
    const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
    bus.open = () => {
      const err = new Error(`open failed (${code})`) as Error & { code: string };
      err.code = code;
      throw err;
    };
    bus.interfaceState = () => state;
    return bus;
  };
  for (const [code, state] of [['EAFNOSUPPORT', 'absent'], ['ENODEV', 'up'], ['EPERM', 'up']] as const) {
    const logger = recordingLogger();
    const server = new VscpServer({ bus: failing(code, state), canInterface: 'vcan0', host: '127.0.0.1', port: 0, logger });
    await assert.rejects(server.listen(), (err: NodeJS.ErrnoException) => err.code === code, code);
    assert.equal(server.address(), null);
    // The rejection is the report: the caller (the CLI) says it once, the server logs nothing.
    assert.deepEqual(logger.lines, [], code);
    await server.close();
  }
});

test('§9 #3: listens where told; port 0 is ephemeral; 127.0.0.1 does not answer on other addresses; EADDRINUSE rejects', T, async () => {
  const s = await startServer();
  try {
    assert.equal(s.address.address, '127.0.0.1');
    assert.ok(s.port > 0);
    assert.deepEqual(s.server.address(), s.address);
    // 127.0.0.2 is also this machine (loopback), but not the address we bound.
    await assert.rejects(TestClient.connect(s.port, '127.0.0.2'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
    const clash = createServer({ bus: s.bus, canInterface: 'vcan0', host: '127.0.0.1', port: s.port });
    await assert.rejects(clash.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
    await clash.close();
  } finally {
    await s.close();
  }
});

test('§9 #3: default port 8598 on 0.0.0.0 when free', T, async (t) => {
  // Skip if something on this machine already holds 8598.
  const free = await new Promise<boolean>((resolve) => {
    const probe = createTcpServer();
    probe.once('error', () => resolve(false));
    probe.listen(8598, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
  if (!free) {
    t.skip('port 8598 is in use here');
    return;
  }
  const server = new VscpServer({ bus: new VirtualCanBus(), canInterface: 'vcan0' });
  try {
    const a = await server.listen();
    assert.equal(a.port, 8598);
    assert.equal(a.address, '0.0.0.0');
  } finally {
    await server.close();
  }
});

test('§9 #4/#5/#6 (design.md "Limits"): 5 clients get the banner; the 6th gets the over-limit line and is closed; a freed slot serves again', T, async () => {
  const s = await startServer();
  try {
    const five: TestClient[] = [];
    for (let i = 0; i < 5; i++) five.push(await s.client());
    assert.equal(s.server.sessionCount, 5);
    const sixth = await TestClient.connect(s.port);
    assert.deepEqual(await sixth.expectClose(), ['-OK - Max number of clients connected.']);
    assert.deepEqual(await five[0]!.command('quit'), ['+OK - bye']);
    await five[0]!.expectClose();
    const again = await s.client();
    assert.deepEqual(await again.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('design.md "Limits": maxClients is an option', T, async () => {
  const s = await startServer({ maxClients: 1 });
  try {
    await s.client();
    const second = await TestClient.connect(s.port);
    assert.deepEqual(await second.expectClose(), ['-OK - Max number of clients connected.']);
  } finally {
    await s.close();
  }
});

/** A client that reads but never closes its side (allowHalfOpen): the server's FIN does not end it. */
function halfOpenClient(port: number): Promise<{ socket: Socket; text: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, text: () => text }));
    socket.once('error', reject);
  });
}

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

test('client limit: a client that quits frees its place at once, even when it never closes its side', T, async () => {
  const s = await startServer({ maxClients: 1 });
  try {
    const a = await halfOpenClient(s.port);
    await until(() => a.text().includes('+OK - Success'), 'the banner');
    a.socket.write('quit\r\n');
    await until(() => a.text().includes('+OK - bye\r\n'), 'the bye');
    // No waiting for the server to see a close: the peer never sends one.
    assert.equal(a.socket.destroyed, false, 'the quitting client still holds its connection');
    const b = await s.client();
    assert.deepEqual(await b.command('noop'), ['+OK']);
    const info = await b.command('info');
    assert.ok(info.includes('clients: 1 of 1'), info.join('|'));
    // close() still ends every TCP socket, the half-open one included, and then resolves.
    await s.close();
    assert.equal(s.server.sessionCount, 0);
    a.socket.destroy();
  } finally {
    await s.close();
  }
});

test('client limit: a session closed for an idle timeout or a login failure frees its place at once', T, async () => {
  const s = await startServer({ maxClients: 1, idleTimeoutMs: 300, user: 'u', password: 'p', requireLogin: true });
  try {
    const a = await halfOpenClient(s.port);
    await until(() => a.text().includes('+OK - Success'), 'the banner');
    a.socket.write('pass wrong\r\n');
    await until(() => a.text().includes('-OK - invalid password\r\n'), 'the refusal');
    const b = await halfOpenClient(s.port);
    await until(() => b.text().includes('+OK - Success'), 'the second banner');
    await until(() => b.text().includes('-OK - Idle timeout - bye!'), 'the idle timeout');
    const c = await s.client();
    assert.deepEqual(await c.command('noop'), ['+OK']);
    a.socket.destroy();
    b.socket.destroy();
  } finally {
    await s.close();
  }
});

test('design.md "Interface down": connecting while the interface is down -> banner, then CAN Disconnected - bye!', T, async () => {
  const s = await startServer();
  try {
    s.bus.setInterfaceState('vcan0', 'down');
    const c = await TestClient.connect(s.port);
    const lines = await c.expectClose();
    assert.deepEqual(lines.slice(2), ['+OK - Success, connected to vcan0', '-OK - CAN Disconnected - bye!']);
    s.bus.setInterfaceState('vcan0', 'up');
    const ok = await s.client();
    assert.deepEqual(await ok.command('noop'), ['+OK']);
  } finally {
    await s.close();
  }
});

test('events: listening, session, sessionEnd with reason, close; close() is idempotent and ends sessions', T, async () => {
  const bus = new VirtualCanBus({ interfaces: ['vcan0'] });
  const server = new VscpServer({ bus, canInterface: 'vcan0', host: '127.0.0.1', port: 0 });
  const seen: string[] = [];
  const sessions: SessionInfo[] = [];
  server.on('listening', () => seen.push('listening'));
  server.on('session', (info: SessionInfo) => {
    sessions.push(info);
    seen.push('session');
  });
  server.on('sessionEnd', (info: SessionInfo, reason: string) => seen.push(`end ${info.id} ${reason}`));
  server.on('close', () => seen.push('close'));
  const address = await server.listen();
  assert.equal(await server.listen(), address, 'listen() twice gives the same address');
  const a = await TestClient.connectReady(address.port);
  await a.command('quit');
  await a.expectClose();
  for (let i = 0; i < 100 && server.sessionCount > 0; i++) await sleep(10);
  const b = await TestClient.connectReady(address.port);
  assert.equal(sessions[1]!.remoteAddress, '127.0.0.1');
  assert.equal(sessions[1]!.remotePort, b.socket.localPort);
  const p1 = server.close();
  const p2 = server.close();
  assert.equal(p1, p2);
  await p1;
  await b.expectClose();
  assert.equal(server.sessionCount, 0);
  assert.deepEqual(seen, ['listening', 'session', `end ${sessions[0]!.id} quit`, 'session', `end ${sessions[1]!.id} server closing`, 'close']);
  await assert.rejects(server.listen());
});

test('D5: every session closes its CAN socket (quit, peer reset, server close)', T, async () => {
  const s = await startServer();
  const opened: { closed: boolean }[] = [];
  const realOpen = s.bus.open.bind(s.bus);
  s.bus.open = (name, options) => {
    const sock = realOpen(name, options);
    opened.push(sock);
    return sock;
  };
  try {
    const a = await s.client();
    await a.command('quit');
    await a.expectClose();
    const b = await s.client();
    b.reset();
    await s.client(); // still open: its CAN socket must be too
    for (let i = 0; i < 100 && s.server.sessionCount > 1; i++) await sleep(10);
    assert.deepEqual(opened.map((o) => o.closed), [true, true, false]);
  } finally {
    await s.close();
  }
  assert.ok(opened.every((o) => o.closed));
});

test('logging: open/close with the peer address, never the password', T, async () => {
  const messages: string[] = [];
  const logger: Logger = {
    debug: (m) => messages.push(m),
    info: (m) => messages.push(m),
    warn: (m) => messages.push(m),
    error: (m) => messages.push(m),
  };
  const s = await startServer({ logger, user: 'admin', password: 'hunter2-secret' });
  try {
    const c = await s.client();
    await c.command('user admin');
    await c.command('pass hunter2-secret');
    await c.command('pass wrong-one');
    await c.command('quit');
    await c.expectClose();
    for (let i = 0; i < 100 && s.server.sessionCount > 0; i++) await sleep(10);
  } finally {
    await s.close();
  }
  const all = messages.join('\n');
  assert.match(all, /listening on 127\.0\.0\.1:\d+/);
  assert.match(all, /session 1 opened from 127\.0\.0\.1:\d+/);
  assert.match(all, /session 1 from 127\.0\.0\.1:\d+ closed: quit/);
  assert.ok(!all.includes('hunter2'), 'password never logged');
  assert.ok(!all.includes('wrong-one'));
});

test('options are validated', () => {
  const bus = new VirtualCanBus();
  assert.throws(() => new VscpServer({ bus, port: 70000 }), RangeError);
  assert.throws(() => new VscpServer({ bus, maxClients: 0 }), RangeError);
  assert.throws(() => new VscpServer({ bus, fifoSize: 0 }), RangeError);
  assert.throws(() => new VscpServer({ bus, guid: new Uint8Array(3) }), RangeError);
});

test('close() while listen() is starting: listen rejects, nothing keeps serving', T, async () => {
  const server = new VscpServer({ bus: new VirtualCanBus({ interfaces: ['vcan0'] }), canInterface: 'vcan0', host: '127.0.0.1', port: 0 });
  const listening = server.listen();
  await server.close();
  await assert.rejects(listening);
  assert.equal(server.address(), null);
});
