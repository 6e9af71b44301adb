// §3.2, §3.3 and §4.1 of docs/draw-algorithm.md: the notary's commitment, the public
// values' hash, the seed and the per-category seeds.

import { H, tag, u16, u64 } from './bytes.mjs';
import { jcs } from './jcs.mjs';

const REVEAL = tag('notary-hub-draw/1 reveal');
const SEED = tag('notary-hub-draw/1 seed');
const CATEGORY = tag('notary-hub-draw/1 category');

/** notaryCommitment = H("notary-hub-draw/1 reveal" ‖ secret). */
export function notaryCommitment(secret) {
  return H(REVEAL, secret);
}

/** publicHash = H(JCS(values)): the published strings in declaration order, `[]` when none. */
export function publicHash(values) {
  return H(jcs(values));
}

/**
 * seed = H("notary-hub-draw/1 seed" ‖ configHash ‖ candidateRoot ‖ u64(count)
 *          ‖ beaconRandomness ‖ secret ‖ publicHash)
 */
export function drawSeed({ configHash, candidateRoot, count, beaconRandomness, secret, publicValuesHash }) {
  return H(SEED, configHash, candidateRoot, u64(count), beaconRandomness, secret, publicValuesHash);
}

/** catSeed[c] = H("notary-hub-draw/1 category" ‖ seed ‖ u16(c)). */
export function categorySeed(seed, c) {
  return H(CATEGORY, seed, u16(c));
}
