// The MQTT bridge's modules, for the command: loaded on first use, from their
// own files under dist/lib. scripts/bundle.js follows only literal relative
// require()s, so these computed paths keep lib/mqtt and lib/gateway out of
// dist/cli-bundle.js: a start without --mqtt neither runs nor even parses
// them (docs/mqtt.md "Start-up"), and MQTT.js loads only when the bridge starts.

import { join } from 'node:path';

export function mqttOptions(): typeof import('../mqtt/options.js') {
  return require(join(__dirname, '..', 'mqtt', 'options.js')) as typeof import('../mqtt/options.js');
}

export function gateway(): typeof import('../gateway.js') {
  return require(join(__dirname, '..', 'gateway.js')) as typeof import('../gateway.js');
}
