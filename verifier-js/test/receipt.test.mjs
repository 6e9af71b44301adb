// An entrant's check from their receipt and the published result: winners, the waiting
// list and the rest each read their outcome; forged receipts and forged results fail.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkReceipt } from '../src/receipt.mjs';
import { parseChainRecord } from '../src/chain.mjs';
import { utf8, toHex } from '../src/bytes.mjs';
import { buildDraw } from '../testing/draws.mjs';

const draw = buildDraw({ label: 'receipts', entrants: 37, weighted: true, waitingList: 2 });
const result = utf8(draw.rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
const record = parseChainRecord(draw.chainRecord);

test('winners, the waiting list and the others each read their own outcome', () => {
  const seen = new Set();
  for (let i = 0; i < 37; i++) {
    const answer = checkReceipt(draw.receipt(i), result, record);
    assert.equal(answer.ok, true, JSON.stringify(answer));
    assert.equal(answer.resultRoot, toHex(draw.resultRoot));
    const row = draw.rows.find((r) => r.index === i);
    if (!row) assert.equal(answer.outcome, 'not-selected');
    else if (row.tier === 0) assert.deepEqual([answer.outcome, answer.rank], ['waiting-list', row.rank]);
    else assert.deepEqual([answer.outcome, answer.rank, answer.tier], ['winner', row.rank, row.tier]);
    seen.add(answer.outcome);
  }
  assert.deepEqual([...seen].sort(), ['not-selected', 'waiting-list', 'winner']);
});

test('forged receipts fail', () => {
  const winner = draw.rows[0].index;
  const genuine = draw.receipt(winner);
  const forgeries = [
    [{ entrantId: 'someone else' }, /leaf/],
    [{ salt: '00'.repeat(16) }, /leaf/],
    [{ index: (winner + 1) % 37 }, /inclusion proof/],
    [{ weight: genuine.weight + 1 }, /inclusion proof/],
    [{ proof: genuine.proof.slice(1) }, /inclusion proof/],
    [{ leaf: undefined, salt: '11'.repeat(16), entrantId: 'x' }, /inclusion proof/],
    [{ count: 40 }, /inclusion proof|chain/],
    [{ salt: 'zz' }, /salt/],
  ];
  for (const [change, reason] of forgeries) {
    const forged = { ...genuine, ...change };
    if (change.leaf === undefined && 'leaf' in change) delete forged.leaf;
    const answer = checkReceipt(forged, result, record);
    assert.equal(answer.ok, false, JSON.stringify(change));
    assert.match(answer.reason, reason);
  }
});

test('a result that is not the chain\'s, or pairs an index with another leaf, fails', () => {
  const rows = draw.rows.map((r) => ({ ...r }));
  rows[1].leaf = rows[0].leaf;
  const forged = utf8(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  assert.match(checkReceipt(draw.receipt(draw.rows[0].index), forged, record).reason, /chain/);
  assert.match(checkReceipt(draw.receipt(draw.rows[0].index), forged).reason, /another leaf/);
});

test('without the chain record the receipt and result are checked against each other only', () => {
  const answer = checkReceipt(draw.receipt(draw.rows[0].index), result);
  assert.equal(answer.outcome, 'winner');
});
