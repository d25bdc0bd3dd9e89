// Replies in command order (docs/design.md "The TypeScript layer"): a SEND is answered only
// when the CAN layer has taken or refused its frame, later, while the commands
// after it are answered at once. Their replies wait behind it; when it
// settles, everything it held back leaves in one write. Pure logic: the
// session gives it a sink (its socket) and it never touches a socket itself.

import { scheduleMicrotask } from '../microtask.js';

/** Where ordered output goes. */
export interface ReplySink {
  /** Write text now (never called with ''). */
  write(text: string): void;
  /** An end marker was reached: everything before it is written; close with this reason. */
  end(reason: string): void;
  /** Held-back output that was ready went out (an unfinished reply may still wait): input may resume. */
  drained(): void;
}

/** A place in the output for a reply that is not known yet (see hold()). */
export interface ReplySlot {
  /** null while the reply is unfinished. */
  text: string | null;
  /** Close the session when output reaches this slot. */
  end?: string;
}

/** Runs a callback at the end of the current microtask run. */
export type Scheduler = (callback: () => void) => void;

export class ReplyOrder {
  /** Output behind an unfinished reply, in order. Empty almost always. */
  private readonly slots: ReplySlot[] = [];
  private queuedBytes = 0;
  /** A flush is queued for the end of this microtask run: replies settled together leave in one write. */
  private flushQueued = false;
  private discarded = false;
  private readonly flushQueuedSlots = (): void => {
    this.flushQueued = false;
    if (!this.discarded) this.flush();
  };

  constructor(
    private readonly sink: ReplySink,
    private readonly schedule: Scheduler = scheduleMicrotask,
  ) {}

  /** Characters of text held back behind an unfinished reply. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Slots held back (replies, text runs and end markers). */
  get length(): number {
    return this.slots.length;
  }

  /** Whether output goes straight to the sink. */
  get empty(): boolean {
    return this.slots.length === 0;
  }

  /** Text that keeps its place behind any unfinished reply. */
  output(text: string): void {
    if (this.slots.length === 0) {
      if (text.length > 0) this.sink.write(text);
      return;
    }
    this.slots.push({ text });
    this.queuedBytes += text.length;
  }

  /** A place for a reply known later: everything output after it waits until fill(). */
  hold(): ReplySlot {
    const slot: ReplySlot = { text: null };
    if (!this.discarded) this.slots.push(slot);
    return slot;
  }

  /** The reply for a held slot is known. */
  fill(slot: ReplySlot, text: string): void {
    if (this.discarded) return;
    slot.text = text;
    this.queuedBytes += text.length;
    if (this.slots.length === 1) {
      // The only reply waiting (SEND 1 deep): out now, no extra hop.
      this.flush();
      return;
    }
    // SENDs settled by one sendmmsg resolve in one microtask run: answer them in ONE write.
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.schedule(this.flushQueuedSlots);
  }

  /** Close (sink.end) once everything output so far is written. */
  endAfterOutput(reason: string): void {
    if (this.slots.length === 0) this.sink.end(reason);
    else this.slots.push({ text: '', end: reason });
  }

  /** Write every slot that is ready, up to the first unfinished one or an end marker. */
  flush(): void {
    let text = '';
    const slots = this.slots;
    while (slots.length > 0 && slots[0]!.text !== null) {
      const slot = slots.shift()!;
      this.queuedBytes -= slot.text!.length;
      if (slot.end !== undefined) {
        if (text.length > 0) this.sink.write(text);
        this.sink.end(slot.end);
        return;
      }
      text += slot.text;
    }
    if (text.length > 0) this.sink.write(text);
    this.sink.drained();
  }

  /**
   * For an abrupt close: the text of the replies already known, in order, up to
   * the first unfinished one or end marker, and whether that was all of it
   * (nothing was cut off). Then everything is discarded.
   */
  takeSettled(): { text: string; whole: boolean } {
    let text = '';
    let whole = true;
    for (const slot of this.slots) {
      if (slot.text === null || slot.end !== undefined) {
        whole = false;
        break;
      }
      text += slot.text;
    }
    this.discard();
    return { text, whole };
  }

  /** Drop everything held; later fills are ignored (the session is ending). */
  discard(): void {
    this.discarded = true;
    this.slots.length = 0;
    this.queuedBytes = 0;
  }
}
