#!/usr/bin/env node
// verify-draw EXPORT_DIR [--chain-record FILE.json]
// Verifies a draw's public export (docs/draw-algorithm.md §6) and prints one JSON line:
// {ok, step?, reason?, seed, resultRoot, winners, chainChecked}. Exit 0 when it verifies,
// 1 when a step fails, 2 on a usage error.

import { readFile } from 'node:fs/promises';
import { verifyExport } from '../src/verify.mjs';
import { parseChainRecord } from '../src/chain.mjs';

const USAGE = 'usage: verify-draw EXPORT_DIR [--chain-record FILE.json]';

async function main(argv) {
  let dir = null;
  let recordPath = null;
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === '--chain-record' && k + 1 < argv.length) recordPath = argv[++k];
    else if (argv[k].startsWith('--chain-record=')) recordPath = argv[k].slice('--chain-record='.length);
    else if (dir === null && !argv[k].startsWith('-')) dir = argv[k];
    else return usage();
  }
  if (dir === null) return usage();
  let record = null;
  if (recordPath !== null) {
    try {
      record = parseChainRecord(JSON.parse(await readFile(recordPath, 'utf8')));
    } catch (error) {
      process.stderr.write(`verify-draw: chain record ${recordPath}: ${error.message}\n`);
      return 2;
    }
  }
  const answer = await verifyExport(dir, record);
  process.stdout.write(`${JSON.stringify(answer)}\n`);
  return answer.ok ? 0 : 1;
}

function usage() {
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
