#!/usr/bin/env node
// node bench/million.mjs [ENTRANTS]  (default 1,000,000)
// Times a full verification (§6 of docs/draw-algorithm.md) of a draw shaped like issue
// 14's acceptance draw: weights, two categories, three tiers and a waiting list. The export
// is generated here with a local beacon; its result.jsonl comes from this verifier's own
// selection (the tests, not this script, check the selection against the reference), so
// what is measured is the time to re-derive everything from the files.

import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { H, utf8, u64, toHex } from '../src/bytes.mjs';
import { jcs } from '../src/jcs.mjs';
import { ENTRY_SIZE, readEntries, leafAt } from '../src/entries.mjs';
import { mthOfRecords } from '../src/merkle.mjs';
import { validateConfig } from '../src/config.mjs';
import { notaryCommitment, publicHash, drawSeed } from '../src/seed.mjs';
import { select, encodeResult, RESULT_ENTRY_SIZE } from '../src/selection.mjs';
import { verifyExport } from '../src/verify.mjs';
import { parseChainRecord } from '../src/chain.mjs';
import { signRound, TEST_BEACON_PUBLIC } from '../testing/draws.mjs';

const n = Number(process.argv[2] ?? 1_000_000);
const secret = H(utf8('bench secret'));
const config = {
  algorithm: 'notary-hub-draw/1',
  drawId: 'bench-million',
  title: 'Benchmark draw',
  rules: 'Weighted, two categories, three tiers, a waiting list.',
  tiers: [{ name: 'first', count: 10 }, { name: 'second', count: 100 }, { name: 'third', count: 1000 }],
  waitingList: 500,
  weighted: true,
  categories: [{ name: 'residents', quota: 1000 }, { name: 'others', quota: 110 }],
  cascade: { rule: 'pooled' },
  entryDeadline: '2026-12-01T12:00:00Z',
  beacon: {
    network: 'local-test', chainHash: toHex(H(utf8('local-test chain'))), publicKey: TEST_BEACON_PUBLIC,
    genesis: 1700000000, period: 3, round: 1000, fallback: { rule: 'wait' },
  },
  notaryCommitment: toHex(notaryCommitment(secret)),
  publicValues: [],
};

let t = performance.now();
const entries = new Uint8Array(n * ENTRY_SIZE);
const view = new DataView(entries.buffer);
// Leaves only need to be distinct and uniform here: one hash yields a leaf per entrant.
for (let i = 0; i < n; i++) {
  entries.set(H(u64(i)), i * ENTRY_SIZE);
  view.setUint32(i * ENTRY_SIZE + 32, 1 + (i % 97));
  view.setUint16(i * ENTRY_SIZE + 36, i % 5 === 0 ? 1 : 0);
}
const configBytes = jcs(config);
const cfg = validateConfig(config);
const read = readEntries(entries, cfg);
const candidateRoot = mthOfRecords(entries, ENTRY_SIZE, n);
const beacon = signRound(1000);
const seed = drawSeed({
  configHash: H(configBytes), candidateRoot, count: n, beaconRandomness: H(Buffer.from(beacon.signature, 'hex')),
  secret, publicValuesHash: publicHash([]),
});
const { rows, winners } = select(cfg, read, seed);
const resultRoot = mthOfRecords(encodeResult(rows, (row) => leafAt(entries, row.index)), RESULT_ENTRY_SIZE, rows.length);
const dir = mkdtempSync(join(tmpdir(), 'draw-bench-'));
writeFileSync(join(dir, 'config.json'), configBytes);
writeFileSync(join(dir, 'entries.bin'), entries);
writeFileSync(join(dir, 'beacon.json'), JSON.stringify(beacon));
writeFileSync(join(dir, 'reveal.json'), JSON.stringify({ secret: toHex(secret), publicValues: [] }));
writeFileSync(join(dir, 'result.jsonl'), rows.map((r) => `${JSON.stringify({ rank: r.rank, index: r.index, leaf: toHex(leafAt(entries, r.index)), tier: r.tier })}\n`).join(''));
writeFileSync(join(dir, 'chain.json'), JSON.stringify({ chainId: 1, contract: '0x', drawKey: '0x', commitTx: '0x', resultTx: '0x' }));
const record = parseChainRecord({
  configHash: toHex(H(configBytes)), candidateRoot: toHex(candidateRoot), count: n, round: 1000,
  notaryCommitment: config.notaryCommitment, resultRoot: toHex(resultRoot), seed: toHex(seed), usedRound: 1000, winners,
});
const generated = performance.now() - t;

t = performance.now();
const answer = await verifyExport(dir, record);
const verified = performance.now() - t;
rmSync(dir, { recursive: true });
process.stdout.write(`${JSON.stringify({
  entrants: n, generateSeconds: +(generated / 1000).toFixed(2), verifySeconds: +(verified / 1000).toFixed(2),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), answer,
})}\n`);
process.exitCode = answer.ok ? 0 : 1;
