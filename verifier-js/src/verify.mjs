// §6 of docs/draw-algorithm.md: verifying a draw's public export. The steps run in the
// spec's order — config, entries, commitment, beacon, reveal, seed, selection, result —
// and the first one that fails is named; later steps are not attempted, since they would
// only build on a value already known to be wrong.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { H, fromHex, toHex, equalBytes, isHex } from './bytes.mjs';
import { parseCanonical } from './jcs.mjs';
import { validateConfig } from './config.mjs';
import { readEntries, leafAt, ENTRY_SIZE } from './entries.mjs';
import { mthOfRecords } from './merkle.mjs';
import { verifyBeacon, roundTime } from './beacon.mjs';
import { notaryCommitment, publicHash, drawSeed } from './seed.mjs';
import { select, encodeResult, RESULT_ENTRY_SIZE } from './selection.mjs';
import { parseResultLines } from './result.mjs';

export const STEPS = ['config', 'entries', 'commitment', 'beacon', 'reveal', 'seed', 'selection', 'result'];

/** How far ahead of the commit block the beacon round must be published (§3.1). */
export const MIN_LEAD_SECONDS = 60;

const CHAIN_JSON_MEMBERS = ['chainId', 'contract', 'drawKey', 'commitTx', 'resultTx'];

class StepError extends Error {
  constructor(step, reason) {
    super(`${step}: ${reason}`);
    this.step = step;
    this.reason = reason;
  }
}

async function readExportFile(dir, name, step) {
  try {
    return new Uint8Array(await readFile(join(dir, name)));
  } catch (error) {
    throw new StepError(step, `cannot read ${name}: ${error.code ?? error.message}`);
  }
}

function parseJson(bytes, name, step) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new StepError(step, `${name} is not JSON: ${error.message}`);
  }
}

/** Runs `fn`, turning any error it throws into a failure of `step`. */
async function step(name, fn) {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof StepError) throw error;
    throw new StepError(name, error.message);
  }
}

/**
 * Verifies the export in `dir`. `chainRecord` (chain.mjs's parsed form) is what the chain
 * holds for the draw; without it the checks against the chain are skipped and the answer
 * says so (`chainChecked: false`). Resolves to
 * `{ok, step?, reason?, seed, resultRoot, winners, chainChecked}`.
 */
export async function verifyExport(dir, chainRecord = null) {
  const state = { seed: null, resultRoot: null, winners: null };
  try {
    await runSteps(dir, chainRecord, state);
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    return { ok: false, step: error.step, reason: error.reason, ...publicState(state), chainChecked: chainRecord !== null };
  }
  return { ok: true, ...publicState(state), chainChecked: chainRecord !== null };
}

function publicState(state) {
  return {
    seed: state.seed && toHex(state.seed),
    resultRoot: state.resultRoot && toHex(state.resultRoot),
    winners: state.winners,
  };
}

async function runSteps(dir, record, state) {
  // config: the file is the JCS form of a valid configuration; configHash = H(JCS(config)).
  const configBytes = await readExportFile(dir, 'config.json', 'config');
  const { cfg, configHash } = await step('config', () => {
    const parsed = parseCanonical(configBytes);
    return { cfg: validateConfig(parsed), configHash: H(configBytes) };
  });

  // entries: the §2 rules, then candidateRoot = MTH(entries) and count.
  const entryBytes = await readExportFile(dir, 'entries.bin', 'entries');
  const { entries, candidateRoot } = await step('entries', () => {
    const read = readEntries(entryBytes, cfg);
    return { entries: read, candidateRoot: mthOfRecords(entryBytes, ENTRY_SIZE, read.count) };
  });

  // commitment: the chain's record equals what config and entries gave (§6 compares the
  // config hash, root and count here, not in their own steps), and the export's chain.json.
  const chainBytes = await readExportFile(dir, 'chain.json', 'commitment');
  await step('commitment', () => {
    const chain = parseJson(chainBytes, 'chain.json', 'commitment');
    if (chain === null || typeof chain !== 'object' || Array.isArray(chain)) throw new Error('chain.json is not an object');
    for (const name of CHAIN_JSON_MEMBERS) if (!(name in chain)) throw new Error(`chain.json lacks ${name}`);
    if (record === null) return;
    if (!equalBytes(record.configHash, configHash)) {
      throw new Error(`config hash ${toHex(configHash)} is not the chain's ${toHex(record.configHash)}`);
    }
    if (!equalBytes(record.candidateRoot, candidateRoot)) {
      throw new Error(`candidate root ${toHex(candidateRoot)} is not the chain's ${toHex(record.candidateRoot)}`);
    }
    if (record.count !== entries.count) throw new Error(`${entries.count} entries, the chain records ${record.count}`);
    if (record.round !== cfg.beacon.round) throw new Error(`the chain commits round ${record.round}, the config ${cfg.beacon.round}`);
    if (!equalBytes(record.notaryCommitment, fromHex(cfg.notaryCommitment))) {
      throw new Error('the chain\'s notary commitment is not the config\'s');
    }
    if (roundTime(cfg.beacon, cfg.beacon.round) < record.commitBlockTime + MIN_LEAD_SECONDS) {
      throw new Error(`round ${cfg.beacon.round} is published less than ${MIN_LEAD_SECONDS} s after the commit block`);
    }
  });

  // beacon: signature, round (the committed one, or the recorded one within the fallback window), randomness.
  const beaconBytes = await readExportFile(dir, 'beacon.json', 'beacon');
  const beacon = await step('beacon', () => {
    const json = parseJson(beaconBytes, 'beacon.json', 'beacon');
    const { firstRound, lastRound } = cfg.beacon;
    const acceptable = (r) => r >= firstRound && r <= lastRound && (record === null || r === record.usedRound);
    if (record !== null && (record.usedRound < firstRound || record.usedRound > lastRound)) {
      throw new Error(`the chain records round ${record.usedRound} as used, outside ${firstRound}…${lastRound}`);
    }
    return verifyBeacon(json, cfg.beacon.publicKey, acceptable);
  });

  // reveal: the secret against notaryCommitment; one published string per declared value.
  const revealBytes = await readExportFile(dir, 'reveal.json', 'reveal');
  const reveal = await step('reveal', () => {
    const json = parseJson(revealBytes, 'reveal.json', 'reveal');
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('reveal.json is not an object');
    // Exactly the two members §6 names: anything else would be published yet never checked.
    const names = Object.keys(json).sort();
    if (names.length !== 2 || names[0] !== 'publicValues' || names[1] !== 'secret') {
      throw new Error('reveal.json must be exactly {"secret", "publicValues"}');
    }
    if (!isHex(json.secret, 32)) throw new Error('the secret is not 32 bytes of lowercase hex');
    const secret = fromHex(json.secret, 32);
    if (!equalBytes(notaryCommitment(secret), fromHex(cfg.notaryCommitment))) {
      throw new Error('the secret does not match notaryCommitment');
    }
    const values = json.publicValues;
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw new Error('publicValues must be an array of strings');
    if (values.length !== cfg.publicValueCount) {
      throw new Error(`${values.length} public values published, ${cfg.publicValueCount} declared`);
    }
    return { secret, values };
  });

  // seed
  const seed = await step('seed', () => drawSeed({
    configHash,
    candidateRoot,
    count: entries.count,
    beaconRandomness: beacon.randomness,
    secret: reveal.secret,
    publicValuesHash: publicHash(reveal.values),
  }));
  state.seed = seed;
  if (record !== null && !equalBytes(record.seed, seed)) {
    throw new StepError('seed', `the seed ${toHex(seed)} is not the chain's ${toHex(record.seed)}`);
  }

  // selection: the published result equals the recomputed one, line by line.
  const resultBytes = await readExportFile(dir, 'result.jsonl', 'selection');
  const { rows, winners } = await step('selection', () => {
    const computed = select(cfg, entries, seed);
    const published = parseResultLines(resultBytes);
    compareRows(computed.rows, published, entryBytes);
    return computed;
  });
  state.winners = winners;

  // result: resultRoot = MTH(result entries), against the chain's.
  const resultRoot = mthOfRecords(encodeResult(rows, (row) => leafAt(entryBytes, row.index)), RESULT_ENTRY_SIZE, rows.length);
  state.resultRoot = resultRoot;
  if (record !== null) {
    if (!equalBytes(record.resultRoot, resultRoot)) {
      throw new StepError('result', `result root ${toHex(resultRoot)} is not the chain's ${toHex(record.resultRoot)}`);
    }
    if (record.winners !== winners) {
      throw new StepError('result', `${winners} winners, the chain records ${record.winners}`);
    }
  }
}

function compareRows(computed, published, entryBytes) {
  const n = Math.min(computed.length, published.length);
  for (let k = 0; k < n; k++) {
    const want = computed[k];
    const got = published[k];
    const leaf = leafAt(entryBytes, want.index);
    if (got.rank !== want.rank || got.index !== want.index || got.tier !== want.tier || !equalBytes(got.leaf, leaf)) {
      throw new Error(`line ${k + 1}: expected rank ${want.rank} index ${want.index} tier ${want.tier} leaf ${toHex(leaf)}, `
        + `found rank ${got.rank} index ${got.index} tier ${got.tier} leaf ${toHex(got.leaf)}`);
    }
  }
  if (computed.length !== published.length) {
    throw new Error(`the result has ${published.length} lines, the draw gives ${computed.length}`);
  }
}
