/**
 * The aircraft table (like tar1090's): sortable, a selected-aircraft box, cheap at thousands of
 * tracks. One's own selected aircraft in an alert shows its guidance (compass rose, altitude tape).
 */
import { el, fl, keepingFocus } from './dom.js';
import { guidanceStore, guidanceView, proposedTrack } from './guidance.js';

const MAX_ROWS = 200;
const COLUMNS = [
  ['id', 'id', (t) => t.id],
  ['party', 'party', (t) => t.party],
  ['alt_m', 'altitude', (t) => `${Math.round(t.alt_m)} m ${fl(t.alt_m)}`],
  ['gs_mps', 'speed', (t) => `${Math.round(t.gs_mps)} m/s ${Math.round(t.gs_mps * 1.943844)} kt`],
  ['track_deg', 'track', (t) => `${Math.round(t.track_deg)}°`],
  ['vrate_mps', 'v/s', (t) => `${t.vrate_mps.toFixed(1)} m/s`],
  ['age', 'age', (t) => `${Math.round(t.age)} s`],
];

export function mount(root, ctx) {
  let tracks = [];
  let sortKey = 'id';
  let descending = false;
  let selected = null;
  let alerts = [];
  const store = guidanceStore(ctx);
  const box = el('div', { class: 'selected-aircraft', role: 'status', 'aria-live': 'polite' });
  // outside the live region: it redraws every second
  const guidanceBox = el('div', { class: 'selected-guidance' });
  const count = el('p', { class: 'hint' });
  const head = el('tr');
  const body = el('tbody');
  root.append(el('div', { class: 'panel-head' }, el('h2', { text: 'Aircraft' })), box, guidanceBox, count, el('table', { class: 'aircraft' }, el('thead', {}, head), body));

  function renderHead() {
    head.replaceChildren(
      ...COLUMNS.map(([key, title]) =>
        el(
          'th',
          { scope: 'col', 'aria-sort': key === sortKey ? (descending ? 'descending' : 'ascending') : 'none' },
          el('button', {
            type: 'button',
            class: 'sort',
            text: `${title}${key === sortKey ? (descending ? ' ▼' : ' ▲') : ''}`,
            onclick: () => {
              descending = key === sortKey ? !descending : false;
              sortKey = key;
              renderHead();
              render();
            },
          }),
        ),
      ),
    );
  }

  function render() {
    if (root.offsetParent === null) return;
    keepingFocus(root, draw);
  }

  function draw() {
    const now = ctx.now();
    const rows = tracks.map((t) => ({ ...t, age: (now - Date.parse(t.time)) / 1000 }));
    rows.sort((a, b) => {
      const x = a[sortKey];
      const y = b[sortKey];
      const order = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return descending ? -order : order;
    });
    count.textContent = rows.length > MAX_ROWS ? `showing ${MAX_ROWS} of ${rows.length.toLocaleString('en')}` : `${rows.length} aircraft`;
    body.replaceChildren(
      ...rows.slice(0, MAX_ROWS).map((t) =>
        el(
          'tr',
          { class: selected && selected.id === t.id && selected.party === t.party ? 'selected' : '', tabindex: '0', 'data-track': t.id, onclick: () => choose(t), onkeydown: (e) => e.key === 'Enter' && choose(t) },
          ...COLUMNS.map(([, , show]) => el('td', { text: show(t) })),
        ),
      ),
    );
    const chosen = selected && rows.find((t) => t.id === selected.id && t.party === selected.party);
    box.replaceChildren(
      chosen
        ? el('p', {}, el('strong', { text: `${chosen.id} (${chosen.party})` }), ` ${chosen.lat.toFixed(4)}, ${chosen.lon.toFixed(4)} · ${Math.round(chosen.alt_m)} m ${fl(chosen.alt_m)} · ${Math.round(chosen.gs_mps)} m/s · ${Math.round(chosen.track_deg)}° · ${Math.round(chosen.age)} s old`)
        : el('p', { class: 'hint', text: 'Select an aircraft on the map or in the table.' }),
    );
    drawGuidance(chosen);
  }

  /** The guidance of one's own chosen aircraft, from its most urgent alert that has some. */
  function drawGuidance(chosen) {
    const own = chosen && chosen.party === ctx.me.party;
    const mine = own ? alerts.filter((a) => a.own_track === chosen.id && (a.kind === 'separation' || a.kind === 'hazard')) : [];
    store.show('aircraft', mine.map((a) => a.id), root);
    const alert = mine.find((a) => store.get(a.id));
    const who = alert ? (alert.kind === 'separation' ? `${alert.intruder?.party ?? ''} ${alert.intruder?.track ?? ''}`.trim() : `hazard ${alert.hazard_id ?? ''}`.trim()) : '';
    const view = alert
      ? guidanceView(store.get(alert.id), {
          track: chosen,
          proposed: proposedTrack(alert.resolution),
          stale: store.staleness(alert.id),
          title: `Guidance (${alert.level.replaceAll('_', ' ')} with ${who})`,
        })
      : null;
    let note = null;
    if (!view && mine.some((a) => !store.get(a.id) && !store.reason(a.id))) note = 'Guidance: computing…';
    else if (!view && mine.some((a) => store.reason(a.id))) note = `No guidance: ${store.reason(mine.find((a) => store.reason(a.id)).id)}.`;
    guidanceBox.replaceChildren(...(view ? [view] : note ? [el('p', { class: 'hint gd-waiting', text: note })] : []));
  }

  function choose(t) {
    selected = { party: t.party, id: t.id };
    ctx.bus.emit('select-track', selected);
    ctx.bus.emit('focus', { lon: t.lon, lat: t.lat });
  }

  ctx.bus.on('tracks', (list) => {
    tracks = list;
    render();
  });
  ctx.bus.on('alerts', (list) => {
    alerts = list;
    render();
  });
  ctx.bus.on('guidance-changed', () => render());
  ctx.bus.on('select-track', (s) => {
    selected = s;
    ctx.bus.emit('focus-panel', 'aircraft');
    render();
  });
  renderHead();
  return { refresh: async () => render() };
}
