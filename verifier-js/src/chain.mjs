// The chain's record of a draw, as the verifier receives it (--chain-record FILE.json):
// docs/draw-algorithm.md §6.1 defines the file — exactly ten members, the commit's and the
// result's — and `notary-hub draw verify --save-chain-record` writes it. It is what §6's
// `commitment`, `beacon`, `seed` and `result` steps compare the export against. The record
// is read from the chain by another tool; this module only checks its shape.

import { fromHex } from './bytes.mjs';

const HASHES = ['configHash', 'candidateRoot', 'notaryCommitment', 'seed', 'resultRoot'];
const INTEGERS = ['count', 'round', 'commitBlockTime', 'usedRound', 'winners'];
const MEMBERS = new Set([...HASHES, ...INTEGERS]);

/** Chain tools often print bytes32 with 0x; the prefix is dropped, nothing else is relaxed. */
function hash32(value, name) {
  const hex = typeof value === 'string' && value.startsWith('0x') ? value.slice(2) : value;
  try {
    return fromHex(hex, 32);
  } catch (error) {
    throw new Error(`chain record ${name}: ${error.message}`);
  }
}

export function parseChainRecord(json) {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('chain record is not an object');
  // Exactly §6.1's members: one more would be taken for checked when nothing reads it.
  for (const name of Object.keys(json)) if (!MEMBERS.has(name)) throw new Error(`chain record has an unknown member ${name}`);
  const record = {};
  for (const name of HASHES) {
    if (!(name in json)) throw new Error(`chain record lacks ${name}`);
    record[name] = hash32(json[name], name);
  }
  for (const name of INTEGERS) {
    if (!(name in json)) throw new Error(`chain record lacks ${name}`);
    if (!Number.isSafeInteger(json[name]) || json[name] < 0) throw new Error(`chain record ${name} is not a non-negative integer`);
    record[name] = json[name];
  }
  return record;
}
