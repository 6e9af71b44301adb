// §4.1–§4.4 and §5 of docs/draw-algorithm.md: scores, keys, each category's ranking, the
// places (quotas, then the cascade), the tiers, the waiting list, and the result entries.
//
// Everything per entrant lives in typed arrays indexed by entry index. A key is held as
// two Numbers (`keyHi`, `keyLo`) so the comparator never touches BigInt:
//   unweighted: the score's first 4 bytes and next 4 bytes (u32 each), with the
//               remaining 24 bytes compared only on a tie of those 64 bits;
//   weighted:   key = keyHi · 2^32 + keyLo (log2.mjs), exact.
// The order is always (key, leaf, index) ascending (§4.2, §4.3).

import { sha256 } from '@noble/hashes/sha256';
import { u16, u64, concat } from './bytes.mjs';
import { categorySeed } from './seed.mjs';
import { weightedKey, log2Table } from './log2.mjs';
import { ENTRY_SIZE } from './entries.mjs';

export const RESULT_ENTRY_SIZE = 50;

/** The keys of every entrant and the comparator over entry indices that §4.3 defines. */
export function computeKeys(cfg, entries, seed) {
  const { count, bytes, weights, categories } = entries;
  const catSeeds = cfg.quotas.map((_, c) => categorySeed(seed, c));
  const keyHi = new Float64Array(count);
  const keyLo = new Uint32Array(count);
  const tail = cfg.weighted ? null : new Uint8Array(24 * count);
  const input = new Uint8Array(64);
  const parts = [0, 0];
  if (cfg.weighted) log2Table();
  for (let i = 0; i < count; i++) {
    // score(i) = H(catSeed[c_i] ‖ leaf_i)
    input.set(catSeeds[categories[i]], 0);
    input.set(bytes.subarray(i * ENTRY_SIZE, i * ENTRY_SIZE + 32), 32);
    const score = sha256(input);
    const hi = ((score[0] << 24) | (score[1] << 16) | (score[2] << 8) | score[3]) >>> 0;
    const lo = ((score[4] << 24) | (score[5] << 16) | (score[6] << 8) | score[7]) >>> 0;
    if (cfg.weighted) {
      weightedKey(hi, lo, weights[i], parts);
      keyHi[i] = parts[0];
      keyLo[i] = parts[1];
    } else {
      keyHi[i] = hi;
      keyLo[i] = lo;
      tail.set(score.subarray(8), 24 * i);
    }
  }

  const compare = (a, b) => {
    if (keyHi[a] !== keyHi[b]) return keyHi[a] < keyHi[b] ? -1 : 1;
    if (keyLo[a] !== keyLo[b]) return keyLo[a] < keyLo[b] ? -1 : 1;
    if (tail !== null) {
      for (let k = 0, x = 24 * a, y = 24 * b; k < 24; k++) {
        if (tail[x + k] !== tail[y + k]) return tail[x + k] - tail[y + k];
      }
    }
    for (let k = 0, x = a * ENTRY_SIZE, y = b * ENTRY_SIZE; k < 32; k++) {
      if (bytes[x + k] !== bytes[y + k]) return bytes[x + k] - bytes[y + k];
    }
    return a - b;
  };
  return { keyHi, keyLo, tail, compare };
}

/** The key of entry i as a BigInt, for tests and diagnostics (unweighted: the first 64 bits only). */
export function keyOf(keys, i) {
  return (BigInt(keys.keyHi[i]) << 32n) + BigInt(keys.keyLo[i]);
}

/**
 * Each category's ranking (§4.3), cut to the entrants that can matter: a category never
 * contributes more than P + waitingList entrants to the result, so only that prefix of its
 * order is needed. The prefix is found with a selection pass before sorting, which keeps a
 * draw of 10 prizes among a million entrants from sorting a million keys.
 */
function rankings(cfg, entries, compare) {
  const { count, categories, sizes } = entries;
  const starts = new Array(sizes.length);
  let at = 0;
  for (let c = 0; c < sizes.length; c++) {
    starts[c] = at;
    at += sizes[c];
  }
  const grouped = new Uint32Array(count);
  const fill = starts.slice();
  for (let i = 0; i < count; i++) grouped[fill[categories[i]]++] = i;
  const needed = cfg.prizes + cfg.waitingList;
  return sizes.map((n, c) => {
    const members = grouped.subarray(starts[c], starts[c] + n);
    const keep = Math.min(n, needed);
    if (keep < n) selectSmallest(members, keep, compare);
    const prefix = Array.from(members.subarray(0, keep));
    prefix.sort(compare);
    return prefix;
  });
}

/**
 * Rearranges `a` so that its `k` smallest elements under `compare` come first (in no
 * particular order): Hoare-partition quickselect with a median-of-three pivot.
 */
function selectSmallest(a, k, compare) {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(a[mid], a[lo]) < 0) swap(a, mid, lo);
    if (compare(a[hi], a[lo]) < 0) swap(a, hi, lo);
    if (compare(a[hi], a[mid]) < 0) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (compare(a[i], pivot) < 0) i++;
      while (compare(a[j], pivot) > 0) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi]; keep narrowing the side holding position k − 1.
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else return;
  }
}

function swap(a, i, j) {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** The first `limit` entrants of the merge of every category's ranking from `next[c]` on. */
function mergeRemaining(ranked, next, limit, compare) {
  if (limit <= 0) return [];
  const pool = [];
  ranked.forEach((ranking, c) => {
    // Each ranking is sorted, so no category places more than `limit` in the merge's head.
    for (let k = next[c]; k < ranking.length && k < next[c] + limit; k++) pool.push(ranking[k]);
  });
  pool.sort(compare);
  return pool.slice(0, limit);
}

/**
 * §4.4 and §5: the winners with their tiers, then the waiting list. Returns
 * `{ rows: [{rank, index, tier}], winners }` where rows are in rank order.
 */
export function select(cfg, entries, seed) {
  const keys = computeKeys(cfg, entries, seed);
  const { compare } = keys;
  const ranked = rankings(cfg, entries, compare);

  // 1. Each category, in configuration order, takes min(quota, n) of its ranking.
  const next = ranked.map(() => 0);
  const winners = [];
  cfg.quotas.forEach((quota, c) => {
    const take = Math.min(quota, entries.sizes[c]);
    for (let k = 0; k < take; k++) winners.push(ranked[c][k]);
    next[c] = take;
  });
  let shortfall = cfg.prizes - winners.length;

  // 2. The cascade fills the shortfall.
  if (shortfall > 0 && cfg.cascade.rule === 'pooled') {
    const pooled = mergeRemaining(ranked, next, shortfall, compare);
    for (const i of pooled) {
      winners.push(i);
      next[entries.categories[i]] += 1;
    }
    shortfall -= pooled.length;
  } else if (shortfall > 0 && cfg.cascade.rule === 'ordered') {
    for (const c of cfg.cascade.order) {
      // The ranking was cut at P + waitingList; a category can never pass that many here.
      const available = entries.sizes[c] - next[c];
      const take = Math.min(shortfall, available);
      for (let k = 0; k < take; k++) winners.push(ranked[c][next[c] + k]);
      next[c] += take;
      shortfall -= take;
      if (shortfall === 0) break;
    }
  }

  // 3. Winners by (key, leaf, index); tiers in order, unawarded places at the end.
  winners.sort(compare);
  const rows = [];
  let tier = 0;
  let leftInTier = 0;
  for (const index of winners) {
    while (leftInTier === 0) leftInTier = cfg.tiers[tier++];
    leftInTier -= 1;
    rows.push({ rank: rows.length + 1, index, tier });
  }

  // 4. The waiting list: the head of the merge of everyone's remaining rankings.
  for (const index of mergeRemaining(ranked, next, cfg.waitingList, compare)) {
    rows.push({ rank: rows.length + 1, index, tier: 0 });
  }
  return { rows, winners: winners.length, keys };
}

/** resultEntry = u64(rank) ‖ u64(index) ‖ leaf ‖ u16(tier), all rows back to back. */
export function encodeResult(rows, leafOf) {
  const out = new Uint8Array(RESULT_ENTRY_SIZE * rows.length);
  rows.forEach((row, k) => {
    out.set(concat(u64(row.rank), u64(row.index), leafOf(row), u16(row.tier)), k * RESULT_ENTRY_SIZE);
  });
  return out;
}
