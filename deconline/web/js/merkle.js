/**
 * RFC 9162 in the browser, exactly: leaf and node hashes, the inclusion-proof verifier of section
 * 2.1.3.2, and C2SP signed-note checkpoints with Ed25519, so a party can check the service's claim
 * that its entry is in the published tree without trusting the page's server for the answer.
 */
import { base64Decode } from './signing.js';

const utf8 = new TextEncoder();

async function sha256(...parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined));
}

export const leafHash = (data) => sha256(new Uint8Array([0]), data);
export const nodeHash = (left, right) => sha256(new Uint8Array([1]), left, right);
/** An entry's leaf data: SHA-256(salt ‖ canonical entry), the salted commitment the tree holds. */
export const commitment = (salt, entryText) => sha256(salt, utf8.encode(entryText));

export function equalBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** RFC 9162 section 2.1.3.2: true when ``proof`` leads from ``leaf`` at ``index`` to ``root`` of a tree of ``size``. */
export async function verifyInclusion(index, size, leaf, proof, root) {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(r, root);
}

/** Origin, size and root of a checkpoint note (signature not checked: see verifyNoteSignature). */
export function parseCheckpoint(note) {
  const [text] = note.split('\n\n');
  const lines = text.split('\n');
  if (lines.length < 3 || !/^(0|[1-9]\d*)$/.test(lines[1])) throw new Error('not a checkpoint: expected origin, size and root lines');
  return { origin: lines[0], size: Number(lines[1]), root: base64Decode(lines[2]) };
}

/** Verify the note's signature by the verifier key "name+hexid+base64(0x01 ‖ key)"; the error says which step failed. */
export async function verifyNoteSignature(note, verifierKey) {
  const [name, hexId, encoded] = splitKey(verifierKey.trim());
  const raw = base64Decode(encoded);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error('the service key is not an Ed25519 note verifier key');
  const id = Uint8Array.from(hexId.match(/../g).map((h) => parseInt(h, 16)));
  const expectedId = (await sha256(utf8.encode(`${name}\n`), raw)).slice(0, 4);
  if (!equalBytes(id, expectedId)) throw new Error("the service key's id does not match its name and key");
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0) throw new Error('not a signed note');
  const text = note.slice(0, cut + 1);
  const publicKey = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
  for (const line of note.slice(cut + 2).split('\n')) {
    if (!line.startsWith('— ')) continue;
    const [signer, blob64] = line.slice(2).split(' ');
    if (signer !== name) continue;
    const blob = base64Decode(blob64);
    if (!equalBytes(blob.slice(0, 4), id)) continue;
    if (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, blob.slice(4), utf8.encode(text))) return true;
    throw new Error(`the signature by ${name} does not verify`);
  }
  throw new Error(`no signature by ${name} on this checkpoint`);
}

function splitKey(text) {
  const first = text.indexOf('+');
  const second = text.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new Error('a verifier key is name+keyid+base64key');
  return [text.slice(0, first), text.slice(first + 1, second), text.slice(second + 1)];
}
