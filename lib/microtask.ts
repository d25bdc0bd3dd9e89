const settled = Promise.resolve();

/**
 * Runs `task` at the end of the current microtask run, in order with other
 * microtasks, like `queueMicrotask`. Node's `queueMicrotask` creates an
 * AsyncResource per call (about half a kilobyte and the async-hook
 * bookkeeping), and the frame path schedules one per delivery: a reaction on
 * a settled promise costs one small allocation. A task that throws becomes
 * an unhandled rejection, which ends the process as an uncaught exception
 * would.
 */
export function scheduleMicrotask(task: () => void): void {
  void settled.then(task);
}
