/**
 * The hotline: inbox and outbox with deadlines counting down, a message acknowledged only by a
 * person's click on it once displayed (OLDI GEN-360), overdue messages and escalations that stand
 * out (GEN-220), a composer with structured proposals, answers, and line health.
 */
import { attempt, clock, coalesce, el, keepingFocus, short, utc } from './dom.js';

const ACTIONS = ['hold', 'shift_time', 'change_band', 'reroute_away'];
const KINDS = ['notice', 'deconfliction_request', 'incident_report', 'comm_check'];

export function mount(root, ctx) {
  const me = ctx.me.party;
  let box = 'in';
  let messages = { in: [], out: [] };
  let openId = null;
  let escalations = [];
  let composingFor = null;

  const boxButtons = {
    in: el('button', { type: 'button', class: 'seg', 'aria-pressed': 'true', text: 'Inbox', onclick: () => choose('in') }),
    out: el('button', { type: 'button', class: 'seg', 'aria-pressed': 'false', text: 'Outbox', onclick: () => choose('out') }),
  };
  const composeButton = el('button', { type: 'button', text: 'New message', onclick: () => openComposer(null) });
  const banner = el('div', { class: 'escalations', role: 'alert' });
  const list = el('ul', { class: 'message-list', 'aria-label': 'messages' });
  const detail = el('section', { class: 'message-detail hidden', 'aria-label': 'message' });
  const composer = el('form', { class: 'composer hidden', 'aria-label': 'compose a message' });
  const health = el('table', { class: 'health' });
  const problem = el('p', { class: 'error', role: 'alert' });
  root.append(
    el('div', { class: 'panel-head' }, el('h2', { text: 'Hotline' }), el('div', { class: 'segs' }, boxButtons.in, boxButtons.out), composeButton),
    banner,
    problem,
    composer,
    detail,
    list,
    el('h3', { text: 'Line health' }),
    health,
  );

  function choose(which) {
    box = which;
    boxButtons.in.setAttribute('aria-pressed', String(which === 'in'));
    boxButtons.out.setAttribute('aria-pressed', String(which === 'out'));
    renderList();
  }

  const remaining = (m) => (m.deadline ? (Date.parse(m.deadline) - ctx.now()) / 1000 : null);
  const ackedByMe = (m) => Object.hasOwn(m.acknowledged_by ?? {}, me);
  const mustAck = (m) => m.recipients.includes(me) && m.requires_ack && !ackedByMe(m);

  function statusOf(m) {
    if (m.status === 'overdue') return { cls: 'overdue', text: '⚠ OVERDUE' };
    if (m.status === 'acknowledged') return { cls: 'acked', text: '✓ acknowledged' };
    if (m.status === 'accepted' || m.status === 'rejected') return { cls: 'acked', text: `✓ ${m.status}` };
    const left = remaining(m);
    if (m.requires_ack && left !== null) {
      return { cls: left < 60 ? 'due-soon' : 'open', text: `${left < 60 ? '! ' : ''}ack due in ${clock(Math.max(0, left))}` };
    }
    return { cls: 'open', text: m.status };
  }

  function proposalText(p) {
    if (!p) return '';
    const parts = [(p.action ?? '').replace('_', ' ')];
    if (p.manoeuvre) parts.push(p.manoeuvre.axis === 'track' ? `to ${Math.round(p.manoeuvre.to) % 360}°` : `at ${Math.round(p.manoeuvre.to / 0.00508)} ft/min`, `other side: ${p.other_sense}`);
    if (p.shift_s) parts.push(`${p.shift_s > 0 ? '+' : ''}${Math.round(p.shift_s / 60)} min`);
    if (p.band) parts.push(`band ${p.band[0]}–${p.band[1]} m`);
    if (p.until) parts.push(`until ${utc(p.until)}`);
    return parts.join(' · ');
  }

  function renderList() {
    keepingFocus(list, drawList);
  }

  function drawList() {
    const rows = messages[box].map((m) => {
      const status = statusOf(m);
      const who = box === 'in' ? `from ${m.sender}` : `to ${m.recipients.join(', ')}`;
      return el(
        'li',
        { class: `message status-${status.cls}${m.id === openId ? ' selected' : ''}${mustAck(m) ? ' unacked' : ''}`, 'data-message-id': m.id },
        el(
          'button',
          { type: 'button', class: 'message-open', onclick: () => openMessage(m.id), 'aria-label': `${m.kind.replaceAll('_', ' ')} ${who}: ${status.text}` },
          el('span', { class: 'message-kind', text: m.kind.replaceAll('_', ' ') }),
          el('span', { class: 'message-who', text: who }),
          el('span', { class: 'message-status', text: status.text }),
          el('span', { class: 'message-text', text: m.text || proposalText(m.proposal) }),
        ),
      );
    });
    list.replaceChildren(...rows);
    if (!rows.length) list.append(el('li', { class: 'empty', text: box === 'in' ? 'Inbox empty.' : 'Nothing sent.' }));
    banner.replaceChildren(
      ...escalations.map((e) => el('p', { class: 'escalation', text: `⚠ ESCALATION: ${e.silent} has not acknowledged message ${short(e.message)}` })),
    );
  }

  function renderDetail() {
    const m = [...messages.in, ...messages.out].find((x) => x.id === openId);
    if (!m) {
      detail.classList.add('hidden');
      return;
    }
    const status = statusOf(m);
    const error = el('p', { class: 'error', role: 'alert' });
    const actions = el('div', { class: 'actions' });
    if (m.kind === 'resolution' && mustAck(m)) {
      for (const [choice, label] of [['accept', 'Accept'], ['reject', 'Reject']]) {
        actions.append(
          el('button', {
            type: 'button',
            class: choice === 'accept' ? 'primary' : null,
            text: label,
            onclick: () =>
              attempt(ctx, error, async () => {
                await ctx.api.post(`/v1/messages/${m.id}/answer`, { answer: choice });
                ctx.toast(`resolution ${choice === 'accept' ? 'accepted' : 'rejected'}`, 'ok');
                await refresh();
              }),
          }),
        );
      }
    } else if (mustAck(m)) {
      actions.append(
        el('button', {
          type: 'button',
          class: 'primary',
          text: 'Acknowledge',
          onclick: () =>
            attempt(ctx, error, async () => {
              await ctx.api.post(`/v1/messages/${m.id}/ack`, {});
              ctx.toast(`acknowledged ${m.kind.replaceAll('_', ' ')} from ${m.sender}`, 'ok');
              await refresh();
            }),
        }),
      );
    }
    if (m.kind === 'deconfliction_request' && m.recipients.includes(me)) {
      for (const action of ['accept', 'reject', 'counter']) {
        actions.append(
          el('button', {
            type: 'button',
            text: action[0].toUpperCase() + action.slice(1),
            onclick: () => (action === 'counter' ? openComposer({ replyTo: m }) : answer(m, action, error)),
          }),
        );
      }
    }
    actions.append(el('button', { type: 'button', text: 'Close', onclick: () => ((openId = null), renderDetail(), renderList()) }));
    detail.replaceChildren(
      el('h3', { text: `${m.kind.replaceAll('_', ' ')} from ${m.sender}` }),
      el(
        'dl',
        {},
        el('dt', { text: 'to' }),
        el('dd', { text: m.recipients.join(', ') }),
        el('dt', { text: 'sent' }),
        el('dd', { text: utc(m.sent_at) }),
        el('dt', { text: 'status' }),
        el('dd', { class: `status-${status.cls}`, text: status.text }),
        m.proposal ? [el('dt', { text: 'proposal' }), el('dd', { text: proposalText(m.proposal) })] : null,
        m.your_operations?.length ? [el('dt', { text: 'your operations' }), el('dd', { text: m.your_operations.join(', ') })] : null,
        Object.keys(m.acknowledged_by ?? {}).length
          ? [el('dt', { text: 'acknowledged by' }), el('dd', { text: Object.entries(m.acknowledged_by).map(([p, t]) => `${p} ${utc(t)}`).join(', ') })]
          : null,
      ),
      el('p', { class: 'message-body', text: m.text || '(no text)' }),
      actions,
      error,
    );
    detail.classList.remove('hidden');
  }

  async function openMessage(id) {
    openId = id;
    const fresh = await attempt(ctx, problem, () => ctx.api.get(`/v1/messages/${id}`));
    if (fresh) for (const which of ['in', 'out']) messages[which] = messages[which].map((m) => (m.id === id ? fresh : m));
    renderList();
    renderDetail();
  }

  async function answer(request, action, where) {
    await attempt(ctx, where, async () => {
      await ctx.api.post('/v1/messages', {
        recipients: [request.sender],
        kind: 'response',
        references: [{ type: 'message', id: request.id }],
        proposal: { action },
        text: action === 'accept' ? 'Accepted.' : 'Rejected.',
        requires_ack: true,
      });
      ctx.toast(`${action} sent to ${request.sender}`, 'ok');
      await refresh();
    });
  }

  async function openComposer(context) {
    composingFor = context;
    const parties = (await attempt(ctx, problem, () => ctx.api.get('/v1/parties'))) ?? [];
    const fromNotice = context?.notice;
    const replyTo = context?.replyTo;
    const to = el('select', { id: 'compose-to', disabled: fromNotice || replyTo ? true : null });
    for (const p of parties.filter((x) => x.id !== me)) to.append(el('option', { value: p.id, text: p.id }));
    if (fromNotice) to.replaceChildren(el('option', { value: fromNotice.other_party, text: fromNotice.other_party }));
    if (replyTo) to.replaceChildren(el('option', { value: replyTo.sender, text: replyTo.sender }));
    const kind = el('select', { id: 'compose-kind', disabled: fromNotice || replyTo ? true : null });
    for (const k of replyTo ? ['response'] : fromNotice ? ['deconfliction_request'] : KINDS) kind.append(el('option', { value: k, text: k.replaceAll('_', ' ') }));
    const action = el('select', { id: 'compose-action' });
    action.append(el('option', { value: '', text: '— none —' }));
    for (const a of replyTo ? ['counter'] : ACTIONS) action.append(el('option', { value: a, text: a.replace('_', ' ') }));
    if (fromNotice || replyTo) action.value = replyTo ? 'counter' : 'shift_time';
    const shift = el('input', { id: 'compose-shift', type: 'number', value: '60', step: '5' });
    const lower = el('input', { id: 'compose-lower', type: 'number', step: '100' });
    const upper = el('input', { id: 'compose-upper', type: 'number', step: '100' });
    const text = el('textarea', { id: 'compose-text', rows: '3', maxlength: '2000' });
    const ack = el('input', { id: 'compose-ack', type: 'checkbox', checked: true });
    const error = el('p', { class: 'error', role: 'alert' });
    const title = fromNotice
      ? `Deconfliction request about notice ${short(fromNotice.id)} (to ${fromNotice.other_party})`
      : replyTo
        ? `Counter-proposal to ${replyTo.sender}`
        : 'New message';
    composer.replaceChildren(
      el('h3', { text: title }),
      el('label', { for: 'compose-to', text: 'To' }),
      to,
      el('label', { for: 'compose-kind', text: 'Kind' }),
      kind,
      el('label', { for: 'compose-action', text: 'Proposal' }),
      action,
      el('label', { for: 'compose-shift', text: 'Shift (minutes, for shift time)' }),
      shift,
      el('label', { for: 'compose-lower', text: 'Band lower (m, for change band)' }),
      lower,
      el('label', { for: 'compose-upper', text: 'Band upper (m)' }),
      upper,
      el('label', { for: 'compose-text', text: 'Text' }),
      text,
      el('label', { for: 'compose-ack', class: 'inline' }, ack, ' requires acknowledgement'),
      el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary', text: 'Send' }), el('button', { type: 'button', text: 'Cancel', onclick: closeComposer })),
      error,
    );
    composer.onsubmit = (event) => {
      event.preventDefault();
      let proposal = null;
      if (action.value) {
        proposal = { action: action.value };
        if (action.value === 'shift_time') proposal.shift_s = Math.round(Number(shift.value) * 60);
        if (action.value === 'change_band' || (action.value === 'counter' && lower.value && upper.value)) {
          proposal.band = [Number(lower.value), Number(upper.value)];
        }
      }
      attempt(ctx, error, async () => {
        if (fromNotice) {
          await ctx.api.post(`/v1/operations/${composingFor.operation.id}/notices/${fromNotice.id}/request`, { proposal, text: text.value });
        } else {
          const references = replyTo ? [{ type: 'message', id: replyTo.id }] : [];
          await ctx.api.post('/v1/messages', { recipients: [to.value], kind: kind.value, references, proposal, text: text.value, requires_ack: ack.checked });
        }
        ctx.toast('message sent', 'ok');
        closeComposer();
        choose('out');
        await refresh();
      });
    };
    composer.classList.remove('hidden');
    text.focus();
  }

  function closeComposer() {
    composer.classList.add('hidden');
    composer.replaceChildren();
    composingFor = null;
  }

  async function refreshHealth() {
    const rows = await attempt(ctx, null, () => ctx.api.get('/v1/line/health'));
    if (!rows) return;
    health.replaceChildren(
      el('thead', {}, el('tr', {}, ...['party', 'last answer', 'median', 'worst', 'missed'].map((h) => el('th', { scope: 'col', text: h })))),
      el(
        'tbody',
        {},
        ...rows.map((r) =>
          el(
            'tr',
            { class: r.missed ? 'missed' : '' },
            el('td', { text: r.party }),
            el('td', { text: utc(r.last_answer) }),
            el('td', { text: r.median_delay_s === null ? '—' : `${r.median_delay_s} s` }),
            el('td', { text: r.worst_delay_s === null ? '—' : `${r.worst_delay_s} s` }),
            el('td', { text: r.missed ? `⚠ ${r.missed}` : '0' }),
          ),
        ),
      ),
    );
  }

  const refresh = coalesce(async () => {
    const [inbox, outbox] = await Promise.all([
      attempt(ctx, problem, () => ctx.api.get('/v1/messages?box=in&limit=200')),
      attempt(ctx, problem, () => ctx.api.get('/v1/messages?box=out&limit=200')),
    ]);
    if (inbox) messages.in = inbox;
    if (outbox) messages.out = outbox;
    const waiting = messages.in.filter(mustAck).length;
    ctx.bus.emit('hotline-count', { waiting });
    renderList();
    renderDetail();
    refreshHealth();
  });

  ctx.bus.on('message', ({ message }) => {
    if (message.recipients.includes(me) || message.sender !== me) ctx.toast(`new ${message.kind.replaceAll('_', ' ')} from ${message.sender}`, 'warning');
    return refresh();
  });
  ctx.bus.on('acknowledgement', ({ message }) => {
    ctx.toast(`${Object.keys(message.acknowledged_by).join(', ')} acknowledged your ${message.kind.replaceAll('_', ' ')}`, 'ok');
    return refresh();
  });
  ctx.bus.on('overdue', () => refresh());
  ctx.bus.on('escalation', (event) => {
    escalations = [...escalations, event].slice(-5);
    ctx.toast(`ESCALATION: ${event.silent} has not acknowledged in time`, 'error');
    return refresh();
  });
  ctx.bus.on('resync', refresh);
  ctx.bus.on('compose-request', (context) => openComposer(context));
  setInterval(() => {
    if (root.offsetParent !== null) renderList();
  }, 1000);
  return { refresh };
}
