// A deliberately naive transcription of §4 of docs/draw-algorithm.md, for the tests only:
// BigInt keys, full sorts, arrays spliced step by step, nothing cut short. src/selection.mjs
// is optimised (typed arrays, split keys, partial selection); this one is written to be
// read against the spec line by line, and the tests hold the two to the same answer.

import { H, toHex } from '../src/bytes.mjs';
import { categorySeed } from '../src/seed.mjs';
import { weightedKeyReference } from '../src/log2.mjs';

function bigFrom(bytes) {
  return BigInt(`0x${toHex(bytes)}`);
}

/**
 * `entrants`: [{leaf: Uint8Array, weight, category}] in entry order. `cfg`: {tiers (counts),
 * waitingList, weighted, quotas, cascade: {rule, order (indices)}}. Returns rows
 * [{rank, index, tier}] and the number of winners.
 */
export function referenceSelect(cfg, entrants, seed) {
  const items = entrants.map((e, index) => {
    const score = H(categorySeed(seed, e.category), e.leaf);
    const key = cfg.weighted ? weightedKeyReference(bigFrom(score.subarray(0, 8)), e.weight) : bigFrom(score);
    return { index, key, leafHex: toHex(e.leaf), category: e.category };
  });
  const order = (a, b) => {
    if (a.key !== b.key) return a.key < b.key ? -1 : 1;
    if (a.leafHex !== b.leafHex) return a.leafHex < b.leafHex ? -1 : 1;
    return a.index - b.index;
  };
  const remaining = cfg.quotas.map((_, c) => items.filter((it) => it.category === c).sort(order));
  const prizes = cfg.tiers.reduce((a, b) => a + b, 0);

  const winners = [];
  cfg.quotas.forEach((quota, c) => {
    winners.push(...remaining[c].splice(0, Math.min(quota, remaining[c].length)));
  });
  let shortfall = prizes - winners.length;
  if (cfg.cascade.rule === 'pooled') {
    const merged = remaining.flat().sort(order).slice(0, shortfall);
    for (const it of merged) remaining[it.category].splice(remaining[it.category].indexOf(it), 1);
    winners.push(...merged);
  } else if (cfg.cascade.rule === 'ordered') {
    for (const c of cfg.cascade.order) {
      const taken = remaining[c].splice(0, shortfall);
      winners.push(...taken);
      shortfall -= taken.length;
    }
  }
  winners.sort(order);
  const tierOfPlace = cfg.tiers.flatMap((count, t) => new Array(count).fill(t + 1));
  const rows = winners.map((it, k) => ({ rank: k + 1, index: it.index, tier: tierOfPlace[k] }));
  const waiting = remaining.flat().sort(order).slice(0, cfg.waitingList);
  waiting.forEach((it) => rows.push({ rank: rows.length + 1, index: it.index, tier: 0 }));
  return { rows, winners: winners.length };
}
