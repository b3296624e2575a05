/**
 * One's own side's operations: file one by drawing it on the map or pasting GeoJSON / an ASTM
 * F3548 Volume4D, see the answer and its notices at once, revise, check again, change state, and
 * ask the other party from a notice. Versions are the API's: a stale one is a 409 with its reason.
 */
import { attempt, coalesce, el, fl, short, utc } from './dom.js';

const NEXT_STATES = { proposed: ['cancelled'], accepted: ['active', 'cancelled'], active: ['ended'], ended: [], cancelled: [] };
const STATE_MARK = { proposed: '◇', accepted: '●', active: '▶', ended: '■', cancelled: '✕' };

const isoInput = (date) => date.toISOString().slice(0, 16);
const fromInput = (value) => {
  const parsed = new Date(`${value}${value.length === 16 ? ':00' : ''}Z`);
  if (Number.isNaN(parsed.getTime())) throw new Error(`"${value}" is not a time: use YYYY-MM-DDTHH:MM (UTC)`);
  return parsed.toISOString().replace('.000Z', 'Z');
};

export function mount(root, ctx) {
  let operations = [];
  let footprint = null;
  let editing = null;
  const problem = el('p', { class: 'error', role: 'alert' });
  const list = el('ul', { class: 'op-list', 'aria-label': 'operations' });
  const formError = el('p', { class: 'error', role: 'alert' });
  const result = el('div', { class: 'op-result', role: 'status' });
  const shape = el('p', { class: 'shape', text: 'No footprint yet: draw one or paste GeoJSON.' });
  const now = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
  const name = el('input', { id: 'op-name', maxlength: '200', value: '' });
  const lower = el('input', { id: 'op-lower', type: 'number', value: '1000', step: '100' });
  const upper = el('input', { id: 'op-upper', type: 'number', value: '3000', step: '100' });
  const start = el('input', { id: 'op-start', value: isoInput(new Date(now.getTime() + 3600_000)) });
  const end = el('input', { id: 'op-end', value: isoInput(new Date(now.getTime() + 3 * 3600_000)) });
  const band = el('span', { class: 'hint' });
  const paste = el('textarea', { id: 'op-paste', rows: '3', placeholder: '{"type": "Polygon", ...} or an F3548 Volume4D' });
  const submit = el('button', { type: 'submit', class: 'primary', text: 'File operation' });
  const title = el('h3', { text: 'File an operation' });
  const showBand = () => {
    band.textContent = `${fl(Number(lower.value))}–${fl(Number(upper.value))}`;
  };
  lower.addEventListener('input', showBand);
  upper.addEventListener('input', showBand);
  showBand();

  const drawButton = (kind, label) =>
    el('button', {
      type: 'button',
      text: label,
      disabled: ctx.map ? null : true,
      onclick: async () => {
        shape.textContent = kind === 'Circle' ? 'Click the centre, then a point on the edge (Escape cancels).' : 'Click each corner; double-click the last one (Escape cancels).';
        const drawn = await ctx.map.draw(kind);
        if (drawn) {
          footprint = drawn;
          paste.value = '';
        }
        describeShape();
      },
    });

  function describeShape() {
    if (!footprint) shape.textContent = 'No footprint yet: draw one or paste GeoJSON.';
    else if (footprint.footprint.type === 'Point') shape.textContent = `Circle: ${footprint.radius_m} m around ${footprint.footprint.coordinates.map((v) => v.toFixed(3)).join(', ')}`;
    else shape.textContent = `Polygon of ${footprint.footprint.coordinates[0].length - 1} corners`;
  }

  /** The volume(s) from the form: a drawn shape, pasted GeoJSON, or pasted F3548 volumes as they are. */
  function volumes() {
    const times = { lower_m: Number(lower.value), upper_m: Number(upper.value), start: fromInput(start.value), end: fromInput(end.value) };
    if (paste.value.trim()) {
      let pasted;
      try {
        pasted = JSON.parse(paste.value);
      } catch (e) {
        throw new Error(`the pasted text is not JSON: ${e.message}`);
      }
      if (pasted.volume && pasted.time_start) return [pasted];
      if (Array.isArray(pasted)) return pasted;
      const geometry = pasted.type === 'Feature' ? pasted.geometry : pasted;
      const radius = pasted.properties?.radius_m;
      return [{ footprint: geometry, ...(radius ? { radius_m: radius } : {}), ...times }];
    }
    if (!footprint) throw new Error('draw the footprint on the map (or paste GeoJSON) first');
    return [{ ...footprint, ...times }];
  }

  const form = el(
    'form',
    { class: 'op-form', 'aria-label': 'file an operation' },
    title,
    el('label', { for: 'op-name', text: 'Name' }),
    name,
    el('div', { class: 'actions' }, drawButton('Polygon', 'Draw polygon'), drawButton('Circle', 'Draw circle')),
    shape,
    el('label', { for: 'op-paste', text: 'or paste GeoJSON / F3548 Volume4D' }),
    paste,
    el('div', { class: 'grid2' }, el('label', { for: 'op-lower', text: 'Lower (m)' }), lower, el('label', { for: 'op-upper', text: 'Upper (m)' }), upper),
    band,
    el('div', { class: 'grid2' }, el('label', { for: 'op-start', text: 'Start (UTC)' }), start, el('label', { for: 'op-end', text: 'End (UTC)' }), end),
    el('div', { class: 'actions' }, submit, el('button', { type: 'button', text: 'Clear', onclick: reset })),
    formError,
    result,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(ctx, formError, async () => {
      const body = { name: name.value, volumes: volumes() };
      const answer = editing
        ? await ctx.api.put(`/v1/operations/${editing.id}`, { ...body, version: editing.version })
        : await ctx.api.post('/v1/operations', body);
      result.replaceChildren(
        el('p', { class: `state-${answer.state}`, text: `${STATE_MARK[answer.state] ?? ''} ${answer.name || answer.id}: ${answer.state}${answer.notices.length ? ` with ${answer.notices.length} conflict notice(s)` : ', no conflict'}` }),
      );
      ctx.toast(`${editing ? 'revised' : 'filed'}: ${answer.state}`, answer.notices.length ? 'warning' : 'ok');
      reset(false);
      await refresh();
      ctx.map?.highlightOperation(answer.id);
    });
  });

  function reset(clearResult = true) {
    footprint = null;
    editing = null;
    paste.value = '';
    name.value = '';
    title.textContent = 'File an operation';
    submit.textContent = 'File operation';
    if (clearResult) result.replaceChildren();
    describeShape();
  }

  function revise(op) {
    editing = op;
    const v = op.volumes[0];
    name.value = op.name;
    lower.value = String(v.lower_m);
    upper.value = String(v.upper_m);
    start.value = v.start.slice(0, 16);
    end.value = v.end.slice(0, 16);
    footprint = v.radius_m ? { footprint: v.footprint, radius_m: v.radius_m } : { footprint: v.footprint };
    title.textContent = `Revise ${op.name || op.id} (version ${op.version})`;
    submit.textContent = 'Save revision';
    showBand();
    describeShape();
    name.focus();
  }

  function row(op) {
    const error = el('p', { class: 'error', role: 'alert' });
    const act = (label, action) => el('button', { type: 'button', text: label, onclick: () => attempt(ctx, error, action) });
    const actions = el('div', { class: 'actions' });
    actions.append(el('button', { type: 'button', text: 'Show', onclick: () => ctx.map?.highlightOperation(op.id) }));
    if (op.party === ctx.me.party) {
      if (['proposed', 'accepted', 'active'].includes(op.state)) actions.append(el('button', { type: 'button', text: 'Revise', onclick: () => revise(op) }));
      if (op.state === 'proposed') {
        actions.append(
          act('Check again', async () => {
            const answer = await ctx.api.post(`/v1/operations/${op.id}/check`, { version: op.version });
            ctx.toast(`checked: ${answer.state}`, answer.state === 'accepted' ? 'ok' : 'warning');
            await refresh();
          }),
        );
      }
      for (const state of NEXT_STATES[op.state] ?? []) {
        actions.append(
          act(`Set ${state}`, async () => {
            await ctx.api.post(`/v1/operations/${op.id}/state`, { version: op.version, state });
            await refresh();
          }),
        );
      }
    }
    const notices = (op.notices ?? []).map((n) =>
      el(
        'li',
        { class: 'notice', 'data-notice-id': n.id },
        el('span', { class: 'notice-mark', 'aria-hidden': 'true', text: '▨' }),
        el('span', {
          text:
            (n.hazard_id ? ` hazard ${n.hazard_id}` : ` conflict with ${n.other_party} (${short(n.other_ref)})`) +
            (n.kind === 'rules_changed' ? ' under the new agreement' : ''),
        }),
        el('span', { class: 'hint', text: ` ${Math.round(n.conflict.lower_m)}–${Math.round(n.conflict.upper_m)} m, ${utc(n.conflict.start)}–${utc(n.conflict.end)}` }),
        !n.hazard_id && op.party === ctx.me.party
          ? el('button', { type: 'button', text: 'Request deconfliction', onclick: () => ctx.bus.emit('compose-request', { operation: op, notice: n }) })
          : null,
      ),
    );
    const v = op.volumes[0];
    return el(
      'li',
      { class: `op state-${op.state}`, 'data-operation-id': op.id },
      el(
        'div',
        { class: 'op-head' },
        el('span', { class: 'op-state', text: `${STATE_MARK[op.state] ?? ''} ${op.state}` }),
        el('strong', { text: op.name || op.id }),
        el('span', { class: 'hint', text: ` v${op.version} · ${op.party}` }),
      ),
      el('p', { class: 'hint', text: `${op.volumes.length} volume(s); ${Math.round(v.lower_m)}–${Math.round(v.upper_m)} m; ${utc(v.start)} → ${utc(v.end)}` }),
      notices.length ? el('ul', { class: 'notices', 'aria-label': 'conflict notices' }, ...notices) : null,
      actions,
      error,
    );
  }

  const refresh = coalesce(async () => {
    const fresh = await attempt(ctx, problem, () => ctx.api.get('/v1/operations'));
    if (!fresh) return;
    operations = fresh;
    ctx.bus.emit('operations', operations);
    const live = operations.filter((o) => !['ended', 'cancelled'].includes(o.state));
    const past = operations.filter((o) => ['ended', 'cancelled'].includes(o.state));
    list.replaceChildren(...live.map(row), ...past.map(row));
    if (!operations.length) list.append(el('li', { class: 'empty', text: 'No operations filed.' }));
  });

  root.append(el('div', { class: 'panel-head' }, el('h2', { text: 'Plans' })), form, problem, el('h3', { text: 'Your side’s operations' }), list);
  ctx.bus.on('resync', refresh);
  // Another party's filing, a hazard or new rules told us of a conflict (or one went away), or the
  // line ended a past operation: the list is stale.
  ctx.bus.on('notice', ({ notice }) => {
    const known = operations.find((o) => o.id === notice.operation);
    // The filer has its answer on screen already; tell the owner of an accepted or active plan.
    if (notice.state === 'open' && known && known.state !== 'proposed') {
      ctx.toast(`New conflict notice on your operation ${known.name || short(known.id)}`, 'warning');
    }
    refresh();
  });
  ctx.bus.on('operation', refresh);
  setInterval(() => root.offsetParent !== null && refresh(), 30_000);
  return { refresh };
}
