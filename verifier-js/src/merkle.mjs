// RFC 9162 §2.1.1 Merkle Tree Hash and §2.1.3 inclusion proofs, as §2 (candidateRoot)
// and §5 (resultRoot) of docs/draw-algorithm.md use them: leaf hash H(0x00 ‖ d), node
// hash H(0x01 ‖ left ‖ right), the empty tree's hash H("").

import { sha256 } from '@noble/hashes/sha256';
import { H, equalBytes } from './bytes.mjs';

const LEAF = 0x00;
const NODE = 0x01;

export function leafHash(data) {
  const buf = new Uint8Array(1 + data.length);
  buf[0] = LEAF;
  buf.set(data, 1);
  return sha256(buf);
}

export function nodeHash(left, right) {
  const buf = new Uint8Array(65);
  buf[0] = NODE;
  buf.set(left, 1);
  buf.set(right, 33);
  return sha256(buf);
}

/**
 * MTH over `count` records of `size` bytes laid out back to back in `bytes`.
 *
 * RFC 9162 defines MTH recursively, splitting at the largest power of two below n. The
 * same tree is built bottom up by hashing adjacent pairs and carrying a lone last node up
 * a level unchanged: the left subtree of every split is then a complete power-of-two
 * tree, which is exactly what the recursive split produces. Bottom up needs one flat
 * buffer per level instead of a million small arrays (the test compares both forms).
 */
export function mthOfRecords(bytes, size, count) {
  if (count === 0) return H(new Uint8Array(0));
  let level = new Uint8Array(32 * count);
  const buf = new Uint8Array(1 + size);
  buf[0] = LEAF;
  for (let i = 0; i < count; i++) {
    buf.set(bytes.subarray(i * size, (i + 1) * size), 1);
    level.set(sha256(buf), 32 * i);
  }
  let n = count;
  const pair = new Uint8Array(65);
  pair[0] = NODE;
  while (n > 1) {
    const half = Math.ceil(n / 2);
    const next = new Uint8Array(32 * half);
    for (let i = 0; i + 1 < n; i += 2) {
      pair.set(level.subarray(32 * i, 32 * i + 64), 1);
      next.set(sha256(pair), 16 * i);
    }
    if (n % 2 === 1) next.set(level.subarray(32 * (n - 1), 32 * n), 32 * (half - 1));
    level = next;
    n = half;
  }
  return level.slice(0, 32);
}

/** MTH of a list of byte arrays (each one a record of the tree). */
export function mth(records) {
  if (records.length === 0) return H(new Uint8Array(0));
  const size = records[0].length;
  if (records.every((r) => r.length === size)) {
    const flat = new Uint8Array(size * records.length);
    records.forEach((r, i) => flat.set(r, i * size));
    return mthOfRecords(flat, size, records.length);
  }
  return mthRecursive(records);
}

/** The RFC's own recursive definition, kept as the reference the bottom-up form is tested against. */
export function mthRecursive(records) {
  const n = records.length;
  if (n === 0) return H(new Uint8Array(0));
  if (n === 1) return leafHash(records[0]);
  const k = largestPowerOfTwoBelow(n);
  return nodeHash(mthRecursive(records.slice(0, k)), mthRecursive(records.slice(k)));
}

function largestPowerOfTwoBelow(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of record `m`, for receipts in tests. */
export function inclusionPath(m, records) {
  const n = records.length;
  if (n <= 1) return [];
  const k = largestPowerOfTwoBelow(n);
  if (m < k) return [...inclusionPath(m, records.slice(0, k)), mthRecursive(records.slice(k))];
  return [...inclusionPath(m - k, records.slice(k)), mthRecursive(records.slice(0, k))];
}

/**
 * RFC 9162 §2.1.3.2: whether `path` proves that the record whose leaf hash is `hash`
 * sits at `index` in a tree of `size` records with root `root`. Indices are Numbers:
 * trees here hold at most 2^53 records.
 */
export function verifyInclusion(index, size, hash, path, root) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return false;
  }
  let fn = index;
  let sn = size - 1;
  let r = hash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // A right-edge node with no sibling at this level is carried up unchanged.
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}
