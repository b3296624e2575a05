/**
 * The record: the latest signed checkpoint and its age, and, for one's own entries, an inclusion
 * check run here in the browser (RFC 9162) against that checkpoint, whose signature is checked
 * against the service's key. When the agreement in force names witnesses (issue 25), their
 * cosignatures on the checkpoint are checked here too, against the keys the agreement gives, and
 * the quorum it asks for: a checkpoint short of it may be a view shown to this reader alone.
 */
import { cosignersOf, parseVkey } from './cosignature.js';
import { attempt, el, utc } from './dom.js';
import { commitment, leafHash, parseCheckpoint, verifyInclusion, verifyNoteSignature } from './merkle.js';
import { base64Decode } from './signing.js';

export function mount(root, ctx) {
  let checkpoint = null;
  const summary = el('dl', { class: 'checkpoint' });
  const signature = el('p', { class: 'signature', role: 'status' });
  const problem = el('p', { class: 'error', role: 'alert' });
  const entries = el('ul', { class: 'entries', 'aria-label': 'your entries' });
  const party = ctx.me.role === 'party';
  const indexInput = el('input', { id: 'record-index', type: 'number', min: '0', value: '0' });
  const byIndexResult = el('p', { role: 'status' });
  root.append(
    el('div', { class: 'panel-head' }, el('h2', { text: 'Record' }), el('button', { type: 'button', text: 'Refresh', onclick: () => refresh() })),
    problem,
    summary,
    signature,
    party ? el('h3', { text: 'Your entries' }) : el('h3', { text: 'Check a leaf by its index' }),
    party
      ? entries
      : el(
          'div',
          { class: 'actions' },
          el('label', { for: 'record-index', text: 'Index' }),
          indexInput,
          el('button', { type: 'button', text: 'Verify inclusion', onclick: () => checkIndex(Number(indexInput.value), byIndexResult, null) }),
          byIndexResult,
        ),
  );

  /** Leaf hash from the disclosed entry (a party's own) or, for an auditor, the proof's own leaf hash. */
  async function checkIndex(index, out, disclose) {
    await attempt(ctx, out, async () => {
      if (!checkpoint) throw new Error('no checkpoint has been published yet');
      if (index >= checkpoint.size) throw new Error(`entry ${index} is newer than the checkpoint (size ${checkpoint.size}): wait for the next one`);
      const proof = await ctx.api.get(`/v1/record/proof/inclusion?index=${index}&size=${checkpoint.size}`);
      let leaf = base64Decode(proof.leaf_hash);
      if (disclose) {
        const found = await ctx.api.get(`/v1/record/entries/${index}`);
        leaf = await leafHash(await commitment(base64Decode(found.salt), found.entry));
        if (!leaf.every((v, i) => v === base64Decode(proof.leaf_hash)[i])) throw new Error('✗ the disclosed entry does not match the leaf the service proves');
      }
      const ok = await verifyInclusion(index, checkpoint.size, leaf, proof.hashes.map(base64Decode), checkpoint.root);
      out.textContent = ok ? `✓ included in the checkpoint of size ${checkpoint.size}` : `✗ the proof does not lead to the checkpoint's root`;
      out.className = ok ? 'verified' : 'error';
    });
  }

  /** The "witnessed by" row's cell for ``note``, or null: no witnesses named, or no agreement readable (an auditor's token reads the record only). */
  async function witnessCell(note) {
    if (ctx.me.role === 'auditor') return null;
    let agreement;
    try {
      agreement = await ctx.api.get('/v1/agreements/current');
    } catch {
      return null; // none in force, or not this token's to read: the record stands without the row
    }
    const named = agreement?.document?.witnesses;
    if (!Array.isArray(named) || !named.length) return null;
    const quorum = agreement.document.witness_quorum ?? named.length;
    const lines = [];
    const trusted = [];
    const partyOf = new Map();
    for (const witness of named) {
      try {
        const cosigner = await parseVkey(witness.key);
        trusted.push(cosigner);
        partyOf.set(cosigner.name, witness.party);
      } catch (e) {
        lines.push(el('div', { class: 'error', text: `✗ the key of ${witness.party}'s witness in the agreement is unusable: ${e.message}` }));
      }
    }
    let cosigners = [];
    try {
      cosigners = await cosignersOf(note, trusted);
    } catch (e) {
      lines.push(el('div', { class: 'error', text: `✗ ${e.message}` }));
    }
    const verified = new Set();
    for (const c of cosigners) {
      const who = `${partyOf.get(c.name)} (${c.name})`;
      if (!c.ok) {
        lines.push(el('div', { class: 'error', text: `✗ the cosignature by ${who} does not verify: not counted` }));
      } else if (!verified.has(c.name)) {
        verified.add(c.name);
        lines.push(el('div', { class: 'verified', text: `✓ ${who} at ${isoSeconds(c)}` }));
      }
    }
    if (!verified.size) lines.unshift(el('div', { text: 'no witness has cosigned this checkpoint' }));
    const met = verified.size >= quorum;
    lines.push(
      el('div', {
        class: met ? 'verified' : 'error',
        'data-quorum': met ? 'met' : 'short',
        text: met
          ? `✓ quorum met: ${verified.size} cosigned, ${quorum} needed`
          : `✗ short of quorum: ${verified.size} cosigned, ${quorum} needed: this checkpoint may be a view shown to you alone`,
      }),
    );
    return el('dd', { class: 'witnesses' }, lines);
  }

  let generation = 0;

  async function refresh() {
    const turn = ++generation;
    const got = await attempt(ctx, problem, () => ctx.api.getText('/v1/record/checkpoint'));
    if (!got) return;
    const note = got.text;
    checkpoint = parseCheckpoint(note);
    const published = got.headers.get('X-Deconline-Checkpoint-Time');
    const age = published ? Math.max(0, Math.round((ctx.now() - Date.parse(published)) / 1000)) : null;
    summary.replaceChildren(
      el('dt', { text: 'log' }),
      el('dd', { text: checkpoint.origin }),
      el('dt', { text: 'entries' }),
      el('dd', { text: String(checkpoint.size) }),
      el('dt', { text: 'root' }),
      el('dd', { class: 'mono', text: note.split('\n')[2] }),
      el('dt', { text: 'published' }),
      el('dd', { text: published ? `${utc(published)} (${age} s ago)` : 'unknown' }),
    );
    const key = await attempt(ctx, problem, () => ctx.api.getText('/v1/record/key'));
    if (key) {
      try {
        await verifyNoteSignature(note, key.text);
        signature.textContent = '✓ checkpoint signature verified with the service key';
        signature.className = 'verified';
      } catch (e) {
        signature.textContent = `✗ ${e.message}`;
        signature.className = 'error';
      }
    }
    const witnessed = await witnessCell(note);
    if (witnessed && turn === generation) summary.append(el('dt', { text: 'witnessed by' }), witnessed);
    if (!party) return;
    const mine = await attempt(ctx, problem, () => ctx.api.get('/v1/record/mine?limit=20'));
    if (!mine) return;
    entries.replaceChildren(
      ...mine.map((entry) => {
        const out = el('span', { class: 'check', role: 'status' });
        return el(
          'li',
          { 'data-index': entry.index },
          el('span', { class: 'mono', text: `#${entry.index}` }),
          el('span', { text: ` ${entry.kind} ${utc(entry.time)} ` }),
          el('button', { type: 'button', text: 'Verify inclusion', onclick: () => checkIndex(entry.index, out, true) }),
          out,
        );
      }),
    );
    if (!mine.length) entries.append(el('li', { class: 'empty', text: 'You have submitted nothing yet.' }));
  }

  return { refresh };
}

/** A cosignature's time as ISO 8601 UTC to the second (its POSIX seconds when no calendar date holds it). */
function isoSeconds({ time, timestamp }) {
  return Number.isNaN(time.getTime()) ? `POSIX time ${timestamp}` : time.toISOString().replace(/\.000Z$/, 'Z');
}
