// §5 and §6 of docs/draw-algorithm.md: result.jsonl, one result entry per line as
// {"rank", "index", "leaf", "tier"} (member order free, no other members), and the
// result entries' encoding u64(rank) ‖ u64(index) ‖ leaf ‖ u16(tier).

import { fromHex, u16, u64, concat } from './bytes.mjs';

const MEMBERS = ['rank', 'index', 'leaf', 'tier'];

/** Parses result.jsonl into `[{rank, index, leaf: Uint8Array, tier}]`; throws naming the line. */
export function parseResultLines(bytes) {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  const lines = text.split('\n');
  // A final newline ends the last line; it does not start an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, k) => {
    let row;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new Error(`result.jsonl line ${k + 1} is not JSON: ${error.message}`);
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw new Error(`result.jsonl line ${k + 1} is not an object`);
    const names = Object.keys(row);
    if (names.length !== MEMBERS.length || !MEMBERS.every((m) => names.includes(m))) {
      throw new Error(`result.jsonl line ${k + 1} must have exactly ${MEMBERS.join(', ')}`);
    }
    for (const m of ['rank', 'index', 'tier']) {
      if (!Number.isSafeInteger(row[m]) || row[m] < 0) throw new Error(`result.jsonl line ${k + 1}: ${m} is not a non-negative integer`);
    }
    let leaf;
    try {
      leaf = fromHex(row.leaf, 32);
    } catch (error) {
      throw new Error(`result.jsonl line ${k + 1}: leaf ${error.message}`);
    }
    return { rank: row.rank, index: row.index, leaf, tier: row.tier };
  });
}

/** The 50-byte result entry of one parsed row. */
export function encodeResultEntry(row) {
  return concat(u64(row.rank), u64(row.index), row.leaf, u16(row.tier));
}
