// Start-up failures as one line for the operator, classified by what
// failed. The CAN side (opening the interface, loading the addon) reports
// with the binding's own message: a CanError names its interface and says
// what to do about its code, so that advice is written once, in lib/can.
// Only the TCP listener's failures get their advice here.

import { DEFAULT_HOST } from '../server/server.js';
import type { CliConfig } from './options.js';

export function formatHostPort(config: Pick<CliConfig, 'host' | 'port'>): string {
  const host = config.host ?? DEFAULT_HOST;
  return host.includes(':') ? `[${host}]:${config.port}` : `${host}:${config.port}`;
}

/** A multi-line message on one line: `tried:\n  a\n  b\nBuild it` -> `tried: a; b; Build it`. */
function joinLines(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return lines.reduce((out, line) => (out === '' ? line : `${out}${out.endsWith(':') ? ' ' : '; '}${line}`), '');
}

/** One line that tells an operator what went wrong at start-up and what to do. */
export function describeStartupError(err: unknown, config: Pick<CliConfig, 'host' | 'port'>): string {
  const e = (err ?? {}) as NodeJS.ErrnoException & { interfaceName?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = joinLines(e instanceof Error ? e.message : String(err));
  // Checked first: a CanError's syscall may be bind(2) too, on a CAN socket.
  if (typeof e.interfaceName === 'string' || code === 'ERR_UVSCPD_ADDON') return message;
  // net's listener errors (syscall listen or bind).
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
        return `cannot listen on ${at}: ${message}`;
    }
  }
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message;
}
