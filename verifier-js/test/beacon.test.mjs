// §3.1: the BLS code is pinned by a real drand quicknet round before anything else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QUICKNET, verifyRoundSignature, verifyBeacon, roundTime } from '../src/beacon.mjs';
import { fromHex, toHex, H } from '../src/bytes.mjs';
import { signRound, TEST_BEACON_PUBLIC } from '../testing/draws.mjs';

// drand quicknet round 657413, as its relays serve it.
const ROUND = {
  round: 657413,
  randomness: 'fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587',
  signature: 'b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b',
};
const only = (r) => (round) => round === r;

test('quicknet round 657413 verifies against the built-in key', () => {
  assert.equal(verifyRoundSignature(fromHex(ROUND.signature), ROUND.round, fromHex(QUICKNET.publicKey)), true);
  const { round, randomness } = verifyBeacon(ROUND, QUICKNET.publicKey, only(657413));
  assert.equal(round, 657413);
  assert.equal(toHex(randomness), ROUND.randomness);
  assert.equal(toHex(H(fromHex(ROUND.signature))), ROUND.randomness);
});

test('the same signature fails for another round, another key, or one flipped bit', () => {
  assert.equal(verifyRoundSignature(fromHex(ROUND.signature), 657414, fromHex(QUICKNET.publicKey)), false);
  assert.equal(verifyRoundSignature(fromHex(ROUND.signature), 657413, fromHex(TEST_BEACON_PUBLIC)), false);
  const flipped = fromHex(ROUND.signature);
  flipped[47] ^= 1;
  assert.equal(verifyRoundSignature(flipped, 657413, fromHex(QUICKNET.publicKey)), false);
});

test('a relay answer is refused for the wrong round, a bad signature or a wrong randomness', () => {
  assert.throws(() => verifyBeacon(ROUND, QUICKNET.publicKey, only(657412)), /not the round expected/);
  assert.throws(() => verifyBeacon({ ...ROUND, round: 657414 }, QUICKNET.publicKey, () => true), /does not verify/);
  assert.throws(() => verifyBeacon({ ...ROUND, randomness: '00'.repeat(32) }, QUICKNET.publicKey, () => true), /not H\(signature\)/);
  assert.throws(() => verifyBeacon({ ...ROUND, signature: ROUND.signature.toUpperCase() }, QUICKNET.publicKey, () => true), /malformed/);
  assert.throws(() => verifyBeacon({ ...ROUND, round: '657413' }, QUICKNET.publicKey, () => true), /positive integer/);
});

test('the identity is refused as a signature and as a key', () => {
  const g1Identity = new Uint8Array(48);
  g1Identity[0] = 0xc0;
  const g2Identity = new Uint8Array(96);
  g2Identity[0] = 0xc0;
  assert.equal(verifyRoundSignature(g1Identity, 5, g2Identity), false);
  assert.equal(verifyRoundSignature(g1Identity, 5, fromHex(QUICKNET.publicKey)), false);
});

test('the local test beacon signs with the same scheme under its own key', () => {
  const beacon = signRound(42);
  assert.equal(verifyBeacon(beacon, TEST_BEACON_PUBLIC, only(42)).round, 42);
  assert.throws(() => verifyBeacon(beacon, QUICKNET.publicKey, only(42)), /does not verify/);
});

test('round times follow genesis + (r − 1) · period', () => {
  assert.equal(roundTime(QUICKNET, 1), 1692803367);
  assert.equal(roundTime(QUICKNET, 657413), 1692803367 + 657412 * 3);
});
