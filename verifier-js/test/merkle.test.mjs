// RFC 9162 §2.1.1 and §2.1.3: the bottom-up MTH against the recursive definition, and
// inclusion proofs for every position of trees up to 40 records.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mth, mthRecursive, mthOfRecords, inclusionPath, verifyInclusion, leafHash, nodeHash } from '../src/merkle.mjs';
import { H, u64, toHex, concat } from '../src/bytes.mjs';

const records = (n) => Array.from({ length: n }, (_, i) => u64(i * 7919));

test('known answers: the empty tree, one record, two and three records', () => {
  assert.equal(toHex(mth([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const [a, b, c] = records(3);
  assert.deepEqual(mth([a]), H(Uint8Array.of(0), a));
  assert.deepEqual(mth([a, b]), H(Uint8Array.of(1), H(Uint8Array.of(0), a), H(Uint8Array.of(0), b)));
  assert.deepEqual(mth([a, b, c]), nodeHash(nodeHash(leafHash(a), leafHash(b)), leafHash(c)));
});

test('bottom-up MTH equals the recursive definition for 0…70 records', () => {
  for (let n = 0; n <= 70; n++) {
    const rs = records(n);
    assert.deepEqual(mthOfRecords(concat(...rs), 8, n), mthRecursive(rs), `n = ${n}`);
  }
});

test('every inclusion proof verifies, and only for its own index, record and root', () => {
  for (let n = 1; n <= 40; n++) {
    const rs = records(n);
    const root = mth(rs);
    for (let m = 0; m < n; m++) {
      const path = inclusionPath(m, rs);
      const hash = leafHash(rs[m]);
      assert.equal(verifyInclusion(m, n, hash, path, root), true, `n = ${n}, m = ${m}`);
      if (n > 1) {
        assert.equal(verifyInclusion((m + 1) % n, n, hash, path, root), false);
        assert.equal(verifyInclusion(m, n, leafHash(rs[(m + 1) % n]), path, root), false);
      }
      // (The tree size is not always bound by the path — a left-subtree leaf's path is the
      // same in trees of 3 and 4 — so receipts take the count from the chain's record.)
      assert.equal(verifyInclusion(n + m, n, hash, path, root), false);
      assert.equal(verifyInclusion(m, n, hash, [...path, root], root), false);
    }
  }
  assert.equal(verifyInclusion(3, 3, leafHash(records(3)[2]), [], mth(records(3))), false);
});
