// Events of one delivery go to every listener even when one of them throws:
// a throwing 'busState' listener must not cost the batch its 'frames' event,
// nor a throwing 'frames' listener the 'error' events after it. The first
// exception is kept and rethrown once the delivery is done, as EventEmitter
// would have thrown it.

import type { EventEmitter } from 'node:events';

export class ListenerErrors {
  private threw = false;
  private thrown: unknown;

  emit(target: EventEmitter, event: string, arg: unknown): void {
    try {
      target.emit(event, arg);
    } catch (err) {
      if (!this.threw) {
        this.threw = true;
        this.thrown = err;
      }
    }
  }

  /** Throw the first exception a listener threw, if any. */
  rethrow(): void {
    if (this.threw) throw this.thrown;
  }
}
