// §1 (with §2's category bound and §3.1's quicknet values): which configurations are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../src/config.mjs';
import { parseCanonical, jcs } from '../src/jcs.mjs';
import { utf8 } from '../src/bytes.mjs';
import { buildDraw } from '../testing/draws.mjs';

const base = buildDraw({ label: 'config', categories: [{ name: 'a', quota: 2 }, { name: 'b', quota: 1 }], cascade: { rule: 'pooled' } }).config;

test('a valid configuration gives P, quotas and the cascade as indices', () => {
  const cfg = validateConfig(base);
  assert.equal(cfg.prizes, 3);
  assert.deepEqual(cfg.quotas, [2, 1]);
  assert.deepEqual(validateConfig({ ...base, cascade: { rule: 'ordered', order: ['b', 'a'] } }).cascade.order, [1, 0]);
  const plain = validateConfig({ ...base, categories: [], cascade: { rule: 'none' } });
  assert.deepEqual(plain.quotas, [3]);
});

test('each broken rule is refused', () => {
  const bad = [
    [{ algorithm: 'notary-hub-draw/2' }, /not implemented/],
    [{ drawId: '' }, /drawId/],
    [{ drawId: 'x'.repeat(129) }, /drawId/],
    [{ tiers: [] }, /tiers/],
    [{ tiers: [{ name: 'a', count: 0 }] }, /count/],
    [{ tiers: [{ name: 'a', count: 1.5 }] }, /count/],
    [{ waitingList: -1 }, /waitingList/],
    [{ weighted: 'yes' }, /weighted/],
    [{ categories: [{ name: 'a', quota: 2 }, { name: 'a', quota: 1 }] }, /unique/],
    [{ categories: [{ name: 'a', quota: 2 }, { name: 'b', quota: 2 }] }, /add up/],
    [{ categories: Array.from({ length: 1001 }, (_, i) => ({ name: `${i}`, quota: i < 3 ? 1 : 0 })) }, /1000/],
    [{ cascade: { rule: 'ordered', order: ['c'] } }, /names no category/],
    [{ cascade: { rule: 'ordered', order: ['a', 'a'] } }, /twice/],
    [{ cascade: { rule: 'random' } }, /cascade.rule/],
    [{ categories: [], cascade: { rule: 'pooled' } }, /without categories/],
    [{ entryDeadline: '2026-02-30T00:00:00Z' }, /entryDeadline/],
    [{ entryDeadline: '2026-12-01T12:00:00+00:00' }, /entryDeadline/],
    [{ notaryCommitment: 'AB'.repeat(32) }, /notaryCommitment/],
    [{ publicValues: [{ name: 'x' }] }, /source/],
    [{ extra: 1 }, /unknown member/],
    [{ beacon: { ...base.beacon, fallback: { rule: 'next-round', maxRounds: 11 } } }, /maxRounds/],
    [{ beacon: { ...base.beacon, publicKey: 'ab' } }, /publicKey/],
    [{ beacon: { ...base.beacon, network: 'drand-quicknet' } }, /quicknet/],
  ];
  for (const [change, reason] of bad) {
    assert.throws(() => validateConfig({ ...base, ...change }), reason, JSON.stringify(change).slice(0, 80));
  }
  const { title, ...withoutTitle } = base;
  assert.ok(title);
  assert.throws(() => validateConfig(withoutTitle), /lacks "title"/);
});

test('drawId length counts characters (code points), not bytes', () => {
  assert.equal(validateConfig({ ...base, drawId: '抽'.repeat(128) }).drawId.length, 128);
  assert.throws(() => validateConfig({ ...base, drawId: '😀'.repeat(129) }), /drawId/);
});

test('config.json must be exactly its JCS form', () => {
  const bytes = jcs(base);
  assert.deepEqual(parseCanonical(bytes), base);
  assert.throws(() => parseCanonical(utf8(JSON.stringify(base, null, 2))), /canonical/);
  assert.throws(() => parseCanonical(utf8('{"a":1,"a":2}')), /canonical/);
  assert.throws(() => parseCanonical(utf8('{"a":1.0}')), /canonical/);
  assert.throws(() => parseCanonical(Uint8Array.of(0xff)), /not JSON/);
  // RFC 8785 §3.2.3: members sorted by UTF-16 code units, so "€" (U+20AC) before "😀" (U+D83D…).
  assert.equal(new TextDecoder().decode(jcs({ '😀': 1, '€': 2, a: 3 })), '{"a":3,"€":2,"😀":1}');
});
