// §4.2: the LOG2 table and the weighted key. The fast Number path must equal the spec's
// BigInt transcription bit for bit; the table must approximate log2 to within a unit or two.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { log2Table, log2Exact, log2Reference, log2OfSuccessor, weightedKey, weightedKeyReference } from '../src/log2.mjs';
import { Stream } from '../testing/draws.mjs';

const TWO32 = 2 ** 32;

test('the table ends at 16 · 2^32 and 17 · 2^32 and tracks log2', () => {
  const T = log2Table();
  assert.equal(T.length, 65537);
  assert.equal(T[0], 16 * TWO32);
  assert.equal(T[65536], 17 * TWO32);
  assert.equal(log2Exact(131072), 17n << 32n);
  for (const j of [1, 2, 3, 1000, 32768, 49151, 65535]) {
    const exact = (16 + Math.log2(1 + j / 65536)) * TWO32;
    // FRAC truncates (each step drops bits), so it never exceeds the true value by more than rounding.
    assert.ok(Math.abs(T[j] - exact) < 3, `j = ${j}: ${T[j]} vs ${exact}`);
  }
  for (let j = 1; j < 65537; j++) assert.ok(T[j] > T[j - 1]);
});

test('LOG2 of powers of two is exact and of 2^64 is 64 · 2^32', () => {
  for (let k = 0; k <= 64; k++) assert.equal(log2Reference(1n << BigInt(k)), BigInt(k) << 32n);
  assert.throws(() => log2Reference(0n));
  assert.throws(() => log2Reference((1n << 64n) + 1n));
});

function words(x) {
  return [Number(x >> 32n), Number(x & 0xffffffffn)];
}

test('the fast LOG2(x + 1) equals the BigInt transcription', () => {
  const edges = [0n, 1n, 2n, 0xfffen, 0xffffn, 0x10000n, (1n << 48n) - 1n, 1n << 48n, (1n << 49n) - 1n, 1n << 49n,
    (1n << 53n) + 1n, 0xffffffffn, 1n << 32n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 2n, (1n << 64n) - 1n];
  for (let k = 0; k < 64; k++) edges.push((1n << BigInt(k)) - 1n, 1n << BigInt(k), (1n << BigInt(k)) + 1n);
  const stream = new Stream('log2');
  for (let k = 0; k < 3000; k++) {
    const b = stream.bytes(9);
    // Random values of every bit length, not only ~64-bit ones.
    const x = BigInt(`0x${Buffer.from(b.subarray(0, 8)).toString('hex')}`) >> BigInt(b[8] % 64);
    edges.push(x);
  }
  for (const x of edges) {
    const [hi, lo] = words(x);
    assert.equal(BigInt(log2OfSuccessor(hi, lo)), log2Reference(x + 1n), `x = ${x}`);
  }
});

test('the fast weighted key equals ((64 · 2^32 − LOG2(x + 1)) · 2^32) // w', () => {
  const stream = new Stream('weighted key');
  const weights = [1, 2, 3, 7, 10, 65535, 65536, 65537, 2 ** 31, 0xfffffffe, 0xffffffff];
  const out = [0, 0];
  const check = (x, w) => {
    const [hi, lo] = words(x);
    weightedKey(hi, lo, w, out);
    assert.ok(out[1] >= 0 && out[1] < TWO32 && Number.isInteger(out[0]));
    assert.equal((BigInt(out[0]) << 32n) + BigInt(out[1]), weightedKeyReference(x, w), `x = ${x}, w = ${w}`);
  };
  for (const x of [0n, 1n, (1n << 64n) - 1n, (1n << 64n) - 2n, 1n << 63n]) for (const w of weights) check(x, w);
  for (let k = 0; k < 3000; k++) {
    const x = BigInt(`0x${Buffer.from(stream.bytes(8)).toString('hex')}`);
    const w = k % 3 === 0 ? weights[k % weights.length] : 1 + stream.below(0xffffffff);
    check(x, w);
  }
  // The extremes: x = 2^64 − 1 is U = 1, key 0; x = 0 with w = 1 is the largest key, 64 · 2^64.
  assert.equal(weightedKeyReference((1n << 64n) - 1n, 1), 0n);
  assert.equal(weightedKeyReference(0n, 1), 64n << 64n);
});

test('weighted keys order like −ln(U) / w', () => {
  const stream = new Stream('key order');
  const out = [0, 0];
  for (let k = 0; k < 500; k++) {
    const x = BigInt(`0x${Buffer.from(stream.bytes(8)).toString('hex')}`);
    const w = 1 + stream.below(1000);
    const [hi, lo] = words(x);
    weightedKey(hi, lo, w, out);
    const real = -Math.log(Number(x + 1n) / 2 ** 64) / w;
    const fixed = (out[0] * TWO32 + out[1]) / 2 ** 64 * Math.LN2;
    assert.ok(Math.abs(real - fixed) <= 1e-9 * Math.max(1, real), `x = ${x}, w = ${w}: ${real} vs ${fixed}`);
  }
});
