// Builds complete draw exports (§6 of docs/draw-algorithm.md) for the tests: a local
// beacon with the quicknet scheme and its own key, a notary secret, entrants with salts
// and receipts, and the result computed by testing/reference.mjs (never by the code under
// test). Randomness comes from a seeded SHA-256 counter, so every run builds the same draws.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bls12_381 } from '@noble/curves/bls12-381';
import { H, u64, utf8, toHex, concat } from '../src/bytes.mjs';
import { jcs } from '../src/jcs.mjs';
import { DST, roundMessage } from '../src/beacon.mjs';
import { entrantLeaf, encodeEntry } from '../src/entries.mjs';
import { mth, inclusionPath, leafHash } from '../src/merkle.mjs';
import { notaryCommitment, publicHash, drawSeed } from '../src/seed.mjs';
import { referenceSelect } from './reference.mjs';

/** A deterministic byte stream: H(label ‖ u64(counter)), for salts, secrets and choices. */
export class Stream {
  constructor(label) {
    this.label = utf8(label);
    this.counter = 0;
  }

  bytes(n) {
    const out = new Uint8Array(n);
    for (let at = 0; at < n; at += 32) out.set(H(this.label, u64(this.counter++)).subarray(0, Math.min(32, n - at)), at);
    return out;
  }

  /** A uniform-enough integer in [0, n) for test data (a 48-bit draw, modulo bias irrelevant here). */
  below(n) {
    const b = this.bytes(6);
    return Number(b.reduce((acc, x) => acc * 256 + x, 0) % n);
  }
}

/** The local test beacon: the quicknet scheme under a key of its own. */
// 32 bytes with a zero first byte: below the group order, as a BLS secret key must be.
export const TEST_BEACON_KEY = concat(Uint8Array.of(0), H(utf8('verifier-js test beacon key')).subarray(0, 31));
export const TEST_BEACON_PUBLIC = toHex(bls12_381.getPublicKeyForShortSignatures(TEST_BEACON_KEY));

const signed = new Map();

/** The test beacon's round `round` as a relay would serve it (memoised: signing costs milliseconds). */
export function signRound(round, key = TEST_BEACON_KEY) {
  const memo = `${round}/${toHex(key)}`;
  if (!signed.has(memo)) {
    const signature = bls12_381.signShortSignature(roundMessage(round), key, { DST });
    signed.set(memo, { round, randomness: toHex(H(signature)), signature: toHex(signature) });
  }
  return { ...signed.get(memo) };
}

/**
 * Options: entrants (n), weighted, categories [{name, quota}], cascade, tiers [{name, count}],
 * waitingList, publicValues [{name, source}] with published strings, round, fallback,
 * usedRound, label (for the random stream), categoryOf(i, stream) and weightOf(i, stream).
 */
export function buildDraw(options = {}) {
  const stream = new Stream(options.label ?? 'draw');
  const n = options.entrants ?? 20;
  const categories = options.categories ?? [];
  const tiers = options.tiers ?? [{ name: 'first', count: 1 }, { name: 'second', count: 2 }];
  const round = options.round ?? 1000;
  const secret = stream.bytes(32);
  const published = options.published ?? [];
  const config = {
    algorithm: 'notary-hub-draw/1',
    drawId: options.drawId ?? 'draw-test-1',
    title: 'A test draw',
    rules: 'Lowest keys win.',
    tiers,
    waitingList: options.waitingList ?? 2,
    weighted: options.weighted ?? false,
    categories,
    cascade: options.cascade ?? { rule: 'none' },
    entryDeadline: '2026-12-01T12:00:00Z',
    beacon: options.beacon ?? {
      network: 'local-test',
      chainHash: toHex(H(utf8('local-test chain'))),
      publicKey: TEST_BEACON_PUBLIC,
      genesis: 1700000000,
      period: 3,
      round,
      fallback: options.fallback ?? { rule: 'wait' },
    },
    notaryCommitment: toHex(notaryCommitment(secret)),
    publicValues: options.publicValues ?? [],
  };
  const categoryCount = Math.max(1, categories.length);
  const entrants = [];
  for (let i = 0; i < n; i++) {
    const entrantId = `entrant-${i}`;
    const salt = stream.bytes(16);
    const leaf = entrantLeaf(config.drawId, entrantId, salt);
    const category = options.categoryOf ? options.categoryOf(i, stream) : i % categoryCount;
    const weight = config.weighted ? (options.weightOf ? options.weightOf(i, stream) : 1 + stream.below(10)) : 1;
    entrants.push({ entrantId, salt, leaf, weight, category, entry: encodeEntry(leaf, weight, category) });
  }
  const records = entrants.map((e) => e.entry);
  const candidateRoot = mth(records);
  const configBytes = jcs(config);
  const configHash = H(configBytes);
  const usedRound = options.usedRound ?? config.beacon.round;
  const beacon = options.beaconJson ?? signRound(usedRound);
  const seed = drawSeed({
    configHash,
    candidateRoot,
    count: n,
    beaconRandomness: H(Uint8Array.from(Buffer.from(beacon.signature, 'hex'))),
    secret,
    publicValuesHash: publicHash(published),
  });
  const cfg = {
    tiers: tiers.map((t) => t.count),
    waitingList: config.waitingList,
    weighted: config.weighted,
    quotas: categories.length > 0 ? categories.map((c) => c.quota) : [tiers.reduce((a, t) => a + t.count, 0)],
    cascade: { rule: config.cascade.rule, order: (config.cascade.order ?? []).map((name) => categories.findIndex((c) => c.name === name)) },
  };
  const { rows, winners } = referenceSelect(cfg, entrants, seed);
  const resultRows = rows.map((r) => ({ rank: r.rank, index: r.index, leaf: toHex(entrants[r.index].leaf), tier: r.tier }));
  const resultEntries = rows.map((r) => concat(u64(r.rank), u64(r.index), entrants[r.index].leaf, Uint8Array.of(r.tier >> 8, r.tier & 0xff)));
  const resultRoot = mth(resultEntries);
  const chainRecord = {
    configHash: toHex(configHash),
    candidateRoot: toHex(candidateRoot),
    count: n,
    round: config.beacon.round,
    notaryCommitment: config.notaryCommitment,
    resultRoot: toHex(resultRoot),
    seed: toHex(seed),
    usedRound,
    winners,
    commitBlockTime: config.beacon.genesis + (config.beacon.round - 1) * config.beacon.period - 120,
  };
  const receipt = (i) => ({
    drawId: config.drawId,
    entrantId: entrants[i].entrantId,
    salt: toHex(entrants[i].salt),
    index: i,
    weight: entrants[i].weight,
    category: entrants[i].category,
    leaf: toHex(entrants[i].leaf),
    count: n,
    candidateRoot: toHex(candidateRoot),
    proof: inclusionPath(i, records).map(toHex),
  });
  return {
    config, configBytes, entrants, beacon, secret, published, seed, rows: resultRows, winners,
    resultRoot, chainRecord, receipt, leafHash: (i) => leafHash(records[i]),
  };
}

/** Writes a built draw as an export directory and returns its path. */
export function writeExport(draw, dir = mkdtempSync(join(tmpdir(), 'draw-export-'))) {
  writeFileSync(join(dir, 'config.json'), draw.configBytes);
  writeFileSync(join(dir, 'entries.bin'), concat(...draw.entrants.map((e) => e.entry)));
  writeFileSync(join(dir, 'beacon.json'), JSON.stringify(draw.beacon));
  writeFileSync(join(dir, 'reveal.json'), JSON.stringify({ secret: toHex(draw.secret), publicValues: draw.published }));
  writeFileSync(join(dir, 'result.jsonl'), draw.rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  writeFileSync(join(dir, 'chain.json'), JSON.stringify({
    chainId: 31337,
    contract: `0x${'11'.repeat(20)}`,
    drawKey: `0x${toHex(H(utf8(draw.config.drawId)))}`,
    commitTx: `0x${'22'.repeat(32)}`,
    resultTx: `0x${'33'.repeat(32)}`,
    commitTimestampToken: Buffer.from('not a real token').toString('base64'),
  }));
  return dir;
}
