#!/usr/bin/env node
// check-receipt RECEIPT.json RESULT.jsonl [--chain-record FILE.json]
// An entrant's own check: their entry is in the committed list and their outcome in the
// published result. Prints one JSON line: {ok, outcome, rank?, tier?, index, leaf,
// resultRoot} or {ok: false, reason}. Exit 0 when the receipt checks out, 1 when it does
// not, 2 on a usage error.

import { readFile } from 'node:fs/promises';
import { checkReceipt } from '../src/receipt.mjs';
import { parseChainRecord } from '../src/chain.mjs';

const USAGE = 'usage: check-receipt RECEIPT.json RESULT.jsonl [--chain-record FILE.json]';

async function main(argv) {
  const positional = [];
  let recordPath = null;
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === '--chain-record' && k + 1 < argv.length) recordPath = argv[++k];
    else if (argv[k].startsWith('--chain-record=')) recordPath = argv[k].slice('--chain-record='.length);
    else if (!argv[k].startsWith('-')) positional.push(argv[k]);
    else return usage();
  }
  if (positional.length !== 2) return usage();
  const [receiptPath, resultPath] = positional;
  let receipt;
  let result;
  let record = null;
  try {
    receipt = JSON.parse(await readFile(receiptPath, 'utf8'));
    result = new Uint8Array(await readFile(resultPath));
    if (recordPath !== null) record = parseChainRecord(JSON.parse(await readFile(recordPath, 'utf8')));
  } catch (error) {
    process.stderr.write(`check-receipt: ${error.message}\n`);
    return 2;
  }
  const answer = checkReceipt(receipt, result, record);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
  return answer.ok ? 0 : 1;
}

function usage() {
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
