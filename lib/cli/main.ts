// The `uvscpd` command: options -> (daemonize) -> server -> signals -> exit.
//
//   main(argv)  returns the exit status: 0 ok (also after a stop signal),
//               1 start-up or run-time failure, 2 invalid options.
//   run(argv)   main() then process.exit(); what bin/uvscpd.js calls
//               (through dist/cli-bundle.js, scripts/bundle.js).
//
// Modes (docs/protocol.md §8, docs/design.md D7):
// - `-s`/`--stay`: foreground, logs on stderr (or syslog with --syslog).
// - default: daemonize (./daemon.ts). The parent exits 0 only once the
//   daemon listens; start-up errors reach its stderr and exit status.
//
// Start-up cost: `uvscpd -s -c can0` loads only what it uses. The virtual bus,
// the help text, daemonizing (child_process), systemd notification and the
// native datagram sender are required on first use (`lazy` here and in
// ./serve.ts), so the require graph at start is the server, the options and
// the loggers.

import { readFileSync } from 'node:fs';
import { PACKAGE_NAME } from '../version.js';
import { mqttOptions } from './mqtt.js';
import { parseOptions } from './options.js';
import { EXIT_FAILURE, EXIT_OK, serve } from './serve.js';

/** Modules the default path does not need, loaded on first use. */
const lazy = {
  daemon: (): typeof import('./daemon.js') => require('./daemon.js') as typeof import('./daemon.js'),
  help: (): typeof import('./help.js') => require('./help.js') as typeof import('./help.js'),
};

/** = daemon.ts DAEMON_ENV: checked here so that a foreground start need not load daemon.ts. */
const DAEMON_ENV = 'UVSCPD_DAEMON_FD';

export { parseOptions, type CliConfig, type ParseResult } from './options.js';
export { describeStartupError } from './startup-error.js';
export { EXIT_FAILURE, EXIT_OK, STOP_TIMEOUT_MS } from './serve.js';

export const EXIT_USAGE = 2;

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
  if (config.mqttArgs !== undefined) {
    // The bridge's password, CA, certificate and key files: read before daemonizing, so a bad one reaches the terminal.
    const mqtt = mqttOptions().mqttSettingsFromCli(config.mqttArgs);
    if (!mqtt.ok) {
      io.stderr(`${PACKAGE_NAME}: ${mqtt.error}\n`);
      return EXIT_USAGE;
    }
    config = { ...config, mqtt: mqtt.settings ?? undefined };
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
    const outcome = await lazy.daemon().spawnDaemon({
      script,
      args: argv,
      execArgv,
      onWarning: (message) => io.stderr(`${PACKAGE_NAME}: warning: ${message}\n`),
    });
    if (outcome.ok) return EXIT_OK;
    io.stderr(`${PACKAGE_NAME}: ${outcome.message}\n`);
    return EXIT_FAILURE;
  }
  return serve(config, argv, channel, (text) => io.stderr(text));
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
