// lib/mqtt/options.ts: one check per option; the --mqtt* command-line table
// gives one clear line per bad value and never echoes a secret.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualCanBus } from '../../lib/can/virtual-bus.js';
import { MqttBridge } from '../../lib/mqtt/bridge.js';
import { MQTT_OPTION_NAMES, checkUrl, displayUrl, mqttSettingsFromCli, resolveBridgeOptions } from '../../lib/mqtt/options.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const files: Record<string, string> = { '/pw': 'hunter2\nignored\n', '/empty': '\n', '/ca.pem': PEM, '/cert.pem': PEM, '/key.pem': PEM.replace(/CERTIFICATE/g, 'PRIVATE KEY'), '/junk': 'junk' };
const readFile = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return text;
};

test('the option names of the interface', () => {
  assert.deepEqual(
    [...MQTT_OPTION_NAMES],
    ['mqtt', 'mqtt-topic', 'mqtt-subscribe', 'mqtt-format', 'mqtt-qos', 'mqtt-client-id', 'mqtt-user', 'mqtt-password-file', 'mqtt-ca', 'mqtt-cert', 'mqtt-key', 'mqtt-queue', 'mqtt-coalesce'],
  );
});

test('without --mqtt the bridge is off; a --mqtt-* option alone is an error', () => {
  assert.deepEqual(mqttSettingsFromCli({}), { ok: true, settings: null });
  assert.deepEqual(mqttSettingsFromCli({ 'mqtt-qos': '1' }), { ok: false, error: '--mqtt-qos: needs --mqtt=URL to turn the bridge on' });
});

test('good values become bridge settings; files are read', () => {
  const r = mqttSettingsFromCli(
    {
      mqtt: 'mqtts://broker.example:8883',
      'mqtt-topic': 'site/{guid}/{class}',
      'mqtt-subscribe': ['a/#', 'remote-vscp/{ifguid}/#'],
      'mqtt-format': 'xml',
      'mqtt-qos': '2',
      'mqtt-client-id': 'gw1',
      'mqtt-user': 'gateway',
      'mqtt-password-file': '/pw',
      'mqtt-ca': '/ca.pem',
      'mqtt-cert': '/cert.pem',
      'mqtt-key': '/key.pem',
      'mqtt-queue': '500',
      'mqtt-coalesce': '0',
    },
    readFile,
  );
  assert.deepEqual(r, {
    ok: true,
    settings: {
      url: 'mqtts://broker.example:8883',
      topic: 'site/{guid}/{class}',
      subscribe: ['a/#', 'remote-vscp/{ifguid}/#'],
      format: 'xml',
      qos: 2,
      clientId: 'gw1',
      username: 'gateway',
      password: 'hunter2',
      ca: PEM,
      cert: PEM,
      key: files['/key.pem'],
      queueSize: 500,
      receiveCoalesceUs: 0,
    },
  });
  assert.deepEqual(mqttSettingsFromCli({ mqtt: 'mqtt://h', 'mqtt-coalesce': '10000' }), { ok: true, settings: { url: 'mqtt://h', receiveCoalesceUs: 10000 } });
  assert.deepEqual(mqttSettingsFromCli({ mqtt: 'ws://h/mqtt', 'mqtt-subscribe': 'x/#' }), { ok: true, settings: { url: 'ws://h/mqtt', subscribe: ['x/#'] } });
});

test('bad values: one line naming the option and what is wrong, never the secret', () => {
  const bad: [Record<string, string | string[]>, string][] = [
    [{ mqtt: 'http://h' }, '--mqtt: scheme must be mqtt, mqtts, ws or wss (got http)'],
    [{ mqtt: 'nonsense' }, '--mqtt: is not a URL (example: mqtt://localhost:1883)'],
    [{ mqtt: 'mqtt://u:hunter2@h' }, '--mqtt: must not contain a password (it would show in logs and process listings): use the password option'],
    [{ mqtt: 'mqtt://h', 'mqtt-qos': '3' }, '--mqtt-qos: must be 0, 1 or 2 (got "3")'],
    [{ mqtt: 'mqtt://h', 'mqtt-qos': '01' }, '--mqtt-qos: must be 0, 1 or 2 (got "01")'],
    [{ mqtt: 'mqtt://h', 'mqtt-format': 'yaml' }, '--mqtt-format: must be json, string, xml (got yaml)'],
    [{ mqtt: 'mqtt://h', 'mqtt-topic': 'a/{x}' }, '--mqtt-topic: unknown placeholder {x} (known: {guid} {ifguid} {class} {type} {nickname} {head})'],
    [{ mqtt: 'mqtt://h', 'mqtt-subscribe': 'a/#/b' }, `--mqtt-subscribe: "a/#/b" '#' must be a whole level, and the last one`],
    [{ mqtt: 'mqtt://h', 'mqtt-queue': '0' }, '--mqtt-queue: must be an integer from 1 to 10000000 (got "0")'],
    [{ mqtt: 'mqtt://h', 'mqtt-queue': '1e3' }, '--mqtt-queue: must be an integer from 1 to 10000000 (got "1e3")'],
    [{ mqtt: 'mqtt://h', 'mqtt-coalesce': '10001' }, '--mqtt-coalesce: must be an integer from 0 to 10000 (got "10001")'],
    [{ mqtt: 'mqtt://h', 'mqtt-coalesce': '-1' }, '--mqtt-coalesce: must be an integer from 0 to 10000 (got "-1")'],
    [{ mqtt: 'mqtt://h', 'mqtt-coalesce': '1.5' }, '--mqtt-coalesce: must be an integer from 0 to 10000 (got "1.5")'],
    [{ mqtt: 'mqtt://h', 'mqtt-password-file': '/missing' }, '--mqtt-password-file: cannot read /missing (ENOENT)'],
    [{ mqtt: 'mqtt://h', 'mqtt-password-file': '/empty' }, '--mqtt-password-file: /empty has an empty first line'],
    [{ mqtt: 'mqtt://h', 'mqtt-ca': '/junk' }, '--mqtt-ca: /junk holds no PEM block (-----BEGIN ...-----)'],
    [{ mqtt: 'mqtt://h', 'mqtt-cert': '/cert.pem' }, '--mqtt-cert: needs --mqtt-cert and --mqtt-key together'],
    [{ mqtt: 'mqtt://h', 'mqtt-user': '' }, '--mqtt-user: must not be empty'],
    [{ mqtt: ['mqtt://a', 'mqtt://b'] }, '--mqtt: given more than once'],
  ];
  for (const [values, error] of bad) {
    const r = mqttSettingsFromCli(values, readFile);
    assert.deepEqual(r, { ok: false, error }, JSON.stringify(values));
    assert.ok(!error.includes('hunter2'));
    assert.ok(!error.includes('\n'));
  }
});

test('URLs: checked, and shown without credentials', () => {
  assert.equal(checkUrl('mqtt://localhost'), null);
  assert.equal(checkUrl('wss://h:443/mqtt'), null);
  assert.equal(checkUrl('mqtt://user@h'), null);
  assert.equal(displayUrl('mqtt://user@h:1883/?x=1'), 'mqtt://h:1883');
  assert.equal(displayUrl('wss://h/mqtt'), 'wss://h/mqtt');
});

test('library options are checked the same way, with the option named', () => {
  const bus = new VirtualCanBus();
  const make = (o: object): MqttBridge => new MqttBridge({ url: 'mqtt://h', bus, ...o });
  assert.throws(() => make({ qos: 3 }), /MQTT bridge: qos must be 0, 1 or 2/);
  assert.throws(() => make({ format: 'yaml' }), /MQTT bridge: format must be json, string, xml/);
  assert.throws(() => make({ topic: 'a/#' }), /MQTT bridge: topic must not contain the wildcards/);
  assert.throws(() => make({ subscribe: ['a/#/b'] }), /MQTT bridge: subscribe "a\/#\/b"/);
  assert.throws(() => make({ queueSize: 0 }), /MQTT bridge: queueSize must be an integer/);
  assert.throws(() => make({ keepaliveSeconds: 65536 }), /MQTT bridge: keepaliveSeconds must be an integer/);
  assert.throws(() => make({ guid: new Uint8Array(3) }), /MQTT bridge: guid must be 16 bytes/);
  assert.throws(() => make({ cert: PEM }), /cert and key go together/);
  assert.throws(() => make({ ca: 'junk' }), /ca holds no PEM block/);
  assert.throws(() => make({ gatewayTopic: 'a/+' }), /gatewayTopic must not contain/);
  assert.throws(() => make({ url: 'ftp://h' }), /url scheme must be/);
  assert.throws(() => new MqttBridge({ url: 'mqtt://h' } as never), TypeError);
  const b = make({});
  assert.deepEqual(b.subscriptions, ['remote-vscp/00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00/#']);
  assert.equal(b.stats().clientId.startsWith('uvscpd-'), true);
  assert.equal(b.stats().clientId.endsWith('-can0'), true);
  assert.equal(b.stats().qos, 1);
  assert.equal(b.stats().state, 'stopped');
});

test("the bridge's CAN socket waits its window after every read by default; both settings can be changed", () => {
  const bus = new VirtualCanBus();
  const silent = { debug() {}, info() {}, warn() {}, error() {} };
  const resolve = (o: object) => resolveBridgeOptions({ url: 'mqtt://h', bus, ...o }, () => 'id', silent);
  assert.equal(resolve({}).receiveCoalesceUs, 5000);
  assert.equal(resolve({}).receiveCoalesceAlways, true);
  assert.equal(resolve({ receiveCoalesceUs: 0 }).receiveCoalesceUs, 0);
  assert.equal(resolve({ receiveCoalesceAlways: false }).receiveCoalesceAlways, false);
  assert.throws(() => resolve({ receiveCoalesceUs: 10001 }), /MQTT bridge: receiveCoalesceUs must be an integer from 0 to 10000/);
  assert.throws(() => resolve({ receiveCoalesceAlways: 1 }), /MQTT bridge: receiveCoalesceAlways must be a boolean/);
});
