// §4.2 of docs/draw-algorithm.md: the fixed-point LOG2 and the weighted key
//   key(i) = ((64 · 2^32 − LOG2(x + 1)) · 2^32) // w_i
// bit for bit. The table is built with BigInt exactly as the spec states it; the per-entrant
// path runs on Numbers (every intermediate is an integer below 2^53, so doubles are exact)
// because a million BigInt evaluations would dominate a verification. `log2Reference` and
// `weightedKeyReference` transcribe the spec literally in BigInt; the tests hold the fast
// path to them.

const TWO32 = 2 ** 32;
const TABLE_SIZE = 65537;

/** FRAC(v) for 65536 ≤ v < 131072: 32 steps of repeated squaring on a 62-bit mantissa. */
function frac(v) {
  let m = BigInt(v) << 46n;
  let acc = 0n;
  for (let k = 1n; k <= 32n; k++) {
    m = (m * m) >> 62n;
    if (m >= 1n << 63n) {
      m >>= 1n;
      acc += 1n << (32n - k);
    }
  }
  return acc;
}

/** LOG2EXACT(v) = 16 · 2^32 + FRAC(v), and 17 · 2^32 at v = 131072 (the spec's own case). */
export function log2Exact(v) {
  if (v === 131072) return 17n << 32n;
  return (16n << 32n) + frac(v);
}

let table = null;

/** T[j] = LOG2EXACT(65536 + j), 0 ≤ j ≤ 65536, as Numbers (all below 2^37). Built once. */
export function log2Table() {
  if (table === null) {
    const t = new Float64Array(TABLE_SIZE);
    for (let j = 0; j < TABLE_SIZE; j++) t[j] = Number(log2Exact(65536 + j));
    table = t;
  }
  return table;
}

function bitLength(y) {
  return y.toString(2).length;
}

/** LOG2(y) for a BigInt 1 ≤ y ≤ 2^64, exactly as §4.2 writes it. */
export function log2Reference(y) {
  if (y < 1n || y > 1n << 64n) throw new RangeError('LOG2 is defined for 1 ≤ y ≤ 2^64');
  const T = log2Table();
  const e = BigInt(bitLength(y) - 1);
  const z = e <= 48n ? y << (48n - e) : y >> (e - 48n);
  const j = Number((z >> 32n) - 65536n);
  const f = z & 0xffffffffn;
  const tj = BigInt(T[j]);
  const tj1 = BigInt(T[j + 1]);
  return (e - 16n) * (1n << 32n) + tj + (((tj1 - tj) * f) >> 32n);
}

/** key for a BigInt x (first 8 bytes of the score) and weight w, in BigInt. */
export function weightedKeyReference(x, w) {
  return (((64n << 32n) - log2Reference(x + 1n)) << 32n) / BigInt(w);
}

/**
 * LOG2(x + 1) where x = hi · 2^32 + lo (two u32 words). Returns a Number below 2^39.
 */
export function log2OfSuccessor(hi, lo) {
  const T = log2Table();
  // y = x + 1 = 2^64 has 65 bits: e = 64, z = 2^48, j = 0, f = 0.
  if (hi === 0xffffffff && lo === 0xffffffff) return 48 * TWO32 + T[0];
  let yHi = hi;
  let yLo = lo + 1;
  if (yLo === TWO32) {
    yLo = 0;
    yHi += 1;
  }
  const e = yHi !== 0 ? 63 - Math.clz32(yHi) : 31 - Math.clz32(yLo);
  let z;
  if (e <= 48) {
    // y < 2^49 fits a double exactly; scaling by a power of two stays exact.
    z = (yHi * TWO32 + yLo) * 2 ** (48 - e);
  } else {
    // y // 2^s with s = e − 48 ≤ 15: yHi · 2^(32 − s) < 2^49 and the low word's share is floored.
    const s = e - 48;
    z = yHi * 2 ** (32 - s) + Math.floor(yLo / 2 ** s);
  }
  const top = Math.floor(z / TWO32);
  const j = top - 65536;
  const f = z - top * TWO32;
  // (T[j+1] − T[j]) < 2^17 and f < 2^32: the product stays below 2^49.
  return (e - 16) * TWO32 + T[j] + Math.floor(((T[j + 1] - T[j]) * f) / TWO32);
}

/**
 * The weighted key floor(A · 2^32 / w), A = 64 · 2^32 − LOG2(x + 1) < 2^39, as two parts
 * (`hi`, `lo`) with key = hi · 2^32 + lo: long division in base 2^16 keeps every product
 * below 2^53. Writes into `out[0]`, `out[1]`.
 */
export function weightedKey(hi, lo, w, out) {
  const a = 64 * TWO32 - log2OfSuccessor(hi, lo);
  let q1 = Math.floor(a / w);
  let r1 = a - q1 * w;
  // The float quotient could in principle land one off; the remainder says which way.
  if (r1 < 0) {
    q1 -= 1;
    r1 += w;
  } else if (r1 >= w) {
    q1 += 1;
    r1 -= w;
  }
  const n2 = r1 * 65536;
  const q2 = Math.floor(n2 / w);
  const r2 = n2 - q2 * w;
  const q3 = Math.floor((r2 * 65536) / w);
  out[0] = q1;
  out[1] = q2 * 65536 + q3;
  return out;
}
