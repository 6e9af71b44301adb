// §6.1: the chain record file has exactly its ten members; anything else is refused
// before a verification could take a partial record for a checked one.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChainRecord } from '../src/chain.mjs';
import { buildDraw } from '../testing/draws.mjs';

const { chainRecord } = buildDraw({ label: 'chain', entrants: 12, waitingList: 1 });

test('the ten members parse; a 0x prefix on a hash is dropped', () => {
  const record = parseChainRecord({ ...chainRecord, seed: `0x${chainRecord.seed}` });
  assert.equal(Object.keys(record).length, 10);
  assert.equal(record.winners, chainRecord.winners);
  assert.equal(record.commitBlockTime, chainRecord.commitBlockTime);
});

test('each member is required, and no other is allowed', () => {
  for (const name of Object.keys(chainRecord)) {
    const partial = { ...chainRecord };
    delete partial[name];
    assert.throws(() => parseChainRecord(partial), new RegExp(`lacks ${name}`));
  }
  assert.throws(() => parseChainRecord({ ...chainRecord, resultTx: '00' }), /unknown member resultTx/);
  assert.throws(() => parseChainRecord({ ...chainRecord, winners: -1 }), /non-negative/);
  assert.throws(() => parseChainRecord({ ...chainRecord, seed: 'ab' }), /seed/);
});
