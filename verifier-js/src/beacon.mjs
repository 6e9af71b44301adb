// §3.1 of docs/draw-algorithm.md: the drand beacon, scheme bls-unchained-g1-rfc9380
// (quicknet's). Round r's signature is a BLS12-381 G1 point over m = H(u64(r)), hashed to
// G1 per RFC 9380; the public key is on G2; the round's randomness is H(signature).

import { bls12_381 } from '@noble/curves/bls12-381';
import { H, u64, fromHex, toHex, equalBytes } from './bytes.mjs';

export const QUICKNET = Object.freeze({
  network: 'drand-quicknet',
  chainHash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  publicKey:
    '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  genesis: 1692803367,
  period: 3,
});

export const DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_';

/** The time (unix seconds) at which round `r` is published. */
export function roundTime(beacon, r) {
  return beacon.genesis + (r - 1) * beacon.period;
}

/** The message a round's signature signs: H(u64(r)). */
export function roundMessage(r) {
  return H(u64(r));
}

/**
 * Whether `signature` (48 bytes, compressed G1) is a valid signature of round `round`
 * under `publicKey` (96 bytes, compressed G2). Decoding checks that both points are on
 * their curves and in the prime-order subgroup; the identity is refused explicitly, since
 * an identity key with an identity signature would satisfy the pairing equation for
 * every message.
 */
export function verifyRoundSignature(signature, round, publicKey) {
  let sig;
  let key;
  try {
    sig = bls12_381.G1.ProjectivePoint.fromHex(signature);
    key = bls12_381.G2.ProjectivePoint.fromHex(publicKey);
  } catch {
    return false;
  }
  if (sig.equals(bls12_381.G1.ProjectivePoint.ZERO) || key.equals(bls12_381.G2.ProjectivePoint.ZERO)) return false;
  return bls12_381.verifyShortSignature(sig, roundMessage(round), key, { DST });
}

class BeaconError extends Error {}

/**
 * Accepts a beacon round as a relay serves it (`{"round", "randomness", "signature"}`)
 * only if its round is one of `acceptable` (a predicate), its signature verifies under
 * `publicKeyHex` and its randomness is H(signature). Returns `{round, randomness}`.
 */
export function verifyBeacon(json, publicKeyHex, acceptable) {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new BeaconError('beacon is not an object');
  const { round } = json;
  if (!Number.isSafeInteger(round) || round < 1) throw new BeaconError('beacon round is not a positive integer');
  if (!acceptable(round)) throw new BeaconError(`beacon round ${round} is not the round expected`);
  let signature;
  let randomness;
  try {
    signature = fromHex(json.signature, 48);
    randomness = fromHex(json.randomness, 32);
  } catch (error) {
    throw new BeaconError(`beacon signature or randomness malformed: ${error.message}`);
  }
  if (!verifyRoundSignature(signature, round, fromHex(publicKeyHex, 96))) {
    throw new BeaconError(`beacon signature does not verify for round ${round}`);
  }
  const expected = H(signature);
  if (!equalBytes(expected, randomness)) {
    throw new BeaconError(`beacon randomness is not H(signature) (${toHex(expected)})`);
  }
  return { round, randomness };
}

export { BeaconError };
