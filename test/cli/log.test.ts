// lib/cli/log.ts and lib/cli/systemd.ts: formats and decisions, no I/O.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSyslog, oneLine, StderrLogger, SyslogLogger, syslogTimestamp } from '../../lib/cli/log.js';
import { notifySocketPath, sdNotify, watchdogIntervalMs } from '../../lib/cli/systemd.js';

describe('StderrLogger', () => {
  it('writes `uvscpd[pid]: level: message` lines and honours the level', () => {
    const lines: string[] = [];
    const log = new StderrLogger({ level: 'info', pid: 42, write: (l) => lines.push(l) });
    log.debug('not shown');
    log.info('listening on 127.0.0.1:8598');
    log.warn('w');
    log.error('e');
    assert.deepEqual(lines, ['uvscpd[42]: info: listening on 127.0.0.1:8598\n', 'uvscpd[42]: warn: w\n', 'uvscpd[42]: error: e\n']);
  });
  it('level error shows errors only; debug shows all', () => {
    const a: string[] = [];
    const quiet = new StderrLogger({ level: 'error', pid: 1, write: (l) => a.push(l) });
    quiet.info('i');
    quiet.warn('w');
    quiet.error('e');
    assert.equal(a.length, 1);
    const b: string[] = [];
    const loud = new StderrLogger({ level: 'debug', pid: 1, write: (l) => b.push(l) });
    loud.debug('d');
    assert.deepEqual(b, ['uvscpd[1]: debug: d\n']);
  });
  it('uses <N> priority prefixes when stderr is the journal', () => {
    const lines: string[] = [];
    const log = new StderrLogger({ level: 'debug', journal: true, write: (l) => lines.push(l) });
    log.error('e');
    log.warn('w');
    log.info('i');
    log.debug('d');
    assert.deepEqual(lines, ['<3>error: e\n', '<4>warn: w\n', '<6>info: i\n', '<7>debug: d\n']);
  });
  it('one message is always one line', () => {
    const lines: string[] = [];
    new StderrLogger({ level: 'info', pid: 1, write: (l) => lines.push(l) }).info('a\nb\r\x00c');
    assert.deepEqual(lines, ['uvscpd[1]: info: a\\x0ab\\x0d\\x00c\n']);
    assert.equal(oneLine('plain text'), 'plain text');
  });
  it('a throwing writer does not throw out of the logger', () => {
    const log = new StderrLogger({
      level: 'info',
      write: () => {
        throw new Error('EPIPE');
      },
    });
    assert.doesNotThrow(() => log.error('x'));
  });
});

describe('SyslogLogger', () => {
  const when = new Date(2026, 10, 5, 8, 1, 2); // local time, as syslog(3)
  it('RFC 3164 timestamp with a space-padded day', () => {
    assert.equal(syslogTimestamp(when), 'Nov  5 08:01:02');
    assert.equal(syslogTimestamp(new Date(2026, 0, 25, 23, 59, 59)), 'Jan 25 23:59:59');
  });
  it('datagram `<PRI>TIMESTAMP uvscpd[pid]: msg`, facility daemon', () => {
    assert.equal(formatSyslog(3, 'info', 'uvscpd', 7, 'hello', when), '<30>Nov  5 08:01:02 uvscpd[7]: hello');
    assert.equal(formatSyslog(3, 'error', 'uvscpd', 7, 'x', when).slice(0, 4), '<27>');
    assert.equal(formatSyslog(3, 'warn', 'uvscpd', 7, 'x', when).slice(0, 4), '<28>');
    assert.equal(formatSyslog(3, 'debug', 'uvscpd', 7, 'x', when).slice(0, 4), '<31>');
  });
  it('sends to /dev/log by default and honours the level', () => {
    const sent: Array<[string, string]> = [];
    const log = new SyslogLogger({ level: 'warn', pid: 9, now: () => when, send: (p, m) => sent.push([p, m.toString()]) });
    log.info('dropped by level');
    log.warn('careful');
    assert.deepEqual(sent, [['/dev/log', '<28>Nov  5 08:01:02 uvscpd[9]: careful']]);
  });
  it('no syslog daemon (ENOENT): counted, never thrown', () => {
    const log = new SyslogLogger({
      level: 'info',
      send: () => {
        const e = new Error('no /dev/log') as NodeJS.ErrnoException;
        e.code = 'ENOENT';
        throw e;
      },
    });
    assert.doesNotThrow(() => log.error('x'));
    log.info('y');
    assert.equal(log.dropped, 2);
    assert.equal(log.lastError, 'ENOENT');
  });
  it('long messages are cut to a datagram syslog daemons accept', () => {
    const sent: Buffer[] = [];
    new SyslogLogger({ level: 'info', send: (_p, m) => sent.push(m) }).info('x'.repeat(100000));
    assert.ok((sent[0] as Buffer).length < 2200);
  });
});

describe('systemd helpers', () => {
  it('NOTIFY_SOCKET: absolute or abstract only; unset = no-op', () => {
    assert.equal(notifySocketPath({}), undefined);
    assert.equal(notifySocketPath({ NOTIFY_SOCKET: '/run/systemd/notify' }), '/run/systemd/notify');
    assert.equal(notifySocketPath({ NOTIFY_SOCKET: '@abc' }), '@abc');
    assert.equal(notifySocketPath({ NOTIFY_SOCKET: 'relative' }), undefined);
    assert.equal(notifySocketPath({ NOTIFY_SOCKET: '' }), undefined);
    let calls = 0;
    assert.equal(sdNotify('READY=1', () => calls++, {}), false);
    assert.equal(calls, 0);
    const got: string[] = [];
    assert.equal(sdNotify('READY=1', (p, m) => got.push(`${p} ${m.toString()}`), { NOTIFY_SOCKET: '@x' }), true);
    assert.deepEqual(got, ['@x READY=1']);
  });
  it('watchdog interval is half of WATCHDOG_USEC, for this pid only', () => {
    assert.equal(watchdogIntervalMs({}, 5), 0);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000' }, 5), 5000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '5' }, 5), 5000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '10000000', WATCHDOG_PID: '6' }, 5), 0);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 5), 0);
  });
});
