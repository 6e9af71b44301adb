// Byte helpers shared by every module: SHA-256 (`H`), the fixed-width big-endian
// integers `u16`/`u32`/`u64`, `lp(b)`, ASCII domain tags and lowercase hex, as the
// conventions paragraph of docs/draw-algorithm.md defines them.

import { sha256 } from '@noble/hashes/sha256';

/** `H`: SHA-256 of the concatenation of the given byte arrays. */
export function H(...parts) {
  return sha256(parts.length === 1 ? parts[0] : concat(...parts));
}

export function concat(...parts) {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const encoder = new TextEncoder();

/** `utf8(s)`, without any normalisation (the spec hashes what the organiser sent). */
export function utf8(s) {
  return encoder.encode(s);
}

/** A domain tag: the ASCII bytes of a literal such as "notary-hub-draw/1 seed". */
export const tag = utf8;

export function u16(n) {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`u16 out of range: ${n}`);
  return Uint8Array.of(n >>> 8, n & 0xff);
}

export function u32(n) {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`u32 out of range: ${n}`);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** `u64` of a Number (safe integer) or a BigInt. */
export function u64(n) {
  const big = BigInt(n);
  if (big < 0n || big >= 1n << 64n) throw new RangeError(`u64 out of range: ${n}`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, big);
  return out;
}

/** `lp(b) = u32(len(b)) ‖ b`: a length prefix, so that no two field lists share bytes. */
export function lp(b) {
  return concat(u32(b.length), b);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function toHex(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]];
  return s;
}

/**
 * Lowercase hex (no `0x`) to bytes. Uppercase is refused: the spec writes hex in lowercase,
 * and accepting two spellings would let two different files verify as the same one.
 * `length`, when given, is the expected number of bytes.
 */
export function fromHex(s, length) {
  if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) {
    throw new TypeError('not lowercase hex');
  }
  if (length !== undefined && s.length !== 2 * length) {
    throw new TypeError(`expected ${length} bytes of hex, got ${s.length / 2}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function isHex(s, length) {
  try {
    fromHex(s, length);
    return true;
  } catch {
    return false;
  }
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Lexicographic comparison of two byte strings (shorter first on a common prefix). */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}
