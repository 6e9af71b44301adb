// docs/draw-vectors.json, written by the Python implementation (evidence/draw/, branch
// draw-core) from the same spec: every value it pins must come out of this verifier too.
// The file is read from the work tree, or, before the branches meet, from draw-core.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { H, fromHex, toHex, utf8 } from '../src/bytes.mjs';
import { parseCanonical } from '../src/jcs.mjs';
import { validateConfig } from '../src/config.mjs';
import { readEntries, entrantLeaf, encodeEntry, leafAt, ENTRY_SIZE } from '../src/entries.mjs';
import { mthOfRecords, verifyInclusion, leafHash } from '../src/merkle.mjs';
import { log2Table, log2Reference, log2OfSuccessor, weightedKey } from '../src/log2.mjs';
import { notaryCommitment, publicHash, drawSeed, categorySeed } from '../src/seed.mjs';
import { select, encodeResult, RESULT_ENTRY_SIZE } from '../src/selection.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function loadVectors() {
  const path = `${REPO}docs/draw-vectors.json`;
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8'));
  try {
    return JSON.parse(execFileSync('git', ['-C', REPO, 'show', 'draw-core:docs/draw-vectors.json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return null;
  }
}

const vectors = loadVectors();
const skip = vectors === null ? 'docs/draw-vectors.json is not available yet' : false;

test('LOG2 table, LOG2 and weighted keys', { skip }, () => {
  const T = log2Table();
  for (const { j, T: value } of vectors.log2Table) assert.equal(T[j], value, `T[${j}]`);
  for (const { y, LOG2 } of vectors.log2) {
    assert.equal(log2Reference(BigInt(y)).toString(), LOG2, `LOG2(${y})`);
    const x = BigInt(y) - 1n;
    assert.equal(log2OfSuccessor(Number(x >> 32n), Number(x & 0xffffffffn)).toString(), LOG2, `fast LOG2(${y})`);
  }
  const out = [0, 0];
  for (const { x, w, key } of vectors.weightedKeys) {
    const big = BigInt(x);
    weightedKey(Number(big >> 32n), Number(big & 0xffffffffn), w, out);
    assert.equal(((BigInt(out[0]) << 32n) + BigInt(out[1])).toString(), key, `key(${x}, ${w})`);
  }
});

test('leaf, entry and notary commitment', { skip }, () => {
  const { drawId, entrantId, salt, leaf, entry } = vectors.leaf;
  const computed = entrantLeaf(drawId, entrantId, fromHex(salt, 16));
  assert.equal(toHex(computed), leaf);
  const e = fromHex(entry);
  assert.equal(toHex(encodeEntry(computed, new DataView(e.buffer).getUint32(32), new DataView(e.buffer).getUint16(36))), entry);
  assert.equal(toHex(notaryCommitment(fromHex(vectors.commitment.secret))), vectors.commitment.notaryCommitment);
});

for (const draw of vectors?.draws ?? []) {
  test(`draw "${draw.name}": config hash, root, proofs, seed, category seeds, result and its root`, () => {
    const configBytes = utf8(draw.config);
    const cfg = validateConfig(parseCanonical(configBytes));
    assert.equal(toHex(H(configBytes)), draw.configHash);

    const config = JSON.parse(draw.config);
    const bytes = fromHex(draw.entries);
    draw.entrants.forEach((entrant, i) => {
      assert.equal(toHex(entrantLeaf(config.drawId, entrant.id, fromHex(entrant.salt, 16))), entrant.leaf);
      assert.equal(toHex(leafAt(bytes, i)), entrant.leaf);
    });
    const entries = readEntries(bytes, cfg);
    assert.equal(entries.count, draw.count);
    const root = mthOfRecords(bytes, ENTRY_SIZE, entries.count);
    assert.equal(toHex(root), draw.candidateRoot);
    for (const { index, proof } of draw.proofs) {
      const entry = bytes.subarray(index * ENTRY_SIZE, (index + 1) * ENTRY_SIZE);
      assert.ok(verifyInclusion(index, draw.count, leafHash(entry), proof.map((p) => fromHex(p, 32)), root), `proof ${index}`);
    }

    assert.equal(toHex(publicHash(draw.publicValues)), draw.publicHash);
    const seed = drawSeed({
      configHash: H(configBytes),
      candidateRoot: root,
      count: draw.count,
      beaconRandomness: fromHex(draw.beaconRandomness, 32),
      secret: fromHex(draw.secret, 32),
      publicValuesHash: publicHash(draw.publicValues),
    });
    assert.equal(toHex(seed), draw.seed);
    assert.deepEqual(draw.categorySeeds, cfg.quotas.map((_, c) => toHex(categorySeed(seed, c))));

    const { rows } = select(cfg, entries, seed);
    assert.deepEqual(rows.map((r) => ({ rank: r.rank, index: r.index, leaf: toHex(leafAt(bytes, r.index)), tier: r.tier })), draw.result);
    const encoded = encodeResult(rows, (r) => leafAt(bytes, r.index));
    assert.deepEqual(rows.map((_, k) => toHex(encoded.subarray(k * RESULT_ENTRY_SIZE, (k + 1) * RESULT_ENTRY_SIZE))), draw.resultEntries);
    assert.equal(toHex(mthOfRecords(encoded, RESULT_ENTRY_SIZE, rows.length)), draw.resultRoot);
  });
}
