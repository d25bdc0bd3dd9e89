// Runs the server until a stop signal: loggers, the bus, listen(), the pid
// file, systemd notification, and the daemon's start-up report.
//
// Signals: SIGTERM, SIGINT and SIGHUP stop gracefully (server.close(),
// every CAN socket closed, with --mqtt the gateway's offline status
// published and the broker connection closed) and exit 0; a hard timer exits anyway after
// STOP_TIMEOUT_MS; a second signal exits at once. SIGHUP stops rather than
// reloads: there is no configuration file, the original shut down on it, and
// a foreground daemon whose terminal goes away gets SIGHUP.

import { resolve as resolvePath } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { CanBus } from '../can/types.js';
import { createServer, silentLogger, type Logger, type VscpServer } from '../server/index.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import type { DaemonChannel } from './daemon.js';
import { levelEnabled, StartupWarnings, StderrLogger, SyslogLogger, type DatagramSender } from './log.js';
import { describeConfig, redactArgs, VIRTUAL_INTERFACE, type CliConfig } from './options.js';
import { describeStartupError } from './startup-error.js';
import { gateway } from './mqtt.js';
import { loadDatagramSender } from './unix-datagram.js';

/** Modules a foreground start does not need, loaded on first use. */
const lazy = {
  daemon: (): typeof import('./daemon.js') => require('./daemon.js') as typeof import('./daemon.js'),
  systemd: (): typeof import('./systemd.js') => require('./systemd.js') as typeof import('./systemd.js'),
};

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;

/** Graceful shutdown budget; past it the process exits anyway (within 2 s of the signal). */
export const STOP_TIMEOUT_MS = 1500;

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

function openBus(canInterface: string): CanBus {
  if (canInterface === VIRTUAL_INTERFACE) {
    const { VirtualCanBus } = require('../can/virtual-bus.js') as typeof import('../can/virtual-bus.js');
    return new VirtualCanBus({ interfaces: [VIRTUAL_INTERFACE] });
  }
  // Loaded only here: the virtual bus needs no native addon.
  const { SocketCanBus } = require('../can/socketcan.js') as { SocketCanBus: new () => CanBus };
  return new SocketCanBus();
}

function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

class PidFileError extends Error {
  constructor(path: string, cause: NodeJS.ErrnoException) {
    super(`cannot write the pid file ${path}: ${cause.message.split('\n')[0]}`);
  }
}

function makeLogger(config: CliConfig, foreground: boolean, send: DatagramSender): Logger {
  const useSyslog = config.syslog ?? !foreground;
  if (useSyslog) return new SyslogLogger({ level: config.logLevel, send, ident: PACKAGE_NAME });
  if (!foreground) return silentLogger; // daemon with --no-syslog: stderr is /dev/null
  const journal = process.env['JOURNAL_STREAM'] !== undefined && lazy.systemd().stderrIsJournal();
  return new StderrLogger({ level: config.logLevel, ident: PACKAGE_NAME, journal });
}

/**
 * Run the server until a stop signal; returns the exit status. `channel` is
 * set in the daemon child; `stderr` is the terminal of a foreground start.
 */
export async function serve(
  config: CliConfig,
  argv: readonly string[],
  channel: DaemonChannel | undefined,
  stderr: (text: string) => void,
): Promise<number> {
  const foreground = channel === undefined;
  if (config.password !== undefined) {
    // What ps shows: the program and its options, never the password
    // (Linux: Node rewrites the argv area, so /proc/<pid>/cmdline too).
    process.title = [PACKAGE_NAME, ...redactArgs(argv)].join(' ');
  }
  let sender: DatagramSender | undefined;
  const send: DatagramSender = (path, message) => (sender ??= loadDatagramSender())(path, message);
  const log = makeLogger(config, foreground, send);
  // Warnings while starting also reach the terminal of whoever started us:
  // through the start-up channel in daemon mode, on stderr in the
  // foreground unless the log already goes there. At the level asked for.
  let terminal: ((msg: string) => void) | undefined;
  if (levelEnabled('warn', config.logLevel)) {
    if (channel !== undefined) terminal = (msg) => channel.warn(msg);
    else if (!(log instanceof StderrLogger)) terminal = (msg) => stderr(`${PACKAGE_NAME}: warning: ${msg}\n`);
  }
  const logger = new StartupWarnings(log, terminal);
  const pidFile = config.pidFile !== undefined ? resolvePath(config.pidFile) : undefined;
  let pidFileWritten = false;
  const cleanUp = (): void => {
    if (pidFile !== undefined && pidFileWritten) lazy.daemon().removePidFile(pidFile);
    pidFileWritten = false;
  };

  const notify = (state: string): void => {
    if (process.env['NOTIFY_SOCKET'] === undefined) return; // not started by systemd (Type=notify)
    try {
      lazy.systemd().sdNotify(state, send);
    } catch (err) {
      logger.warn(`sd_notify to NOTIFY_SOCKET failed: ${(err as Error).message}`);
    }
  };

  // Failures nobody planned for still leave a trace and no stale pid file.
  process.on('uncaughtException', (err) => {
    logger.error(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    channel?.fail(`fatal: ${err instanceof Error ? err.message : String(err)}`);
    cleanUp();
    process.exit(EXIT_FAILURE);
  });

  logger.info(`${PACKAGE_NAME} ${PACKAGE_VERSION} starting (pid ${process.pid}, node ${process.version}, ${foreground ? 'foreground' : 'daemon'})`);
  logger.debug(`options: ${describeConfig(config)}`);

  // Stop requests may arrive while still starting; they are honoured once listen() settles.
  let stopRequested: ((signal: string) => void) | null = null;
  let stopSignal: string | null = null;
  const stopped = new Promise<string>((resolve) => {
    stopRequested = resolve;
  });
  let forceTimer: NodeJS.Timeout | null = null;
  const onSignal = (signal: string): void => {
    if (stopSignal !== null) {
      logger.warn(`${signal} again: exiting now`);
      cleanUp();
      process.exit(EXIT_OK);
    }
    stopSignal = signal;
    logger.info(`${signal} received: shutting down`);
    notify('STOPPING=1');
    forceTimer = setTimeout(() => {
      logger.warn(`shutdown took longer than ${STOP_TIMEOUT_MS} ms: exiting anyway`);
      cleanUp();
      process.exit(EXIT_OK);
    }, STOP_TIMEOUT_MS);
    (stopRequested as (s: string) => void)(signal);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);

  let server: VscpServer;
  let address: AddressInfo;
  try {
    // With --mqtt: the server with the bridge beside it (./mqtt.ts loads it).
    const make = config.mqtt === undefined ? createServer : gateway().createServer;
    server = make({
      ...(config.mqtt === undefined ? {} : { mqtt: config.mqtt }),
      bus: openBus(config.canInterface),
      canInterface: config.canInterface,
      host: config.host,
      port: config.port,
      guid: config.guid,
      user: config.user,
      password: config.password,
      requireLogin: config.requireLogin,
      maxClients: config.maxClients,
      fifoSize: config.fifoSize,
      idleTimeoutMs: config.idleTimeoutMs,
      receiveBufferSize: config.receiveBufferSize,
      receiveCoalesceUs: config.receiveCoalesceUs,
      receiveCoalesceAlways: config.receiveCoalesceAlways,
      logger,
    });
    server.on('error', (err: Error) => logger.error(`server error: ${err.message}`));
    address = await server.listen();
    if (pidFile !== undefined) {
      try {
        lazy.daemon().writePidFile(pidFile);
      } catch (err) {
        throw new PidFileError(pidFile, err as NodeJS.ErrnoException);
      }
      pidFileWritten = true;
    }
  } catch (err) {
    const message = err instanceof PidFileError ? err.message : describeStartupError(err, config);
    logger.error(message);
    if (channel !== undefined) channel.fail(message);
    else if (!(log instanceof StderrLogger)) stderr(`${PACKAGE_NAME}: ${message}\n`);
    cleanUp();
    return EXIT_FAILURE;
  }

  const where = formatAddress(address);
  notify(`READY=1\nMAINPID=${process.pid}\nSTATUS=Listening on ${where}, CAN interface ${config.canInterface}`);
  const watchdogMs = process.env['WATCHDOG_USEC'] === undefined ? 0 : lazy.systemd().watchdogIntervalMs();
  if (watchdogMs > 0) setInterval(() => notify('WATCHDOG=1'), watchdogMs).unref();
  if (channel !== undefined) {
    // A daemon must not keep its start directory busy (the pid file path is
    // already absolute). Before "ready": the caller may look at once.
    process.chdir('/');
    channel.ready(process.pid);
  }
  logger.startupOver();

  const signal = await stopped;
  await server.close();
  if (forceTimer !== null) clearTimeout(forceTimer);
  cleanUp();
  logger.info(`stopped (${signal})`);
  return EXIT_OK;
}

