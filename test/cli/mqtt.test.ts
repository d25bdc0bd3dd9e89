// The daemon with --mqtt (docs/mqtt.md), on the in-memory bus (-c virtual)
// and a real Mosquitto: bad --mqtt* values are one line on stderr and exit
// 2; the daemon serves TCP clients while the broker is down and connects
// when it comes up; SEND reaches the broker; SIGTERM publishes the offline
// status and exits within the usual limit; the broker password comes from
// a file and is never logged nor on the command line.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { STOP_TIMEOUT_MS } from '../../lib/cli/serve.js';
import { Foreground, REPO_ROOT, freePort, killAll, runCli, runCommand, tempDir, waitFor } from '../helpers/cli.js';
import { TestClient } from '../helpers/client.js';
import { Broker, killAllBrokers, mosquittoSub } from '../helpers/mosquitto.js';

const ZERO_GUID = '00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00';
const dir = tempDir('uvscpd-mqtt-cli-');

after(() => {
  killAll();
  killAllBrokers();
  dir.remove();
});

describe('cli --mqtt: invalid values give one clear line and exit 2', () => {
  const cases: [string[], RegExp][] = [
    [['--mqtt=http://h'], /^uvscpd: invalid MQTT broker URL 'http:\/\/h': scheme must be mqtt, mqtts, ws or wss \(got http\)\n$/],
    [['--mqtt=mqtt://gw:Secret99@h'], /^uvscpd: invalid MQTT broker URL: must not contain a password/],
    [['--mqtt-topic=x/{class}'], /^uvscpd: option --mqtt-topic needs --mqtt=URL\n$/],
    [['--mqtt=mqtt://h', '--mqtt-qos=3'], /^uvscpd: invalid MQTT QoS '3': expected one of 0, 1, 2\n$/],
    [['--mqtt=mqtt://h', '--mqtt-format=yaml'], /^uvscpd: invalid MQTT format 'yaml': expected one of json, string, xml\n$/],
    [['--mqtt=mqtt://h', '--mqtt-topic=vscp/{klass}'], /^uvscpd: invalid MQTT topic 'vscp\/\{klass\}': unknown placeholder \{klass\}/],
    [['--mqtt=mqtt://h', '--mqtt-subscribe=a/#/b'], /^uvscpd: invalid MQTT subscription 'a\/#\/b': '#' must be a whole level/],
    [['--mqtt=mqtt://h', '--mqtt-queue=0'], /^uvscpd: invalid MQTT queue size '0': expected 1\.\.10000000 events\n$/],
    [['--mqtt=mqtt://h', '--mqtt-coalesce=10001'], /^uvscpd: invalid MQTT coalescing window '10001': expected 0\.\.10000 microseconds\n$/],
    [['--mqtt-coalesce=0'], /^uvscpd: option --mqtt-coalesce needs --mqtt=URL\n$/],
    [['--mqtt=mqtt://h', '--mqtt-password-file=/nonexistent/pw'], /^uvscpd: --mqtt-password-file: cannot read \/nonexistent\/pw \(ENOENT\)\n$/],
    [['--mqtt=mqtt://h', '--mqtt-ca=/etc/hostname'], /^uvscpd: --mqtt-ca: \/etc\/hostname holds no PEM block/],
    [['--mqtt=mqtt://h', '--mqtt-key=/etc/hostname'], /^uvscpd: options --mqtt-cert and --mqtt-key go together\n$/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      const r = await runCli(['-s', '-c', 'virtual', ...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
      assert.ok(!r.stderr.includes('Secret99'));
    });
  }
});

describe('cli --mqtt: the daemon and the broker', () => {
  it('serves TCP clients while the broker is down, connects when it comes up, publishes SEND; SIGTERM publishes offline and exits in time', async () => {
    const brokerPort = await freePort();
    const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0', `--mqtt=mqtt://127.0.0.1:${brokerPort}`, '--mqtt-client-id=cli-gw']);
    const port = await d.listening();
    const client = await TestClient.connectReady(port);
    assert.deepEqual(await client.command('noop'), ['+OK']);

    const broker = await Broker.start({ port: brokerPort });
    await waitFor(() => /mqtt: connected to mqtt:\/\/127\.0\.0\.1:\d+ as cli-gw/.test(d.stderr), 10_000, () => d.stderr);
    const sub = await mosquittoSub(broker, ['vscp/#', `uvscpd/${ZERO_GUID}/status`]);
    assert.deepEqual(await client.command('send 0,20,3,0,,0,-,1,2'), ['+OK']);
    await sub.waitFor(2);
    const event = sub.lines.find((l) => l.startsWith('vscp/'))!;
    assert.equal(event.split(' ')[0], `vscp/${ZERO_GUID}/20/3/0`);
    assert.deepEqual((JSON.parse(event.slice(event.indexOf(' ') + 1)) as { data: number[] }).data, [1, 2]);
    assert.ok(sub.lines.includes(`uvscpd/${ZERO_GUID}/status online`));

    const t0 = Date.now();
    d.child.kill('SIGTERM');
    const { code, at } = await d.waitExit(5000);
    assert.equal(code, 0);
    assert.ok(at - t0 < STOP_TIMEOUT_MS, `exited ${at - t0} ms after SIGTERM (limit ${STOP_TIMEOUT_MS} ms)`);
    await waitFor(() => sub.lines.includes(`uvscpd/${ZERO_GUID}/status offline`), 3000, () => JSON.stringify(sub.lines));
    assert.doesNotMatch(d.stderr, /exiting anyway/);
    client.destroy();
    sub.stop();
  });

  it('reads the broker password from a file; it appears nowhere: not logged, not on the command line', async () => {
    const password = 'Pw-from-file-7731';
    const file = join(dir.path, 'mqtt-password');
    writeFileSync(file, `${password}\n`);
    const broker = await Broker.start({ users: { gw: password } });
    const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0', '--log-level=debug', `--mqtt=${broker.url}`, '--mqtt-user=gw', `--mqtt-password-file=${file}`]);
    await d.listening();
    await waitFor(() => /mqtt: connected to /.test(d.stderr), 10_000, () => d.stderr);
    const cmdline = readFileSync(`/proc/${d.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(password));
    assert.ok(!d.stderr.includes(password));
    assert.match(d.stderr, /options: .*mqtt mqtt:\/\/127\.0\.0\.1:\d+/);
    d.child.kill('SIGTERM');
    assert.equal((await d.waitExit(5000)).code, 0);
    assert.ok(!d.stderr.includes(password));
  });

  it('a wrong password: the daemon keeps serving, one log line, no tight reconnect loop', async () => {
    const file = join(dir.path, 'wrong-password');
    writeFileSync(file, 'not-it\n');
    const broker = await Broker.start({ users: { gw: 'the-right-one' } });
    const d = new Foreground(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0', `--mqtt=${broker.url}`, '--mqtt-user=gw', `--mqtt-password-file=${file}`]);
    const port = await d.listening();
    await waitFor(() => /mqtt: .*broker refused the connection/.test(d.stderr), 10_000, () => d.stderr);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((d.stderr.match(/broker refused the connection/g) ?? []).length, 1, d.stderr);
    assert.ok(broker.connectionAttempts() <= 2, `${broker.connectionAttempts()} attempts`);
    const client = await TestClient.connectReady(port);
    assert.deepEqual(await client.command('noop'), ['+OK']);
    client.destroy();
    d.child.kill('SIGTERM');
    assert.equal((await d.waitExit(5000)).code, 0);
  });
});

describe('cli --mqtt: start-up without the bridge is unchanged', () => {
  it('a start without --mqtt loads no MQTT.js; with it, MQTT.js is loaded', async () => {
    const count = async (extra: string[]): Promise<number> => {
      const script = [
        `const { main } = require(${JSON.stringify(join(REPO_ROOT, 'dist', 'cli-bundle.js'))});`,
        `void main(${JSON.stringify(['-s', '-c', 'virtual', '-i', '127.0.0.1', '-p', '0', ...extra])}, { stdout() {}, stderr() {} });`,
        `setTimeout(() => { console.log(Object.keys(require.cache).filter((k) => k.includes('/node_modules/mqtt/')).length); process.exit(0); }, 1500);`,
      ].join('\n');
      const r = await runCommand(process.execPath, ['-e', script]);
      assert.equal(r.code, 0, r.stderr);
      return Number(r.stdout.trim());
    };
    assert.equal(await count([]), 0);
    assert.ok((await count([`--mqtt=mqtt://127.0.0.1:${await freePort()}`])) > 0);
  });
});
