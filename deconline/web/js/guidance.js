/**
 * Guidance for one's own aircraft in an alert, and the coordinated resolution.
 *
 * - `guidanceStore(ctx)`: the newest guidance of each alert, from `alert.guidance` (GET
 *   /v1/alerts and `alert` events), `guidance` events, or else GET /v1/alerts/{id}/guidance polled
 *   every 2 s, only for the alerts a visible view shows.
 * - `guidanceView(guidance, options)` (guidance_view.js): the rose, the tape, the speed bars and text.
 * - `resolutionView(ctx, alert, state)`: "Turn right to 095° — the other side is asked to turn
 *   left", the deadline counting down, Accept and Reject, and both sides' answers.
 */
import { ApiError } from './api.js';
import { clock, el } from './dom.js';
import { deg, finite, fpm } from './guidance_view.js';

export * from './guidance_view.js';

const POLL_MS = 2000;
const RETRY_OFF_MS = 30_000;
const STALE_S = 10;
const KINDS = ['separation', 'hazard'];

// --- the store --------------------------------------------------------------------------------

class GuidanceStore {
  constructor(ctx) {
    this.ctx = ctx;
    this.latest = new Map(); // alert id -> guidance
    this.alerts = new Map(); // alert id -> alert view (newest list)
    this.tracks = new Map(); // own track id -> state
    this.refused = new Map(); // alert id -> {reason, until}
    this.shown = new Map(); // owner -> {ids, root}
    this.inFlight = new Set();
    this.fetchedAt = new Map(); // alert id -> when a poll last brought its guidance (ms)
    this.lostAt = null; // when the event stream was lost (ms), null while live
    this.timer = null;
    ctx.bus.on('stream', ({ state }) => {
      if (state === 'live') this.lostAt = null;
      else if (this.lostAt === null) this.lostAt = Date.now();
    });
    ctx.bus.on('alerts', (list) => this.fromAlerts(list));
    ctx.bus.on('alert', ({ alert }) => {
      if (!alert) return;
      if (alert.state === 'cleared') this.forget(alert.id);
      else if (Object.hasOwn(alert, 'guidance')) this.put(alert.id, alert.guidance);
    });
    ctx.bus.on('guidance', (event) => event && event.alert && this.put(event.alert, event.guidance ?? null));
    ctx.bus.on('tracks', (list) => {
      const mine = ctx.me.party;
      this.tracks = new Map(list.filter((t) => t.party === mine).map((t) => [t.id, t]));
    });
  }

  fromAlerts(list) {
    const fresh = new Map(list.map((a) => [a.id, a]));
    for (const id of [...this.latest.keys()]) if (!fresh.has(id)) this.latest.delete(id);
    for (const id of [...this.refused.keys()]) if (!fresh.has(id)) this.refused.delete(id);
    for (const id of [...this.fetchedAt.keys()]) if (!fresh.has(id)) this.fetchedAt.delete(id);
    this.alerts = fresh;
    for (const a of list) if (Object.hasOwn(a, 'guidance')) this.put(a.id, a.guidance, false);
    this.changed(null);
  }

  /** Keep the newer of what we have and ``guidance`` (null: the service has none for it). */
  put(id, guidance, tell = true) {
    const had = this.latest.get(id);
    if (guidance && had && Date.parse(had.time) > Date.parse(guidance.time)) return;
    this.latest.set(id, guidance ?? null);
    if (tell) this.changed(id);
  }

  forget(id) {
    this.latest.delete(id);
    this.refused.delete(id);
    this.fetchedAt.delete(id);
  }

  changed(id) {
    this.ctx.bus.emit('guidance-changed', { alert: id });
  }

  /** The guidance of ``id`` (undefined: not known yet; null: none). */
  get(id) {
    return this.latest.get(id);
  }

  track(id) {
    return this.tracks.get(id) ?? null;
  }

  /** Seconds the guidance of ``id`` may be out of date, or null while it is current: polled
   * guidance by its last fetch, pushed guidance (told only when it changes) by the event stream. */
  staleness(id) {
    const now = Date.now();
    const since = this.needsFetch(id) || this.fetchedAt.has(id) ? this.fetchedAt.get(id) ?? null : this.lostAt;
    if (since === null) return null;
    const age = (now - since) / 1000;
    return age > STALE_S ? age : null;
  }

  /** Why there is none, if the service said so ("off", "no live track", ...). */
  reason(id) {
    return this.refused.get(id)?.reason ?? null;
  }

  /** ``owner`` now shows the guidance of ``ids`` inside ``root`` (polled only while root is visible). */
  show(owner, ids, root) {
    const list = [...new Set(ids.filter(Boolean))];
    if (list.length) this.shown.set(owner, { ids: list, root });
    else this.shown.delete(owner);
    if (this.shown.size && !this.timer) {
      this.timer = setInterval(() => this.poll(), POLL_MS);
      this.poll();
    } else if (!this.shown.size && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    } else if (list.some((id) => this.needsFetch(id) && !this.latest.has(id))) {
      this.poll();
    }
  }

  /** Fetched only when the alert carries no guidance field: the service may not send it yet. */
  needsFetch(id) {
    const alert = this.alerts.get(id);
    if (!alert || alert.state === 'cleared' || !KINDS.includes(alert.kind)) return false;
    if (Object.hasOwn(alert, 'guidance')) return false;
    const refused = this.refused.get(id);
    return !refused || refused.until < Date.now();
  }

  poll() {
    const wanted = new Set();
    for (const { ids, root } of this.shown.values()) {
      if (root && root.offsetParent === null) continue; // its panel is hidden
      for (const id of ids) if (this.needsFetch(id)) wanted.add(id);
    }
    for (const id of wanted) this.fetchOne(id);
  }

  async fetchOne(id) {
    if (this.inFlight.has(id)) return;
    this.inFlight.add(id);
    try {
      const guidance = await this.ctx.api.get(`/v1/alerts/${encodeURIComponent(id)}/guidance`);
      this.refused.delete(id);
      this.fetchedAt.set(id, Date.now());
      this.put(id, guidance);
    } catch (e) {
      if (e instanceof ApiError && [403, 404, 409].includes(e.status)) {
        const reason = e.status === 403 ? 'guidance is off under the agreement in force' : e.message;
        // 403 may change with a new agreement: ask again later; 404/409 until the alert list changes
        this.refused.set(id, { reason, until: e.status === 403 ? Date.now() + RETRY_OFF_MS : Infinity });
        this.latest.set(id, null);
        this.changed(id);
      }
      // otherwise (network): keep what we had, the next poll tries again
    } finally {
      this.inFlight.delete(id);
    }
  }
}

/** One store per console (kept on ``ctx``). */
export function guidanceStore(ctx) {
  if (!ctx.guidance) ctx.guidance = new GuidanceStore(ctx);
  return ctx.guidance;
}

// --- the coordinated resolution ------------------------------------------------------------------

const SENSE_VERB = { left: 'turn left', right: 'turn right', up: 'climb', down: 'descend' };
// what the other side is asked, of which only the sense is told: up and down are relative to its vertical speed now
const OTHER_VERB = { left: 'turn left', right: 'turn right', up: 'climb (or descend less)', down: 'descend (or climb less)' };
const ANSWER_LOOK = {
  accepted: { mark: '✓', cls: 'ok', text: 'accepted' },
  rejected: { mark: '✗', cls: 'bad', text: 'rejected' },
  overdue: { mark: '⚠', cls: 'bad', text: 'did not answer in time' },
  pending: { mark: '…', cls: 'wait', text: 'not answered yet' },
};

/** The track a resolution asks one's own aircraft to fly, while it stands (null otherwise). */
export function proposedTrack(resolution, live = null) {
  if (!resolution || resolution.axis !== 'track' || !finite(resolution.to)) return null;
  const answer = live?.answer !== undefined ? live.answer : resolution.answer;
  const other = live?.other_answer ?? resolution.other_answer;
  return answer === 'rejected' || other === 'rejected' || other === 'overdue' ? null : resolution.to;
}

/** The manoeuvre asked of one's own aircraft, as a sentence: "Turn right to 095° (+25°)". */
export function manoeuvreText(r) {
  const verb = SENSE_VERB[r.sense] ?? r.sense ?? 'manoeuvre';
  const cap = verb[0].toUpperCase() + verb.slice(1);
  if (r.axis === 'track') {
    const by = finite(r.change) && Math.round(Math.abs(r.change)) > 0 ? ` ${Math.round(Math.abs(r.change))}°` : '';
    return finite(r.to) ? `${cap}${by} to ${deg(r.to)}` : cap;
  }
  if (r.axis === 'vertical_speed') {
    // the sense is relative to the vertical speed now: "up" from a descent may be a shallower descent
    if (!finite(r.to)) return cap;
    const rate = `${fpm(Math.abs(r.to)).replace('+', '')} ft/min`;
    if (Math.abs(r.to) < 0.05) return `Level off (stop ${r.sense === 'up' ? 'descending' : 'climbing'})`;
    if (r.sense === 'up' && r.to < 0) return `Reduce descent to ${rate}`;
    if (r.sense === 'down' && r.to > 0) return `Reduce climb to ${rate}`;
    return `${r.to > 0 ? 'Climb' : 'Descend'} at ${rate}`;
  }
  return cap;
}

/**
 * The resolution proposal of ``alert`` (``alert.resolution``) with Accept and Reject, or null.
 * ``state``: {answer, other_answer} seen live since the alert was fetched, {error} of the last
 * click, {onAnswer(answer)} posting the answer.
 */
export function resolutionView(ctx, alert, { live = null, error = '', onAnswer } = {}) {
  const r = alert && alert.resolution;
  if (!r || typeof r !== 'object' || !r.message) return null;
  const answer = live?.answer !== undefined ? live.answer : r.answer ?? null;
  const other = live?.other_answer ?? r.other_answer ?? 'pending';
  const otherParty = alert.intruder?.party ?? 'the other side';
  const deadline = Date.parse(r.deadline);
  const left = Number.isFinite(deadline) ? (deadline - ctx.now()) / 1000 : null;
  const open = answer === null && (left === null || left > 0);
  const otherVerb = OTHER_VERB[r.other_sense] ?? r.other_sense;
  const mine = answer ? ANSWER_LOOK[answer] ?? { mark: '', cls: '', text: answer } : left !== null && left <= 0 ? ANSWER_LOOK.overdue : ANSWER_LOOK.pending;
  const theirs = ANSWER_LOOK[other] ?? { mark: '', cls: '', text: String(other) };
  const broken = other === 'rejected' || other === 'overdue' || answer === 'rejected';
  const together = answer === 'accepted' && other === 'accepted';
  return el(
    'div',
    { class: `resolution${together ? ' res-agreed' : ''}${broken ? ' res-broken' : ''}`, role: 'group', 'aria-label': 'coordinated resolution', 'data-resolution': r.message },
    el('p', { class: 'res-head' }, el('span', { class: 'res-tag', text: 'RESOLUTION' }), left !== null && open ? el('span', { class: `res-deadline${left < 30 ? ' res-soon' : ''}`, text: `answer within ${clock(Math.max(0, left))}` }) : null),
    el(
      'p',
      { class: 'res-text' },
      el('strong', { class: 'res-own', text: manoeuvreText(r) }),
      otherVerb ? ` — ${otherParty} is asked to ${otherVerb}.` : '.',
    ),
    open
      ? el(
          'div',
          { class: 'actions' },
          el('button', { type: 'button', class: 'primary', text: 'Accept', 'aria-label': `Accept: ${manoeuvreText(r)}`, onclick: () => onAnswer?.('accept') }),
          el('button', { type: 'button', class: 'danger', text: 'Reject', 'aria-label': `Reject: ${manoeuvreText(r)}`, onclick: () => onAnswer?.('reject') }),
        )
      : null,
    el(
      'ul',
      { class: 'res-answers' },
      el('li', { class: `res-answer res-${mine.cls}`, 'data-side': 'own' }, `${mine.mark} You: ${mine.text}`),
      el('li', { class: `res-answer res-${theirs.cls}`, 'data-side': 'other' }, `${theirs.mark} ${otherParty}: ${theirs.text}`),
    ),
    r.clear_of_others === false ? el('p', { class: 'res-caution', text: '⚠ These two manoeuvres clear this encounter but not all other traffic: check the guidance.' }) : null,
    together ? el('p', { class: 'res-outcome res-ok', text: 'Both sides accepted: fly the agreed manoeuvres.' }) : null,
    broken ? el('p', { class: 'res-outcome res-bad', role: 'alert', text: 'The coordinated resolution does not stand: use your own guidance and the hotline.' }) : null,
    error ? el('p', { class: 'error', role: 'alert', text: error }) : null,
  );
}

/** POST the answer to a resolution message (signed as an acknowledgement is): {ok, error}. */
export async function answerResolution(ctx, messageId, answer) {
  try {
    await ctx.api.post(`/v1/messages/${encodeURIComponent(messageId)}/answer`, { answer });
    return { ok: true, error: '' };
  } catch (e) {
    return { ok: false, error: e && e.message ? e.message : String(e) };
  }
}
