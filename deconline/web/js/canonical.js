/**
 * RFC 8785 (JSON Canonicalization Scheme): the one byte string every signature covers.
 *
 * ECMAScript's own JSON.stringify already serialises numbers and strings exactly as JCS requires
 * (JCS is defined in its terms); what is left is sorting object keys by UTF-16 code units, which
 * is what Array.prototype.sort does by default. Tested byte for byte against the Python side on
 * shared vectors (tests/web/canonical_vectors.json).
 */
export function canonicalize(value) {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot canonicalise ${value}: JSON has no NaN or Infinity`);
    return JSON.stringify(value);
  }
  if (typeof value === 'string') {
    if (typeof value.isWellFormed === 'function' && !value.isWellFormed()) {
      throw new TypeError('cannot canonicalise a string with a lone surrogate');
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalize(item === undefined ? null : item)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot canonicalise a value of type ${typeof value}`);
}

/** The canonical form as UTF-8 bytes (what is signed and hashed). */
export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalize(value));
}
