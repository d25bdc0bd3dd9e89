// Start-up failures as one line for the operator.

import { VIRTUAL_INTERFACE, type CliConfig } from './options.js';

export function formatHostPort(config: Pick<CliConfig, 'host' | 'port'>): string {
  const host = config.host ?? '0.0.0.0';
  return host.includes(':') ? `[${host}]:${config.port}` : `${host}:${config.port}`;
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

