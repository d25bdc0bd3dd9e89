// Byte stream -> command lines, as the original's line assembler (protocol §1.3)
// with design.md D11. Pure: fed chunks of any size, keeps state between them.
//
// - Only LF (0x0A) ends a line; CR is optional.
// - Every byte below 0x20 (CR, TAB, NUL, ...) is removed silently.
// - Every other byte is kept (D11: 0x7F and 0x80..0xFF too, so `noop\xff`
//   is an invalid command on every platform). Bytes decode as latin1: one
//   character per byte, so the length limit counts bytes.
// - A line keeps at most MAX_LINE_CHARS - 1 characters: the one that would
//   reach MAX_LINE_CHARS marks the line overlong; the rest of it, up to the
//   LF, is discarded without being buffered, and the line is reported once,
//   when its LF arrives. Memory per splitter is O(MAX_LINE_CHARS) whatever
//   the input (a 10 MB line without LF included).

/** The original's line buffer size: 319 kept characters fit, 320 do not (protocol §1.3). */
export const MAX_LINE_CHARS = 320;

const LF = 0x0a;
const FIRST_KEPT_BYTE = 0x20;

/** One complete input line, or the marker of a line that was too long. */
export type FramedLine = { overlong: false; text: string } | { overlong: true };

const OVERLONG: FramedLine = Object.freeze({ overlong: true });

export class LineSplitter {
  private readonly buffer: Buffer;
  private length = 0;
  private overlong = false;

  constructor(maxChars: number = MAX_LINE_CHARS) {
    if (!Number.isInteger(maxChars) || maxChars < 2) throw new RangeError(`invalid line limit ${maxChars}`);
    this.buffer = Buffer.alloc(maxChars - 1);
  }

  /** Feed one chunk; returns the lines it completes, in order. */
  push(chunk: Uint8Array): FramedLine[] {
    const out: FramedLine[] = [];
    const n = chunk.length;
    const limit = this.buffer.length; // characters a line may keep
    let i = 0;
    while (i < n) {
      if (this.overlong) {
        // Skip to the LF without looking at (or keeping) anything else.
        const lf = chunk.indexOf(LF, i);
        if (lf < 0) return out;
        i = lf + 1;
        out.push(OVERLONG);
        this.overlong = false;
        this.length = 0;
        continue;
      }
      const b = chunk[i++] as number;
      if (b === LF) {
        out.push({ overlong: false, text: this.buffer.toString('latin1', 0, this.length) });
        this.length = 0;
      } else if (b >= FIRST_KEPT_BYTE) {
        if (this.length < limit) {
          this.buffer[this.length++] = b;
        } else {
          this.overlong = true;
          this.length = 0;
        }
      }
    }
    return out;
  }

  /** Forget any incomplete line. */
  reset(): void {
    this.length = 0;
    this.overlong = false;
  }
}

/**
 * Split a line into the command word and its arguments (protocol §1.3): only
 * the space separates tokens, runs collapse, leading and trailing spaces
 * are ignored; at most `maxArgs` arguments are kept and the rest dropped.
 * Returns an empty array for a line with no token.
 */
export function tokenize(line: string, maxArgs = 9): string[] {
  const tokens: string[] = [];
  const n = line.length;
  let i = 0;
  while (i < n && tokens.length <= maxArgs) {
    while (i < n && line.charCodeAt(i) === 0x20) i++;
    if (i >= n) break;
    let j = i + 1;
    while (j < n && line.charCodeAt(j) !== 0x20) j++;
    tokens.push(line.slice(i, j));
    i = j;
  }
  return tokens;
}
