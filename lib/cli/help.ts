// Texts printed by -h/--help and -v/--version (stdout, exit 0). The option
// list is rendered from the option table, so it cannot drift from the parser.

import { PACKAGE_HOME, PACKAGE_NAME, PACKAGE_VERSION } from '../version.js';
import { OPTIONS, VIRTUAL_INTERFACE, type OptionSpec } from './options.js';
import { DEFAULT_PORT } from '../server/server.js';

const WIDTH = 79;
/** Column where the descriptions start. */
const TEXT_COLUMN = 26;

/** `text` wrapped at WIDTH, first line after `left`, the others indented to TEXT_COLUMN. */
function entry(left: string, text: string): string {
  const lines: string[] = [];
  let line = left.length + 2 <= TEXT_COLUMN ? left.padEnd(TEXT_COLUMN) : `${left}  `;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = ' '.repeat(TEXT_COLUMN);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

/** The description with what the table knows, in parentheses: range or choices, repetition, default. */
function describe(spec: OptionSpec): string {
  if (spec.kind === 'flag') return spec.help;
  const facts: string[] = [];
  if (spec.kind === 'integer') facts.push(`${spec.range[0]}..${spec.range[1]}`);
  if (spec.kind === 'text' && spec.choices !== undefined) facts.push(`one of ${spec.choices.join(', ')}`);
  if (spec.kind === 'text' && spec.repeatable === true) facts.push('may be repeated');
  const shown = spec.default !== undefined ? String(spec.default) : spec.defaultText;
  if (shown !== undefined) facts.push(`default ${shown}`);
  return facts.length > 0 ? `${spec.help} (${facts.join('; ')})` : spec.help;
}

export function optionsHelp(options: readonly OptionSpec[] = OPTIONS): string {
  const out: string[] = [];
  for (const spec of options) {
    const short = spec.short !== undefined ? `-${spec.short}, ` : '    ';
    const value = spec.kind === 'flag' ? '' : `=${spec.arg ?? 'VALUE'}`;
    out.push(entry(`  ${short}--${spec.long}${value}`, describe(spec)));
    if (spec.kind === 'flag' && spec.negatable !== undefined) out.push(entry(`      --no-${spec.long}`, spec.negatable.help));
  }
  return `${out.join('\n')}\n`;
}

export function helpText(): string {
  return `Usage: ${PACKAGE_NAME} [options]

Micro VSCP daemon: serves the VSCP TCP/IP link protocol and bridges it to
one SocketCAN bus (VSCP Level I events in 29-bit CAN identifiers).

${optionsHelp()}
Signals: SIGTERM, SIGINT and SIGHUP all stop the daemon gracefully (clients
are disconnected, exit status 0). There is no configuration file, so SIGHUP
does not reload; it shuts down, as in the original uvscpd.

Exit status: 0 success, 1 start-up or run-time failure, 2 invalid options.

Try it without CAN hardware:  ${PACKAGE_NAME} -s -c ${VIRTUAL_INTERFACE} -i 127.0.0.1
then:                         nc 127.0.0.1 ${DEFAULT_PORT}

Documentation: ${PACKAGE_HOME}
`;
}

export function versionText(): string {
  return `${PACKAGE_NAME} ${PACKAGE_VERSION}
Node.js ${process.version} on ${process.platform}-${process.arch}
License MIT. ${PACKAGE_HOME}
`;
}
