// RFC 8785 JSON Canonicalization Scheme, used for `configHash = H(JCS(config))` (§1) and
// `publicHash = H(JCS(values))` (§3.3) of docs/draw-algorithm.md. The serialisation itself
// is the `canonicalize` package's; this module adds the UTF-8 step and the check that a
// file *is* canonical (config.json must hold the JCS bytes, §6).

import canonicalize from 'canonicalize';
import { utf8, equalBytes } from './bytes.mjs';

/** JCS(value) as UTF-8 bytes. */
export function jcs(value) {
  return utf8(canonicalize(value));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses `bytes` as JSON and returns the value only if `bytes` is exactly its JCS form.
 * Any other spelling (whitespace, member order, `1.0`, a duplicate member, a BOM) is
 * refused, because two byte strings for one configuration would mean two config hashes.
 */
export function parseCanonical(bytes) {
  let value;
  try {
    value = JSON.parse(strictUtf8.decode(bytes));
  } catch (error) {
    throw new Error(`not JSON: ${error.message}`);
  }
  if (!equalBytes(jcs(value), bytes)) throw new Error('not in RFC 8785 canonical form');
  return value;
}
