// The MQTT bridge (docs/mqtt.md): one CAN socket of its own on the
// interface and one MQTT client. Every VSCP frame read on the socket is
// published once; every message on a subscription is parsed like SEND and
// written on the same socket, so the kernel never hands it back to the
// bridge (receive-own-messages off) and it is never published again. The
// broker does the fan-out to consumers and to other gateways.
//
// MQTT.js is loaded in start(), so a program that never starts a bridge
// never loads it.

import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import type { FrameBatch } from '../can/record.js';
import type { CanError, CanSocket } from '../can/types.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { isVscpFrame } from '../vscp/index.js';
import { RecentPublications } from './echo.js';
import { LogLimiter } from './log-limit.js';
import type { MqttBridgeOptions, MqttLogger, MqttQos, ResolvedBridgeOptions } from './options.js';
import { displayUrl, resolveBridgeOptions } from './options.js';
import type { FrameFormatter, PayloadFormat } from './payload.js';
import { MAX_PAYLOAD_BYTES, frameFormatter, parsePayload } from './payload.js';
import { AckFilteringStream } from './ack-stream.js';
import { AckWakeups, lowWaterSetter } from './ack-wakeups.js';
import { InflightWindow, OWN_PACKET_ID_MAX, PacketIdsAbove, publishPacketSize, writePublish } from './packet.js';
import { FrameQueue } from './queue.js';
import { scheduleMicrotask } from '../microtask.js';
import { PublishTopic, expandSubscription, filterMayMatchTemplate, formatGuidPadded } from './topic.js';

export type MqttBridgeState = 'stopped' | 'connecting' | 'connected' | 'reconnecting' | 'stopping';

export interface MqttBridgeStats {
  state: MqttBridgeState;
  /** The broker URL without credentials. */
  broker: string;
  clientId: string;
  qos: MqttQos;
  format: PayloadFormat;
  /** Bus events handed to the broker connection. */
  published: number;
  /** Publications the broker acknowledged (QoS 1 and 2). */
  acknowledged: number;
  /** Reads of the broker connection that carried QoS 1 acknowledgements: `acknowledged` over this is how many one wake-up took. */
  acknowledgementReads: number;
  /** Publications the broker acknowledged with an error (MQTT 5 reason code, e.g. not authorized). */
  rejected: number;
  /** QoS 1/2 publications sent and not yet acknowledged. */
  inflight: number;
  /** Events waiting for the broker, and the most that may wait. */
  queued: number;
  queueCapacity: number;
  /** Events dropped because the queue was full (the oldest go first). */
  dropped: number;
  /** Messages received on the subscriptions. */
  received: number;
  /** Of those, frames written on the bus. */
  sentToBus: number;
  /** Messages refused: not a VSCP event, or not one that SEND would put on the bus. */
  refused: number;
  /** This bridge's own publications that came back through a subscription, not re-sent. */
  echoes: number;
  /** Retained messages delivered at subscription, not sent (an old command must not replay). */
  retainedIgnored: number;
  /** Frames the bus did not take (interface down, TX queue full). */
  busErrors: number;
  /** Successful broker connections since start. */
  connections: number;
  /** The last connection problem, or null. */
  lastError: string | null;
}

export interface MqttRefusal {
  topic: string;
  reason: string;
}

/** Memory of own publications when a subscription could bring them back (see echo.ts). */
const ECHO_MEMORY = 8192;
/** Publications per write. */
const PUBLISH_BATCH = 256;
/** The most QoS 1 publications in flight, whatever the broker allows (memory of what to send again). */
const MAX_WINDOW = 4096;
/** Pending output on the broker connection above which publishing waits for 'drain'. */
const WRITE_HIGH_WATER = 1 << 20;
/** The broker's Receive Maximum when it announces none (MQTT 5 default). */
const DEFAULT_RECEIVE_MAXIMUM = 65535;
/** Attempts to open a CAN socket on a missing interface. */
const CAN_RETRY_MS = 5000;
/** Bad messages and bus write errors: at most one log line per interval. */
const LOG_INTERVAL_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;
/**
 * Acknowledgements arriving, or the kernel taking what the bridge writes,
 * show that the broker is there: the keep-alive timer restarts, at most this
 * often. Otherwise a PINGREQ waits behind megabytes of publications in the
 * socket buffers while the broker works through them, its PINGRESP comes too
 * late, and a connection that works is dropped with everything in it. A
 * broker that stops reading stops the writes too: then the keep-alive runs
 * out as usual.
 */
const LIVENESS_INTERVAL_MS = 1000;
/** MQTT 5 DISCONNECT reason: a client with the same id connected. */
const SESSION_TAKEN_OVER = 0x8e;
/** The largest packet the broker may send us (MQTT 5): one VSCP payload and a long topic. */
const MAX_INCOMING_PACKET = MAX_PAYLOAD_BYTES + 65536 + 64;

function silent(_msg: string): void {
  // deliberately nothing
}
function noLog(..._args: unknown[]): void {
  // deliberately nothing
}
const silentLogger: MqttLogger = Object.freeze({ debug: silent, info: silent, warn: silent, error: silent });

function defaultClientId(canInterface: string): string {
  return `uvscpd-${hostname()}-${canInterface}`;
}

/** A broker problem as one line, and whether retrying soon can help. */
function describeError(err: Error & { code?: string | number }): { text: string; configuration: boolean } {
  const code = err.code;
  if (typeof code === 'number') {
    // CONNACK refusal (MQTT 5 reason code, or 3.1.1 return code): credentials, client id, permissions.
    return { text: `broker refused the connection: ${err.message.replace(/^Connection refused: /, '')} (code ${code})`, configuration: true };
  }
  if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|EPROTO|ERR_OSSL|HOSTNAME|ALTNAME/i.test(code)) {
    return { text: `TLS failed: ${err.message} (${code})`, configuration: true };
  }
  return { text: err.message, configuration: false };
}

/** Control characters out, length bounded: topics come from anyone who may publish. */
function printable(text: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? clean.slice(0, max) + '...' : clean;
}

/**
 * Bus events to an MQTT broker and events from it to the bus.
 *
 * Events:
 * - `connect` (): connected to the broker (again), and the first time also subscribed.
 * - `offline` (): the connection is gone; events queue until it is back.
 * - `refused` (r: MqttRefusal): a message on a subscription was not sent to the bus.
 * - `close` (): after stop().
 */
export class MqttBridge extends EventEmitter {
  private readonly o: ResolvedBridgeOptions;
  private readonly log: MqttLogger;
  private readonly broker: string;
  private readonly topics: PublishTopic;
  private readonly formatter: FrameFormatter;
  private readonly queue: FrameQueue;
  private readonly filters: string[] = [];
  private readonly statusTopic: string;
  private readonly infoTopic: string;
  /** Present only when a subscription can match this bridge's own publication topics. */
  private readonly echoes: RecentPublications | null;
  private readonly refusedLog = new LogLimiter(LOG_INTERVAL_MS);
  private readonly busErrorLog = new LogLimiter(LOG_INTERVAL_MS);
  private readonly dropLog = new LogLimiter(LOG_INTERVAL_MS);
  private readonly rejectedLog = new LogLimiter(LOG_INTERVAL_MS);
  /** QoS 1 publications the broker has not acknowledged yet. */
  private readonly inflight = new InflightWindow();
  /** Publications in flight when a connection broke: sent again, first, on the next one. */
  private resendTopics: string[] = [];
  private resendPayloads: string[] = [];
  private resendHead = 0;
  /** Reused per batch by pump(). */
  private readonly batchTopics: string[] = [];
  private readonly batchNames: Uint8Array[] = [];
  private readonly batchPayloads: string[] = [];
  /** takeNext()'s result. */
  private nextTopic = '';
  private nextName: Uint8Array | null = null;
  private nextPayload = '';
  private readonly publishOptions: { qos: MqttQos };

  private state: MqttBridgeState = 'stopped';
  private client: MqttClient | null = null;
  /** The current broker connection's real socket: the bridge writes its publications here. */
  private connection: Duplex | null = null;
  /** The connection's receive low-water mark at QoS 1 (ack-wakeups.ts). */
  private ackWakeups: AckWakeups | null = null;
  /** brokerIsAlive() may restart the keep-alive timer: set again LIVENESS_INTERVAL_MS after it did. */
  private livenessDue = true;
  private livenessTimer: NodeJS.Timeout | null = null;
  private readonly livenessAgain = (): void => {
    this.livenessDue = true;
  };
  private socket: CanSocket | null = null;
  private canRetry: NodeJS.Timeout | null = null;
  private canErrorCode: string | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  private startedAt = 0;
  private window = DEFAULT_RECEIVE_MAXIMUM;
  private waitingForDrain = false;
  private subscribed = false;
  private lastProblem: string | null = null;
  private readonly onAck: (err?: Error | null) => void;
  private readonly onDrain: () => void;
  private readonly onWritten: (err?: Error | null) => void;
  private pumpScheduled = false;
  private readonly scheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };
  private readonly counters = {
    published: 0,
    acknowledged: 0,
    acknowledgementReads: 0,
    inflight: 0,
    received: 0,
    sentToBus: 0,
    refused: 0,
    echoes: 0,
    retainedIgnored: 0,
    busErrors: 0,
    connections: 0,
    rejected: 0,
  };

  constructor(options: MqttBridgeOptions) {
    super();
    this.o = resolveBridgeOptions(options, defaultClientId, silentLogger);
    this.log = this.o.logger;
    this.broker = displayUrl(this.o.url);
    this.topics = new PublishTopic(this.o.topic, this.o.guid);
    this.formatter = frameFormatter(this.o.format, this.o.guid);
    this.queue = new FrameQueue(this.o.queueSize);
    for (const s of this.o.subscribe) {
      const expanded = expandSubscription(s, this.o.guid);
      if (expanded.ok && !this.filters.includes(expanded.filter)) this.filters.push(expanded.filter);
    }
    const base = expandSubscription(this.o.gatewayTopic, this.o.guid);
    const baseTopic = base.ok ? base.filter : `uvscpd/${formatGuidPadded(this.o.guid)}`;
    this.statusTopic = `${baseTopic}/status`;
    this.infoTopic = `${baseTopic}/info`;
    const overlapping = this.filters.filter((f) => filterMayMatchTemplate(f, this.o.topic));
    this.echoes = overlapping.length > 0 ? new RecentPublications(ECHO_MEMORY) : null;
    this.publishOptions = { qos: this.o.qos };
    this.onAck = (err?: Error | null) => this.acknowledged(err);
    this.onDrain = () => {
      this.waitingForDrain = false;
      this.pump();
    };
    this.onWritten = (err?: Error | null) => {
      if (err === undefined || err === null) this.brokerIsAlive();
    };
  }

  /** The retained status topic ('online' / 'offline', the last will). */
  get statusTopicName(): string {
    return this.statusTopic;
  }

  /** The retained gateway information topic (JSON). */
  get infoTopicName(): string {
    return this.infoTopic;
  }

  /** The subscriptions as sent to the broker ({ifguid} expanded). */
  get subscriptions(): readonly string[] {
    return this.filters;
  }

  /**
   * Open the CAN socket and start connecting. Resolves without waiting for
   * the broker (it may be down: events queue and the bridge keeps trying).
   * Rejects only when MQTT.js cannot be loaded.
   */
  start(): Promise<void> {
    if (this.stopping !== null) return Promise.reject(new Error('MQTT bridge is stopped'));
    this.starting ??= this.startNow();
    return this.starting;
  }

  private async startNow(): Promise<void> {
    this.startedAt = Date.now();
    this.state = 'connecting';
    this.openCanSocket();
    // Loaded here, not at the top: without a bridge MQTT.js costs nothing.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mqtt = require('mqtt') as typeof import('mqtt');
    const o = this.o;
    const clientOptions: IClientOptions = {
      protocolVersion: o.protocolVersion,
      clientId: o.clientId,
      clean: true,
      keepalive: o.keepaliveSeconds,
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectPeriod: o.reconnectMinMs,
      reconnectOnConnackError: true,
      // The bridge keeps its own bounded queue; MQTT.js's offline queue has no bound.
      queueQoSZero: false,
      resubscribe: true,
      will: { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      rejectUnauthorized: true,
      // Per publication, MQTT.js would otherwise call its debug logger and re-arm the keep-alive timer
      // (bench/README.md "MQTT"); keep-alive pings still go out (brokerIsAlive()).
      log: noLog,
      reschedulePings: false,
      // The bridge numbers its own publications (packet.ts); MQTT.js numbers from above them.
      messageIdProvider: new PacketIdsAbove(),
      // The connection is made below, once its stream is wrapped.
      manualConnect: true,
    };
    if (o.protocolVersion === 5) clientOptions.properties = { maximumPacketSize: MAX_INCOMING_PACKET };
    if (o.username !== undefined) clientOptions.username = o.username;
    if (o.password !== undefined) clientOptions.password = o.password;
    if (o.ca !== undefined) clientOptions.ca = o.ca;
    if (o.cert !== undefined) clientOptions.cert = o.cert;
    if (o.key !== undefined) clientOptions.key = o.key;
    this.log.info(`mqtt: connecting to ${this.broker} as ${o.clientId}`);
    const client = mqtt.connect(o.url, clientOptions);
    this.client = client;
    // Every connection (and reconnection) gets its socket from MQTT.js's stream builder for the URL;
    // the bridge keeps the socket and gives MQTT.js a view without the bridge's PUBACKs (ack-stream.ts).
    // (streamBuilder is not in MQTT.js's public types; manualConnect exists so that it can be replaced before connecting.)
    const builder = client as unknown as { streamBuilder: (c: MqttClient) => Duplex };
    const buildSocket = builder.streamBuilder;
    builder.streamBuilder = (c) => this.wrapConnection(buildSocket(c));
    client.on('connect', (connack) => this.onConnect(connack));
    client.on('close', () => this.onClose());
    client.on('reconnect', () => {
      // Exponential back-off: MQTT.js arms its next attempt with the period set here.
      const period = client.options.reconnectPeriod ?? o.reconnectMinMs;
      client.options.reconnectPeriod = Math.min(o.reconnectMaxMs, period * 2);
    });
    client.on('error', (err) => this.onClientError(err));
    if (o.qos === 1) {
      client.on('packetsend', (packet) => {
        if (packet.cmd === 'pingreq') this.ackWakeups?.pingSent();
      });
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'pingresp') this.ackWakeups?.pingAnswered();
      });
    }
    client.on('disconnect', (packet) => this.onDisconnectPacket(packet.reasonCode, packet.properties?.reasonString));
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.connect();
  }

  private wrapConnection(socket: Duplex): Duplex {
    // A PUBACK must not wait for Nagle (the broker's window refills only with it), nor must a small batch.
    const tcp = socket as Duplex & { setNoDelay?: (on: boolean) => unknown };
    if (typeof tcp.setNoDelay === 'function') tcp.setNoDelay(true);
    this.connection = socket;
    this.waitingForDrain = false;
    if (this.o.qos === 1) this.ackWakeups = new AckWakeups(socket, lowWaterSetter());
    socket.once('close', () => {
      if (this.connection === socket) {
        this.connection = null;
        this.ackWakeups = null;
      }
    });
    return new AckFilteringStream(socket, OWN_PACKET_ID_MAX, {
      onAck: (id, reasonCode) => this.onPuback(id, reasonCode),
      onAcksRead: () => {
        this.counters.acknowledgementReads++;
        this.brokerIsAlive();
        this.pump();
      },
    });
  }

  /**
   * The broker answered, or the kernel took a write: restart the keep-alive
   * timer, at most once per LIVENESS_INTERVAL_MS. A timer says when, not a
   * clock read per call: without a vDSO (the UML guest) each read is a system call.
   */
  private brokerIsAlive(): void {
    if (!this.livenessDue) return;
    this.livenessDue = false;
    if (this.livenessTimer === null) this.livenessTimer = setTimeout(this.livenessAgain, LIVENESS_INTERVAL_MS).unref();
    else this.livenessTimer.refresh();
    if (this.client !== null && this.state === 'connected') this.client.reschedulePing(true);
  }

  // ---- the bus side ----------------------------------------------------------

  private openCanSocket(): void {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const o = this.o;
    try {
      const socket = o.bus.open(o.canInterface, {
        receiveCoalesceUs: o.receiveCoalesceUs,
        ...(o.receiveCoalesceAlways ? { receiveCoalesceAlways: true } : {}),
        ...(o.receiveBufferSize === undefined ? {} : { receiveBufferSize: o.receiveBufferSize }),
      });
      socket.on('frames', (batch: FrameBatch) => this.onFrames(batch));
      socket.on('error', (err: CanError) => {
        if (err.code !== this.canErrorCode) this.log.warn(`mqtt: CAN interface ${o.canInterface}: ${err.message}`);
        this.canErrorCode = err.code;
      });
      this.socket = socket;
      if (this.canErrorCode !== null) this.log.info(`mqtt: CAN interface ${o.canInterface} is open`);
      this.canErrorCode = null;
    } catch (err) {
      const e = err as CanError;
      if (e.code !== this.canErrorCode) this.log.warn(`mqtt: cannot open CAN interface ${o.canInterface}: ${e.message}; trying again every ${CAN_RETRY_MS / 1000} s`);
      this.canErrorCode = e.code ?? 'error';
      this.canRetry = setTimeout(() => {
        this.canRetry = null;
        this.openCanSocket();
      }, CAN_RETRY_MS);
      this.canRetry.unref();
    }
  }

  private onFrames(batch: FrameBatch): void {
    const queue = this.queue;
    const droppedBefore = queue.dropped;
    for (let i = 0; i < batch.count; i++) {
      const rawId = batch.rawId(i);
      const length = batch.length(i);
      // Standard, RTR and error frames are not VSCP events (docs/protocol.md §3.6).
      if (!isVscpFrame(rawId, length)) continue;
      queue.push(rawId, batch.buffer, batch.dataOffset(i), length, batch.timestamp(i));
    }
    if (queue.dropped !== droppedBefore && this.dropLog.take() !== null) {
      this.log.warn(`mqtt: queue full (${queue.capacity} events, broker ${this.state}): the oldest are dropped, ${queue.dropped} so far`);
    }
    this.pump();
  }

  /** Events waiting to be published: those to send again first, then the queue. */
  private pendingCount(): number {
    return this.resendTopics.length - this.resendHead + this.queue.size;
  }

  private inflightCount(): number {
    return this.o.qos === 2 ? this.counters.inflight : this.inflight.size;
  }

  /**
   * Take the next waiting publication (those to send again first) into
   * nextTopic, nextName (null for one sent again) and nextPayload: no object per event.
   */
  private takeNext(): void {
    if (this.resendHead < this.resendTopics.length) {
      this.nextTopic = this.resendTopics[this.resendHead] as string;
      this.nextPayload = this.resendPayloads[this.resendHead] as string;
      this.nextName = null;
      if (++this.resendHead === this.resendTopics.length) this.clearResend();
      return;
    }
    const queue = this.queue;
    const rawId = queue.peekRawId();
    const name = this.topics.nameFor(rawId);
    this.nextTopic = name.text;
    this.nextName = name.bytes;
    this.nextPayload = this.formatter(rawId, queue.buffer, queue.peekDataOffset(), queue.peekLength(), queue.peekTimestamp());
    queue.shift();
  }

  /** Publish waiting events while the broker is connected and the window allows; then wait for their acknowledgements. */
  private pump(): void {
    this.publishWaiting();
    this.ackWakeups?.update(this.inflight.size, this.window);
  }

  private publishWaiting(): void {
    const client = this.client;
    const stream = this.connection;
    if (client === null || stream === null || this.state !== 'connected' || this.waitingForDrain || !client.connected) return;
    if (this.o.qos === 2) {
      this.pumpThroughClient(client);
      return;
    }
    const qos = this.o.qos;
    const v5 = this.o.protocolVersion === 5;
    const topics = this.batchTopics;
    const names = this.batchNames;
    const payloads = this.batchPayloads;
    for (;;) {
      if (stream.writableLength > WRITE_HIGH_WATER) {
        this.waitingForDrain = true;
        stream.once('drain', this.onDrain);
        return;
      }
      const room = qos === 1 ? this.window - this.inflight.size : PUBLISH_BATCH;
      const n = Math.min(room, PUBLISH_BATCH, this.pendingCount());
      if (n <= 0) return; // an acknowledgement or new frames resume
      let size = 0;
      for (let k = 0; k < n; k++) {
        this.takeNext();
        const name = this.nextName ?? Buffer.from(this.nextTopic, 'utf8');
        topics[k] = this.nextTopic;
        names[k] = name;
        payloads[k] = this.nextPayload;
        size += publishPacketSize(name.length, this.nextPayload.length, qos, v5);
      }
      // The whole batch in one buffer and one write.
      const buf = Buffer.allocUnsafe(size);
      let at = 0;
      for (let k = 0; k < n; k++) {
        const topic = topics[k] as string;
        const payload = payloads[k] as string;
        let id = 0;
        if (qos === 1) {
          id = this.inflight.allocate();
          this.inflight.add(id, topic, payload);
        }
        at = writePublish(buf, at, names[k] as Uint8Array, payload, qos, id, v5);
        if (this.echoes !== null) this.echoes.remember(topic, payload);
      }
      this.counters.published += n;
      stream.write(buf, this.onWritten);
    }
  }

  /** QoS 2 (exactly once between bridge and broker): MQTT.js's own four-packet flow, one call per event. */
  private pumpThroughClient(client: MqttClient): void {
    const counters = this.counters;
    while (this.pendingCount() > 0 && counters.inflight < this.window) {
      this.takeNext();
      if (this.echoes !== null) this.echoes.remember(this.nextTopic, this.nextPayload);
      counters.published++;
      counters.inflight++;
      client.publish(this.nextTopic, this.nextPayload, this.publishOptions, this.onAck);
    }
  }

  private clearResend(): void {
    this.resendTopics = [];
    this.resendPayloads = [];
    this.resendHead = 0;
  }

  /** A QoS 1 acknowledgement of one of the bridge's own publications; the window refills after the whole read (onAcksRead). */
  private onPuback(id: number, reasonCode: number): void {
    if (!this.inflight.acknowledge(id)) return;
    if (reasonCode >= 0x80) this.rejected(`reason code 0x${reasonCode.toString(16)}`);
    else this.counters.acknowledged++;
  }

  /** QoS 2 publications, through MQTT.js. */
  private acknowledged(err?: Error | null): void {
    this.counters.inflight--;
    if (err === undefined || err === null) this.counters.acknowledged++;
    else if (this.state !== 'stopping') this.rejected(err.message);
    this.schedulePump();
  }

  private rejected(reason: string): void {
    this.counters.rejected++;
    const unlogged = this.rejectedLog.take();
    if (unlogged === null) return;
    const more = unlogged > 0 ? ` (and ${unlogged} more since the last report)` : '';
    this.log.warn(`mqtt: the broker did not accept a publication: ${reason}${more}`);
  }

  /**
   * QoS 2 acknowledgements (through MQTT.js) arrive many per read: refill the
   * window once after all of them (a microtask runs after MQTT.js has handled
   * every packet of the read), so that what they free leaves in one write.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    scheduleMicrotask(this.scheduledPump);
  }

  // ---- the broker side -------------------------------------------------------

  private onConnect(connack: IConnackPacket): void {
    const client = this.client;
    if (client === null || this.state === 'stopping') return;
    client.options.reconnectPeriod = this.o.reconnectMinMs;
    this.counters.connections++;
    this.lastProblem = null;
    this.state = 'connected';
    this.waitingForDrain = false;
    // MQTT 5: the broker says how many QoS 1/2 publications it takes unacknowledged.
    this.window = Math.min(MAX_WINDOW, connack.properties?.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM);
    this.log.info(`mqtt: connected to ${this.broker} as ${this.o.clientId}${this.queue.size > 0 ? `, ${this.queue.size} queued events to publish` : ''}`);
    client.publish(this.statusTopic, 'online', { qos: 1, retain: true });
    client.publish(this.infoTopic, this.gatewayInfo(), { qos: 1, retain: true });
    if (!this.subscribed && this.filters.length > 0) {
      this.subscribed = true; // MQTT.js subscribes again by itself after a reconnect
      const v5 = this.o.protocolVersion === 5;
      // nl: the broker does not send our own publications back; rh 2: no retained messages at subscription.
      const request = Object.fromEntries(this.filters.map((f) => [f, v5 ? { qos: this.o.qos, nl: true, rh: 2 } : { qos: this.o.qos }]));
      if (this.echoes !== null) {
        this.log.info(`mqtt: a subscription can match this gateway's own publications: they are recognised and not sent back to the bus`);
      }
      this.pump();
      // 'connect' once the subscriptions are in place: from then on nothing published to them is missed.
      client.subscribe(request, (err, granted) => {
        if (err) this.log.error(`mqtt: subscribing failed: ${err.message}`);
        for (const g of granted ?? []) {
          if (g.qos >= 0x80) this.log.error(`mqtt: the broker refused the subscription ${g.topic} (code ${g.qos})`);
        }
        if (this.state === 'connected') this.emit('connect');
      });
      return;
    }
    this.emit('connect');
    this.pump();
  }

  private onClose(): void {
    if (this.inflight.size > 0) {
      // Unacknowledged at QoS 1: send them again, before anything newer, on the next connection.
      const unacked = this.inflight.takeAll();
      this.resendTopics = unacked.topics.concat(this.resendTopics.slice(this.resendHead));
      this.resendPayloads = unacked.payloads.concat(this.resendPayloads.slice(this.resendHead));
      this.resendHead = 0;
    }
    if (this.state === 'connected') {
      this.state = 'reconnecting';
      const why = this.lastProblem === null ? '' : ` (${this.lastProblem})`;
      this.log.warn(`mqtt: connection to ${this.broker} lost${why}; events queue (at most ${this.queue.capacity}) until it is back`);
      this.emit('offline');
    }
  }

  /** MQTT 5: the broker ends the connection and says why (shutting down, session taken over, ...). */
  private onDisconnectPacket(reasonCode: number | undefined, reason: string | undefined): void {
    if (reasonCode === SESSION_TAKEN_OVER) {
      // Two gateways with one client id would take the session from each other forever.
      this.log.error(`mqtt: another client connected to ${this.broker} as ${this.o.clientId}: give each gateway its own client id`);
      if (this.client !== null) this.client.options.reconnectPeriod = this.o.reconnectMaxMs;
    }
    this.lastProblem = `broker disconnected: ${reason ?? 'reason code 0x' + (reasonCode ?? 0).toString(16)}`;
  }

  private onClientError(err: Error & { code?: string | number }): void {
    const { text, configuration } = describeError(err);
    if (text !== this.lastProblem) {
      // Once per kind of problem, not once per attempt.
      const next = configuration ? this.o.reconnectMaxMs : (this.client?.options.reconnectPeriod ?? this.o.reconnectMinMs);
      this.log.error(`mqtt: ${this.broker}: ${text}; trying again in ${Math.round(next / 1000)} s${configuration ? ' and then at that interval' : ' with back-off'}`);
    }
    this.lastProblem = text;
    // Wrong credentials or certificates do not fix themselves quickly: no tight loop.
    if (configuration && this.client !== null) this.client.options.reconnectPeriod = this.o.reconnectMaxMs;
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const counters = this.counters;
    counters.received++;
    if (packet.retain) {
      // Sent because we subscribed, not because someone published now.
      counters.retainedIgnored++;
      return;
    }
    const text = payload.length <= MAX_PAYLOAD_BYTES ? payload.toString('utf8') : null;
    if (text !== null && this.echoes !== null && this.echoes.has(topic, text)) {
      counters.echoes++;
      return;
    }
    const parsed = parsePayload(text ?? payload, this.o.guid);
    if (!parsed.ok) {
      counters.refused++;
      this.refuse(topic, parsed.reason);
      return;
    }
    const socket = this.socket;
    if (socket === null || socket.closed) {
      this.busError(`CAN interface ${this.o.canInterface} is not open`);
      return;
    }
    socket.send({ id: parsed.id, extended: true, data: parsed.data }).then(
      () => {
        counters.sentToBus++;
      },
      (err: Error) => this.busError(err.message),
    );
  }

  private refuse(topic: string, reason: string): void {
    if (this.listenerCount('refused') > 0) this.emit('refused', { topic, reason } satisfies MqttRefusal);
    const unlogged = this.refusedLog.take();
    if (unlogged === null) return;
    const more = unlogged > 0 ? ` (and ${unlogged} more since the last report)` : '';
    this.log.warn(`mqtt: refused a message on ${printable(topic)}: ${printable(reason)}${more}`);
  }

  private busError(reason: string): void {
    this.counters.busErrors++;
    const unlogged = this.busErrorLog.take();
    if (unlogged === null) return;
    const more = unlogged > 0 ? ` (and ${unlogged} more since the last report)` : '';
    this.log.warn(`mqtt: an event from the broker did not go on the bus: ${reason}${more}`);
  }

  private gatewayInfo(): string {
    return JSON.stringify({
      name: PACKAGE_NAME,
      version: PACKAGE_VERSION,
      interface: this.o.canInterface,
      guid: formatGuidPadded(this.o.guid),
      started: new Date(this.startedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      topic: this.o.topic,
      subscribe: this.filters,
      format: this.o.format,
      qos: this.o.qos,
    });
  }

  // ---- state -------------------------------------------------------------------

  stats(): MqttBridgeStats {
    const c = this.counters;
    return {
      state: this.state,
      broker: this.broker,
      clientId: this.o.clientId,
      qos: this.o.qos,
      format: this.o.format,
      published: c.published,
      acknowledged: c.acknowledged,
      acknowledgementReads: c.acknowledgementReads,
      inflight: this.inflightCount(),
      queued: this.pendingCount(),
      queueCapacity: this.queue.capacity,
      dropped: this.queue.dropped,
      received: c.received,
      sentToBus: c.sentToBus,
      refused: c.refused,
      echoes: c.echoes,
      retainedIgnored: c.retainedIgnored,
      busErrors: c.busErrors,
      connections: c.connections,
      rejected: c.rejected,
      lastError: this.lastProblem,
    };
  }

  /** Lines for the server's `info` command. */
  statusLines(): string[] {
    const s = this.stats();
    const where = s.state === 'connected' ? `connected to ${s.broker}` : `${s.state}, broker ${s.broker}`;
    const lines = [
      `mqtt: ${where} as ${s.clientId} (QoS ${s.qos}, ${s.format})`,
      `mqtt out: ${s.published} published, ${s.inflight} unacknowledged, ${s.rejected} refused by the broker, queue ${s.queued} of ${s.queueCapacity}, ${s.dropped} dropped when full`,
      `mqtt in: ${s.received} received, ${s.sentToBus} sent to the bus, ${s.refused} refused, ${s.echoes} own echoes ignored, ${s.busErrors} bus errors`,
    ];
    if (s.state !== 'connected' && s.lastError !== null) lines.push(`mqtt problem: ${s.lastError}`);
    return lines;
  }

  /**
   * Publish what is queued (while connected, for a bounded time), mark the
   * gateway offline on the broker, disconnect, close the CAN socket.
   * Idempotent; resolves within stopTimeoutMs whatever the broker does.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const wasConnected = this.state === 'connected';
    this.state = 'stopping';
    if (this.canRetry !== null) clearTimeout(this.canRetry);
    if (this.livenessTimer !== null) clearTimeout(this.livenessTimer);
    this.livenessTimer = null;
    this.canRetry = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(); // no new events from here on
    const client = this.client;
    if (client !== null) {
      const budget = this.o.stopTimeoutMs;
      const deadline = Date.now() + budget;
      if (wasConnected && client.connected) {
        // Half the budget for what is queued, a quarter for the offline status, the rest to disconnect.
        this.state = 'connected';
        this.ackWakeups?.release();
        this.pump();
        while ((this.pendingCount() > 0 || this.inflightCount() > 0) && client.connected && Date.now() < deadline - budget / 2) {
          await new Promise((r) => setTimeout(r, 10));
          this.pump();
        }
        this.state = 'stopping';
        // A normal DISCONNECT does not fire the will: say so ourselves.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(10, deadline - budget / 4 - Date.now()));
          client.publish(this.statusTopic, 'offline', { qos: 1, retain: true }, () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      // With manualConnect, MQTT.js's end() leaves reconnecting possible once it completes: a connection attempt
      // still under way when stop() came (a broker not up yet) would close afterwards and start a reconnect timer
      // that keeps the process alive and dials the broker forever. No reconnect period, no timer.
      client.options.reconnectPeriod = 0;
      const unpublished = this.pendingCount() + this.inflightCount();
      if (unpublished > 0) this.log.warn(`mqtt: ${unpublished} queued events were not published`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          client.end(true);
          resolve();
        }, Math.max(10, deadline - Date.now()));
        client.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.queue.clear();
    this.clearResend();
    this.inflight.takeAll();
    this.state = 'stopped';
    this.log.info('mqtt: stopped');
    this.emit('close');
  }
}

/** Create a bridge (not started): `await createMqttBridge(options).start()`. */
export function createMqttBridge(options: MqttBridgeOptions): MqttBridge {
  return new MqttBridge(options);
}
