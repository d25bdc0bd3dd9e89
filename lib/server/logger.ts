// Where the server reports what it does. The CLI supplies one that writes to
// stderr or syslog; library users may pass their own (console works).
// Never given a password (design.md "Auth").

export interface Logger {
  /**
   * false: debug() discards everything, so the server does not even build
   * its per-command debug lines. Read once, when the server is created.
   */
  readonly debugEnabled?: boolean;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

function ignore(_msg: string): void {
  // deliberately nothing
}

/** Discards everything: the default. */
export const silentLogger: Logger = Object.freeze({ debugEnabled: false, debug: ignore, info: ignore, warn: ignore, error: ignore });
