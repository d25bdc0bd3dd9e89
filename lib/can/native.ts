// Loader of the native addon (build/Release/uvscpd.node and friends) and the few
// helpers it provides besides CAN sockets. Loading is lazy: code that never opens a
// SocketCAN socket (the in-memory bus, the codec) never needs the addon.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  RECORD_DATA_CAPACITY,
  RECORD_DATA_OFFSET,
  RECORD_FLAGS_OFFSET,
  RECORD_FLAG_BRS,
  RECORD_FLAG_ESI,
  RECORD_FLAG_FD,
  RECORD_FLAG_HW_TIMESTAMP,
  RECORD_FLAG_LOCAL,
  RECORD_FLAG_OWN,
  RECORD_ID_OFFSET,
  RECORD_LEN_OFFSET,
  RECORD_SIZE,
  RECORD_SUB_MICRO_NS_OFFSET,
  RECORD_TIMESTAMP_OFFSET,
  TX_DATA_OFFSET,
  TX_FD_RECORD_SIZE,
  TX_FLAGS_OFFSET,
  TX_ID_OFFSET,
  TX_LEN_OFFSET,
  TX_RECORD_SIZE,
} from './record.js';
import { CANFD_MAX_DLEN, CANFD_MTU, CAN_MTU } from './fd.js';
import type { CanSocketOptions, CanSocketStats } from './types.js';

/** The counters the addon keeps; the bus state and bus-error counts are kept in JavaScript. */
export type NativeSocketStats = Pick<
  CanSocketStats,
  'rxFrames' | 'rxBytes' | 'txFrames' | 'txBytes' | 'kernelDrops' | 'txQueueDepth' | 'txErrors' | 'errorFrames' | 'errors'
>;
import { MAX_RECEIVE_COALESCE_US } from './types.js';

/** The shape of the compiled addon (native/addon.cc). Internal to lib/can. */
export interface NativeAddon {
  CanSocket: new (
    owner: object,
    dispatch: NativeDispatch,
    interfaceName: string,
    options: NativeSocketOptions,
  ) => NativeCanSocket;
  /** 0 absent, 1 down, 2 up. */
  interfaceState(name: string): number;
  sendUnixDatagram(path: string, data: Buffer): void;
  /** SO_RCVLOWAT; false when the kernel refuses. Absent from addons built before it. */
  setReceiveLowWater?(fd: number, bytes: number): boolean;
  buildInfo(): { napiVersion: number; buildType: string; sanitizer: string; builder: string };
  /** Record layouts and limits as compiled into the addon (native/layout.h). */
  layout?: Record<string, unknown>;
}

/** Called on the JS thread with whatever the reactor has for `owner`. */
export type NativeDispatch = (
  owner: object,
  batches: Buffer[] | undefined,
  completions: Int32Array | undefined,
  errors: number[] | undefined,
) => void;

/** The socket options as the addon takes them: the same, with the filters packed as (id, mask) pairs. */
export type NativeSocketOptions = Omit<CanSocketOptions, 'filters'> & { filters?: Uint32Array | null };

export interface NativeCanSocket {
  /**
   * Returns `count` when the kernel took every frame, else [sent, parked, errno]: the first
   * `sent` frames were taken, the next `parked` wait in the native queue, the rest failed.
   * `ends` (exclusive end index of each request, increasing) keeps a request's unsent
   * frames together: all parked or all refused.
   */
  send(frames: Buffer, count: number, firstSeq: number, ends?: Uint32Array, fdRecords?: boolean): number | [number, number, number];
  /** The interface's MTU now (CAN_MTU: classic only, CANFD_MTU: carries FD), or -errno. */
  mtu(): number;
  /** Returns (seq, errno) pairs of parked frames that never reached JS (ECANCELED for dropped ones). */
  close(): Int32Array | undefined;
  /**
   * Applies the options given (as the constructor does); returns the receive buffer size
   * the kernel granted when receiveBufferSize is among them.
   */
  configure(options: NativeSocketOptions): number | undefined;
  stats(): NativeSocketStats;
  ref(): void;
  unref(): void;
  fd(): number;
  /** After ENODEV: bind again to the interface of that name. 0 = bound (or not needed), else errno. */
  rebind(): number;
  /** false: the reactor stops reading the socket (the kernel buffers, then drops and counts). */
  setReceiving(on: boolean): void;
}

export interface AddonInfo {
  /** Absolute path of the loaded addon. */
  path: string;
  /** NAPI_VERSION the addon was built for. */
  napiVersion: number;
  /** Node-API version of the running Node.js. */
  runtimeNapiVersion: number;
  buildType: string;
  builder: string;
  /** Whether the addon was built with a sanitizer (ASan). */
  sanitizer: boolean;
}

/** The layout this code was written for; native/layout.h exports the addon's (same names). */
export const EXPECTED_LAYOUT: Readonly<Record<string, number>> = Object.freeze({
  recordSize: RECORD_SIZE,
  recordIdOffset: RECORD_ID_OFFSET,
  recordLenOffset: RECORD_LEN_OFFSET,
  recordFlagsOffset: RECORD_FLAGS_OFFSET,
  recordSubMicroNsOffset: RECORD_SUB_MICRO_NS_OFFSET,
  recordTimestampOffset: RECORD_TIMESTAMP_OFFSET,
  recordDataOffset: RECORD_DATA_OFFSET,
  recordDataCapacity: RECORD_DATA_CAPACITY,
  recordFlagFd: RECORD_FLAG_FD,
  recordFlagBrs: RECORD_FLAG_BRS,
  recordFlagEsi: RECORD_FLAG_ESI,
  recordFlagLocal: RECORD_FLAG_LOCAL,
  recordFlagOwn: RECORD_FLAG_OWN,
  recordFlagHwTimestamp: RECORD_FLAG_HW_TIMESTAMP,
  txRecordSize: TX_RECORD_SIZE,
  txFdRecordSize: TX_FD_RECORD_SIZE,
  txIdOffset: TX_ID_OFFSET,
  txLenOffset: TX_LEN_OFFSET,
  txFlagsOffset: TX_FLAGS_OFFSET,
  txDataOffset: TX_DATA_OFFSET,
  canFdMaxDlen: CANFD_MAX_DLEN,
  canMtu: CAN_MTU,
  canFdMtu: CANFD_MTU,
  maxReceiveCoalesceUs: MAX_RECEIVE_COALESCE_US,
});

/**
 * Throws an Error with code 'ERR_UVSCPD_ADDON_LAYOUT' unless `layout` (an addon's
 * `layout` export) matches EXPECTED_LAYOUT field for field: an addon built from other
 * sources (a stale build or prebuild) would misread or miswrite every record.
 */
export function checkAddonLayout(layout: unknown, path: string): void {
  let problem: string | undefined;
  if (typeof layout !== 'object' || layout === null) {
    problem = 'it exports no record layout';
  } else {
    const got = layout as Record<string, unknown>;
    for (const [name, want] of Object.entries(EXPECTED_LAYOUT)) {
      if (got[name] !== want) {
        problem = `its ${name} is ${String(got[name])}, this code expects ${want}`;
        break;
      }
    }
    problem ??= Object.keys(got).filter((k) => !(k in EXPECTED_LAYOUT)).map((k) => `it has ${k}, unknown to this code`)[0];
  }
  if (problem === undefined) return;
  const e = new Error(
    `the uvscpd native addon ${path} does not match this version of the JavaScript code (${problem}); ` +
      'rebuild it with `npm run build:native` (or `npm run build:cmake`, or a prebuild of this version)',
  ) as Error & { code: string };
  e.code = 'ERR_UVSCPD_ADDON_LAYOUT';
  throw e;
}

let addon: NativeAddon | undefined;
let addonPath = '';

/** The package root: the nearest ancestor directory whose package.json is named "uvscpd". */
export function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'uvscpd') return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return resolve(__dirname, '..', '..', '..');
    dir = parent;
  }
}

/** Candidate addon paths, in the order they are tried. */
export function addonCandidates(): string[] {
  const fromEnv = process.env['UVSCPD_ADDON'];
  if (fromEnv) return [resolve(fromEnv)];
  const root = packageRoot();
  return [
    join(root, 'build', 'Release', 'uvscpd.node'),
    join(root, 'build-cmake', 'Release', 'uvscpd.node'),
    join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'uvscpd.node'),
  ];
}

/**
 * Loads the addon on first use. A candidate whose layout differs is skipped; when none
 * loads, throws the layout Error ('ERR_UVSCPD_ADDON_LAYOUT') if a candidate was refused
 * for its layout, else an Error with code 'ERR_UVSCPD_ADDON'.
 */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  const req = createRequire(__filename);
  const tried: string[] = [];
  let layoutError: Error | undefined;
  for (const candidate of addonCandidates()) {
    if (!existsSync(candidate)) {
      tried.push(`${candidate} (not found)`);
      continue;
    }
    let loaded: NativeAddon;
    try {
      loaded = req(candidate) as NativeAddon;
    } catch (err) {
      tried.push(`${candidate} (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    try {
      checkAddonLayout(loaded.layout, candidate);
    } catch (err) {
      layoutError ??= err as Error;
      tried.push(`${candidate} (layout differs)`);
      continue;
    }
    addon = loaded;
    addonPath = candidate;
    return addon;
  }
  if (layoutError) throw layoutError;
  const e = new Error(
    `the uvscpd native addon could not be loaded; tried:\n  ${tried.join('\n  ')}\n` +
      'Build it with `npm run build:native` (node-gyp) or `npm run build:cmake` (cmake-js), ' +
      'or set UVSCPD_ADDON to the path of a uvscpd.node built for this platform.',
  ) as Error & { code: string };
  e.code = 'ERR_UVSCPD_ADDON';
  throw e;
}

/** Build information of the addon (loads it). */
export function addonInfo(): AddonInfo {
  const a = loadAddon();
  const b = a.buildInfo();
  return {
    path: addonPath,
    napiVersion: b.napiVersion,
    runtimeNapiVersion: Number(process.versions.napi),
    buildType: b.buildType,
    builder: b.builder,
    sanitizer: b.sanitizer !== '',
  };
}

let errnoNames: Map<number, string> | undefined;

/** 'ENODEV' for 19, and so on (this platform's numbering). */
export function errnoCode(errno: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(osConstants.errno)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** Node-style error from an errno value. */
export function errnoError(
  errno: number,
  syscall: string,
  message: string,
  extra: Record<string, unknown> = {},
): Error & { code: string; errno: number; syscall: string } {
  const e = new Error(message) as Error & { code: string; errno: number; syscall: string };
  e.code = errnoCode(errno);
  e.errno = errno;
  e.syscall = syscall;
  Object.assign(e, extra);
  return e;
}
