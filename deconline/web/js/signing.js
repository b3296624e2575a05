/** Ed25519 in the browser: the party's PEM key imported as a non-extractable WebCrypto key. */
import { canonicalBytes } from './canonical.js';

export class KeyError extends Error {}

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
