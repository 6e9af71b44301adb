// §2 of docs/draw-algorithm.md: leaves, the 38-byte entries and the commit-time rules on
// the candidate list (weights, category indices, no empty category, no duplicate leaf,
// at least as many entries as prizes).

import { H, tag, lp, utf8, u16, u32, concat, toHex } from './bytes.mjs';

export const ENTRY_SIZE = 38;
const LEAF = tag('notary-hub-draw/1 leaf');

/** leaf = H("notary-hub-draw/1 leaf" ‖ lp(utf8(drawId)) ‖ lp(utf8(entrantId)) ‖ salt) */
export function entrantLeaf(drawId, entrantId, salt) {
  return H(LEAF, lp(utf8(drawId)), lp(utf8(entrantId)), salt);
}

/** entry = leaf ‖ u32(w) ‖ u16(c) */
export function encodeEntry(leaf, weight, category) {
  return concat(leaf, u32(weight), u16(category));
}

class EntriesError extends Error {}

/**
 * Reads entries.bin into typed arrays (the leaves stay in the file's own buffer) and
 * checks the §2 rules against the validated configuration `cfg`. Returns
 * `{count, bytes, weights, categories, sizes}`, `sizes[c]` being category c's entrants.
 */
export function readEntries(bytes, cfg) {
  if (bytes.length % ENTRY_SIZE !== 0) throw new EntriesError(`entries.bin is ${bytes.length} bytes, not a multiple of ${ENTRY_SIZE}`);
  const count = bytes.length / ENTRY_SIZE;
  const categoryCount = cfg.quotas.length;
  const weights = new Uint32Array(count);
  const categories = new Uint16Array(count);
  const sizes = new Array(categoryCount).fill(0);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const w = view.getUint32(i * ENTRY_SIZE + 32);
    const c = view.getUint16(i * ENTRY_SIZE + 36);
    if (w === 0) throw new EntriesError(`entry ${i} has weight 0`);
    if (!cfg.weighted && w !== 1) throw new EntriesError(`entry ${i} has weight ${w} in an unweighted draw`);
    if (c >= categoryCount) throw new EntriesError(`entry ${i} names category ${c}, which does not exist`);
    weights[i] = w;
    categories[i] = c;
    sizes[c] += 1;
  }
  if (count < cfg.prizes) throw new EntriesError(`${count} entries for ${cfg.prizes} prizes`);
  const empty = sizes.indexOf(0);
  if (empty !== -1) throw new EntriesError(`category ${empty} has no entrant`);
  const duplicate = findDuplicateLeaf(bytes, count);
  if (duplicate !== null) throw new EntriesError(`entries ${duplicate[0]} and ${duplicate[1]} share the leaf ${toHex(leafAt(bytes, duplicate[1]))}`);
  return { count, bytes, weights, categories, sizes };
}

export function leafAt(bytes, i) {
  return bytes.subarray(i * ENTRY_SIZE, i * ENTRY_SIZE + 32);
}

function sameLeaf(bytes, a, b) {
  const x = a * ENTRY_SIZE;
  const y = b * ENTRY_SIZE;
  for (let k = 0; k < 32; k++) if (bytes[x + k] !== bytes[y + k]) return false;
  return true;
}

/**
 * An open-addressing set keyed by each leaf's first four bytes (leaves are hash outputs,
 * so those bytes are already uniform): a million leaves cost one Int32Array, not a
 * million strings. Returns the first duplicate pair `[earlier, later]`, or null.
 */
function findDuplicateLeaf(bytes, count) {
  let capacity = 1;
  while (capacity < count * 2) capacity *= 2;
  const mask = capacity - 1;
  const slots = new Int32Array(capacity).fill(-1);
  for (let i = 0; i < count; i++) {
    const at = i * ENTRY_SIZE;
    let h = ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) & mask;
    while (slots[h] !== -1) {
      if (sameLeaf(bytes, slots[h], i)) return [slots[h], i];
      h = (h + 1) & mask;
    }
    slots[h] = i;
  }
  return null;
}

export { EntriesError };
