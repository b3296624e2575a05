/**
 * Ed25519 in the browser: the party's PEM key imported as a non-extractable WebCrypto key, and the
 * signed envelopes every submission travels in (issue 24; deconline/record/envelope.py):
 *
 *     statement = canonical JSON of {"action", "body", "created", "line", "nonce"}
 *     signature = Ed25519(PAE(PAYLOAD_TYPE, statement))
 *
 * PAE is DSSE v1's pre-authentication encoding. The statement's exact bytes are what is signed,
 * sent and kept: nothing re-serialises them after signing.
 */
import { canonicalBytes, canonicalize } from './canonical.js';

export class KeyError extends Error {}

/** A statement that cannot be sealed: a field the service would refuse, named. */
export class EnvelopeError extends Error {}

/** The DSSE payload type of a statement (also the Content-Type it is sent with). */
export const PAYLOAD_TYPE = 'application/vnd.deconline.statement+json';
const NONCE_BYTES = 16; // 128 random bits: never repeated by chance
// the service's own checks (envelope.py), so a bad field is named here rather than by a refusal
const NAME = /^[a-z0-9][a-z0-9._:/-]{0,127}$/;
const CREATED = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const NONCE = /^[A-Za-z0-9_-]{22,128}$/;

export function base64Encode(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text);
}

export function base64Decode(text) {
  const raw = atob(text.replace(/\s+/g, ''));
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) out[i] = raw.charCodeAt(i);
  return out;
}

/** Base64url without padding (RFC 4648 §5), as nonces are written. */
export function base64UrlEncode(bytes) {
  return base64Encode(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function requireWebCrypto() {
  if (!globalThis.crypto || !crypto.subtle) {
    throw new KeyError(
      'this page has no WebCrypto (browsers offer it only to secure pages): open the console over https, or on 127.0.0.1 / localhost',
    );
  }
}

/** Import a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----") Ed25519 key; the key cannot be read back out. */
export async function importPrivateKeyPem(pemText) {
  requireWebCrypto();
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pemText);
  if (!match) {
    throw new KeyError(
      'this file is not a PEM private key: choose the NAME.key file written by `deconline party add` or `make run` (it starts with "-----BEGIN PRIVATE KEY-----")',
    );
  }
  let der;
  try {
    der = base64Decode(match[1]);
  } catch {
    throw new KeyError('the key file is damaged: its PEM body is not base64');
  }
  try {
    return await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  } catch (e) {
    throw new KeyError(`the key file does not hold an Ed25519 private key (${e.message || e.name})`);
  }
}

export async function signBytes(key, bytes) {
  return base64Encode(await crypto.subtle.sign({ name: 'Ed25519' }, key, bytes));
}

/** Base64 Ed25519 signature over the RFC 8785 canonical JSON of ``document`` (as the CLI signs). */
export async function signDocument(key, document) {
  return signBytes(key, canonicalBytes(document));
}

/** True when ``key`` signs what the registered public key (base64 of 32 raw bytes) verifies. */
export async function keyMatches(key, publicKeyB64) {
  const probe = new TextEncoder().encode(`deconline key check ${Date.now()}`);
  const signature = base64Decode(await signBytes(key, probe));
  const publicKey = await crypto.subtle.importKey('raw', base64Decode(publicKeyB64), { name: 'Ed25519' }, false, ['verify']);
  return crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, probe);
}

/** A fresh nonce: 16 random bytes as base64url without padding (22 characters). */
export function newNonce() {
  return base64UrlEncode(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));
}

/** UTC now as YYYY-MM-DDTHH:MM:SS.mmmZ (what ``created`` holds). */
export function utcNow() {
  return new Date().toISOString();
}

/** DSSE v1's pre-authentication encoding: "DSSEv1 " len(type) " " type " " len(payload) " " payload. */
export function pae(type, payloadBytes) {
  const encoder = new TextEncoder();
  const payload = typeof payloadBytes === 'string' ? encoder.encode(payloadBytes) : new Uint8Array(payloadBytes);
  const kind = encoder.encode(type);
  const head = encoder.encode(`DSSEv1 ${kind.length} ${type} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/**
 * ``body`` signed as ``action`` on ``line``, now (or at ``created``) and once (a new nonce, or
 * ``nonce``): the statement's bytes (send exactly these), their text, and the base64 signature.
 */
export async function sealStatement(key, { line, action, body, created = undefined, nonce = undefined }) {
  const when = created ?? utcNow();
  const once = nonce ?? newNonce();
  for (const [name, value] of [['line', line], ['action', action]]) {
    if (typeof value !== 'string' || !NAME.test(value)) {
      throw new EnvelopeError(`${name} must be 1-128 characters of a-z, 0-9 and . _ : / - (got ${JSON.stringify(value)})`);
    }
  }
  if (typeof when !== 'string' || !CREATED.test(when)) {
    throw new EnvelopeError(`created must be UTC as YYYY-MM-DDTHH:MM:SS[.ffffff]Z (got ${JSON.stringify(when)})`);
  }
  if (typeof once !== 'string' || !NONCE.test(once)) {
    throw new EnvelopeError(`nonce must be base64url (no padding) of at least ${NONCE_BYTES} random bytes`);
  }
  if (body === undefined) throw new EnvelopeError('a statement needs a body (send {} for none)');
  let text;
  try {
    text = canonicalize({ action, body, created: when, line, nonce: once });
  } catch (e) {
    throw new EnvelopeError(`the body cannot be signed: ${e.message || e}`);
  }
  const statement = new TextEncoder().encode(text);
  requireWebCrypto();
  const signature = await signBytes(key, pae(PAYLOAD_TYPE, statement));
  return { statement, text, signature };
}
