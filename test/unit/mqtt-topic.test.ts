// lib/mqtt/topic.ts: the publication template, subscriptions, and whether a
// filter can match what a template produces (docs/mqtt.md "Topics").

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_PUBLISH_TOPIC,
  DEFAULT_SUBSCRIBE_TOPIC,
  PublishTopic,
  checkPublishTemplate,
  expandSubscription,
  filterMayMatchTemplate,
  formatGuidPadded,
  parseTemplate,
  topicFilterError,
} from '../../lib/mqtt/topic.js';
import { parseGuid } from '../../lib/vscp/guid.js';

const GUID = parseGuid('FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00')!;
const id = (prio: number, cls: number, type: number, nick: number): number => ((prio << 26) | (cls << 16) | (type << 8) | nick) >>> 0;

test('GUIDs in topics: two upper-case hex digits per byte', () => {
  assert.equal(formatGuidPadded(GUID), 'FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00');
  assert.equal(formatGuidPadded(new Uint8Array(16)), '00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00');
});

test('the default template: vscp/{guid}/{class}/{type}/{nickname}, nickname = 256*GUID[14] + GUID[15]', () => {
  const t = new PublishTopic(DEFAULT_PUBLISH_TOPIC, GUID);
  assert.equal(t.topicFor(id(3, 10, 6, 0x2a)), 'vscp/FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:2A/10/6/298');
  // Flag bits of the kernel id are ignored; the cache gives the same text.
  assert.equal(t.topicFor((id(3, 10, 6, 0x2a) | 0x80000000) >>> 0), 'vscp/FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:2A/10/6/298');
  assert.equal(t.topicFor(id(7, 511, 255, 0)), 'vscp/FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00/511/255/256');
});

test('every placeholder, in {x} and {{x}} form', () => {
  const t = new PublishTopic('a/{ifguid}/{{guid}}/{head}/{class}/{type}/{{nickname}}-x', GUID);
  assert.equal(t.topicFor(id(5, 30, 5, 7)), 'a/FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00/FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:07/160/30/5/263-x');
  // Literal text that spells a placeholder's name is literal.
  assert.equal(new PublishTopic('guid/class', GUID).topicFor(id(0, 1, 2, 3)), 'guid/class');
});

test('bad templates are refused with the reason', () => {
  assert.deepEqual(checkPublishTemplate('vscp/{guid}/{klass}'), { ok: false, error: 'unknown placeholder {klass} (known: {guid} {ifguid} {class} {type} {nickname} {head})' });
  assert.equal(checkPublishTemplate('vscp/{guid').ok, false);
  assert.equal(checkPublishTemplate('vscp/guid}').ok, false);
  assert.equal(checkPublishTemplate('vscp/{{guid}/x').ok, false);
  assert.deepEqual(checkPublishTemplate('vscp/+/{class}'), { ok: false, error: "must not contain the wildcards '+' or '#'" });
  assert.equal(checkPublishTemplate('vscp/#').ok, false);
  assert.deepEqual(checkPublishTemplate(''), { ok: false, error: 'is empty' });
  assert.equal(checkPublishTemplate('a\u0000b').ok, false);
  assert.throws(() => new PublishTopic('x/{nope}', GUID), RangeError);
  assert.equal(parseTemplate('x/{class}').ok, true);
});

test('subscriptions: only {ifguid} expands; filters must be valid MQTT filters', () => {
  assert.deepEqual(expandSubscription(DEFAULT_SUBSCRIBE_TOPIC, GUID), { ok: true, filter: 'remote-vscp/FF:FF:FF:FF:FF:FF:FF:FE:B8:27:EB:CF:3A:15:01:00/#' });
  assert.deepEqual(expandSubscription('vscp/+/10/#', GUID), { ok: true, filter: 'vscp/+/10/#' });
  assert.equal(expandSubscription('vscp/{class}/#', GUID).ok, false);
  assert.equal(topicFilterError('a/#/b'), "'#' must be a whole level, and the last one");
  assert.equal(topicFilterError('a/b#'), "'#' must be a whole level, and the last one");
  assert.equal(topicFilterError('a/+b'), "'+' must be a whole level");
  assert.equal(topicFilterError(''), 'is empty');
  assert.equal(topicFilterError('#'), null);
});

test('filterMayMatchTemplate: never false for a filter that can match, false where it cannot', () => {
  const T = DEFAULT_PUBLISH_TOPIC;
  for (const f of ['#', 'vscp/#', 'vscp/+/10/6/+', 'vscp/+/10/6/#', 'vscp/+/+/+/+', 'vscp/FF:00/#', '+/+/+/+/+', 'vscp/+/10/#']) {
    assert.equal(filterMayMatchTemplate(f, T), true, f);
  }
  // vscp/+/10/6 is the specification's example for four-level topics; the default has five.
  for (const f of ['remote-vscp/#', 'vscp/+/10/6', 'vscp/+/10', 'vscp/+/+/+/+/+', 'vscp', 'uvscpd/#']) {
    assert.equal(filterMayMatchTemplate(f, T), false, f);
  }
  assert.equal(filterMayMatchTemplate('a/b', 'a/b'), true);
  assert.equal(filterMayMatchTemplate('a/#', 'a'), true, "'#' matches the parent level");
  assert.equal(filterMayMatchTemplate('a/b/#', 'a'), false);
});
