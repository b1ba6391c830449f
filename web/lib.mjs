// Pure helpers of the web map, shared by the page (app.mjs) and the node tests
// (tests/web/lib_test.mjs): no DOM, no map.

// Legend entries of a MapLibre style: per style layer, its colour and, where the colour is a
// ["match", ["get", field], value, colour, …, fallback] expression, one entry per value.
export function legendEntries(style) {
  const out = [];
  for (const layer of style.layers || []) {
    if (!layer['source-layer']) continue;
    const paint = layer.paint || {};
    const colour = paint['fill-color'] ?? paint['line-color'] ?? paint['circle-color'];
    const group = { id: layer.id, sourceLayer: layer['source-layer'], type: layer.type, items: [] };
    if (Array.isArray(colour) && colour[0] === 'match' && Array.isArray(colour[1]) && colour[1][0] === 'get') {
      group.field = colour[1][1];
      for (let i = 2; i + 1 < colour.length; i += 2) group.items.push({ value: String(colour[i]), colour: colour[i + 1] });
      group.items.push({ value: '(other)', colour: colour[colour.length - 1] });
    } else if (typeof colour === 'string') {
      group.items.push({ value: '', colour });
    }
    out.push(group);
  }
  return out;
}

// The /api/trace query for a click: validated here so the page never sends nonsense.
export function traceQuery({ lon, lat, direction, maxKm, mode }) {
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) throw new Error('a point is needed');
  if (direction !== 'up' && direction !== 'down') throw new Error('direction: up or down');
  const p = new URLSearchParams({ at: `${lon.toFixed(6)},${lat.toFixed(6)}`, direction, format: 'geojson' });
  if (mode === 'main') p.set('mode', 'main');
  if (maxKm !== undefined && maxKm !== '' && maxKm !== null) {
    const km = Number(maxKm);
    if (!Number.isFinite(km) || km <= 0) throw new Error('max km: a positive number');
    p.set('max_km', String(km));
  }
  return '/api/trace?' + p.toString();
}

// RFC 4180 CSV with a UTF-8 BOM (Excel opens Chinese text correctly): rows of objects, the
// columns in the order given.
export function toCsv(columns, rows) {
  const cell = (v) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  };
  const lines = [columns.map(cell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => cell(r[c])).join(','));
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}

// The features met by a trace (GeoJSON from /api/trace?format=geojson) as CSV rows, in the
// order of network distance.
export function traceFeatureRows(fc) {
  return (fc.features || [])
    .filter((f) => f.properties && f.properties.kind === 'feature')
    .map((f) => f.properties)
    .sort((a, b) => (a.distance_km ?? 0) - (b.distance_km ?? 0));
}

// A filter for reports between two dates (YYYY-MM-DD; either may be empty) on a text field
// holding ISO dates or date-times.
export function dateFilter(field, from, to) {
  const parts = ['all'];
  if (from) parts.push(['>=', ['slice', ['to-string', ['get', field]], 0, 10], from]);
  if (to) parts.push(['<=', ['slice', ['to-string', ['get', field]], 0, 10], to]);
  return parts.length > 1 ? parts : null;
}

// The patrol request for the panel: a preset or rivers, a date, boat or foot; the format asked
// (geojson for the map, gpx/csv/html for downloads).
export function patrolQuery({ target, date, mode, format }) {
  const p = new URLSearchParams();
  if (target === 'yihe-sanhu') p.set('preset', 'yihe-sanhu');
  else if (target && target.trim()) p.set('river', target.trim());
  else throw new Error('patrol: choose 一河三湖 or name a river');
  if (date) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error('patrol: date YYYY-MM-DD');
    p.set('date', date);
  }
  if (mode !== 'boat' && mode !== 'foot') throw new Error('patrol: boat or foot');
  p.set('mode', mode);
  p.set('format', format || 'geojson');
  return '/api/patrol?' + p.toString();
}

// The customary colours of the GB 3838-2002 classes (as the national water-quality reports draw
// them), and the class of a section's tile attribute.
export const CLASS_COLOURS = { I: '#ccffff', II: '#00ccff', III: '#00ff00', IV: '#ffff00', V: '#ff9b00', '劣V': '#ff0000' };

// uPlot data from a /api/sections/{id}/readings answer for one indicator: x in seconds (the
// times as CST wall-clock, shown as written), one y array per series (parties and methods
// apart), and the target-class limit as a constant line where the section has one.
export function chartData(doc, indicator) {
  const series = (doc.series || []).filter((s) => s.indicator === indicator);
  const times = new Set();
  for (const s of series) for (const p of s.points) times.add(p[0]);
  const xs = [...times].sort();
  const index = new Map(xs.map((t, i) => [t, i]));
  const toSec = (t) => Date.parse(t.length === 7 ? t + '-01T00:00:00Z' : t.length === 10 ? t + 'T00:00:00Z' : t + 'Z') / 1000;
  const data = [xs.map(toSec)];
  const labels = [];
  for (const s of series) {
    const y = new Array(xs.length).fill(null);
    for (const p of s.points) y[index.get(p[0])] = p[1];
    data.push(y);
    labels.push([s.method, s.party].filter(Boolean).join(' ') || 'readings');
  }
  const limit = series.find((s) => typeof s.target_limit === 'number');
  if (limit) {
    data.push(xs.map(() => limit.target_limit));
    labels.push(`target ${doc.target} (${limit.target_limit_kind === 'min' ? '≥' : '≤'} ${limit.target_limit})`);
  }
  return { data, labels, unit: series[0]?.unit ?? '', name: series[0]?.name ?? indicator, hasTarget: !!limit };
}
