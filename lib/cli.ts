// The `uvscpd` command: options -> (daemonize) -> server -> signals -> exit.
//
//   main(argv)  returns the exit status: 0 ok (also after a stop signal),
//               1 start-up or run-time failure, 2 invalid options.
//   run(argv)   main() then process.exit(); what bin/uvscpd.js calls.
//
// Modes (spec §8, DESIGN D7):
// - `-s`/`--stay`: foreground, logs on stderr (or syslog with --syslog).
// - default: daemonize (./cli/daemon.ts). The parent exits 0 only once the
//   daemon listens; start-up errors reach its stderr and exit status.
// Signals: SIGTERM, SIGINT and SIGHUP stop gracefully (server.close(),
// every CAN socket closed) and exit 0; a hard timer exits anyway after
// STOP_TIMEOUT_MS; a second signal exits at once. SIGHUP stops rather than
// reloads: there is no configuration file, the original shut down on it, and
// a foreground daemon whose terminal goes away gets SIGHUP.

//
// Start-up cost: `uvscpd -s -c can0` loads only what it uses. The virtual bus,
// the help text, daemonizing (child_process), systemd notification and the
// native datagram sender are required on first use (`lazy` below), so the
// require graph at start is the server, the options and the loggers.

import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { CanBus } from './can/types.js';
import { createServer, type Logger, type VscpServer } from './server/index.js';
import { PACKAGE_NAME, PACKAGE_VERSION } from './version.js';
import type { DaemonChannel } from './cli/daemon.js';
import { NullLogger, StderrLogger, SyslogLogger, type DatagramSender } from './cli/log.js';
import { parseOptions, redactArgs, VIRTUAL_INTERFACE, type CliConfig } from './cli/options.js';

/** Modules the default path does not need, loaded on first use. */
const lazy = {
  daemon: (): typeof import('./cli/daemon.js') => require('./cli/daemon.js') as typeof import('./cli/daemon.js'),
  help: (): typeof import('./cli/help.js') => require('./cli/help.js') as typeof import('./cli/help.js'),
  systemd: (): typeof import('./cli/systemd.js') => require('./cli/systemd.js') as typeof import('./cli/systemd.js'),
};

/** = daemon.ts DAEMON_ENV: checked here so that a foreground start need not load daemon.ts. */
const DAEMON_ENV = 'UVSCPD_DAEMON_FD';

export { parseOptions, type CliConfig, type ParseResult } from './cli/options.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Graceful shutdown budget; past it the process exits anyway (within 2 s of the signal). */
export const STOP_TIMEOUT_MS = 1500;

const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** Where main() prints (tests may capture). */
export interface MainIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The script to re-run as the daemon; default process.argv[1]. */
  script?: string;
}

const defaultIo: MainIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/**
 * AF_UNIX datagrams (syslog, sd_notify) come from the native addon; loaded
 * lazily so that `-c virtual` runs where the addon is not built. Without it
 * every send throws ENOTSUP, which the callers treat like "no syslog".
 */
function loadDatagramSender(): DatagramSender {
  try {
    const native = require('./can/native.js') as { sendUnixDatagram?: (path: string, message: Buffer) => void };
    if (typeof native.sendUnixDatagram === 'function') return native.sendUnixDatagram;
  } catch {
    // fall through
  }
  return () => {
    const err = new Error('AF_UNIX datagrams need the native addon, which is not built') as NodeJS.ErrnoException;
    err.code = 'ENOTSUP';
    throw err;
  };
}

function openBus(canInterface: string): CanBus {
  if (canInterface === VIRTUAL_INTERFACE) {
    const { VirtualCanBus } = require('./can/virtual-bus.js') as typeof import('./can/virtual-bus.js');
    return new VirtualCanBus({ interfaces: [VIRTUAL_INTERFACE] });
  }
  // Loaded only here: the virtual bus needs no native addon.
  const { SocketCanBus } = require('./can/socketcan.js') as { SocketCanBus: new () => CanBus };
  return new SocketCanBus();
}

function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function formatHostPort(config: Pick<CliConfig, 'host' | 'port'>): string {
  const host = config.host ?? '0.0.0.0';
  return host.includes(':') ? `[${host}]:${config.port}` : `${host}:${config.port}`;
}

class PidFileError extends Error {
  constructor(path: string, cause: NodeJS.ErrnoException) {
    super(`cannot write the pid file ${path}: ${cause.message.split('\n')[0]}`);
  }
}

/** One line that tells an operator what went wrong at start-up and what to do. */
export function describeStartupError(err: unknown, config: Pick<CliConfig, 'canInterface' | 'host' | 'port'>): string {
  const e = (err ?? {}) as NodeJS.ErrnoException;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const firstLine = (e instanceof Error ? e.message : String(err)).split('\n')[0] as string;
  // Listener errors come from net (syscall listen or bind); the others from the CAN side.
  if (e.syscall === 'listen' || e.syscall === 'bind') {
    const at = formatHostPort(config);
    switch (code) {
      case 'EADDRINUSE':
        return `cannot listen on ${at}: address already in use (EADDRINUSE); is another uvscpd running? choose another port with -p`;
      case 'EADDRNOTAVAIL':
        return `cannot listen on ${at}: no such local address (EADDRNOTAVAIL)`;
      case 'EACCES':
        return `cannot listen on ${at}: permission denied (EACCES); ports below 1024 need root or CAP_NET_BIND_SERVICE`;
      default:
        return `cannot listen on ${at}: ${firstLine}`;
    }
  }
  const can = `'${config.canInterface}'`;
  switch (code) {
    case 'ENODEV':
      return `CAN interface ${can} does not exist (ENODEV); create it (see README) or try -c ${VIRTUAL_INTERFACE}`;
    case 'EAFNOSUPPORT':
      return `cannot open CAN interface ${can}: this kernel has no SocketCAN support (EAFNOSUPPORT); try 'modprobe can_raw', or -c ${VIRTUAL_INTERFACE}`;
    case 'ENETDOWN':
      return `CAN interface ${can} is down (ENETDOWN); bring it up with 'ip link set ${config.canInterface} up'`;
    case 'ERR_UVSCPD_ADDON':
      return `the SocketCAN addon is not built or does not load; run 'npm run build:native' (or set UVSCPD_ADDON), or use -c ${VIRTUAL_INTERFACE}`;
    case 'MODULE_NOT_FOUND':
      return `the SocketCAN addon is not built (${firstLine}); run 'npm run build:native', or use -c ${VIRTUAL_INTERFACE}`;
    default:
      return code !== undefined && !firstLine.includes(code) ? `${firstLine} (${code})` : firstLine;
  }
}

function makeLogger(config: CliConfig, foreground: boolean, send: DatagramSender): Logger {
  const useSyslog = config.syslog ?? !foreground;
  if (useSyslog) return new SyslogLogger({ level: config.logLevel, send, ident: PACKAGE_NAME });
  if (!foreground) return new NullLogger(); // daemon with --no-syslog: stderr is /dev/null
  const journal = process.env['JOURNAL_STREAM'] !== undefined && lazy.systemd().stderrIsJournal();
  return new StderrLogger({ level: config.logLevel, ident: PACKAGE_NAME, journal });
}

/** Run the server until a stop signal. `channel` is set in the daemon child. */
async function serve(config: CliConfig, argv: readonly string[], channel: DaemonChannel | undefined, io: MainIo): Promise<number> {
  const foreground = channel === undefined;
  if (config.password !== undefined) {
    // What ps shows: the program and its options, never the password
    // (Linux: Node rewrites the argv area, so /proc/<pid>/cmdline too).
    process.title = [PACKAGE_NAME, ...redactArgs(argv)].join(' ');
  }
  let sender: DatagramSender | undefined;
  const send: DatagramSender = (path, message) => (sender ??= loadDatagramSender())(path, message);
  const logger = makeLogger(config, foreground, send);
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
    server = createServer({
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
    else if (!(logger instanceof StderrLogger)) io.stderr(`${PACKAGE_NAME}: ${message}\n`);
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

  const signal = await stopped;
  await server.close();
  if (forceTimer !== null) clearTimeout(forceTimer);
  cleanUp();
  logger.info(`stopped (${signal})`);
  return EXIT_OK;
}

/** The whole command; returns the exit status. */
export async function main(argv: readonly string[], io: MainIo = defaultIo): Promise<number> {
  const parsed = parseOptions(argv);
  switch (parsed.kind) {
    case 'error':
      io.stderr(`${PACKAGE_NAME}: ${parsed.message}\n`);
      return EXIT_USAGE;
    case 'help':
      io.stdout(lazy.help().helpText());
      return EXIT_OK;
    case 'version':
      io.stdout(lazy.help().versionText());
      return EXIT_OK;
    case 'run':
      break;
  }
  let config = parsed.config;
  if (config.passwordFile !== undefined) {
    // Read before daemonizing, so a bad path reaches the terminal.
    const password = readPasswordFile(config.passwordFile);
    if (typeof password !== 'string') {
      io.stderr(`${PACKAGE_NAME}: ${password.message}\n`);
      return EXIT_USAGE;
    }
    config = { ...config, password };
  }
  const channel = process.env[DAEMON_ENV] === undefined ? undefined : lazy.daemon().takeDaemonChannel();
  if (!config.stay && channel === undefined) {
    const script = io.script ?? process.argv[1];
    if (script === undefined) {
      io.stderr(`${PACKAGE_NAME}: cannot daemonize: no script path; use -s\n`);
      return EXIT_FAILURE;
    }
    // Node flags carry over, except a debugger's: its port is the parent's.
    const execArgv = process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
    const outcome = await lazy.daemon().spawnDaemon({ script, args: argv, execArgv });
    if (outcome.ok) return EXIT_OK;
    io.stderr(`${PACKAGE_NAME}: ${outcome.message}\n`);
    return EXIT_FAILURE;
  }
  return serve(config, argv, channel, io);
}

/**
 * The password from --password-file: the file's first line, without its line
 * ending (an editor's trailing newline must not become part of the secret).
 */
function readPasswordFile(path: string): string | Error {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return new Error(`cannot read password file '${path}' (${code})`);
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password.length === 0) return new Error(`password file '${path}' is empty`);
  return password;
}

/** For bin/uvscpd.js: main() with the process's arguments, then exit with its status. */
export function run(argv: readonly string[] = process.argv.slice(2)): void {
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${PACKAGE_NAME}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
