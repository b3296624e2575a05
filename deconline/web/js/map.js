/**
 * The map (OpenLayers, vendored as the global `ol`): offline basemap, own operations, notices,
 * hazards, tracks and alerts, drawing. Tracks are the hot path (thousands a second): they are
 * painted by TrackPainter on one canvas layer instead of being OpenLayers features.
 */
const ol = globalThis.ol;

const STATE_COLOURS = {
  proposed: '#f2b705',
  accepted: '#4fb3ff',
  active: '#3fb950',
  ended: '#7d8590',
  cancelled: '#7d8590',
};
const LEVEL_LOOK = {
  advisory: { colour: '#f2b705', width: 2, dash: [6, 4], shape: 'circle', mark: '○' },
  warning: { colour: '#ff4d4d', width: 4, dash: null, shape: 'triangle', mark: '▲' },
  loss_of_separation: { colour: '#ff1f1f', width: 5, dash: null, shape: 'square', mark: '■' },
  inside_hazard: { colour: '#ff1f1f', width: 5, dash: null, shape: 'square', mark: '■' },
};
// tar1090-like altitude ramp (metres): orange low, through green and blue, to magenta high
const ALT_STOPS = [
  [0, [255, 128, 0]],
  [1000, [255, 200, 0]],
  [3000, [120, 220, 40]],
  [6000, [0, 200, 200]],
  [9000, [40, 120, 255]],
  [12000, [200, 60, 255]],
];
const ALT_BUCKET_M = 250;
const TRAIL_POINTS = 10;
const TRAILS_UP_TO = 1000; // above this many aircraft, trails would cost more than they tell
const VECTOR_S = 60;
const RINGS_PER_ALERT = 200; // a nonconformance of thousands: the list says how many, the map rings the first

export function altitudeColour(alt) {
  const a = Math.max(ALT_STOPS[0][0], Math.min(alt, ALT_STOPS[ALT_STOPS.length - 1][0]));
  for (let i = 1; i < ALT_STOPS.length; i += 1) {
    const [a1, c1] = ALT_STOPS[i];
    const [a0, c0] = ALT_STOPS[i - 1];
    if (a <= a1) {
      const f = (a - a0) / (a1 - a0 || 1);
      const c = c0.map((v, k) => Math.round(v + f * (c1[k] - v)));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }
  }
  return 'rgb(200,60,255)';
}

function hatchPattern() {
  const canvas = document.createElement('canvas');
  canvas.width = 10;
  canvas.height = 10;
  const g = canvas.getContext('2d');
  g.strokeStyle = 'rgba(255,60,60,0.85)';
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(0, 10);
  g.lineTo(10, 0);
  g.moveTo(-5, 5);
  g.lineTo(5, -5);
  g.moveTo(5, 15);
  g.lineTo(15, 5);
  g.stroke();
  return g.createPattern(canvas, 'repeat');
}

const toMap = (lonlat) => ol.proj.fromLonLat(lonlat);
const toLonLat = (xy) => ol.proj.toLonLat(xy);
const round6 = (v) => Math.round(v * 1e6) / 1e6;

/** A footprint (GeoJSON Polygon, MultiPolygon, Point + radius, or a collection) as a map geometry. */
function footprintGeometry(footprint, radius) {
  if (!footprint) return null;
  if (footprint.type === 'Point') {
    return ol.geom.Polygon.circular(footprint.coordinates, radius || 1000, 64).transform('EPSG:4326', 'EPSG:3857');
  }
  if (footprint.type === 'GeometryCollection') {
    const parts = footprint.geometries.map((g) => footprintGeometry(g, radius)).filter(Boolean);
    return parts.length ? new ol.geom.GeometryCollection(parts) : null;
  }
  return new ol.format.GeoJSON().readGeometry(footprint, { dataProjection: 'EPSG:4326', featureProjection: 'EPSG:3857' });
}

const ms = (iso) => Date.parse(iso);

const EARTH_R = 6378137;
const DEG = Math.PI / 180;
const SPRITE = 20;
const UNAFFILIATED_GREY = '#9aa3ad';

/**
 * Aircraft drawn straight onto one canvas: a sprite per colour and side, rotated per aircraft,
 * heading vectors and trails as one path each. Thousands of aircraft cost a few milliseconds,
 * where one OpenLayers feature per aircraft cost hundreds (measured by bench/bench_console.py).
 */
class TrackPainter {
  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.style.position = 'absolute';
    this.canvas.style.left = '0';
    this.canvas.style.top = '0';
    this.sprites = new Map();
    this.n = 0;
    this.x = new Float64Array(0);
    this.y = new Float64Array(0);
    this.heading = new Float64Array(0);
    this.reach = new Float64Array(0);
    this.sprite = [];
    this.trails = [];
  }

  /**
   * A pre-rotated sprite per altitude colour, side and 10° of heading: drawn without a transform.
   * ``side``: 0 another party's, 1 one's own, 2 unaffiliated (neutral grey: it belongs to no party).
   */
  spriteFor(alt, side, headingDeg) {
    const bucket = Math.round(Math.max(-500, Math.min(alt, 15000)) / ALT_BUCKET_M);
    const turn = Math.round(headingDeg / 10) % 36;
    const own = side === 1;
    const key = (bucket * 3 + side) * 36 + turn;
    let sprite = this.sprites.get(key);
    if (!sprite) {
      sprite = document.createElement('canvas');
      sprite.width = SPRITE;
      sprite.height = SPRITE;
      const g = sprite.getContext('2d');
      g.translate(SPRITE / 2, SPRITE / 2);
      g.rotate(turn * 10 * DEG);
      g.beginPath();
      g.moveTo(0, -8);
      g.lineTo(6, 7);
      g.lineTo(0, 3);
      g.lineTo(-6, 7);
      g.closePath();
      g.fillStyle = side === 2 ? UNAFFILIATED_GREY : altitudeColour(bucket * ALT_BUCKET_M);
      g.fill();
      g.lineWidth = own ? 1 : 2;
      g.strokeStyle = own ? '#0e1621' : '#ffffff';
      g.stroke();
      this.sprites.set(key, sprite);
    }
    return sprite;
  }

  /** Columns in web-mercator metres; ``reach`` is the heading vector's length in map units. */
  set(tracks, ownSide, trails) {
    const n = tracks.length;
    if (this.x.length < n) {
      this.x = new Float64Array(n);
      this.y = new Float64Array(n);
      this.heading = new Float64Array(n);
      this.reach = new Float64Array(n);
    }
    this.sprite = new Array(n);
    for (let i = 0; i < n; i += 1) {
      const t = tracks[i];
      this.x[i] = EARTH_R * t.lon * DEG;
      this.y[i] = EARTH_R * Math.log(Math.tan(Math.PI / 4 + (t.lat * DEG) / 2));
      this.heading[i] = t.track_deg * DEG;
      this.reach[i] = (t.gs_mps * VECTOR_S) / Math.cos(t.lat * DEG);
      this.sprite[i] = this.spriteFor(t.alt_m, t.unaffiliated ? 2 : ownSide.has(t.party) ? 1 : 0, t.track_deg);
    }
    this.n = n;
    this.trails = trails;
  }

  render(frameState) {
    const [width, height] = frameState.size;
    const ratio = frameState.pixelRatio;
    const canvas = this.canvas;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const g = canvas.getContext('2d');
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, canvas.width, canvas.height);
    const [a, b, c, d, e, f] = frameState.coordinateToPixelTransform;
    const px = (x, y) => (a * x + c * y + e) * ratio;
    const py = (x, y) => (b * x + d * y + f) * ratio;
    const margin = 40 * ratio;
    const inside = (u, v) => u > -margin && v > -margin && u < canvas.width + margin && v < canvas.height + margin;
    g.lineWidth = 1.5 * ratio;
    g.strokeStyle = 'rgba(160,200,255,0.45)';
    g.beginPath();
    for (const trail of this.n <= TRAILS_UP_TO ? this.trails : []) {
      g.moveTo(px(trail[0][0], trail[0][1]), py(trail[0][0], trail[0][1]));
      for (let k = 1; k < trail.length; k += 1) g.lineTo(px(trail[k][0], trail[k][1]), py(trail[k][0], trail[k][1]));
    }
    g.stroke();
    g.lineWidth = ratio;
    g.strokeStyle = 'rgba(255,255,255,0.75)';
    g.beginPath();
    for (let i = 0; i < this.n; i += 1) {
      const u = px(this.x[i], this.y[i]);
      const v = py(this.x[i], this.y[i]);
      if (!inside(u, v)) continue;
      const tx = this.x[i] + this.reach[i] * Math.sin(this.heading[i]);
      const ty = this.y[i] + this.reach[i] * Math.cos(this.heading[i]);
      g.moveTo(u, v);
      g.lineTo(px(tx, ty), py(tx, ty));
    }
    g.stroke();
    const size = SPRITE * ratio;
    for (let i = 0; i < this.n; i += 1) {
      const u = px(this.x[i], this.y[i]);
      const v = py(this.x[i], this.y[i]);
      if (!inside(u, v)) continue;
      g.drawImage(this.sprite[i], Math.round(u - size / 2), Math.round(v - size / 2), size, size);
    }
    return canvas;
  }

  /** The index of the aircraft drawn nearest to ``pixel`` (CSS pixels), within ``tolerance``. */
  nearest(map, pixel, tolerance) {
    let best = -1;
    let bestD = tolerance * tolerance;
    for (let i = 0; i < this.n; i += 1) {
      const p = map.getPixelFromCoordinate([this.x[i], this.y[i]]);
      const dd = (p[0] - pixel[0]) ** 2 + (p[1] - pixel[1]) ** 2;
      if (dd < bestD) {
        bestD = dd;
        best = i;
      }
    }
    return best;
  }
}

export class MapView {
  constructor(target, { tileUrl = null, ownSide = [] } = {}) {
    this.target = target;
    this.ownSide = new Set(ownSide);
    this.trails = new Map();
    this.tracks = new Map();
    this.alertsByTrack = new Map();
    this.selectListeners = [];
    this.filter = { hours: 0, lower: -500, upper: 30000 };
    this.hatch = hatchPattern();

    const basemap = new ol.layer.Vector({
      source: new ol.source.Vector({
        url: '/console/vendor/world-atlas/countries-50m.json',
        format: new ol.format.TopoJSON({ layers: ['countries'] }),
        overlaps: false,
      }),
      style: new ol.style.Style({
        fill: new ol.style.Fill({ color: '#23364a' }),
        stroke: new ol.style.Stroke({ color: '#4d6a88', width: 0.8 }),
      }),
      updateWhileInteracting: false,
    });
    const layers = [basemap];
    if (tileUrl) layers.push(new ol.layer.Tile({ source: new ol.source.XYZ({ url: tileUrl, crossOrigin: 'anonymous' }) }));

    this.operations = new ol.source.Vector();
    this.notices = new ol.source.Vector();
    this.hazards = new ol.source.Vector();
    this.painter = new TrackPainter();
    this.trackList = [];
    this.rings = new ol.source.Vector();
    this.ringStyles = new Map(); // level|label -> style (ringStyle)
    this.drawing = new ol.source.Vector();
    this.trackLayer = new ol.layer.Layer({ render: (frameState) => this.painter.render(frameState) });

    layers.push(
      new ol.layer.Vector({ source: this.hazards, style: (f) => this.hazardStyle(f) }),
      new ol.layer.Vector({ source: this.operations, style: (f) => this.operationStyle(f), declutter: true }),
      new ol.layer.Vector({ source: this.notices, style: (f) => this.noticeStyle(f) }),
      this.trackLayer,
      new ol.layer.Vector({ source: this.rings, style: (f) => this.ringStyle(f), declutter: false }),
      new ol.layer.Vector({ source: this.drawing }),
    );

    this.map = new ol.Map({
      target,
      layers,
      view: new ol.View({ center: toMap([17, 56]), zoom: 6 }),
      controls: ol.control.defaults
        .defaults({ attribution: false })
        .extend([
          new ol.control.ScaleLine({ units: 'nautical' }),
          new ol.control.MousePosition({
            coordinateFormat: (c) => `${c[1].toFixed(4)}°, ${c[0].toFixed(4)}°`,
            projection: 'EPSG:4326',
            className: 'map-position',
          }),
        ]),
    });
    this.olMap = this.map;
    this.map.on('singleclick', (event) => {
      if (this.drawInteraction) return;
      const hit = this.painter.nearest(this.map, event.pixel, 10);
      if (hit < 0) return;
      const track = this.trackList[hit];
      for (const fn of this.selectListeners) fn({ party: track.party, id: track.id });
    });
    this.buildOverlay();
  }

  buildOverlay() {
    const box = document.createElement('div');
    box.className = 'map-overlay ol-unselectable ol-control';
    const slider = document.createElement('input');
    slider.type = 'range';
    slider.min = '0';
    slider.max = '24';
    slider.step = '0.25';
    slider.value = '0';
    slider.id = 'map-time';
    const sliderLabel = document.createElement('label');
    sliderLabel.htmlFor = 'map-time';
    const timeText = document.createElement('output');
    timeText.id = 'map-time-text';
    const lower = document.createElement('input');
    const upper = document.createElement('input');
    for (const [input, id, value] of [
      [lower, 'map-lower', '-500'],
      [upper, 'map-upper', '30000'],
    ]) {
      input.type = 'number';
      input.id = id;
      input.value = value;
      input.step = '100';
      input.className = 'map-band';
    }
    const lowerLabel = document.createElement('label');
    lowerLabel.htmlFor = 'map-lower';
    lowerLabel.textContent = 'Band from (m)';
    const upperLabel = document.createElement('label');
    upperLabel.htmlFor = 'map-upper';
    upperLabel.textContent = 'to (m)';
    sliderLabel.textContent = 'Plans at';
    const legend = document.createElement('div');
    legend.className = 'alt-legend';
    legend.setAttribute('aria-label', 'aircraft colour by altitude; grey: no party');
    for (const alt of [0, 1000, 3000, 6000, 9000, 12000]) {
      const chip = document.createElement('span');
      chip.className = 'alt-chip';
      chip.style.background = altitudeColour(alt);
      chip.textContent = alt >= 1000 ? `${alt / 1000}k` : `${alt}`;
      legend.append(chip);
    }
    const noParty = document.createElement('span');
    noParty.className = 'alt-chip no-party';
    noParty.style.background = UNAFFILIATED_GREY;
    noParty.textContent = 'no party';
    noParty.title = 'unaffiliated traffic: aircraft of no party, posted by a surveillance provider';
    legend.append(noParty);
    const legendTitle = document.createElement('span');
    legendTitle.className = 'alt-legend-title';
    legendTitle.textContent = 'altitude (m)';
    legend.prepend(legendTitle);
    const row1 = document.createElement('div');
    row1.append(sliderLabel, slider, timeText);
    const row2 = document.createElement('div');
    row2.append(lowerLabel, lower, upperLabel, upper);
    box.append(row1, row2, legend);
    const update = () => {
      this.filter = { hours: Number(slider.value), lower: Number(lower.value) || -500, upper: Number(upper.value) || 30000 };
      const at = new Date(Date.now() + this.filter.hours * 3600_000);
      timeText.textContent = `now + ${this.filter.hours} h (${at.toISOString().slice(5, 16).replace('T', ' ')} UTC)`;
      this.operations.changed();
      this.notices.changed();
    };
    slider.addEventListener('input', update);
    lower.addEventListener('change', update);
    upper.addEventListener('change', update);
    update();
    this.target.append(box);
  }

  visible(volume) {
    const at = Date.now() + this.filter.hours * 3600_000;
    const inTime = this.filter.hours === 0 ? ms(volume.end) >= at : ms(volume.start) <= at && at <= ms(volume.end);
    return inTime && volume.lower_m < this.filter.upper && volume.upper_m > this.filter.lower;
  }

  operationStyle(feature) {
    const volume = feature.get('volume');
    if (!this.visible(volume)) return null;
    const state = feature.get('state');
    const colour = STATE_COLOURS[state] ?? '#ccc';
    const highlighted = feature.get('op') === this.highlighted;
    return new ol.style.Style({
      stroke: new ol.style.Stroke({ color: colour, width: highlighted ? 4 : 2, lineDash: state === 'proposed' ? [8, 6] : undefined }),
      fill: new ol.style.Fill({ color: `${colour}22` }),
      text: new ol.style.Text({
        text: `${feature.get('name')} · ${state}\n${Math.round(volume.lower_m)}–${Math.round(volume.upper_m)} m`,
        font: '12px system-ui, sans-serif',
        fill: new ol.style.Fill({ color: '#e6edf3' }),
        stroke: new ol.style.Stroke({ color: '#0e1621', width: 3 }),
        overflow: true,
      }),
    });
  }

  noticeStyle(feature) {
    if (!this.visible(feature.get('volume'))) return null;
    return new ol.style.Style({
      fill: new ol.style.Fill({ color: this.hatch }),
      stroke: new ol.style.Stroke({ color: '#ff4d4d', width: 2 }),
    });
  }

  hazardStyle(feature) {
    return new ol.style.Style({
      stroke: new ol.style.Stroke({ color: '#d06bff', width: 2, lineDash: [2, 4] }),
      fill: new ol.style.Fill({ color: 'rgba(208,107,255,0.12)' }),
      text: new ol.style.Text({
        text: `⚠ ${feature.get('kind').replace('_', ' ')}: ${feature.get('name')}`,
        font: 'bold 12px system-ui, sans-serif',
        fill: new ol.style.Fill({ color: '#f0c8ff' }),
        stroke: new ol.style.Stroke({ color: '#0e1621', width: 3 }),
        overflow: true,
      }),
    });
  }

  /** One style per level and label, kept: a nonconformance rings hundreds of aircraft alike. */
  ringStyle(feature) {
    const key = `${feature.get('level')}|${feature.get('label')}`;
    let style = this.ringStyles.get(key);
    if (!style) {
      if (this.ringStyles.size > 100) this.ringStyles.clear(); // labels carry seconds: they change
      style = this.newRingStyle(feature);
      this.ringStyles.set(key, style);
    }
    return style;
  }

  newRingStyle(feature) {
    const look = LEVEL_LOOK[feature.get('level')] ?? LEVEL_LOOK.advisory;
    const stroke = new ol.style.Stroke({ color: look.colour, width: look.width, lineDash: look.dash ?? undefined });
    const fill = look.shape === 'square' ? new ol.style.Fill({ color: `${look.colour}55` }) : undefined;
    const image =
      look.shape === 'circle'
        ? new ol.style.Circle({ radius: 16, stroke })
        : new ol.style.RegularShape({ points: look.shape === 'triangle' ? 3 : 4, radius: 20, angle: look.shape === 'square' ? Math.PI / 4 : 0, stroke, fill });
    const label = feature.get('label');
    return new ol.style.Style({
      image,
      text: !label ? undefined : new ol.style.Text({
        text: `${look.mark} ${label}`,
        offsetY: -28,
        font: 'bold 12px system-ui, sans-serif',
        fill: new ol.style.Fill({ color: look.colour }),
        stroke: new ol.style.Stroke({ color: '#0e1621', width: 3 }),
      }),
    });
  }

  setOperations(ops) {
    const volumes = [];
    const notices = [];
    for (const op of ops) {
      op.volumes.forEach((volume, index) => {
        const geometry = footprintGeometry(volume.footprint, volume.radius_m);
        if (!geometry) return;
        volumes.push(new ol.Feature({ geometry, op: op.id, name: op.name || op.id, state: op.state, volume, index }));
      });
      for (const notice of op.notices ?? []) {
        const geometry = footprintGeometry(notice.conflict.footprint, null);
        if (geometry) notices.push(new ol.Feature({ geometry, op: op.id, notice: notice.id, volume: notice.conflict }));
      }
    }
    this.operations.clear(true);
    this.operations.addFeatures(volumes);
    if (!this.fitted && volumes.length) {
      this.fitted = true; // the first picture: show one's own operations
      this.map.getView().fit(this.operations.getExtent(), { padding: [80, 80, 80, 80], maxZoom: 9 });
    }
    this.notices.clear(true);
    this.notices.addFeatures(notices);
  }

  setHazards(hazards) {
    const features = hazards
      .filter((h) => h.state === 'active')
      .map((h) => new ol.Feature({ geometry: footprintGeometry(h.volume.footprint, h.volume.radius_m), kind: h.kind, name: h.name || h.id, hazard: h.id }));
    this.hazards.clear(true);
    this.hazards.addFeatures(features);
  }

  setTracks(tracks) {
    const trails = [];
    const seen = new Set();
    this.tracks.clear();
    for (const t of tracks) {
      const key = `${t.party}/${t.id}`;
      seen.add(key);
      this.tracks.set(key, t);
      const xy = [EARTH_R * t.lon * DEG, EARTH_R * Math.log(Math.tan(Math.PI / 4 + (t.lat * DEG) / 2))];
      let trail = this.trails.get(key);
      if (!trail) {
        trail = [];
        this.trails.set(key, trail);
      }
      const last = trail[trail.length - 1];
      if (!last || last[0] !== xy[0] || last[1] !== xy[1]) trail.push(xy);
      if (trail.length > TRAIL_POINTS) trail.shift();
      if (trail.length > 1) trails.push(trail);
    }
    if (this.trails.size > seen.size) for (const key of this.trails.keys()) if (!seen.has(key)) this.trails.delete(key);
    this.trackList = tracks;
    this.painter.set(tracks, this.ownSide, trails);
    this.trackLayer.changed();
    this.drawRings();
  }

  /** How many aircraft are on the map (for tests and benchmarks). */
  trackCount() {
    return this.painter.n;
  }

  setAlerts(alerts) {
    this.alertsByTrack.clear();
    this.alerts = alerts.filter((a) => a.state !== 'cleared');
    this.drawRings();
  }

  drawRings() {
    const features = [];
    for (const alert of this.alerts ?? []) {
      const label = `${alert.level.replaceAll('_', ' ').toUpperCase()}${alert.kind === 'separation' && !alert.los ? ` ${Math.round(alert.t_los)} s` : ''}`;
      // A nonconformance lists its party's aircraft outside: a ring on each of the first RINGS_PER_ALERT,
      // the label on the first only.
      let first = true;
      for (const own of alert.aircraft?.slice(0, RINGS_PER_ALERT) ?? [alert.own_track]) {
        const mine = [...this.ownSide].map((p) => this.tracks.get(`${p}/${own}`)).find(Boolean);
        if (!mine) continue;
        features.push(new ol.Feature({ geometry: new ol.geom.Point(toMap([mine.lon, mine.lat])), level: alert.level, label: first ? label : '', alert: alert.id }));
        first = false;
      }
      const intruder = alert.intruder;
      if (intruder) {
        const known = this.tracks.get(`${intruder.party}/${intruder.track}`) ?? intruder.state;
        if (known) features.push(new ol.Feature({ geometry: new ol.geom.Point(toMap([known.lon, known.lat])), level: alert.level, label: `${intruder.party} ${intruder.track}`, alert: alert.id }));
      }
    }
    this.rings.clear(true);
    this.rings.addFeatures(features);
  }

  centreOn(lon, lat, zoom = 8) {
    this.map.getView().animate({ center: toMap([lon, lat]), zoom, duration: 300 });
  }

  highlightOperation(id) {
    this.highlighted = id;
    this.operations.changed();
    const extent = ol.extent.createEmpty();
    for (const f of this.operations.getFeatures()) if (f.get('op') === id) ol.extent.extend(extent, f.getGeometry().getExtent());
    for (const f of this.notices.getFeatures()) if (f.get('op') === id) ol.extent.extend(extent, f.getGeometry().getExtent());
    if (!ol.extent.isEmpty(extent)) this.map.getView().fit(extent, { padding: [60, 60, 60, 60], duration: 300, maxZoom: 10 });
  }

  onSelectTrack(fn) {
    this.selectListeners.push(fn);
  }

  /** Let the person draw a polygon (click the corners, double-click to finish) or a circle (centre, then edge). */
  draw(kind) {
    this.cancelDraw?.();
    return new Promise((resolve) => {
      const interaction = new ol.interaction.Draw({ source: this.drawing, type: kind === 'Circle' ? 'Circle' : 'Polygon' });
      this.drawInteraction = interaction;
      const finish = (result) => {
        document.removeEventListener('keydown', onKey);
        this.map.removeInteraction(interaction);
        this.drawInteraction = null;
        this.cancelDraw = null;
        setTimeout(() => this.drawing.clear(), 0);
        resolve(result);
      };
      const onKey = (event) => {
        if (event.key === 'Escape') {
          interaction.abortDrawing();
          finish(null);
        }
      };
      this.cancelDraw = () => finish(null);
      interaction.on('drawend', (event) => {
        const geometry = event.feature.getGeometry();
        if (geometry.getType() === 'Circle') {
          const centre = geometry.getCenter();
          const lonlat = toLonLat(centre);
          const edge = toLonLat([centre[0] + geometry.getRadius(), centre[1]]);
          finish({ footprint: { type: 'Point', coordinates: lonlat.map(round6) }, radius_m: Math.round(ol.sphere.getDistance(lonlat, edge)) });
        } else {
          const ring = geometry.getCoordinates()[0].map((xy) => toLonLat(xy).map(round6));
          finish({ footprint: { type: 'Polygon', coordinates: [ring] } });
        }
      });
      document.addEventListener('keydown', onKey);
      this.map.addInteraction(interaction);
    });
  }
}
