// §6: a whole export verifies, and each kind of tampering fails at the step the spec
// names first for it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { verifyExport } from '../src/verify.mjs';
import { parseChainRecord } from '../src/chain.mjs';
import { QUICKNET } from '../src/beacon.mjs';
import { jcs } from '../src/jcs.mjs';
import { toHex } from '../src/bytes.mjs';
import { buildDraw, writeExport, signRound } from '../testing/draws.mjs';

const SHAPE = {
  label: 'verify',
  entrants: 50,
  weighted: true,
  categories: [{ name: 'north', quota: 3 }, { name: 'south', quota: 2 }],
  cascade: { rule: 'pooled' },
  tiers: [{ name: 'first', count: 1 }, { name: 'second', count: 4 }],
  waitingList: 3,
  publicValues: [{ name: 'lottery', source: 'the national lottery, 2026-12-02' }],
  published: ['07 12 19 23 31 44'],
};

function fresh(shape = SHAPE) {
  const draw = buildDraw(shape);
  return { draw, dir: writeExport(draw), record: parseChainRecord(draw.chainRecord) };
}

async function failsAt(dir, record, step, reason) {
  const answer = await verifyExport(dir, record);
  assert.equal(answer.ok, false, JSON.stringify(answer));
  assert.equal(answer.step, step, JSON.stringify(answer));
  if (reason) assert.match(answer.reason, reason);
  rmSync(dir, { recursive: true });
  return answer;
}

test('an honest export verifies, with and without the chain record', async () => {
  const { draw, dir, record } = fresh();
  const answer = await verifyExport(dir, record);
  assert.deepEqual(answer, { ok: true, seed: toHex(draw.seed), resultRoot: toHex(draw.resultRoot), winners: 5, chainChecked: true });
  assert.equal((await verifyExport(dir)).chainChecked, false);
  rmSync(dir, { recursive: true });
});

test('config: not canonical, an unknown algorithm, or an invalid member', async () => {
  let { dir, record } = fresh();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(JSON.parse(readFileSync(join(dir, 'config.json'))), null, 1));
  await failsAt(dir, record, 'config', /canonical/);
  ({ dir, record } = fresh());
  const config = JSON.parse(readFileSync(join(dir, 'config.json')));
  writeFileSync(join(dir, 'config.json'), jcs({ ...config, algorithm: 'notary-hub-draw/2' }));
  await failsAt(dir, record, 'config', /not implemented/);
  ({ dir, record } = fresh());
  writeFileSync(join(dir, 'config.json'), jcs({ ...config, waitingList: -1 }));
  await failsAt(dir, record, 'config', /waitingList/);
});

test('a changed title still parses but is not the committed config', async () => {
  const { dir, record } = fresh();
  const config = JSON.parse(readFileSync(join(dir, 'config.json')));
  writeFileSync(join(dir, 'config.json'), jcs({ ...config, title: 'Another draw' }));
  await failsAt(dir, record, 'commitment', /config hash/);
});

test('entries: a truncated file, and one leaf changed', async () => {
  let { dir, record } = fresh();
  const bytes = readFileSync(join(dir, 'entries.bin'));
  writeFileSync(join(dir, 'entries.bin'), bytes.subarray(0, bytes.length - 5));
  await failsAt(dir, record, 'entries', /multiple of 38/);
  ({ dir, record } = fresh());
  const tampered = Buffer.from(bytes);
  tampered[38 * 7 + 3] ^= 0x40;
  writeFileSync(join(dir, 'entries.bin'), tampered);
  await failsAt(dir, record, 'commitment', /candidate root/);
});

test('entries: a duplicated leaf, a zero weight, an unknown category', async () => {
  const bytes = readFileSync(join(fresh().dir, 'entries.bin'));
  const cases = [
    [(b) => b.copy(b, 38 * 9, 38 * 2, 38 * 2 + 32), /share the leaf/],
    [(b) => b.writeUInt32BE(0, 38 * 4 + 32), /weight 0/],
    [(b) => b.writeUInt16BE(2, 38 * 4 + 36), /category 2/],
  ];
  for (const [edit, reason] of cases) {
    const { dir, record } = fresh();
    const b = Buffer.from(bytes);
    edit(b);
    writeFileSync(join(dir, 'entries.bin'), b);
    await failsAt(dir, record, 'entries', reason);
  }
});

test('commitment: the chain commits another round, or a round too close to the commit', async () => {
  let { dir, record } = fresh();
  await failsAt(dir, { ...record, round: record.round + 1 }, 'commitment', /round/);
  ({ dir, record } = fresh());
  await failsAt(dir, { ...record, commitBlockTime: record.commitBlockTime + 61 }, 'commitment', /60 s/);
});

test('beacon: a bad signature, the wrong round, a wrong randomness', async () => {
  let { dir, record } = fresh();
  const beacon = JSON.parse(readFileSync(join(dir, 'beacon.json')));
  writeFileSync(join(dir, 'beacon.json'), JSON.stringify({ ...beacon, signature: signRound(1001).signature }));
  await failsAt(dir, record, 'beacon', /does not verify/);
  ({ dir, record } = fresh());
  writeFileSync(join(dir, 'beacon.json'), JSON.stringify(signRound(1001)));
  await failsAt(dir, record, 'beacon', /not the round expected/);
  ({ dir, record } = fresh());
  writeFileSync(join(dir, 'beacon.json'), JSON.stringify({ ...beacon, randomness: 'ab'.repeat(32) }));
  await failsAt(dir, record, 'beacon', /randomness/);
});

test('beacon: the next-round fallback accepts the recorded round inside its window only', async () => {
  const shape = { ...SHAPE, label: 'fallback', fallback: { rule: 'next-round', maxRounds: 3 }, usedRound: 1002 };
  const { dir, record } = fresh(shape);
  assert.equal((await verifyExport(dir, record)).ok, true);
  assert.equal((await verifyExport(dir)).ok, true);
  await failsAt(dir, { ...record, usedRound: 1001 }, 'beacon', /not the round expected/);
  const late = fresh({ ...shape, usedRound: 1004 });
  await failsAt(late.dir, late.record, 'beacon', /outside/);
});

test('reveal: a secret that does not match, a missing public value', async () => {
  let { dir, record } = fresh();
  writeFileSync(join(dir, 'reveal.json'), JSON.stringify({ secret: '00'.repeat(32), publicValues: SHAPE.published }));
  await failsAt(dir, record, 'reveal', /notaryCommitment/);
  ({ dir, record } = fresh());
  const reveal = JSON.parse(readFileSync(join(dir, 'reveal.json')));
  writeFileSync(join(dir, 'reveal.json'), JSON.stringify({ ...reveal, publicValues: [] }));
  await failsAt(dir, record, 'reveal', /declared/);
  ({ dir, record } = fresh());
  writeFileSync(join(dir, 'reveal.json'), JSON.stringify({ ...reveal, note: 'extra' }));
  await failsAt(dir, record, 'reveal', /exactly/);
});

test('seed: a changed public value gives another seed than the chain records', async () => {
  const { dir, record } = fresh();
  const reveal = JSON.parse(readFileSync(join(dir, 'reveal.json')));
  writeFileSync(join(dir, 'reveal.json'), JSON.stringify({ ...reveal, publicValues: ['01 02 03 04 05 06'] }));
  await failsAt(dir, record, 'seed', /seed/);
});

test('selection: a winner swapped, a line missing, a tier changed', async () => {
  const edits = [
    (rows) => { [rows[0].index, rows[6].index] = [rows[6].index, rows[0].index]; [rows[0].leaf, rows[6].leaf] = [rows[6].leaf, rows[0].leaf]; },
    (rows) => { rows.pop(); },
    (rows) => { rows[1].tier = 1; },
  ];
  for (const edit of edits) {
    const { draw, dir, record } = fresh();
    const rows = draw.rows.map((r) => ({ ...r }));
    edit(rows);
    writeFileSync(join(dir, 'result.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await failsAt(dir, record, 'selection');
  }
});

test('result: the chain records another result root or winner count', async () => {
  let { dir, record } = fresh();
  await failsAt(dir, { ...record, resultRoot: new Uint8Array(32) }, 'result', /result root/);
  ({ dir, record } = fresh());
  await failsAt(dir, { ...record, winners: 4 }, 'result', /winners/);
});

test('a quicknet draw verifies with the real round 657413', async () => {
  const beacon = {
    network: QUICKNET.network, chainHash: QUICKNET.chainHash, publicKey: QUICKNET.publicKey,
    genesis: QUICKNET.genesis, period: QUICKNET.period, round: 657413, fallback: { rule: 'wait' },
  };
  const beaconJson = {
    round: 657413,
    randomness: 'fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587',
    signature: 'b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b',
  };
  const { dir, record } = fresh({ ...SHAPE, label: 'quicknet', beacon, beaconJson });
  assert.equal((await verifyExport(dir, record)).ok, true);
  // quicknet's name with another key is refused at config.
  const config = JSON.parse(readFileSync(join(dir, 'config.json')));
  writeFileSync(join(dir, 'config.json'), jcs({ ...config, beacon: { ...beacon, period: 30 } }));
  await failsAt(dir, record, 'config', /quicknet/);
});

test('a missing file fails at the first step that needs it', async () => {
  for (const [file, stepName] of [['config.json', 'config'], ['entries.bin', 'entries'], ['chain.json', 'commitment'],
    ['beacon.json', 'beacon'], ['reveal.json', 'reveal'], ['result.jsonl', 'selection']]) {
    const { dir, record } = fresh();
    rmSync(join(dir, file));
    await failsAt(dir, record, stepName, /cannot read/);
  }
});
