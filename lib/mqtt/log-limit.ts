// At most one log line per interval for a recurring condition (a stream of
// bad messages must not flood syslog), with the count of those not logged.

export class LogLimiter {
  private lastAt = -Infinity;
  private suppressedCount = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Call once per occurrence. Returns null when this one is not to be
   * logged, else how many were not logged since the last line.
   */
  take(): number | null {
    const t = this.now();
    if (t - this.lastAt < this.intervalMs) {
      this.suppressedCount++;
      return null;
    }
    this.lastAt = t;
    const n = this.suppressedCount;
    this.suppressedCount = 0;
    return n;
  }
}
