/**
 * How guidance is drawn: a compass rose (free, conflicting and recovery track sectors, the current
 * track, a proposed one), an altitude tape (free levels, the current level), ground and vertical
 * speed bars, and the same ranges as text. Conflict is hatched and recovery dotted: never colour
 * alone. Pure drawing: a guidance object in, SVG and DOM out (guidance.js fetches and keeps it).
 *
 * Every field is read defensively: a field the service does not send hides its widget.
 */
import { clock, el } from './dom.js';
const KT = 1852 / 3600;
const FPM = 0.3048 / 60;
const FT = 0.3048;
const ALT_WINDOW_M = 3048; // the tape shows the current level ± 10,000 ft
const NS = 'http://www.w3.org/2000/svg';

let serial = 0;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.setAttribute('class', value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) if (child) node.append(child);
  return node;
}

export const finite = (v) => typeof v === 'number' && Number.isFinite(v);

/** The ranges of one dimension, or null when the field is missing or malformed. */
export function readRanges(list) {
  if (!Array.isArray(list) || !list.length) return null;
  const out = [];
  for (const r of list) {
    if (!r || !finite(r.from) || !finite(r.to)) return null;
    out.push({ from: Math.min(r.from, r.to), to: Math.max(r.from, r.to), conflict: Boolean(r.conflict), recovery: Boolean(r.recovery) });
  }
  return out.sort((a, b) => a.from - b.from);
}

const statusOf = (r) => (!r.conflict ? 'free' : r.recovery ? 'recovery' : 'conflict');
const STATUS_WORD = { free: 'free', conflict: 'conflict', recovery: 'recovery' };

// --- formatting -------------------------------------------------------------------------------

export const deg = (v) => `${String(Math.round(((v % 360) + 360) % 360)).padStart(3, '0')}°`;
const kt = (mps) => `${Math.round(mps / KT)}`;
export const fpm = (mps) => {
  const v = Math.round(mps / FPM / 100) * 100;
  return `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v).toLocaleString('en')}`;
};
const flOf = (m) => `FL${String(Math.max(0, Math.round(m / FT / 100))).padStart(3, '0')}`;

const FORMAT = {
  track_deg: { one: deg, span: (a, b) => `${deg(a).slice(0, -1)}–${deg(b)}` },
  gs_mps: { one: (v) => `${kt(v)} kt`, span: (a, b) => `${kt(a)}–${kt(b)} kt` },
  vs_mps: { one: (v) => `${fpm(v)} ft/min`, span: (a, b) => `${fpm(a)} to ${fpm(b)} ft/min` },
  alt_m: { one: flOf, span: (a, b) => `${flOf(a)}–${flOf(b)}` },
};

function spanText(dim, r) {
  const f = FORMAT[dim];
  return Math.abs(r.to - r.from) < 1e-9 ? f.one(r.from) : f.span(r.from, r.to);
}

/** Track ranges as runs for text: the last and the first joined across north when alike. */
function trackRuns(ranges) {
  if (ranges.length > 1) {
    const first = ranges[0];
    const last = ranges[ranges.length - 1];
    if (statusOf(first) === statusOf(last) && first.from + 360 - last.to <= 2) {
      return [{ ...last, to: first.to + 360 }, ...ranges.slice(1, -1)];
    }
  }
  return ranges;
}

/** "free 095–140°, 220–300° · conflict 141–219°" for one dimension. */
export function rangesText(dim, ranges) {
  const runs = dim === 'track_deg' ? trackRuns(ranges) : ranges;
  const parts = [];
  for (const status of ['free', 'recovery', 'conflict']) {
    const mine = runs.filter((r) => statusOf(r) === status);
    if (mine.length) parts.push(`${STATUS_WORD[status]} ${mine.map((r) => spanText(dim, r)).join(', ')}`);
  }
  if (!runs.some((r) => !r.conflict)) parts.unshift('none free');
  return parts.join(' · ');
}

// --- the pictures -------------------------------------------------------------------------------

function patterns(id) {
  return svg(
    'defs',
    {},
    svg(
      'pattern',
      { id: `${id}-hatch`, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
      svg('rect', { width: 6, height: 6, class: 'gd-conflict-fill' }),
      svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'gd-hatch-line' }),
    ),
    svg(
      'pattern',
      { id: `${id}-dots`, width: 5, height: 5, patternUnits: 'userSpaceOnUse' },
      svg('rect', { width: 5, height: 5, class: 'gd-recovery-fill' }),
      svg('circle', { cx: 2.5, cy: 2.5, r: 1.1, class: 'gd-dot' }),
    ),
  );
}

const fillOf = (id, status) => (status === 'conflict' ? `url(#${id}-hatch)` : status === 'recovery' ? `url(#${id}-dots)` : null);

const polar = (r, a) => {
  const t = (a * Math.PI) / 180;
  return [r * Math.sin(t), -r * Math.cos(t)];
};
const pt = ([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)}`;

function sectorPath(a0, a1, rIn, rOut) {
  let span = a1 - a0;
  if (span >= 359.999) {
    // a whole ring: two half annuli
    return `${sectorPath(0, 180, rIn, rOut)} ${sectorPath(180, 360, rIn, rOut)}`;
  }
  if (span <= 0) span += 360;
  const large = span > 180 ? 1 : 0;
  const b = a0 + span;
  return `M ${pt(polar(rOut, a0))} A ${rOut} ${rOut} 0 ${large} 1 ${pt(polar(rOut, b))} L ${pt(polar(rIn, b))} A ${rIn} ${rIn} 0 ${large} 0 ${pt(polar(rIn, a0))} Z`;
}

/** Sector edges: halfway between one run's last candidate and the next run's first, around north
 * (runs alike on both sides of north drawn as one). */
function trackSectors(ranges) {
  const runs = trackRuns(ranges);
  const n = runs.length;
  if (n === 1) return [{ ...runs[0], a0: 0, a1: 360 }];
  const gap = (a, b) => (((b - a) % 360) + 360) % 360;
  return runs.map((r, i) => {
    const prev = runs[(i - 1 + n) % n];
    const next = runs[(i + 1) % n];
    return { ...r, a0: r.from - gap(prev.to, r.from) / 2, a1: r.to + gap(r.to, next.from) / 2 };
  });
}

/** The compass rose: an SVG of the track sectors, the current track and a proposed one. */
export function compassRose(ranges, current, { proposed = null, id = `gd${(serial += 1)}`, label = '' } = {}) {
  const R_OUT = 92;
  const R_IN = 66;
  const sectors = trackSectors(ranges).map((s) => {
    const status = statusOf(s);
    return svg('path', {
      d: sectorPath(s.a0, s.a1, R_IN, R_OUT),
      class: `gd-sector gd-${status}`,
      fill: fillOf(id, status),
      'data-status': status,
      'data-from': s.from,
      'data-to': s.to % 360,
    });
  });
  const ticks = [];
  for (let a = 0; a < 360; a += 10) {
    const major = a % 30 === 0;
    ticks.push(svg('line', { x1: polar(R_IN, a)[0], y1: polar(R_IN, a)[1], x2: polar(R_IN - (major ? 8 : 4), a)[0], y2: polar(R_IN - (major ? 8 : 4), a)[1], class: 'gd-tick' }));
    if (major) {
      const [x, y] = polar(R_IN - 17, a);
      const name = { 0: 'N', 90: 'E', 180: 'S', 270: 'W' }[a] ?? String(a / 10);
      ticks.push(svg('text', { x, y, class: `gd-tick-label${a % 90 === 0 ? ' gd-cardinal' : ''}`, 'text-anchor': 'middle', 'dominant-baseline': 'central', text: name }));
    }
  }
  const marks = [];
  if (finite(proposed)) {
    const [x1, y1] = polar(R_IN - 3, proposed);
    const [x2, y2] = polar(R_OUT + 5, proposed);
    marks.push(svg('line', { x1, y1, x2, y2, class: 'gd-proposed' }), svg('circle', { cx: x2, cy: y2, r: 3.5, class: 'gd-proposed-dot' }));
  }
  if (finite(current)) {
    const [x1, y1] = polar(R_IN - 3, current);
    const [x2, y2] = polar(R_OUT + 1, current);
    const tip = polar(R_OUT - 4, current);
    const l = polar(R_OUT + 10, current - 5);
    const r = polar(R_OUT + 10, current + 5);
    marks.push(
      svg('line', { x1, y1, x2, y2, class: 'gd-current' }),
      svg('path', { d: `M ${pt(tip)} L ${pt(l)} L ${pt(r)} Z`, class: 'gd-current-mark' }),
    );
  }
  return svg(
    'svg',
    { viewBox: '-106 -106 212 212', class: 'gd-rose', role: 'img', 'aria-label': label, 'data-guidance': 'rose' },
    svg('title', { text: label }),
    patterns(id),
    svg('circle', { r: R_OUT, class: 'gd-ring' }),
    ...sectors,
    svg('circle', { r: R_IN, class: 'gd-inner' }),
    ...ticks,
    ...marks,
    svg('text', { x: 0, y: -8, class: 'gd-centre-small', 'text-anchor': 'middle', text: 'TRK' }),
    svg('text', { x: 0, y: 12, class: 'gd-centre', 'text-anchor': 'middle', text: finite(current) ? deg(current) : '—' }),
  );
}

/** Linear sectors of a bar or tape: edges halfway between runs. */
function linearSectors(ranges) {
  return ranges.map((r, i) => ({
    ...r,
    lo: i === 0 ? r.from : (ranges[i - 1].to + r.from) / 2,
    hi: i === ranges.length - 1 ? r.to : (r.to + ranges[i + 1].from) / 2,
  }));
}

/** The altitude tape: free and conflicting levels around the current one. */
export function altitudeTape(ranges, current, { id = `gd${(serial += 1)}`, label = '' } = {}) {
  const H = 208;
  const TOP = 6;
  const BOTTOM = H - 6;
  const all = [ranges[0].from, ranges[ranges.length - 1].to];
  const centre = finite(current) ? current : (all[0] + all[1]) / 2;
  let lo = Math.max(all[0], centre - ALT_WINDOW_M);
  let hi = Math.min(all[1], centre + ALT_WINDOW_M);
  if (hi - lo < 2 * ALT_WINDOW_M) {
    if (lo === all[0]) hi = Math.min(all[1], lo + 2 * ALT_WINDOW_M);
    else lo = Math.max(all[0], hi - 2 * ALT_WINDOW_M);
  }
  const y = (m) => BOTTOM - ((m - lo) / (hi - lo || 1)) * (BOTTOM - TOP);
  const bars = linearSectors(ranges)
    .filter((s) => s.hi >= lo && s.lo <= hi)
    .map((s) => {
      const status = statusOf(s);
      const y0 = y(Math.min(s.hi, hi));
      const y1 = y(Math.max(s.lo, lo));
      return svg('rect', { x: 40, y: y0, width: 20, height: Math.max(0.5, y1 - y0), class: `gd-sector gd-${status}`, fill: fillOf(id, status), 'data-status': status, 'data-from': s.from, 'data-to': s.to });
    });
  const ticks = [];
  const step = 5000 * FT;
  for (let m = Math.ceil(lo / step) * step; m <= hi; m += step) {
    ticks.push(svg('line', { x1: 34, x2: 40, y1: y(m), y2: y(m), class: 'gd-tick' }), svg('text', { x: 32, y: y(m), class: 'gd-tick-label', 'text-anchor': 'end', 'dominant-baseline': 'central', text: flOf(m) }));
  }
  const marks = [];
  if (finite(current) && current >= lo && current <= hi) {
    const c = y(current);
    marks.push(
      svg('line', { x1: 36, x2: 64, y1: c, y2: c, class: 'gd-current' }),
      svg('path', { d: `M 62 ${c.toFixed(2)} L 70 ${(c - 5).toFixed(2)} L 70 ${(c + 5).toFixed(2)} Z`, class: 'gd-current-mark' }),
      svg('text', { x: 72, y: c, class: 'gd-value', 'dominant-baseline': 'central', text: flOf(current).slice(2) }),
    );
  }
  return svg(
    'svg',
    { viewBox: `0 0 100 ${H}`, class: 'gd-tape', role: 'img', 'aria-label': label, 'data-guidance': 'tape' },
    svg('title', { text: label }),
    patterns(id),
    svg('rect', { x: 40, y: TOP, width: 20, height: BOTTOM - TOP, class: 'gd-ring' }),
    ...bars,
    ...ticks,
    ...marks,
  );
}

/** A horizontal bar of one speed dimension over its whole range, the current value marked. */
export function speedBar(ranges, current, { id = `gd${(serial += 1)}`, label = '', name = '' } = {}) {
  const W = 200;
  const lo = ranges[0].from;
  const hi = ranges[ranges.length - 1].to;
  const x = (v) => ((v - lo) / (hi - lo || 1)) * W;
  const bars = linearSectors(ranges).map((s) => {
    const status = statusOf(s);
    return svg('rect', { x: x(s.lo), y: 2, width: Math.max(0.5, x(s.hi) - x(s.lo)), height: 12, class: `gd-sector gd-${status}`, fill: fillOf(id, status), 'data-status': status });
  });
  const marks = [];
  if (finite(current)) {
    const c = Math.max(0, Math.min(W, x(current)));
    marks.push(svg('line', { x1: c, x2: c, y1: 0, y2: 16, class: 'gd-current' }), svg('path', { d: `M ${c.toFixed(2)} 15 L ${(c - 4).toFixed(2)} 21 L ${(c + 4).toFixed(2)} 21 Z`, class: 'gd-current-mark' }));
  }
  return svg('svg', { viewBox: `-5 0 ${W + 10} 22`, class: 'gd-bar', role: 'img', 'aria-label': label, 'data-guidance': name }, svg('title', { text: label }), patterns(id), svg('rect', { x: 0, y: 2, width: W, height: 12, class: 'gd-ring' }), ...bars, ...marks);
}

function legend(proposed) {
  const swatch = (status) => {
    const id = `gd${(serial += 1)}`;
    return svg('svg', { viewBox: '0 0 12 12', class: 'gd-swatch', 'aria-hidden': 'true' }, patterns(id), svg('rect', { width: 12, height: 12, class: `gd-sector gd-${status}`, fill: fillOf(id, status) }));
  };
  return el(
    'p',
    { class: 'gd-legend', 'aria-hidden': 'true' },
    el('span', {}, swatch('free'), ' free'),
    el('span', {}, swatch('conflict'), ' conflict'),
    el('span', {}, swatch('recovery'), ' recovery'),
    el('span', { class: 'gd-legend-current' }, '▲ now'),
    proposed ? el('span', { class: 'gd-legend-proposed' }, '┅ resolution (with the other side’s manoeuvre)') : null,
  );
}

/** The current values: the newer of the guidance's own and the track the console polls. */
export function currentOf(guidance, track) {
  const own = guidance && typeof guidance.own === 'object' && guidance.own ? guidance.own : null;
  const ownAt = guidance ? Date.parse(guidance.time) : NaN;
  const trackAt = track ? Date.parse(track.time) : NaN;
  const live = track ? { track_deg: track.track_deg, gs_mps: track.gs_mps, vs_mps: track.vrate_mps, alt_m: track.alt_m } : {};
  const [first, second] = own && !(trackAt > ownAt) ? [own, live] : [live, own ?? {}];
  const pick = (k) => (finite(first[k]) ? first[k] : finite(second[k]) ? second[k] : null);
  return { track_deg: pick('track_deg'), gs_mps: pick('gs_mps'), vs_mps: pick('vs_mps'), alt_m: pick('alt_m') };
}

const DIMS = [
  ['track_deg', 'Track', (v) => deg(v)],
  ['alt_m', 'Level', (v) => flOf(v)],
  ['gs_mps', 'Ground speed', (v) => `${kt(v)} kt`],
  ['vs_mps', 'Vertical speed', (v) => `${fpm(v)} ft/min`],
];

/**
 * The whole guidance widget for one alert, or null when the guidance has no dimension to show.
 * ``options``: {track} the own aircraft's polled state, {proposed} a resolution's target track,
 * {stale} seconds the guidance may be out of date (null: current), {title}.
 */
export function guidanceView(guidance, { track = null, proposed = null, stale = null, title = 'Guidance' } = {}) {
  if (!guidance || typeof guidance !== 'object') return null;
  const ranges = Object.fromEntries(DIMS.map(([dim]) => [dim, readRanges(guidance[dim])]));
  if (!DIMS.some(([dim]) => ranges[dim])) return null;
  const current = currentOf(guidance, track);
  const textOf = (dim, name, show) => `${name}${finite(current[dim]) ? ` now ${show(current[dim])}` : ''}: ${rangesText(dim, ranges[dim])}`;
  const pictures = el('div', { class: 'gd-pictures' });
  if (ranges.track_deg) {
    pictures.append(compassRose(ranges.track_deg, current.track_deg, { proposed, label: textOf('track_deg', 'Track', DIMS[0][2]) }));
  }
  if (ranges.alt_m) pictures.append(altitudeTape(ranges.alt_m, current.alt_m, { label: textOf('alt_m', 'Level', DIMS[1][2]) }));
  const speeds = el('div', { class: 'gd-speeds' });
  for (const [dim, name, show] of DIMS.slice(2)) {
    if (!ranges[dim]) continue;
    speeds.append(
      el('div', { class: 'gd-speed' }, el('span', { class: 'gd-speed-name', text: dim === 'gs_mps' ? 'GS' : 'V/S' }), speedBar(ranges[dim], current[dim], { label: textOf(dim, name, show), name: dim })),
    );
  }
  const list = el(
    'dl',
    { class: 'gd-text' },
    DIMS.filter(([dim]) => ranges[dim]).flatMap(([dim, name, show]) => [
      el('dt', { text: `${name}${finite(current[dim]) ? ` (now ${show(current[dim])})` : ''}` }),
      el('dd', { 'data-dim': dim, text: rangesText(dim, ranges[dim]) }),
    ]),
  );
  const ahead = finite(guidance.lookahead_s) ? ` over the next ${clock(guidance.lookahead_s)}` : '';
  const old = finite(stale);
  return el(
    'section',
    { class: `guidance${old ? ' gd-stale' : ''}`, 'aria-label': title },
    el('h3', { class: 'gd-title', text: `${title}${guidance.own_track ? ` for ${guidance.own_track}` : ''}` }),
    el('p', { class: 'hint gd-note', text: `Own manoeuvres, each flown alone${ahead}.${old ? ` ⚠ not updated for ${Math.round(stale)} s.` : ''}` }),
    pictures,
    speeds.childElementCount ? speeds : null,
    legend(finite(proposed) && Boolean(ranges.track_deg)),
    list,
  );
}
