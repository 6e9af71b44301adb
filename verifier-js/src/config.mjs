// §1 of docs/draw-algorithm.md: the draw configuration, its members and their rules
// (with the quicknet values of §3.1 and the 1000-category bound of §2). A configuration
// that breaks any rule is refused whole: the verifier never guesses what was meant.

import { isHex } from './bytes.mjs';
import { QUICKNET } from './beacon.mjs';

export const ALGORITHM = 'notary-hub-draw/1';
export const MAX_CATEGORIES = 1000;

const MEMBERS = [
  'algorithm', 'drawId', 'title', 'rules', 'tiers', 'waitingList', 'weighted', 'categories',
  'cascade', 'entryDeadline', 'beacon', 'notaryCommitment', 'publicValues',
];
const BEACON_MEMBERS = ['network', 'chainHash', 'publicKey', 'genesis', 'period', 'round', 'fallback'];

class ConfigError extends Error {}

function fail(message) {
  throw new ConfigError(message);
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Exactly these members: a member the spec does not define would be hashed yet unread. */
function exactMembers(value, names, where) {
  if (!isObject(value)) fail(`${where} is not an object`);
  for (const name of names) if (!(name in value)) fail(`${where} lacks "${name}"`);
  for (const name of Object.keys(value)) if (!names.includes(name)) fail(`${where} has an unknown member "${name}"`);
}

function integer(value, where, min, max = Number.MAX_SAFE_INTEGER) {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    fail(`${where} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function string(value, where) {
  if (typeof value !== 'string') fail(`${where} must be a string`);
  return value;
}

function validDeadline(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const t = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  // Date.UTC rolls 2026-02-30 over to March: a round trip catches impossible dates.
  return t.getUTCFullYear() === year && t.getUTCMonth() === month - 1 && t.getUTCDate() === day
    && hour < 24 && minute < 60 && second < 60;
}

/**
 * Checks a parsed configuration and returns what selection needs: the prizes `P`, the
 * category quotas (the implicit single category when there are none) and the cascade as
 * category indices. Throws a ConfigError naming the first broken rule.
 */
export function validateConfig(config) {
  exactMembers(config, MEMBERS, 'config');
  if (config.algorithm !== ALGORITHM) fail(`algorithm "${config.algorithm}" is not implemented (only ${ALGORITHM})`);
  const drawId = string(config.drawId, 'drawId');
  // "1–128 characters": read as Unicode code points, not UTF-16 units or bytes.
  const drawIdLength = [...drawId].length;
  if (drawIdLength < 1 || drawIdLength > 128) fail('drawId must be 1–128 characters');
  string(config.title, 'title');
  string(config.rules, 'rules');

  if (!Array.isArray(config.tiers) || config.tiers.length === 0) fail('tiers must be a non-empty array');
  const tiers = config.tiers.map((tier, i) => {
    exactMembers(tier, ['name', 'count'], `tiers[${i}]`);
    string(tier.name, `tiers[${i}].name`);
    return integer(tier.count, `tiers[${i}].count`, 1);
  });
  const prizes = tiers.reduce((a, b) => a + b, 0);
  if (!Number.isSafeInteger(prizes)) fail('too many prizes');
  const waitingList = integer(config.waitingList, 'waitingList', 0);
  if (typeof config.weighted !== 'boolean') fail('weighted must be a boolean');

  if (!Array.isArray(config.categories)) fail('categories must be an array');
  if (config.categories.length > MAX_CATEGORIES) fail(`at most ${MAX_CATEGORIES} categories`);
  const names = new Map();
  const quotas = config.categories.map((category, i) => {
    exactMembers(category, ['name', 'quota'], `categories[${i}]`);
    const name = string(category.name, `categories[${i}].name`);
    if (names.has(name)) fail(`category name "${name}" is not unique`);
    names.set(name, i);
    return integer(category.quota, `categories[${i}].quota`, 0);
  });
  if (quotas.length > 0 && quotas.reduce((a, b) => a + b, 0) !== prizes) {
    fail('category quotas must add up to the number of prizes');
  }

  const cascade = config.cascade;
  if (!isObject(cascade)) fail('cascade must be an object');
  let order = [];
  if (cascade.rule === 'none' || cascade.rule === 'pooled') {
    exactMembers(cascade, ['rule'], 'cascade');
  } else if (cascade.rule === 'ordered') {
    exactMembers(cascade, ['rule', 'order'], 'cascade');
    if (!Array.isArray(cascade.order)) fail('cascade.order must be an array');
    order = cascade.order.map((name) => {
      if (typeof name !== 'string' || !names.has(name)) fail(`cascade.order names no category: ${JSON.stringify(name)}`);
      return names.get(name);
    });
    if (new Set(order).size !== order.length) fail('cascade.order names a category twice');
  } else {
    fail('cascade.rule must be "none", "pooled" or "ordered"');
  }
  if (quotas.length === 0 && cascade.rule !== 'none') fail('without categories the cascade is {"rule": "none"}');

  if (typeof config.entryDeadline !== 'string' || !validDeadline(config.entryDeadline)) {
    fail('entryDeadline must be YYYY-MM-DDTHH:MM:SSZ');
  }

  const beacon = validateBeaconConfig(config.beacon);

  if (!isHex(config.notaryCommitment, 32)) fail('notaryCommitment must be 32 bytes of lowercase hex');
  if (!Array.isArray(config.publicValues)) fail('publicValues must be an array');
  config.publicValues.forEach((value, i) => {
    exactMembers(value, ['name', 'source'], `publicValues[${i}]`);
    string(value.name, `publicValues[${i}].name`);
    string(value.source, `publicValues[${i}].source`);
  });

  return {
    drawId,
    tiers,
    prizes,
    waitingList,
    weighted: config.weighted,
    // Without categories, everyone is in the implicit category 0 whose quota is P.
    quotas: quotas.length > 0 ? quotas : [prizes],
    explicitCategories: quotas.length > 0,
    cascade: { rule: cascade.rule, order },
    beacon,
    notaryCommitment: config.notaryCommitment,
    publicValueCount: config.publicValues.length,
  };
}

function validateBeaconConfig(beacon) {
  exactMembers(beacon, BEACON_MEMBERS, 'beacon');
  string(beacon.network, 'beacon.network');
  if (!isHex(beacon.chainHash, 32)) fail('beacon.chainHash must be 32 bytes of lowercase hex');
  if (!isHex(beacon.publicKey, 96)) fail('beacon.publicKey must be a compressed G2 point (96 bytes of hex)');
  integer(beacon.genesis, 'beacon.genesis', 0);
  integer(beacon.period, 'beacon.period', 1);
  integer(beacon.round, 'beacon.round', 1);
  if (beacon.network === QUICKNET.network) {
    for (const name of ['chainHash', 'publicKey', 'genesis', 'period']) {
      if (beacon[name] !== QUICKNET[name]) fail(`beacon.${name} is not quicknet's`);
    }
  }
  const fallback = beacon.fallback;
  if (!isObject(fallback)) fail('beacon.fallback must be an object');
  let maxRounds = 0;
  if (fallback.rule === 'wait') {
    exactMembers(fallback, ['rule'], 'beacon.fallback');
  } else if (fallback.rule === 'next-round') {
    exactMembers(fallback, ['rule', 'maxRounds'], 'beacon.fallback');
    maxRounds = integer(fallback.maxRounds, 'beacon.fallback.maxRounds', 1, 10);
  } else {
    fail('beacon.fallback.rule must be "wait" or "next-round"');
  }
  return {
    network: beacon.network,
    publicKey: beacon.publicKey,
    genesis: beacon.genesis,
    period: beacon.period,
    round: beacon.round,
    // The rounds a verifier accepts: r itself, or with next-round r … r + maxRounds.
    firstRound: beacon.round,
    lastRound: beacon.round + maxRounds,
  };
}

export { ConfigError };
