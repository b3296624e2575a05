/**
 * Witness cosignatures in the browser (issue 25; deconline/record/cosignature.py): C2SP
 * tlog-cosignature's Ed25519 ``cosignature/v1`` lines on a signed checkpoint,
 *
 *     — <name> base64(key id ‖ u64 big-endian timestamp ‖ Ed25519 signature)
 *
 * where key id = SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4] and the signature is over
 * "cosignature/v1\ntime <timestamp>\n" followed by the checkpoint's body. A witness key (vkey) is
 * written ``<name>+<hex key id>+<base64(0x04 ‖ public key)>``. A verified cosignature says: as of
 * that time, this is the tree the witness saw, consistent with every tree it saw before; so a
 * checkpoint a quorum of the parties' witnesses cosigned is not a view shown to one reader alone.
 */
import { equalBytes } from './merkle.js';
import { base64Decode } from './signing.js';

const utf8 = new TextEncoder();
const PREFIX = '\u2014 ';
const ALGORITHM = 0x04;
const BLOB_BYTES = 4 + 8 + 64;
const MAX_TIMESTAMP = 2n ** 63n - 1n;

export class CosignatureError extends Error {}

/** SHA-256(name ‖ "\n" ‖ 0x04 ‖ key)[:4]: a witness key's id. */
export async function cosignerKeyId(name, rawKey) {
  const label = utf8.encode(`${name}\n`);
  const joined = new Uint8Array(label.length + 1 + rawKey.length);
  joined.set(label, 0);
  joined[label.length] = ALGORITHM;
  joined.set(rawKey, label.length + 1);
  return new Uint8Array(await crypto.subtle.digest('SHA-256', joined)).slice(0, 4);
}

/** A witness from its vkey: {name, id (4 bytes), key (an Ed25519 CryptoKey that verifies)}; throws CosignatureError when malformed. */
export async function parseVkey(text) {
  const trimmed = String(text).trim();
  const first = trimmed.indexOf('+');
  const second = trimmed.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new CosignatureError("a witness key is '<name>+<key id hex>+<base64(0x04 ‖ Ed25519 key)>'");
  const name = trimmed.slice(0, first);
  const hexId = trimmed.slice(first + 1, second);
  if (!name || /[\s+]/.test(name)) throw new CosignatureError(`witness name ${JSON.stringify(name)} must be non-empty text without spaces or '+'`);
  if (!/^[0-9a-fA-F]{8}$/.test(hexId)) throw new CosignatureError('a witness key id is 8 hex digits');
  let raw;
  try {
    raw = base64Decode(trimmed.slice(second + 1));
  } catch {
    throw new CosignatureError('malformed witness key: its key is not base64');
  }
  if (raw.length !== 33 || raw[0] !== ALGORITHM) throw new CosignatureError('a witness key is an Ed25519 cosignature/v1 key (type 0x04, 32 bytes)');
  const id = Uint8Array.from(hexId.match(/../g).map((h) => parseInt(h, 16)));
  if (!equalBytes(id, await cosignerKeyId(name, raw.slice(1)))) throw new CosignatureError("the witness key's id does not match its name and key");
  const key = await crypto.subtle.importKey('raw', raw.slice(1), { name: 'Ed25519' }, false, ['verify']);
  return { name, id, key };
}

/** What a cosignature at ``timestamp`` (a BigInt) signs: the header line, the time line, the checkpoint's body. */
export function cosignedMessage(body, timestamp) {
  return utf8.encode(`cosignature/v1\ntime ${timestamp}\n${body}`);
}

/**
 * The cosignatures on the signed checkpoint ``noteText`` by the ``trusted`` witnesses (from
 * parseVkey), in the note's order: [{name, time (Date), timestamp (POSIX seconds), ok}]. A line
 * whose name and key id match no trusted witness (the log's own signature, a stranger's) is left
 * out; a line by a trusted witness that does not verify (tampered note or line, a timestamp
 * cosignature/v1 does not allow) is kept with ok false, so the caller can say so: only ok ones count.
 */
export async function cosignersOf(noteText, trusted) {
  const cut = noteText.lastIndexOf('\n\n');
  if (cut < 0) throw new CosignatureError('not a signed note: expected text, an empty line and signature lines');
  const body = noteText.slice(0, cut + 1);
  const found = [];
  for (const line of noteText.slice(cut + 2).split('\n')) {
    if (!line.startsWith(PREFIX)) continue;
    const space = line.indexOf(' ', PREFIX.length);
    if (space < 0) continue;
    const name = line.slice(PREFIX.length, space);
    let blob;
    try {
      blob = base64Decode(line.slice(space + 1));
    } catch {
      continue; // not base64: no key id to match
    }
    if (blob.length !== BLOB_BYTES) continue; // the log's own signature, or another kind
    const who = trusted.find((w) => w.name === name && equalBytes(w.id, blob.slice(0, 4)));
    if (!who) continue;
    const timestamp = new DataView(blob.buffer, blob.byteOffset + 4, 8).getBigUint64(0, false);
    let ok = false;
    if (timestamp > 0n && timestamp <= MAX_TIMESTAMP) {
      ok = await crypto.subtle.verify({ name: 'Ed25519' }, who.key, blob.slice(12), cosignedMessage(body, timestamp));
    }
    found.push({ name, time: new Date(Number(timestamp) * 1000), timestamp: Number(timestamp), ok });
  }
  return found;
}
