// Texts printed by -h/--help and -v/--version (stdout, exit 0).

import { PACKAGE_HOME, PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { DEFAULTS, LIMITS, LOG_LEVELS, VIRTUAL_INTERFACE } from './options.js';

export function helpText(): string {
  return `Usage: ${PACKAGE_NAME} [options]

Micro VSCP daemon: serves the VSCP TCP/IP link protocol and bridges it to
one SocketCAN bus (VSCP Level I events in 29-bit CAN identifiers).

  -h, --help              print this help and exit
  -v, --version           print the version and exit
  -s, --stay              stay in the foreground (log to stderr); without it
                          ${PACKAGE_NAME} daemonizes and logs to syslog
  -U, --user=NAME         user name that USER accepts
  -P, --password=PWD      password that PASS accepts (shown as *** in ps)
      --password-file=PATH  read that password from the first line of a file
                          (keeps it off the command line and out of unit files)
  -c, --canbus=IF         SocketCAN interface (default ${DEFAULTS.canInterface}); '${VIRTUAL_INTERFACE}' is a
                          built-in in-memory bus shared by all clients
  -i, --ip=ADDR           listen on this IPv4 or IPv6 address (default: all)
  -p, --port=N            TCP port, ${LIMITS.port[0]}..${LIMITS.port[1]} (default ${DEFAULTS.port}; 0 = any free port)
  -g, --guid=GUID         interface GUID, 16 hex bytes separated by ':'
                          (default 0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0)
      --fifo-size=N       events buffered per client, ${LIMITS.fifoSize[0]}..${LIMITS.fifoSize[1]} (default ${DEFAULTS.fifoSize});
                          when full the oldest is dropped and counted
      --max-clients=N     simultaneous clients, ${LIMITS.maxClients[0]}..${LIMITS.maxClients[1]} (default ${DEFAULTS.maxClients})
      --require-login     enforce USER/PASS (needs -U and -P); by default they
                          are checked but not required, as in the original
      --idle-timeout=SEC  close a client idle this long (default 0 = never)
      --rcvbuf=BYTES      kernel receive buffer of each CAN socket
                          (default: the kernel's)
      --rx-coalesce=USEC  under load, gather CAN frames this long before a read,
                          ${LIMITS.rxCoalesce[0]}..${LIMITS.rxCoalesce[1]} (default ${DEFAULTS.rxCoalesceUs}; 0 = off); an idle bus
                          is read at once
      --pid-file=PATH     write the process id here once listening; removed
                          on exit
      --log-level=LEVEL   ${LOG_LEVELS.join(', ')} (default ${DEFAULTS.logLevel})
      --syslog            log to syslog (/dev/log) even with --stay
      --no-syslog         daemon mode: log nothing (start-up errors still
                          reach the terminal)

Signals: SIGTERM, SIGINT and SIGHUP all stop the daemon gracefully (clients
are disconnected, exit status 0). There is no configuration file, so SIGHUP
does not reload; it shuts down, as in the original uvscpd.

Exit status: 0 success, 1 start-up or run-time failure, 2 invalid options.

Try it without CAN hardware:  ${PACKAGE_NAME} -s -c ${VIRTUAL_INTERFACE} -i 127.0.0.1
then:                         nc 127.0.0.1 ${DEFAULTS.port}

Documentation: ${PACKAGE_HOME}
`;
}

export function versionText(): string {
  return `${PACKAGE_NAME} ${PACKAGE_VERSION}
Node.js ${process.version} on ${process.platform}-${process.arch}
License MIT. ${PACKAGE_HOME}
`;
}
