// §4.3–§4.4: the optimised selection against testing/reference.mjs (a literal reading of
// the spec) on many seeded random draws: weights, categories, each cascade rule, short
// categories, and P + waitingList far below the number of entrants (the partial-selection
// path) as well as equal to it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { select } from '../src/selection.mjs';
import { readEntries } from '../src/entries.mjs';
import { validateConfig } from '../src/config.mjs';
import { concat } from '../src/bytes.mjs';
import { buildDraw, Stream } from '../testing/draws.mjs';

function recompute(draw) {
  const cfg = validateConfig(draw.config);
  const bytes = concat(...draw.entrants.map((e) => e.entry));
  return select(cfg, readEntries(bytes, cfg), draw.seed);
}

function assertSame(draw, label) {
  const { rows, winners } = recompute(draw);
  assert.deepEqual(rows.map(({ rank, index, tier }) => ({ rank, index, tier })),
    draw.rows.map(({ rank, index, tier }) => ({ rank, index, tier })), label);
  assert.equal(winners, draw.winners, label);
}

/** A random draw shape: 1–4 categories of uneven sizes, quotas that some cannot fill. */
function randomShape(k, stream) {
  const entrants = 5 + stream.below(60);
  const tierCount = 1 + stream.below(3);
  const tiers = Array.from({ length: tierCount }, (_, t) => ({ name: `tier ${t + 1}`, count: 1 + stream.below(3) }));
  const prizes = tiers.reduce((a, t) => a + t.count, 0);
  const shape = {
    label: `random draw ${k}`,
    entrants: Math.max(entrants, prizes),
    tiers,
    waitingList: stream.below(6),
    weighted: stream.below(2) === 1,
  };
  const categoryCount = stream.below(5);
  if (categoryCount > 0) {
    const quotas = new Array(categoryCount).fill(0);
    for (let p = 0; p < prizes; p++) quotas[stream.below(categoryCount)] += 1;
    shape.categories = quotas.map((quota, c) => ({ name: `group ${c}`, quota }));
    // Skewed membership: category 0 is large, the others small enough to fall short.
    shape.categoryOf = (i, s) => (i < categoryCount ? i : s.below(4) === 0 ? 0 : s.below(categoryCount));
    const rule = ['none', 'pooled', 'ordered'][stream.below(3)];
    shape.cascade = rule === 'ordered'
      ? { rule, order: shape.categories.map((c) => c.name).filter(() => stream.below(3) > 0).reverse() }
      : { rule };
  }
  return shape;
}

test('300 random draws: the verifier selects exactly what the reference selects', () => {
  const stream = new Stream('selection shapes');
  for (let k = 0; k < 300; k++) assertSame(buildDraw(randomShape(k, stream)), `random draw ${k}`);
});

test('a few prizes among many entrants (partial selection) in every mode', () => {
  const shapes = [
    { entrants: 3000, tiers: [{ name: 'only', count: 3 }], waitingList: 4 },
    { entrants: 3000, weighted: true, tiers: [{ name: 'a', count: 2 }, { name: 'b', count: 3 }], waitingList: 5 },
    { entrants: 2000, weighted: true, categories: [{ name: 'x', quota: 3 }, { name: 'y', quota: 2 }], cascade: { rule: 'pooled' },
      categoryOf: (i) => (i === 0 ? 1 : 0), tiers: [{ name: 'a', count: 5 }], waitingList: 3 },
    { entrants: 2000, categories: [{ name: 'x', quota: 1 }, { name: 'y', quota: 4 }], cascade: { rule: 'ordered', order: ['x'] },
      categoryOf: (i) => (i < 2 ? 1 : 0), tiers: [{ name: 'a', count: 5 }], waitingList: 3 },
  ];
  shapes.forEach((shape, k) => assertSame(buildDraw({ ...shape, label: `partial ${k}` }), `partial ${k}`));
});

test('everyone places: P + waitingList ≥ the number of entrants', () => {
  assertSame(buildDraw({ entrants: 6, tiers: [{ name: 'a', count: 4 }], waitingList: 5, label: 'all' }), 'all');
  assertSame(buildDraw({ entrants: 6, weighted: true, tiers: [{ name: 'a', count: 6 }], waitingList: 0, label: 'all w' }), 'all w');
});

test('a short category: none leaves places open, pooled and ordered fill them', () => {
  const base = {
    entrants: 12,
    categories: [{ name: 'small', quota: 4 }, { name: 'large', quota: 1 }],
    categoryOf: (i) => (i < 2 ? 0 : 1),
    tiers: [{ name: 'a', count: 2 }, { name: 'b', count: 3 }],
    waitingList: 3,
  };
  const none = buildDraw({ ...base, cascade: { rule: 'none' }, label: 'short' });
  assertSame(none, 'none');
  assert.equal(none.winners, 3);
  // Unawarded places are the last of the lowest tiers: 2 in tier 1, 1 in tier 2.
  assert.deepEqual(none.rows.filter((r) => r.tier > 0).map((r) => r.tier), [1, 1, 2]);
  const pooled = buildDraw({ ...base, cascade: { rule: 'pooled' }, label: 'short' });
  assertSame(pooled, 'pooled');
  assert.equal(pooled.winners, 5);
  const ordered = buildDraw({ ...base, cascade: { rule: 'ordered', order: ['small', 'large'] }, label: 'short' });
  assertSame(ordered, 'ordered');
  assert.equal(ordered.winners, 5);
  // Same seed inputs except the config: the cascade is part of the config hash, so seeds differ.
  assert.notDeepEqual(none.seed, pooled.seed);
});

test('without categories a longer waiting list only extends the result (prefix stability)', () => {
  const draw = buildDraw({ entrants: 40, weighted: true, waitingList: 10, label: 'prefix' });
  const cfg = validateConfig(draw.config);
  const bytes = concat(...draw.entrants.map((e) => e.entry));
  const entries = readEntries(bytes, cfg);
  const long = select(cfg, entries, draw.seed).rows;
  for (const waitingList of [0, 1, 5, 9]) {
    const short = select({ ...cfg, waitingList }, entries, draw.seed).rows;
    assert.deepEqual(short, long.slice(0, short.length));
  }
});
