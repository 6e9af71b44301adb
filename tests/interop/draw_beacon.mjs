// Signs drand rounds with verifier-js's local test beacon (the quicknet scheme,
// bls-unchained-g1-rfc9380, under a test key) for the two-implementation draw tests.
// Usage: node tests/interop/draw_beacon.mjs ROUND... → {"publicKey": hex, "rounds": {r: beacon}}

import { signRound, TEST_BEACON_PUBLIC } from '../../verifier-js/testing/draws.mjs';

const rounds = Object.fromEntries(process.argv.slice(2).map((r) => [r, signRound(Number(r))]));
process.stdout.write(`${JSON.stringify({ publicKey: TEST_BEACON_PUBLIC, rounds })}\n`);
