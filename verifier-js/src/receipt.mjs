// An entrant's own check (§2 entry receipts, §5 result): from their receipt alone —
// identifier, salt, index, weight, category and the RFC 9162 §2.1.3 inclusion proof —
// rebuild their leaf and entry, prove the entry is in the committed candidate list, and
// read their outcome from the published result. README.md defines the receipt's JSON.

import { fromHex, toHex, equalBytes } from './bytes.mjs';
import { entrantLeaf, encodeEntry } from './entries.mjs';
import { leafHash, verifyInclusion, mthOfRecords } from './merkle.mjs';
import { parseResultLines, encodeResultEntry } from './result.mjs';
import { RESULT_ENTRY_SIZE } from './selection.mjs';

class ReceiptError extends Error {}

function fail(message) {
  throw new ReceiptError(message);
}

function field(receipt, name, check, what) {
  if (!(name in receipt) || !check(receipt[name])) fail(`receipt ${name} must be ${what}`);
  return receipt[name];
}

const isCount = (v) => Number.isSafeInteger(v) && v >= 0;

/** Parses and checks a receipt's shape; returns its values with hex decoded. */
export function parseReceipt(json) {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('receipt is not an object');
  const hex = (n) => (v) => {
    try {
      fromHex(v, n);
      return true;
    } catch {
      return false;
    }
  };
  const receipt = {
    drawId: field(json, 'drawId', (v) => typeof v === 'string', 'a string'),
    entrantId: field(json, 'entrantId', (v) => typeof v === 'string', 'a string'),
    salt: fromHex(field(json, 'salt', hex(16), '16 bytes of hex'), 16),
    index: field(json, 'index', isCount, 'a non-negative integer'),
    weight: field(json, 'weight', (v) => Number.isSafeInteger(v) && v >= 1 && v <= 0xffffffff, 'an integer in [1, 2^32 − 1]'),
    category: field(json, 'category', (v) => Number.isSafeInteger(v) && v >= 0 && v <= 0xffff, 'an integer in [0, 65535]'),
    count: field(json, 'count', isCount, 'a non-negative integer'),
    candidateRoot: fromHex(field(json, 'candidateRoot', hex(32), '32 bytes of hex'), 32),
    proof: field(json, 'proof', (v) => Array.isArray(v) && v.every(hex(32)), 'an array of 32-byte hex hashes').map((h) => fromHex(h, 32)),
    leaf: 'leaf' in json ? fromHex(field(json, 'leaf', hex(32), '32 bytes of hex'), 32) : null,
  };
  return receipt;
}

/**
 * Checks `receiptJson` against the bytes of result.jsonl and, when given, the chain record
 * (chain.mjs). Resolves to `{ok: true, outcome, rank?, tier?, index, leaf, resultRoot}`
 * with outcome "winner", "waiting-list" or "not-selected", or `{ok: false, reason}`.
 */
export function checkReceipt(receiptJson, resultBytes, chainRecord = null) {
  try {
    return { ok: true, ...outcomeOf(parseReceipt(receiptJson), resultBytes, chainRecord) };
  } catch (error) {
    // A malformed receipt, a failed proof and an unreadable result are all answers, not crashes.
    if (error instanceof Error) return { ok: false, reason: error.message };
    throw error;
  }
}

function outcomeOf(receipt, resultBytes, record) {
  const leaf = entrantLeaf(receipt.drawId, receipt.entrantId, receipt.salt);
  if (receipt.leaf !== null && !equalBytes(receipt.leaf, leaf)) fail('the receipt\'s leaf is not H(draw id, entrant id, salt)');
  const entry = encodeEntry(leaf, receipt.weight, receipt.category);
  if (!verifyInclusion(receipt.index, receipt.count, leafHash(entry), receipt.proof, receipt.candidateRoot)) {
    fail('the inclusion proof does not lead to the receipt\'s candidate root');
  }
  if (record !== null) {
    if (!equalBytes(record.candidateRoot, receipt.candidateRoot) || record.count !== receipt.count) {
      fail('the receipt\'s candidate root or count is not the chain\'s');
    }
  }

  const rows = parseResultLines(resultBytes);
  const resultRoot = mthOfRecords(encodeRows(rows), RESULT_ENTRY_SIZE, rows.length);
  if (record !== null && !equalBytes(record.resultRoot, resultRoot)) fail('the result is not the one the chain records');

  let mine = null;
  for (const row of rows) {
    const sameIndex = row.index === receipt.index;
    const sameLeaf = equalBytes(row.leaf, leaf);
    if (sameIndex !== sameLeaf) fail(`result rank ${row.rank} pairs index ${row.index} with another leaf than the receipt's`);
    if (sameIndex) {
      if (mine !== null) fail('the result lists this entry twice');
      mine = row;
    }
  }
  const common = { index: receipt.index, leaf: toHex(leaf), resultRoot: toHex(resultRoot) };
  if (mine === null) return { outcome: 'not-selected', ...common };
  if (mine.tier === 0) return { outcome: 'waiting-list', rank: mine.rank, ...common };
  return { outcome: 'winner', rank: mine.rank, tier: mine.tier, ...common };
}

function encodeRows(rows) {
  const out = new Uint8Array(RESULT_ENTRY_SIZE * rows.length);
  rows.forEach((row, k) => out.set(encodeResultEntry(row), k * RESULT_ENTRY_SIZE));
  return out;
}
