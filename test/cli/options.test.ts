// lib/cli/options.ts: every option, its default, and every kind of bad value.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOptions, redactArgs, type CliConfig, type ParseResult } from '../../lib/cli/options.js';
import { formatGuid } from '../../lib/vscp/guid.js';
import { optionsHelp } from '../../lib/cli/help.js';
import { OPTIONS } from '../../lib/cli/options.js';
import {
  DEFAULT_CAN_INTERFACE,
  DEFAULT_FIFO_SIZE,
  DEFAULT_MAX_CLIENTS,
  DEFAULT_PORT,
  DEFAULT_RECEIVE_COALESCE_US,
} from '../../lib/server/server.js';

function config(args: string[]): CliConfig {
  const r = parseOptions(args);
  assert.equal(r.kind, 'run', `expected a config for ${JSON.stringify(args)}, got ${JSON.stringify(r)}`);
  return (r as Extract<ParseResult, { kind: 'run' }>).config;
}

function error(args: string[]): string {
  const r = parseOptions(args);
  assert.equal(r.kind, 'error', `expected an error for ${JSON.stringify(args)}, got ${JSON.stringify(r)}`);
  const message = (r as Extract<ParseResult, { kind: 'error' }>).message;
  assert.ok(!message.includes('\n'), 'one line');
  return message;
}

describe('cli options: defaults', () => {
  it('match the original (can0, all interfaces, 8598, zero GUID) plus the design defaults', () => {
    const c = config([]);
    assert.equal(c.stay, false);
    assert.equal(c.user, undefined);
    assert.equal(c.password, undefined);
    assert.equal(c.canInterface, 'can0');
    assert.equal(c.host, undefined);
    assert.equal(c.port, 8598);
    assert.equal(formatGuid(c.guid), '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0');
    assert.equal(c.fifoSize, 100);
    assert.equal(c.maxClients, 5);
    assert.equal(c.requireLogin, false);
    assert.equal(c.idleTimeoutMs, 0);
    assert.equal(c.receiveBufferSize, undefined);
    assert.equal(c.receiveCoalesceUs, 1000);
    assert.equal(c.receiveCoalesceAlways, false);
    assert.equal(c.pidFile, undefined);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.syslog, undefined);
  });
  it('are the library\'s defaults (written once, in lib/server)', () => {
    const c = config([]);
    assert.equal(c.canInterface, DEFAULT_CAN_INTERFACE);
    assert.equal(c.port, DEFAULT_PORT);
    assert.equal(c.fifoSize, DEFAULT_FIFO_SIZE);
    assert.equal(c.maxClients, DEFAULT_MAX_CLIENTS);
    assert.equal(c.receiveCoalesceUs, DEFAULT_RECEIVE_COALESCE_US);
  });
});

describe('cli options: the help is rendered from the option table', () => {
  const help = optionsHelp();
  for (const spec of OPTIONS) {
    it(`--${spec.long}`, () => {
      const line = help.split('\n').find((l) => l.includes(`--${spec.long}`));
      assert.ok(line !== undefined, `help mentions --${spec.long}`);
      if ('short' in spec) assert.ok(line.startsWith(`  -${spec.short}, --${spec.long}`), line);
      if ('arg' in spec) assert.ok(line.includes(`--${spec.long}=${spec.arg}`), line);
      const tail = help.slice(help.indexOf(line));
      const entry = tail.slice(0, tail.slice(1).search(/\n {2,6}-|$/) + 1);
      if ('default' in spec) assert.ok(entry.replace(/\s+/g, ' ').includes(`default ${String(spec.default)}`), entry);
      if ('range' in spec) assert.ok(entry.replace(/\s+/g, ' ').includes(`${spec.range[0]}..${spec.range[1]}`), entry);
      if ('negatable' in spec) assert.ok(help.includes(`--no-${spec.long}`));
    });
  }
  it('every line fits in 79 columns', () => {
    for (const l of help.split('\n')) assert.ok(l.length <= 79, l);
  });
});

describe('cli options: help and version', () => {
  for (const a of ['-h', '--help']) it(a, () => assert.deepEqual(parseOptions([a]), { kind: 'help' }));
  for (const a of ['-v', '--version']) it(a, () => assert.deepEqual(parseOptions([a]), { kind: 'version' }));
  it('help wins over other valid options and over bad values', () => {
    assert.deepEqual(parseOptions(['-s', '-h']), { kind: 'help' });
    assert.deepEqual(parseOptions(['-p', 'abc', '--help']), { kind: 'help' });
  });
  it('an unknown option is reported even with -h', () => {
    assert.match(error(['-h', '--bogus']), /unknown option '--bogus'/);
  });
});

describe('cli options: each option, short and long', () => {
  it('-s / --stay (D7: -s works)', () => {
    assert.equal(config(['-s']).stay, true);
    assert.equal(config(['--stay']).stay, true);
  });
  it('-U / --user and -P / --password keep their case', () => {
    const c = config(['-U', 'Admin', '--password', 'S3cret']);
    assert.equal(c.user, 'Admin');
    assert.equal(c.password, 'S3cret');
    assert.equal(config(['--user=bob']).user, 'bob');
  });
  it('a value starting with "-" is taken whole, as getopt does', () => {
    assert.equal(config(['-P', '-secret']).password, '-secret');
    assert.equal(config(['--password', '--x']).password, '--x');
  });
  it('-c / --canbus', () => {
    assert.equal(config(['-c', 'vcan0']).canInterface, 'vcan0');
    assert.equal(config(['--canbus=virtual']).canInterface, 'virtual');
    assert.equal(config(['-cvcan1']).canInterface, 'vcan1');
  });
  it('-i / --ip accepts IPv4 and IPv6 literals', () => {
    assert.equal(config(['-i', '127.0.0.1']).host, '127.0.0.1');
    assert.equal(config(['--ip', '::1']).host, '::1');
    assert.equal(config(['--ip=0.0.0.0']).host, '0.0.0.0');
    assert.equal(config(['-i', 'fe80::1']).host, 'fe80::1');
  });
  it('-p / --port, attached or separate', () => {
    assert.equal(config(['-p', '1234']).port, 1234);
    assert.equal(config(['-p1234']).port, 1234);
    assert.equal(config(['-p=1234']).port, 1234);
    assert.equal(config(['--port', '0']).port, 0);
    assert.equal(config(['--port=65535']).port, 65535);
  });
  it('-g / --guid uses the §3.3 syntax', () => {
    const c = config(['-g', 'FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:00']);
    assert.equal(formatGuid(c.guid), 'FF:EE:DD:CC:BB:AA:99:88:77:66:55:44:33:22:11:0');
    assert.equal(formatGuid(config(['--guid=0:1:2:3:4:5:6:7:8:9:a:b:c:d:e:f:']).guid), '0:1:2:3:4:5:6:7:8:9:A:B:C:D:E:F');
  });
  it('--fifo-size, --max-clients, --idle-timeout (seconds), --rcvbuf', () => {
    const c = config(['--fifo-size', '500', '--max-clients=20', '--idle-timeout', '60', '--rcvbuf', '262144']);
    assert.equal(c.fifoSize, 500);
    assert.equal(c.maxClients, 20);
    assert.equal(c.idleTimeoutMs, 60000);
    assert.equal(c.receiveBufferSize, 262144);
  });
  it('--rx-coalesce: microseconds, 0 turns it off', () => {
    assert.equal(config(['--rx-coalesce', '0']).receiveCoalesceUs, 0);
    assert.equal(config(['--rx-coalesce=250']).receiveCoalesceUs, 250);
    assert.equal(config(['--rx-coalesce', '10000']).receiveCoalesceUs, 10000);
  });
  it('--rx-coalesce-always: the window after every read', () => {
    assert.equal(config(['--rx-coalesce-always']).receiveCoalesceAlways, true);
    assert.equal(config(['--rx-coalesce', '5000', '--rx-coalesce-always']).receiveCoalesceUs, 5000);
  });
  it('--password-file is kept as a path (the CLI reads it) and satisfies --require-login', () => {
    const c = config(['--require-login', '-U', 'a', '--password-file', 'secret.txt']);
    assert.equal(c.passwordFile, 'secret.txt');
    assert.equal(c.password, undefined);
  });

  it('--require-login with -U and -P', () => {
    assert.equal(config(['--require-login', '-U', 'a', '-P', 'b']).requireLogin, true);
  });
  it('--pid-file', () => {
    assert.equal(config(['--pid-file', '/run/uvscpd.pid']).pidFile, '/run/uvscpd.pid');
  });
  it('--log-level', () => {
    for (const l of ['error', 'warn', 'info', 'debug']) assert.equal(config(['--log-level', l]).logLevel, l);
  });
  it('--syslog / --no-syslog', () => {
    assert.equal(config(['--syslog']).syslog, true);
    assert.equal(config(['--no-syslog']).syslog, false);
    assert.equal(config(['--syslog', '--no-syslog']).syslog, false);
  });
  it('short flags cluster, the last one may take a value', () => {
    const c = config(['-sc', 'vcan0', '-sp', '99']);
    assert.equal(c.stay, true);
    assert.equal(c.canInterface, 'vcan0');
    assert.equal(c.port, 99);
  });
  it('a repeated option: the last one counts (getopt)', () => {
    assert.equal(config(['-p', '1', '-p', '2']).port, 2);
    assert.equal(config(['-c', 'a', '--canbus', 'b']).canInterface, 'b');
  });
});

describe('cli options: invalid values give one clear line', () => {
  const cases: Array<[string[], RegExp]> = [
    [['-p', 'abc'], /^invalid port 'abc': expected 0\.\.65535$/],
    [['-p', '70000'], /^invalid port '70000': expected 0\.\.65535$/],
    [['-p', '-1'], /^invalid port '-1': expected 0\.\.65535$/],
    [['--port=1.5'], /^invalid port '1\.5'/],
    [['--port=0x10'], /^invalid port '0x10'/],
    [['-p', ' 80'], /^invalid port ' 80'/],
    [['-g', 'bad'], /^invalid guid 'bad'/],
    [['-g', '1:2:3'], /^invalid guid '1:2:3'/],
    [['--guid', '0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'], /^invalid guid/],
    [['-i', '1.2.3'], /^invalid ip address '1\.2\.3'/],
    [['-i', 'localhost'], /^invalid ip address 'localhost'/],
    [['-i', '256.1.1.1'], /^invalid ip address/],
    [['-c', 'a/b'], /^invalid CAN interface 'a\/b'/],
    [['-c', 'sixteen_chars_xx'], /^invalid CAN interface/],
    [['-c', '..'], /^invalid CAN interface/],
    [['--fifo-size', '0'], /^invalid fifo size '0': expected 1\.\.100000 events$/],
    [['--fifo-size', 'many'], /^invalid fifo size/],
    [['--max-clients', '0'], /^invalid client limit '0'/],
    [['--idle-timeout', '-5'], /^invalid idle timeout '-5'/],
    [['--idle-timeout', '1s'], /^invalid idle timeout '1s'/],
    [['--rcvbuf', '10'], /^invalid receive buffer size '10'/],
    [['--rx-coalesce', '-1'], /^invalid receive coalescing window '-1'/],
    [['--rx-coalesce', '10001'], /^invalid receive coalescing window '10001'/],
    [['--rx-coalesce', '1.5'], /^invalid receive coalescing window '1.5'/],
    [['--rx-coalesce'], /^option --rx-coalesce requires a value$/],
    [['--rx-coalesce-always=1'], /^option --rx-coalesce-always takes no value$/],
    [['--log-level', 'loud'], /^invalid log level 'loud': expected one of error, warn, info, debug$/],
    [['--require-login'], /^option --require-login needs both -U\/--user and -P\/--password \(or --password-file\)$/],
    [['-P', 'a', '--password-file', '/x'], /^options -P\/--password and --password-file exclude each other$/],
    [['--require-login', '-U', 'a'], /needs both/],
    [['--bogus'], /^unknown option '--bogus'$/],
    [['--bogus=1'], /^unknown option '--bogus'$/],
    [['-x'], /^unknown option '-x'$/],
    [['-sx'], /^unknown option '-x'$/],
    [['--no-bogus'], /^unknown option '--no-bogus'$/],
    [['extra'], /^unexpected argument 'extra'/],
    [['-s', '--', 'extra'], /^unexpected argument 'extra'/],
    [['-p'], /^option -p\/--port requires a value$/],
    [['--canbus'], /^option -c\/--canbus requires a value$/],
    [['-c', ''], /^option -c\/--canbus requires a value$/],
    [['--user='], /^option -U\/--user requires a value$/],
    [['--pid-file'], /^option --pid-file requires a value$/],
    [['--syslog=maybe'], /^option --syslog takes no value$/],
    [['--no-syslog=1'], /^option --no-syslog takes no value$/],
    [['--stay=yes'], /^option --stay takes no value$/],
    [['--no-stay'], /^unknown option '--no-stay'$/],
    [['--no-port', '1'], /^unknown option '--no-port'$/],
  ];
  for (const [args, re] of cases) {
    it(`${JSON.stringify(args)} -> ${re.source}`, () => assert.match(error(args), re));
  }
  it('control characters in a value are shown escaped', () => {
    assert.equal(error(['-p', '1\n2']), 'invalid port "1\\n2": expected 0..65535');
  });
});

describe('cli options: redactArgs (the process title never shows the password)', () => {
  const cases: Array<[string[], string[]]> = [
    [['-P', 'x'], ['-P', '***']],
    [['-Px'], ['-P***']],
    [['--password', 'x'], ['--password', '***']],
    [['--password=x'], ['--password=***']],
    [['-sP', 'x'], ['-sP', '***']],
    [['-sPx'], ['-sP***']],
    [['-U', '-P', '-P', 's'], ['-U', '-P', '-P', '***']],
    [['-c', 'vcan0', '-P', 'p', '-s'], ['-c', 'vcan0', '-P', '***', '-s']],
    [['--user', '--password', '-s'], ['--user', '--password', '-s']],
    [['-s', '-c', 'can0'], ['-s', '-c', 'can0']],
  ];
  for (const [args, want] of cases) it(JSON.stringify(args), () => assert.deepEqual(redactArgs(args), want));
});
