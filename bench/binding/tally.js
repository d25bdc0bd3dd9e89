// Shared by the receivers and senders of bench/binding/ (bench/README.md, "binding").
//
// A receiver counts the generator's numbered frames (bench/tools/common.h: bytes 0..3 are the
// sequence number, u32 little-endian) and reports on stdout, as key=value lines:
//   READY                       once its socket is open and it listens
//   received= duplicates= foreign= deliveries=   when it has COUNT frames, or after QUIET_MS
//                               without a frame once frames came
//   DONE                        after the figures; it then waits for stdin to close, so that the
//                               driver reads its /proc figures while it is still there
// A delivery is one call of the receiver's callback by the library (one 'frames' event for our
// binding, one 'onMessage' per frame for node-can).

'use strict';

/** Counts numbered frames 0..count-1. */
class Tally {
  constructor(count, quietMs = 1500) {
    this.count = count;
    this.quietMs = quietMs;
    this.seen = new Uint8Array(count);
    this.received = 0;
    this.duplicates = 0;
    this.foreign = 0;
    this.deliveries = 0;
    this.lastFrameAt = 0;
    this.finished = false;
    this.onDone = null;
    this.timer = null;
  }

  /** One frame whose sequence number is `seq`. */
  frame(seq) {
    if (seq >= this.count) {
      this.foreign++;
      return;
    }
    if (this.seen[seq] !== 0) {
      this.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    this.received++;
  }

  /** After each delivery: done when every frame is in. */
  delivered() {
    this.deliveries++;
    this.lastFrameAt = Date.now();
    if (this.received >= this.count) this.finish();
  }

  /** Calls `onDone()` once: all frames in, or quiet for quietMs after the first frame. */
  start(onDone) {
    this.onDone = onDone;
    this.timer = setInterval(() => {
      if (this.lastFrameAt !== 0 && Date.now() - this.lastFrameAt >= this.quietMs) this.finish();
    }, 100);
  }

  finish() {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    this.onDone();
  }

  report() {
    return `received=${this.received}\nduplicates=${this.duplicates}\nforeign=${this.foreign}\ndeliveries=${this.deliveries}\n`;
  }
}

/**
 * Runs a receiver: `open(tally)` opens the socket (not reading yet) and returns { start, close }.
 * Prints READY; starts reading at once, or with `drain` when a GO line comes on stdin (the frames
 * meanwhile wait in the kernel's receive buffer); when done prints the figures and DONE, and
 * exits when stdin closes.
 */
function runReceiver(count, drain, open) {
  const tally = new Tally(count);
  const { start, close } = open(tally);
  let input = '';
  let started = false;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    input += d;
    if (!started && input.includes('GO')) {
      started = true;
      start();
    }
  });
  process.stdin.on('end', () => {
    close();
    process.exit(0);
  });
  tally.start(() => process.stdout.write(`${tally.report()}DONE\n`));
  if (!drain) {
    started = true;
    start();
  }
  process.stdout.write('READY\n');
}

/** The payload of frame `seq` (sequence number and a constant), as the generator's frames carry. */
function payload(seq) {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(seq >>> 0, 0);
  return b;
}

/** Frame id of the senders: VSCP class 20 type 3 prio 3, as the generator's. */
const SEND_ID = (3 << 26) | (20 << 16) | (3 << 8) | 1;

/**
 * Runs a sender: `open()` opens the socket and returns { send, close }; `send()` sends the
 * frames (a promise). Prints READY; at a GO line on stdin, sends, prints sent=, elapsed_us=
 * and DONE; exits when stdin closes.
 */
function runSender(open) {
  const { send, close } = open();
  let input = '';
  let started = false;
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => {
    input += d;
    if (started || !input.includes('GO')) return;
    started = true;
    const t0 = process.hrtime.bigint();
    Promise.resolve(send()).then(
      (sent) => {
        const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000;
        process.stdout.write(`sent=${sent}\nelapsed_us=${Math.round(elapsedUs)}\nDONE\n`);
      },
      (err) => {
        process.stderr.write(`send failed: ${err.message}\n`);
        process.stdout.write('sent=0\nDONE\n');
      },
    );
  });
  process.stdin.on('end', () => {
    close();
    process.exit(0);
  });
  process.stdout.write('READY\n');
}

/**
 * The command line of every receiver and sender: IFACE COUNT [WORD...]. Words: `drain` (a
 * receiver reads only after GO), `coalesce=US` (our receive coalescing window), and others
 * the program defines.
 */
function args() {
  const [iface, countText, ...words] = process.argv.slice(2);
  const count = Number(countText);
  if (!iface || !Number.isInteger(count) || count <= 0) {
    process.stderr.write(`usage: ${process.argv[1]} IFACE COUNT [drain] [coalesce=US] [...]\n`);
    process.exit(2);
  }
  const coalesce = words.find((w) => w.startsWith('coalesce='));
  return {
    iface,
    count,
    drain: words.includes('drain'),
    coalesceUs: coalesce === undefined ? undefined : Number(coalesce.slice('coalesce='.length)),
    words,
  };
}

/** node-can (the `socketcan` package) from the scratch folder NODE_CAN_DIR names (scripts/run-bench.js installs it there). */
function loadNodeCan() {
  const dir = process.env.NODE_CAN_DIR;
  if (!dir) {
    process.stderr.write('NODE_CAN_DIR must name the folder where socketcan is installed\n');
    process.exit(2);
  }
  return require(require('node:path').join(dir, 'node_modules', 'socketcan'));
}

module.exports = { Tally, runReceiver, runSender, payload, SEND_ID, args, loadNodeCan };
