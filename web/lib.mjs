// Pure helpers of the web map, shared by the page (app.mjs) and the node tests
// (tests/web/lib_test.mjs): no DOM, no map. Their messages come from the UI catalogue.
import { t } from './i18n.mjs';

// The legend: one group per data layer of the style (the label-* layers are switched
// together; a point layer drawn as a shape, ✿ ▲ ■ ◆ ★, shows its shape), titled in words from the layer definitions (GET /api/catalog): the layer's title,
// the field's Chinese header, each value's Chinese word with the stored value beside it —
// 一级 1, 上海市 310000, Ⅲ类 III, 其他 other. Without a catalogue the raw values show.
export function legendEntries(style, catalog) {
  const out = [];
  const layers = catalog?.layers ?? {};
  for (const layer of style.layers || []) {
    if (!layer['source-layer'] || layer.id.startsWith('label-')) continue;
    const paint = layer.paint || {};
    const colour = paint['fill-color'] ?? paint['line-color'] ?? paint['circle-color'] ?? paint['text-color'];
    const def = layers[layer['source-layer']];
    const group = { id: layer.id, sourceLayer: layer['source-layer'], type: layer.type, items: [],
      title: layer.metadata?.['crossriver:title'] ?? def?.title ?? layer.id, symbol: layer.layout?.['text-field'] };
    if (Array.isArray(colour) && colour[0] === 'match' && Array.isArray(colour[1]) && colour[1][0] === 'get') {
      group.field = colour[1][1];
      const f = def?.fields?.[group.field];
      group.fieldTitle = f ? f.zh : FIELD_WORDS[group.field] ?? group.field;
      for (let i = 2; i + 1 < colour.length; i += 2) {
        const value = String(colour[i]);
        group.items.push({ value, colour: colour[i + 1], word: valueWord(group.field, value, f, catalog) });
      }
      group.items.push({ value: '(other)', colour: colour[colour.length - 1], word: t('legend.other') });
    } else if (typeof colour === 'string') {
      group.items.push({ value: '', colour, word: '' });
    }
    out.push(group);
  }
  return out;
}

// Fields the store derives (joins, statuses) — not in the layer definitions.
export const FIELD_WORDS = {
  reach_id: '河段 reach', lake_id: '湖泊 lake', measure_m: '河段里程(米) measure m',
  reach_distance_m: '距河段(米) distance to reach m', offset_m: '离河道中心(米) offset m',
  bank: '岸别 bank', county_code: '区县 county', town_code: '乡镇 town', zone_id: '保护区 zone',
  zone_grade: '保护区级别 zone grade', boundary_distance_m: '距行政边界(米) to boundary m',
  boundary_across_code: '边界对侧 across the boundary', wq_class: '水质类别 class',
  wq_target_met: '是否达标 target met', wq_latest: '最新监测 latest',
};
// What says where a record came from, folded under 来源 provenance in a popup.
export const PROVENANCE = new Set(['layer', 'fid', 'source_id', 'version', 'valid_from', 'valid_to',
  'closed_by_batch', 'batch_id', 'source_row', 'content_sha256', 'raw_x', 'raw_y',
  'coord_method', 'notes', 'extra', 'join_flags', 'join_generation']);

const ROMAN = { I: 'Ⅰ', II: 'Ⅱ', III: 'Ⅲ', IV: 'Ⅳ', V: 'Ⅴ', '劣V': '劣Ⅴ' };

function valueWord(field, value, f, catalog) {
  if (f?.values?.[value] && f.values[value] !== value) return `${f.values[value]} ${value}`;
  const division = catalog?.divisions?.[value];
  if (division) return `${division} ${value}`;
  if (field === 'wq_class' && ROMAN[value]) return `${ROMAN[value]}类 ${value}`;
  return value;
}

// A popup's rows: the titled fields first ([title, value words]) and the provenance apart,
// empty values left out.
export function popupRows(properties, layer, catalog) {
  const def = catalog?.layers?.[layer];
  const main = [];
  const provenance = [];
  for (const [k, v] of Object.entries(properties || {})) {
    if (v === null || v === undefined || v === '') continue;
    if (PROVENANCE.has(k)) { provenance.push([k, String(v)]); continue; }
    const f = def?.fields?.[k];
    const title = f ? (f.zh === k ? k : `${f.zh} ${k}`) : FIELD_WORDS[k] ?? k;
    const word = f?.values?.[String(v)];
    main.push([title, word && word !== String(v) ? `${word} (${v})` : String(v)]);
  }
  return { main, provenance };
}

// The /api/trace query for a click or a typed point: validated here so the page never sends
// nonsense; a spill amount (kg) and duration (h) downstream add the plume's edges.
export function traceQuery({ lon, lat, direction, maxKm, mode, spillKg, spillHours }) {
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) throw new Error(t('err.point'));
  if (direction !== 'up' && direction !== 'down') throw new Error(t('err.direction'));
  const p = new URLSearchParams({ at: `${lon.toFixed(6)},${lat.toFixed(6)}`, direction, format: 'geojson' });
  if (mode === 'main') p.set('mode', 'main');
  if (maxKm !== undefined && maxKm !== '' && maxKm !== null) {
    const km = Number(maxKm);
    if (!Number.isFinite(km) || km <= 0) throw new Error(t('err.max_km'));
    p.set('max_km', String(km));
  }
  if (spillKg !== undefined && spillKg !== '' && spillKg !== null) {
    const kg = Number(spillKg);
    if (!Number.isFinite(kg) || kg <= 0) throw new Error(t('err.spill'));
    if (direction !== 'down') throw new Error(t('err.spill_up'));
    p.set('spill_kg', String(kg));
    const h = spillHours === undefined || spillHours === '' ? 1 : Number(spillHours);
    if (!Number.isFinite(h) || h <= 0) throw new Error(t('err.duration'));
    p.set('spill_hours', String(h));
  }
  return '/api/trace?' + p.toString();
}

// One coordinate as typed: decimal (120.8792) or degrees-minutes-seconds (120°52'45"E,
// 120度52分45秒, 31°1'30.5"N), S and W negative.
function angle(text) {
  const t = text.trim().replace(/[′’]/g, "'").replace(/[″”]/g, '"').replace(/[度°]/g, '°')
    .replace(/分/g, "'").replace(/秒/g, '"');
  const sign = /[SWsw]$/.test(t) || t.startsWith('-') ? -1 : 1;
  const body = t.replace(/^[+-]/, '').replace(/[NSEWnsew]$/, '').trim();
  if (/^\d+(\.\d+)?$/.test(body)) return sign * Number(body);
  const m = body.match(/^(\d+(?:\.\d+)?)°\s*(?:(\d+(?:\.\d+)?)'\s*)?(?:(\d+(?:\.\d+)?)"?)?$/);
  if (!m) return NaN;
  const min = Number(m[2] ?? 0), sec = Number(m[3] ?? 0);
  if (min >= 60 || sec >= 60) return NaN;
  return sign * (Number(m[1]) + min / 60 + sec / 3600);
}

// A point as typed in the coordinate box: "LON,LAT" (a Chinese or full-width comma too, or
// a space), decimal or DMS. Latitude first (31.02,120.88) is recognised and turned round, said
// in swapped. Throws a message that names what is wrong.
export function parseCoordinate(text) {
  const parts = String(text ?? '').trim().split(/\s*[,，、]\s*|\s+(?=[+-]?\d)/).filter(Boolean);
  if (parts.length !== 2) throw new Error(t('err.coord_form'));
  let [a, b] = parts.map(angle);
  if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(t('err.coord_value', { text }));
  const latFirst = /[NSns]$/.test(parts[0].trim()) || (Math.abs(a) <= 90 && Math.abs(b) > 90);
  if (latFirst) [a, b] = [b, a];
  if (Math.abs(a) > 180 || Math.abs(b) > 90) throw new Error(t('err.coord_range', { a, b }));
  return { lon: a, lat: b, swapped: latFirst };
}

// GCJ-02 (the Chinese map datum a phone's map shows) to WGS84: the published forward shift,
// inverted by fixed-point iteration to well under a centimetre.
function gcjShift(lon, lat) {
  const a = 6378245.0, ee = 0.00669342162296594323, x = lon - 105, y = lat - 35;
  let dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dLat += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
  dLat += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
  dLat += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
  let dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dLon += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
  dLon += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
  dLon += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
  const rad = lat / 180 * Math.PI;
  const m = 1 - ee * Math.sin(rad) ** 2, sm = Math.sqrt(m);
  return [dLon * 180 / (a / sm * Math.cos(rad) * Math.PI), dLat * 180 / (a * (1 - ee) / (m * sm) * Math.PI)];
}
export function wgs84ToGcj02(lon, lat) {
  const [dx, dy] = gcjShift(lon, lat);
  return [lon + dx, lat + dy];
}
export function gcj02ToWgs84(lon, lat) {
  let w = [lon, lat];
  for (let i = 0; i < 30; i++) {
    const g = wgs84ToGcj02(w[0], w[1]);
    const ex = g[0] - lon, ey = g[1] - lat;
    w = [w[0] - ex, w[1] - ey];
    if (Math.abs(ex) < 1e-10 && Math.abs(ey) < 1e-10) break;
  }
  return w;
}

// What a downstream trace threatens first: intakes, protection zones and sections, by the
// time the water (or the plume's leading edge) arrives; with a spill its peak and trailing edge.
export function threatenedRows(fc) {
  const keep = new Set(['intakes', 'protection_zones', 'monitoring_sections']);
  return (fc.features || []).map((f) => f.properties)
    .filter((p) => p && p.kind === 'feature' && keep.has(p.layer))
    .map((p) => ({ ...p, arrives_h: p.spill?.leading_edge_h ?? p.time_h }))
    .sort((a, b) => (a.arrives_h ?? 0) - (b.arrives_h ?? 0) || (a.layer === 'intakes' ? -1 : 1));
}

// A page of rows: page 0 is the first size rows.
export function pageOf(rows, page, size) {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = Math.min(Math.max(0, page), pages - 1);
  return { rows: rows.slice(p * size, (p + 1) * size), page: p, pages };
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
  else throw new Error(t('err.patrol_target'));
  if (date) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(t('err.patrol_date'));
    p.set('date', date);
  }
  if (mode !== 'boat' && mode !== 'foot') throw new Error(t('err.patrol_mode'));
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
