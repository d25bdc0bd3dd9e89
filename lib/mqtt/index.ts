// lib/mqtt: the MQTT bridge (docs/mqtt.md). Imports lib/can and lib/vscp,
// never lib/server: the daemon and the library compose the two.

export { MqttBridge, createMqttBridge } from './bridge.js';
export type { MqttBridgeState, MqttBridgeStats, MqttRefusal } from './bridge.js';
export type { MqttBridgeOptions, MqttLogger, MqttQos, MqttCliSettings, CliResult, CliValue } from './options.js';
export {
  DEFAULT_QOS as DEFAULT_MQTT_QOS,
  DEFAULT_FORMAT as DEFAULT_MQTT_FORMAT,
  DEFAULT_QUEUE_SIZE as DEFAULT_MQTT_QUEUE_SIZE,
  DEFAULT_GATEWAY_TOPIC as DEFAULT_MQTT_GATEWAY_TOPIC,
  MQTT_OPTION_NAMES,
  mqttSettingsFromCli,
  displayUrl as displayMqttUrl,
} from './options.js';
export type { PayloadFormat, ParsedPayload, FrameFormatter } from './payload.js';
export { PAYLOAD_FORMATS, frameFormatter, parsePayload, detectFormat } from './payload.js';
export {
  DEFAULT_PUBLISH_TOPIC as DEFAULT_MQTT_TOPIC,
  DEFAULT_SUBSCRIBE_TOPIC as DEFAULT_MQTT_SUBSCRIBE,
  PublishTopic,
  expandSubscription,
  filterMayMatchTemplate,
  formatGuidPadded,
} from './topic.js';
