/** The agreement in force, its rules, and who signed which version. */
import { attempt, el, utc } from './dom.js';

/** A level as signed; a version signed before the criteria existed reads its absent fields as documented. */
function level(l) {
  const held = l.early_s ?? l.within_s;
  const region = l.h_m !== undefined ? ` (${l.h_m} m / ${l.v_m} m)` : '';
  return `${l.name} ≤ ${l.within_s} s, held to ${held} s${region}`;
}

// Absent in a version signed before they existed: the line's defaults (README, "The agreement document").
function confirmation(c) {
  if (c === undefined) return 'the defaults (not written in this version)';
  return `${c.m} of ${c.n} evaluations; no lower level for ${c.persistence_s} s; cleared after ${c.clear_after_s} s quiet`;
}

function surveillance(s) {
  if (s === undefined) return 'the defaults (not written in this version)';
  return `vertical tolerance ${s.vertical_tolerance_m} m; level within ${s.level_rate_mps} m/s`;
}

function rules(doc) {
  const t = doc.tactical ?? {};
  const rows = [
    ['strategic horizontal', `${doc.h_strategic_m} m`],
    ['strategic vertical', `${doc.v_m} m`],
    ['time buffer', `${doc.time_buffer_s} s`],
    ['tactical minima', `${t.h_m} m / ${t.v_m} m, look-ahead ${t.lookahead_s} s`],
    ['stale track after', `${doc.max_track_age_s} s`],
    ['alert levels', (doc.alert_levels ?? []).map(level).join('; ')],
    ['alerts confirmed', confirmation(doc.confirmation)],
    ['surveillance', surveillance(doc.surveillance)],
    ['guidance for one’s own aircraft', doc.guidance ?? 'bands'],
    ['acknowledge within', Object.entries(doc.ack_deadlines_s ?? {}).map(([k, v]) => `${k.replaceAll('_', ' ')} ${v} s`).join(', ')],
    ['communications check every', `${doc.comm_check_interval_s} s`],
    ['escalation', Object.entries(doc.escalation ?? {}).map(([p, c]) => `${p} → ${c}`).join(', ') || 'none'],
    ['other parties’ tracks', doc.disclosure?.tracks_of_others ?? 'in_alert'],
    ['surveillance providers', (doc.surveillance_providers ?? []).join(', ') || 'none'],
  ];
  return el('dl', { class: 'rules' }, ...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]));
}

export function mount(root, ctx) {
  const current = el('div');
  const versions = el('table', { class: 'versions' });
  const problem = el('p', { class: 'error', role: 'alert' });
  root.append(el('div', { class: 'panel-head' }, el('h2', { text: 'Agreement' })), problem, current, el('h3', { text: 'Versions and signatures' }), versions);

  async function refresh() {
    const all = await attempt(ctx, problem, () => ctx.api.get('/v1/agreements'));
    if (!all) return;
    const inForce = all.find((a) => a.current);
    current.replaceChildren(
      inForce
        ? el('div', {}, el('h3', { text: `In force: version ${inForce.version}${inForce.document.title ? ` — ${inForce.document.title}` : ''}` }), el('p', { class: 'hint', text: `since ${utc(inForce.in_force_at)}; parties ${inForce.document.parties.join(', ')}` }), rules(inForce.document))
        : el('p', { class: 'warning-text', text: '⚠ No agreement is in force: nothing can be filed until every listed party has signed one.' }),
    );
    versions.replaceChildren(
      el('thead', {}, el('tr', {}, ...['version', 'proposed by', 'signed by', 'missing', 'state'].map((h) => el('th', { scope: 'col', text: h })))),
      el(
        'tbody',
        {},
        ...all.map((a) =>
          el(
            'tr',
            {},
            el('td', { text: String(a.version) }),
            el('td', { text: `${a.proposed_by} ${utc(a.created_at)}` }),
            el('td', { text: Object.entries(a.signed_by).map(([p, t]) => `${p} ${utc(t)}`).join(', ') || '—' }),
            el('td', { text: a.missing_signatures.join(', ') || '—' }),
            el('td', { text: a.current ? '● in force' : a.in_force_at ? 'superseded' : 'awaiting signatures' }),
          ),
        ),
      ),
    );
  }
  return { refresh };
}
