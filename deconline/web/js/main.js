/**
 * The console's shell: sign in, then mount the panels the token's role may see, poll the live
 * picture, and run the event stream. Panels talk through the bus (see README.md in this folder).
 */
import { Api, ApiError } from './api.js';
import { Bus } from './bus.js';
import { EventStream } from './events.js';
import { KeyError, importPrivateKeyPem, keyMatches } from './signing.js';

const TRACK_POLL_MS = 1000;
const HAZARD_POLL_MS = 30_000;
const STREAM_TYPES = ['alert', 'message', 'acknowledgement', 'overdue', 'escalation', 'notice', 'operation', 'guidance', 'resolution'];

const PANELS = {
  alerts: { title: 'Alerts', module: './alerts.js', roles: ['party'] },
  hotline: { title: 'Hotline', module: './hotline.js', roles: ['party'] },
  plans: { title: 'Plans', module: './plans.js', roles: ['party'] },
  aircraft: { title: 'Aircraft', module: './aircraft.js', roles: ['party'] },
  agreement: { title: 'Agreement', module: './agreement.js', roles: ['party', 'admin'] },
  record: { title: 'Record', module: './record.js', roles: ['party', 'admin', 'auditor'] },
};

const perf = { trackUpdates: [], firstRender: null, signedInAt: null };
/** Every event received, in order ({id, type}): what a reconnection must fill in, for tests to check. */
const received = [];
window.deconline = { perf, received };

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function toast(text, level = 'info') {
  const box = el('div', { class: `toast toast-${level}`, role: level === 'error' ? 'alert' : 'status' }, text);
  $('toasts').append(box);
  setTimeout(() => box.remove(), level === 'error' || level === 'warning' ? 12_000 : 5000);
}

function startClock() {
  const tick = () => {
    $('clock').textContent = `${new Date().toISOString().slice(11, 19)} UTC`;
  };
  tick();
  setInterval(tick, 1000);
}

async function readFile(input) {
  const file = input.files && input.files[0];
  if (!file) return null;
  if (file.size > 64 * 1024) throw new KeyError('that file is far too large to be a key file: choose the NAME.key PEM file');
  return file.text();
}

/** Token and key checked against the service before anything is shown; every failure is a sentence. */
async function signIn(token, keyInput) {
  if (!token) throw new KeyError('enter your API token (printed by `make run`, `deconline party add` or `deconline init`)');
  const probe = new Api({ token });
  let me;
  try {
    me = await probe.get('/v1/whoami');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      throw new KeyError('the service does not know this token: check that you pasted it whole, or ask for a new one');
    }
    throw e;
  }
  let key = null;
  const pem = await readFile(keyInput);
  if (me.role === 'party') {
    if (pem === null) {
      throw new KeyError(`choose ${me.party}'s private key file (${me.party}.key): everything a party submits is signed with it`);
    }
    key = await importPrivateKeyPem(pem);
    const parties = await probe.get('/v1/parties');
    const mine = parties.find((p) => p.id === me.party);
    if (!mine || !(await keyMatches(key, mine.public_key))) {
      throw new KeyError(`this key file is not ${me.party}'s key: it does not match the public key registered for ${me.party}`);
    }
  }
  return { api: new Api({ token, key }), me };
}

function buildTabs(names) {
  const tabs = $('tabs');
  tabs.replaceChildren();
  const buttons = names.map((name) => {
    const button = el('button', {
      type: 'button',
      role: 'tab',
      id: `tab-${name}`,
      'aria-controls': `panel-${name}`,
      'aria-selected': 'false',
      tabindex: '-1',
      class: 'tab',
    });
    button.append(el('span', { class: 'tab-title' }, PANELS[name].title), el('span', { class: 'badge hidden', id: `badge-${name}` }));
    button.addEventListener('click', () => select(name));
    tabs.append(button);
    return button;
  });
  tabs.addEventListener('keydown', (event) => {
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = buttons[(at + step + buttons.length) % buttons.length];
    next.focus();
    next.click();
  });
  for (const name of Object.keys(PANELS)) $(`panel-${name}`).classList.add('hidden');
  function select(name) {
    for (const other of names) {
      const on = other === name;
      $(`tab-${other}`).setAttribute('aria-selected', String(on));
      $(`tab-${other}`).tabIndex = on ? 0 : -1;
      $(`panel-${other}`).classList.toggle('hidden', !on);
    }
  }
  select(names[0]);
  return select;
}

async function mountPanels(names, ctx) {
  const mounted = [];
  for (const name of names) {
    const root = $(`panel-${name}`);
    try {
      const module = await import(PANELS[name].module);
      mounted.push(module.mount(root, ctx));
    } catch (e) {
      console.warn(`the ${name} panel could not be loaded`, e);
      root.replaceChildren(el('p', { class: 'error' }, `The ${PANELS[name].title} panel could not be loaded: ${e.message}`));
    }
  }
  return mounted;
}

async function createMap(ctx, config) {
  try {
    const { MapView } = await import('./map.js');
    const ownSide = [ctx.me.party];
    if (ctx.me.group) {
      const parties = await ctx.api.get('/v1/parties');
      for (const p of parties) if (p.group === ctx.me.group && !ownSide.includes(p.id)) ownSide.push(p.id);
    }
    return new MapView($('map'), { tileUrl: config.tile_url, ownSide });
  } catch (e) {
    console.warn('the map could not be created', e);
    $('map').replaceChildren(el('p', { class: 'error' }, `The map could not be created: ${e.message}`));
    return null;
  }
}

/** Poll the live picture; time each update's handling and render (read by bench/bench_console.py). */
function pollTracks(ctx) {
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      const tracks = await ctx.api.get('/v1/tracks');
      const t0 = performance.now();
      ctx.map?.setTracks(tracks);
      ctx.bus.emit('tracks', tracks);
      requestAnimationFrame(() => {
        const ms = performance.now() - t0;
        if (perf.trackUpdates.length < 100_000) perf.trackUpdates.push(ms);
        if (perf.firstRender === null && perf.signedInAt !== null) perf.firstRender = performance.now() - perf.signedInAt;
      });
    } catch (e) {
      if (!(e instanceof ApiError)) console.warn('track poll failed', e);
    } finally {
      busy = false;
    }
  };
  poll();
  return setInterval(poll, TRACK_POLL_MS);
}

function pollHazards(ctx) {
  const poll = async () => {
    try {
      const hazards = await ctx.api.get('/v1/hazards');
      ctx.map?.setHazards(hazards);
      ctx.bus.emit('hazards', hazards);
    } catch (e) {
      if (!(e instanceof ApiError)) console.warn('hazard poll failed', e);
    }
  };
  poll();
  return setInterval(poll, HAZARD_POLL_MS);
}

function showStream({ state, lastEventId }) {
  const text = { connecting: 'connecting…', live: 'live', lost: 'connection lost — reconnecting', refused: 'stream refused' }[state] ?? state;
  const status = $('stream-status');
  status.textContent = `● ${text}`;
  status.dataset.state = state;
  status.title = lastEventId === null ? '' : `last event ${lastEventId}`;
}

async function start(api, me, config) {
  const bus = new Bus();
  const ctx = { api, me, bus, map: null, toast, now: () => Date.now() };
  window.deconline.ctx = ctx;
  $('signin').classList.add('hidden');
  $('console').classList.remove('hidden');
  $('signout').classList.remove('hidden');
  $('who').textContent = me.role === 'party' ? `${me.party}${me.group ? ` (${me.group})` : ''}` : me.role;
  document.body.dataset.role = me.role;
  perf.signedInAt = performance.now();

  const names = Object.keys(PANELS).filter((name) => PANELS[name].roles.includes(me.role));
  const select = buildTabs(names);
  if (me.role === 'auditor') {
    $('map').classList.add('hidden');
    document.body.classList.add('no-map');
  } else {
    ctx.map = await createMap(ctx, config);
  }
  if (ctx.map) {
    bus.on('operations', (ops) => ctx.map.setOperations(ops));
    bus.on('alerts', (alerts) => ctx.map.setAlerts(alerts));
    bus.on('focus', ({ lon, lat, zoom }) => ctx.map.centreOn(lon, lat, zoom));
    ctx.map.onSelectTrack?.((track) => bus.emit('select-track', track));
  }
  bus.on('alert-count', ({ total, worst }) => {
    const badge = $('badge-alerts');
    if (!badge) return;
    badge.classList.toggle('hidden', !total);
    const urgent = worst && worst !== 'advisory';
    badge.textContent = total ? `${urgent ? '▲ ' : ''}${total}` : '';
    badge.classList.toggle('badge-urgent', Boolean(urgent));
    badge.setAttribute('aria-label', total ? `${total} active alerts${urgent ? `, worst ${worst}` : ''}` : 'no alerts');
  });
  bus.on('compose-request', () => select('hotline'));
  bus.on('focus-panel', (name) => names.includes(name) && select(name));

  const panels = await mountPanels(names, ctx);
  const refreshAll = () => Promise.all(panels.map((p) => p?.refresh?.().catch((e) => console.warn('refresh failed', e))));
  if (me.role !== 'auditor') pollHazards(ctx);
  if (me.role === 'party') {
    pollTracks(ctx);
    const stream = new EventStream({
      token: api.token,
      onStatus: (status) => {
        showStream(status);
        bus.emit('stream', status);
      },
      onEvent: (type, data, id) => {
        if (received.length < 10_000) received.push({ id, type });
        if (type === 'ready' || type === 'resync') {
          if (type === 'resync') toast('The event stream asked for a full reload; the console reloaded its state.', 'warning');
          refreshAll();
          if (type === 'resync') bus.emit('resync', data);
          return;
        }
        if (STREAM_TYPES.includes(type)) bus.emit(type, data);
      },
    });
    window.deconline.stream = stream;
    stream.start();
  } else {
    showStream({ state: 'live', lastEventId: null });
    $('stream-status').textContent = `${me.role}: no event stream`;
    refreshAll();
  }
  $('signout').addEventListener('click', () => window.location.reload());
}

async function loadConfig() {
  try {
    const response = await fetch('/console/config.json', { cache: 'no-store' });
    if (response.ok) return await response.json();
  } catch {
    /* the defaults do */
  }
  return { tile_url: null };
}

function boot() {
  startClock();
  const configured = loadConfig();
  const form = $('signin-form');
  // The handler is in place before the button is enabled: a form submitted natively would put
  // the token in the page's URL.
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const config = await configured;
    const error = $('signin-error');
    const submit = $('signin-submit');
    error.textContent = '';
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const { api, me } = await signIn($('signin-token').value.trim(), $('signin-key'));
      $('signin-token').value = '';
      await start(api, me, config);
    } catch (e) {
      error.textContent = e instanceof KeyError || e instanceof ApiError ? e.message : `sign-in failed: ${e.message || e}`;
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  $('signin-submit').disabled = false;
  $('signin-token').focus();
}

boot();
