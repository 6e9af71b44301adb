// The two commands as a user runs them: one JSON line out, exit 0 / 1 / 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDraw, writeExport } from '../testing/draws.mjs';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/', import.meta.url));

async function cli(name, args) {
  try {
    const { stdout } = await run(process.execPath, [join(BIN, name), ...args]);
    return { code: 0, answer: JSON.parse(stdout) };
  } catch (error) {
    return { code: error.code, answer: error.stdout ? JSON.parse(error.stdout) : null, stderr: error.stderr };
  }
}

const draw = buildDraw({ label: 'cli', entrants: 25, waitingList: 3 });
const dir = writeExport(draw);
const recordPath = join(dir, '..', `${dir.split('/').pop()}-record.json`);
writeFileSync(recordPath, JSON.stringify(draw.chainRecord));

test('verify-draw: exit 0 with the seed, result root and number of winners', async () => {
  const { code, answer } = await cli('verify-draw.mjs', [dir, '--chain-record', recordPath]);
  assert.equal(code, 0);
  assert.equal(answer.ok, true);
  assert.equal(answer.seed, draw.chainRecord.seed);
  assert.equal(answer.resultRoot, draw.chainRecord.resultRoot);
  assert.equal(answer.winners, 3);
});

test('verify-draw: exit 1 naming the step, exit 2 on a usage error', async () => {
  const wrong = { ...draw.chainRecord, seed: '00'.repeat(32) };
  const wrongPath = `${recordPath}.wrong.json`;
  writeFileSync(wrongPath, JSON.stringify(wrong));
  const { code, answer } = await cli('verify-draw.mjs', [dir, `--chain-record=${wrongPath}`]);
  assert.equal(code, 1);
  assert.equal(answer.step, 'seed');
  rmSync(wrongPath);
  assert.equal((await cli('verify-draw.mjs', [])).code, 2);
  assert.equal((await cli('verify-draw.mjs', [dir, '--frobnicate'])).code, 2);
});

test('check-receipt: an outcome for a genuine receipt, exit 1 for a forged one', async () => {
  const receiptPath = join(dir, 'receipt.json');
  const winner = draw.rows[0].index;
  writeFileSync(receiptPath, JSON.stringify(draw.receipt(winner)));
  let { code, answer } = await cli('check-receipt.mjs', [receiptPath, join(dir, 'result.jsonl'), '--chain-record', recordPath]);
  assert.equal(code, 0);
  assert.deepEqual([answer.outcome, answer.rank, answer.tier], ['winner', 1, 1]);
  writeFileSync(receiptPath, JSON.stringify({ ...draw.receipt(winner), salt: 'ff'.repeat(16) }));
  ({ code, answer } = await cli('check-receipt.mjs', [receiptPath, join(dir, 'result.jsonl')]));
  assert.equal(code, 1);
  assert.equal(answer.ok, false);
  assert.equal((await cli('check-receipt.mjs', [receiptPath])).code, 2);
  rmSync(dir, { recursive: true });
  rmSync(recordPath);
});
