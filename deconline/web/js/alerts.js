/**
 * Active alerts, most urgent first; a warning cannot be missed (colour, shape, text, optional sound).
 * The selected alert (else the most urgent) shows the guidance for one's own aircraft; an alert
 * with a coordinated resolution shows it with Accept and Reject.
 */
import { attempt, clock, coalesce, el, ft, keepingFocus, nm } from './dom.js';
import { answerResolution, guidanceStore, guidanceView, proposedTrack, resolutionView } from './guidance.js';

const RANK = { loss_of_separation: 0, inside_hazard: 0, warning: 1, advisory: 2 };
const MARK = { loss_of_separation: '■', inside_hazard: '■', warning: '▲', advisory: '○' };
const urgent = (level) => (RANK[level] ?? 2) <= 1;

export function mount(root, ctx) {
  let alerts = [];
  let cleared = [];
  let tracks = new Map();
  let fetchedAt = Date.now();
  let known = new Set();
  let chosen = null; // the alert whose guidance is shown (null: the most urgent)
  const answers = new Map(); // alert id -> {answer, other_answer} seen live since the last fetch
  const answerErrors = new Map(); // alert id -> the last failed answer's reason
  const store = guidanceStore(ctx);
  const sound = el('input', { type: 'checkbox', id: 'alert-sound' });
  const list = el('ol', { class: 'alert-list', 'aria-label': 'active alerts' });
  const problem = el('p', { class: 'error', role: 'alert' });
  root.append(
    el('div', { class: 'panel-head' }, el('h2', { text: 'Alerts' }), el('label', { for: 'alert-sound', class: 'inline' }, sound, ' sound on warnings')),
    problem,
    list,
  );

  function beep() {
    if (!sound.checked) return;
    try {
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      tone.frequency.value = 880;
      tone.connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.4);
    } catch {
      /* no audio device: the visual alarm stands */
    }
  }

  /** A nonconformance lists its party's aircraft outside their operations: the first few by name. */
  function outsideWho(a) {
    if (!a.aircraft) return `${a.own_track} outside its operations`;
    const shown = a.aircraft.slice(0, 5).join(', ');
    const more = a.aircraft.length > 5 ? ` and ${a.aircraft.length - 5} more` : '';
    return `${a.aircraft.length} aircraft outside their operations: ${shown}${more}`;
  }

  function position(alert) {
    const first = alert.aircraft?.[0] ?? alert.own_track;
    const own = [...tracks.values()].find((t) => t.id === first);
    if (own) return own;
    return alert.intruder?.state ?? null;
  }

  function render() {
    keepingFocus(list, draw);
  }

  /** The alert whose guidance is open: the chosen one while active, else the most urgent with guidance. */
  function expandedAlert() {
    const mine = chosen && alerts.find((a) => a.id === chosen);
    if (mine) return mine;
    const guided = alerts.filter((a) => a.kind === 'separation' || a.kind === 'hazard');
    return guided.find((a) => store.get(a.id)) ?? guided.find((a) => store.get(a.id) === undefined) ?? null;
  }

  async function answer(alert, which) {
    const r = alert.resolution;
    answerErrors.delete(alert.id);
    render();
    const { ok, error } = await answerResolution(ctx, r.message, which);
    if (ok) {
      answers.set(alert.id, { ...(answers.get(alert.id) ?? {}), answer: which === 'accept' ? 'accepted' : 'rejected' });
      ctx.toast(`resolution ${which === 'accept' ? 'accepted' : 'rejected'}: ${alert.own_track}`, 'ok');
    } else {
      answerErrors.set(alert.id, error);
    }
    render();
    if (ok) refresh();
  }

  function details(a, open) {
    const parts = [];
    const proposal = resolutionView(ctx, a, { live: answers.get(a.id), error: answerErrors.get(a.id), onAnswer: (which) => answer(a, which) });
    if (proposal) parts.push(proposal);
    if (open) {
      const guidance = store.get(a.id);
      const view = guidanceView(guidance, {
        track: store.track(a.own_track),
        proposed: proposedTrack(a.resolution, answers.get(a.id)),
        stale: store.staleness(a.id),
        title: 'Guidance',
      });
      if (view) parts.push(view);
      else if (!guidance && !store.reason(a.id)) parts.push(el('p', { class: 'hint gd-waiting', text: 'Guidance: computing…' }));
      else if (store.reason(a.id)) parts.push(el('p', { class: 'hint', text: `No guidance: ${store.reason(a.id)}.` }));
    }
    return parts.length ? el('div', { class: 'alert-details', id: `alert-details-${a.id}` }, ...parts) : null;
  }

  function draw() {
    const elapsed = (Date.now() - fetchedAt) / 1000;
    const expanded = expandedAlert();
    store.show('alerts', expanded ? [expanded.id] : [], root);
    const rows = alerts.map((a) => {
      const where = position(a);
      const level = a.level.replaceAll('_', ' ').toUpperCase();
      const who =
        a.kind === 'separation'
          ? `${a.own_track} ↔ ${a.intruder.party} ${a.intruder.track}`
          : a.kind === 'hazard'
            ? `${a.own_track} → hazard ${a.hazard_id}`
            : outsideWho(a);
      const until = a.los ? 'now' : `in ${clock(Math.max(0, a.t_los - elapsed))}`;
      const item = el(
        'li',
        { class: `alert alert-${urgent(a.level) ? 'urgent' : 'advisory'}`, 'data-alert-id': a.id, 'data-level': a.level },
        el(
          'button',
          {
            type: 'button',
            class: 'alert-button',
            'aria-label': `${level} ${a.kind}: ${who}, loss of separation ${until}; centre the map on it${a.kind === 'nonconformance' ? '' : ' and show its guidance'}`,
            'aria-expanded': a.kind === 'nonconformance' ? null : String(expanded?.id === a.id),
            onclick: () => {
              chosen = a.id;
              render();
              if (where) ctx.bus.emit('focus', { lon: where.lon, lat: where.lat, zoom: 9 });
            },
          },
          el('span', { class: 'alert-mark', 'aria-hidden': 'true', text: MARK[a.level] ?? '○' }),
          el('span', { class: 'alert-level', text: level }),
          el('span', { class: 'alert-kind', text: a.kind }),
          el('span', { class: 'alert-who', text: who }),
          el('span', { class: 'alert-when', text: a.kind === 'nonconformance' ? '' : `loss ${until}` }),
          a.kind === 'nonconformance'
            ? null
            : el('span', { class: 'alert-cpa', text: `closest ${nm(a.d_cpa_m)} / ${ft(Math.abs(a.dz_cpa_m))} in ${clock(Math.max(0, a.t_cpa - elapsed))}` }),
          a.resolution ? el('span', { class: 'alert-res-mark', text: '⇄ resolution proposed' }) : null,
        ),
        details(a, expanded?.id === a.id),
      );
      return item;
    });
    const old = cleared
      .filter((c) => Date.now() - c.at < 60_000)
      .map((c) => el('li', { class: 'alert alert-cleared', 'data-alert-id': c.alert.id }, el('span', { text: `✓ cleared: ${c.alert.kind} ${c.alert.aircraft ? 'all aircraft back in their operations' : c.alert.own_track}` })));
    list.replaceChildren(...rows, ...old);
    if (!rows.length && !old.length) list.append(el('li', { class: 'empty', text: 'No active alerts.' }));
  }

  const refresh = coalesce(async () => {
    const fresh = await attempt(ctx, problem, () => ctx.api.get('/v1/alerts'));
    if (!fresh) return;
    fresh.sort((a, b) => (RANK[a.level] ?? 2) - (RANK[b.level] ?? 2) || a.t_los - b.t_los);
    if (fresh.some((a) => urgent(a.level) && !known.has(`${a.id}:${a.level}`))) beep();
    known = new Set(fresh.map((a) => `${a.id}:${a.level}`));
    alerts = fresh;
    fetchedAt = Date.now();
    // the service's word on each answer, once it sends one, stands over what events told us before
    // (an event's refresh always follows it, so nothing newer is lost)
    for (const id of [...answers.keys()]) {
      const about = alerts.find((a) => a.id === id);
      if (!about || about.resolution) answers.delete(id);
    }
    const worst = alerts.length ? alerts[0].level : null;
    ctx.bus.emit('alerts', alerts);
    ctx.bus.emit('alert-count', { total: alerts.length, worst });
    render();
  });

  ctx.bus.on('alert', ({ alert }) => {
    if (alert.state === 'cleared') cleared.push({ alert, at: Date.now() });
    cleared = cleared.filter((c) => Date.now() - c.at < 60_000);
    return refresh();
  });
  ctx.bus.on('resync', refresh);
  ctx.bus.on('resolution', (event) => {
    if (!event || !event.alert) return undefined;
    const seen = { ...(answers.get(event.alert) ?? {}) };
    if (event.answer !== undefined) seen.answer = event.answer;
    if (event.other_answer !== undefined) seen.other_answer = event.other_answer;
    answers.set(event.alert, seen);
    const about = alerts.find((a) => a.id === event.alert);
    const other = about?.intruder?.party ?? 'the other side';
    if (event.other_answer === 'rejected') ctx.toast(`${other} rejected the coordinated resolution for ${about?.own_track ?? 'your aircraft'}`, 'error');
    else if (event.other_answer === 'overdue') ctx.toast(`${other} did not answer the coordinated resolution in time`, 'error');
    else if (event.other_answer === 'accepted') ctx.toast(`${other} accepted the coordinated resolution`, 'ok');
    render();
    return refresh();
  });
  ctx.bus.on('guidance-changed', () => render());
  ctx.bus.on('tracks', (list_) => {
    tracks = new Map(list_.map((t) => [`${t.party}/${t.id}`, t]));
  });
  setInterval(() => {
    if (alerts.length || cleared.length) render();
  }, 1000);
  return { refresh };
}
