// MQTT topics of the bridge: the publication template, the subscription
// filters, and whether a filter can match what the template produces.
// Pure; no I/O.
//
// Placeholders (docs/mqtt.md "Topics"), written `{name}` or, as vscpd
// writes them, `{{name}}`:
//   {guid}      interface GUID with the sender's nickname in byte 15
//   {ifguid}    interface GUID as configured
//   {class}     VSCP class, decimal (0..511 from CAN)
//   {type}      VSCP type, decimal
//   {nickname}  256 * GUID[14] + GUID[15] of {guid}, decimal (the VSCP
//               over MQTT specification's definition)
//   {head}      head byte, decimal (priority and hard-coded bits from the CAN id)
// GUIDs are written as the specification shows them: two upper-case hex
// digits per byte, ':'-separated.

import type { Guid } from '../vscp/index.js';
import { GUID_SIZE, classFromCanId, headFromCanId, nicknameFromCanId, typeFromCanId } from '../vscp/index.js';

export const DEFAULT_PUBLISH_TOPIC = 'vscp/{guid}/{class}/{type}/{nickname}';
/**
 * Events to put on the bus: a prefix of their own, vscpd's convention for
 * events sent to a driver (`remote-vscp/{{guid}}/#`). Its first level is not
 * `vscp`, so it can never match a default publication, nor can a consumer's
 * `vscp/#` see what is sent to the gateway.
 */
export const DEFAULT_SUBSCRIBE_TOPIC = 'remote-vscp/{ifguid}/#';

export type Placeholder = 'guid' | 'ifguid' | 'class' | 'type' | 'nickname' | 'head';
const PLACEHOLDERS: ReadonlySet<string> = new Set<Placeholder>(['guid', 'ifguid', 'class', 'type', 'nickname', 'head']);

/** Longest topic MQTT allows, in UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65535;
/** Distinct CAN ids whose topics are kept; a bus has far fewer (class x type x nickname in use). */
const TOPIC_CACHE_LIMIT = 4096;

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

/** `FF:FF:...:00`: two upper-case digits per byte (the specification's form in topics and payloads). */
export function formatGuidPadded(g: Guid): string {
  let s = HEX2[(g[0] ?? 0) & 0xff] as string;
  for (let i = 1; i < GUID_SIZE; i++) s += ':' + (HEX2[(g[i] ?? 0) & 0xff] as string);
  return s;
}

/** formatGuidPadded of bytes 0..14, each followed by ':' (byte 15 is the nickname, added per frame). */
export function formatGuidPrefixPadded(g: Guid): string {
  let s = '';
  for (let i = 0; i < GUID_SIZE - 1; i++) s += (HEX2[(g[i] ?? 0) & 0xff] as string) + ':';
  return s;
}

/** Two-digit hex of a byte, for other modules of lib/mqtt. */
export function hex2(b: number): string {
  return HEX2[b & 0xff] as string;
}

/** Literal text, or a placeholder (an object, so that literal text can never be taken for one). */
type Part = string | { readonly placeholder: Placeholder };

export type TemplateResult = { ok: true; parts: readonly Part[] } | { ok: false; error: string };

/**
 * Split a template into literal text and placeholders. `{name}` and
 * `{{name}}` are placeholders; any other brace is an error, as is an
 * unknown name or one not in `allowed`.
 */
export function parseTemplate(template: string, allowed: ReadonlySet<string> = PLACEHOLDERS): TemplateResult {
  if (typeof template !== 'string') return { ok: false, error: 'must be a string' };
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i] as string;
    if (c === '}') return { ok: false, error: `unmatched '}' at position ${i + 1}` };
    if (c !== '{') {
      literal += c;
      i++;
      continue;
    }
    const double = template[i + 1] === '{';
    const start = i + (double ? 2 : 1);
    const end = template.indexOf('}', start);
    if (end < 0) return { ok: false, error: `unmatched '{' at position ${i + 1}` };
    const name = template.slice(start, end);
    if (double && template[end + 1] !== '}') return { ok: false, error: `'{{${name}}' is not closed with '}}'` };
    if (!PLACEHOLDERS.has(name)) return { ok: false, error: `unknown placeholder {${name}} (known: ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(' ')})` };
    if (!allowed.has(name)) return { ok: false, error: `placeholder {${name}} cannot be used here (only ${[...allowed].map((p) => `{${p}}`).join(' ')})` };
    if (literal.length > 0) parts.push(literal);
    literal = '';
    parts.push({ placeholder: name as Placeholder });
    i = end + (double ? 2 : 1);
  }
  if (literal.length > 0) parts.push(literal);
  return { ok: true, parts };
}

function isPlaceholder(part: Part): part is { readonly placeholder: Placeholder } {
  return typeof part !== 'string';
}

/** Why `topic` cannot be an MQTT topic name (to publish to), or null. */
export function topicNameError(topic: string): string | null {
  if (topic.length === 0) return 'is empty';
  if (topic.includes('+') || topic.includes('#')) return "must not contain the wildcards '+' or '#'";
  if (topic.includes('\u0000')) return 'must not contain NUL';
  if (Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES) return `is longer than ${MAX_TOPIC_BYTES} bytes`;
  return null;
}

/** Why `filter` cannot be an MQTT topic filter (to subscribe to), or null. */
export function topicFilterError(filter: string): string | null {
  if (filter.length === 0) return 'is empty';
  if (filter.includes('\u0000')) return 'must not contain NUL';
  if (Buffer.byteLength(filter, 'utf8') > MAX_TOPIC_BYTES) return `is longer than ${MAX_TOPIC_BYTES} bytes`;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "'#' must be a whole level, and the last one";
    if (level.includes('+') && level !== '+') return "'+' must be a whole level";
  }
  return null;
}

export type CheckResult = { ok: true } | { ok: false; error: string };

/** Whether a publication template is usable (placeholders known, no wildcards in its text). */
export function checkPublishTemplate(template: string): CheckResult {
  const parsed = parseTemplate(template);
  if (!parsed.ok) return parsed;
  if (parsed.parts.length === 0) return { ok: false, error: 'is empty' };
  // Placeholders expand to digits and hex GUIDs, never to wildcards: check the literal text.
  const literal = parsed.parts.map((p) => (isPlaceholder(p) ? 'x' : p)).join('');
  const error = topicNameError(literal);
  return error === null ? { ok: true } : { ok: false, error };
}

const SUBSCRIBE_PLACEHOLDERS: ReadonlySet<string> = new Set<Placeholder>(['ifguid']);

export type FilterResult = { ok: true; filter: string } | { ok: false; error: string };

/** A subscription with `{ifguid}` replaced; any other placeholder is an error. */
export function expandSubscription(template: string, ifguid: Guid): FilterResult {
  const parsed = parseTemplate(template, SUBSCRIBE_PLACEHOLDERS);
  if (!parsed.ok) return parsed;
  const guidText = formatGuidPadded(ifguid);
  const filter = parsed.parts.map((p) => (isPlaceholder(p) ? guidText : p)).join('');
  const error = topicFilterError(filter);
  return error === null ? { ok: true, filter } : { ok: false, error };
}

export interface TopicName {
  readonly text: string;
  readonly bytes: Buffer;
}

/** Topic names for received frames, from a checked template; one per distinct CAN id, cached. */
export class PublishTopic {
  private readonly parts: readonly Part[];
  private readonly ifguid: Guid;
  private readonly ifguidText: string;
  private readonly guidPrefix: string;
  private readonly cache = new Map<number, TopicName>();

  /** Throws a RangeError when the template is unusable (checkPublishTemplate says why). */
  constructor(template: string, ifguid: Guid) {
    const checked = checkPublishTemplate(template);
    if (!checked.ok) throw new RangeError(`MQTT topic template ${JSON.stringify(template)} ${checked.error}`);
    const parsed = parseTemplate(template);
    this.parts = parsed.ok ? parsed.parts : [];
    this.ifguid = Uint8Array.from(ifguid);
    this.ifguidText = formatGuidPadded(ifguid);
    this.guidPrefix = formatGuidPrefixPadded(ifguid);
  }

  /** The topic of a received frame; `rawId` is the kernel can_id (flag bits ignored). */
  topicFor(rawId: number): string {
    return this.nameFor(rawId).text;
  }

  /** The topic as text and as the UTF-8 bytes a packet carries. */
  nameFor(rawId: number): TopicName {
    const id = rawId & 0x1fffffff;
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    let text = '';
    for (const part of this.parts) text += isPlaceholder(part) ? this.expand(part.placeholder, id) : part;
    const name = { text, bytes: Buffer.from(text, 'utf8') };
    if (this.cache.size >= TOPIC_CACHE_LIMIT) this.cache.clear();
    this.cache.set(id, name);
    return name;
  }

  private expand(name: Placeholder, id: number): string {
    switch (name) {
      case 'guid':
        return this.guidPrefix + (HEX2[nicknameFromCanId(id)] as string);
      case 'ifguid':
        return this.ifguidText;
      case 'class':
        return String(classFromCanId(id));
      case 'type':
        return String(typeFromCanId(id));
      case 'nickname':
        return String(((this.ifguid[GUID_SIZE - 2] ?? 0) << 8) + nicknameFromCanId(id));
      case 'head':
        return String(headFromCanId(id));
    }
  }
}

/**
 * Whether `filter` may match a topic the publication `template` produces.
 * Conservative: a template level holding a placeholder may be anything, so
 * `false` means "can never match" and `true` only "might".
 */
export function filterMayMatchTemplate(filter: string, template: string): boolean {
  const parsed = parseTemplate(template);
  if (!parsed.ok) return true;
  const marked = parsed.parts.map((p) => (isPlaceholder(p) ? '\u0000' : p)).join('');
  const topicLevels = marked.split('/');
  const filterLevels = filter.split('/');
  for (let i = 0; i < filterLevels.length; i++) {
    const f = filterLevels[i] as string;
    if (f === '#') return true; // also matches the parent level itself
    if (i >= topicLevels.length) return false;
    const t = topicLevels[i] as string;
    if (f === '+' || t.includes('\u0000')) continue;
    if (f !== t) return false;
  }
  return filterLevels.length === topicLevels.length;
}
