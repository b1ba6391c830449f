// Unit tests of web/lib.mjs (node:test). Run: node --test tests/web/lib_test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseCoordinate, gcj02ToWgs84, wgs84ToGcj02, threatenedRows, pageOf } from '../../web/lib.mjs';
import { legendEntries, popupRows, traceQuery, toCsv, traceFeatureRows, dateFilter, patrolQuery, chartData, CLASS_COLOURS } from '../../web/lib.mjs';

import { setLanguage } from '../../web/i18n.mjs';

setLanguage('en'); // the helpers' messages in English here; the catalogue test covers both
const style = JSON.parse(readFileSync(new URL('../../styles/zone.json', import.meta.url), 'utf8'));

test('legend: one group per data layer, match values in order, fallback last', () => {
  const g = legendEntries(style);
  assert.equal(g.length, style.layers.filter((l) => l['source-layer'] && !l.id.startsWith('label-')).length);
  const zones = g.find((x) => x.id === 'protection-zones');
  assert.equal(zones.field, 'grade');
  assert.deepEqual(zones.items.map((i) => i.value), ['1', '2', 'quasi', '(other)']);
  assert.equal(g.find((x) => x.id === 'lakes').items.length, 1);
});

// the words as GET /api/catalog gives them, for two layers
const catalog = {
  layers: {
    protection_zones: { title: '饮用水水源保护区 Drinking-water source protection zones', fields: {
      grade: { zh: '保护区级别', en: 'grade', values: { 1: '一级', 2: '二级', quasi: '准保护区' } },
      name: { zh: '保护区名称', en: 'name' } } },
    reaches: { title: '河段 Reaches', fields: { flow: { zh: '流向', en: 'flow', values: { down: '顺流', both: '双向', gated: '闸控' } } } },
  },
  divisions: { 310000: '上海市', 320000: '江苏省', 330000: '浙江省' },
};

test('legend in words: layer titles, field headers, value words beside the codes', () => {
  const g = legendEntries(style, catalog);
  const zones = g.find((x) => x.id === 'protection-zones');
  assert.equal(zones.title, '饮用水水源保护区 Drinking-water protection zones'); /* the style's own */
  assert.equal(g.find((x) => x.id === 'lakes').title, 'lakes'); /* no catalogue entry, no style title */
  assert.equal(zones.fieldTitle, '保护区级别');
  assert.deepEqual(zones.items.map((i) => i.word), ['一级 1', '二级 2', '准保护区 quasi', 'other 其他']);
  const counties = g.find((x) => x.id === 'counties-fill');
  assert.deepEqual(counties.items.slice(0, 3).map((i) => i.word), ['上海市 310000', '江苏省 320000', '浙江省 330000']);
  const reaches = g.find((x) => x.id === 'reaches');
  assert.ok(reaches.items.some((i) => i.word === '双向 both') && reaches.items.some((i) => i.word === '闸控 gated'));
  const sections = g.find((x) => x.sourceLayer === 'monitoring_sections' && x.field === 'wq_class');
  assert.ok(sections.items.some((i) => i.word === 'Ⅲ类 III') && sections.items.some((i) => i.word === '劣Ⅴ类 劣V'));
  assert.ok(!g.some((x) => x.id.startsWith('label-')), 'labels are switched together, not legended');
  assert.equal(g.find((x) => x.id === 'gates').symbol, '■'); /* shapes, not all circles */
  assert.equal(g.find((x) => x.id === 'hyacinth').symbol, '✿');
});

test('popup rows: titled fields in Chinese, provenance apart, empties left out', () => {
  const { main, provenance } = popupRows({ zone_id: 'Z', grade: 'quasi', name: '金泽', county_code: '310118',
    source_id: 'Z', batch_id: 7, content_sha256: 'ab', notes: '', raw_x: null }, 'protection_zones', catalog);
  assert.deepEqual(main, [['保护区 zone', 'Z'], ['保护区级别 grade', '准保护区 (quasi)'], ['保护区名称 name', '金泽'], ['区县 county', '310118']]);
  assert.deepEqual(provenance, [['source_id', 'Z'], ['batch_id', '7'], ['content_sha256', 'ab']]);
});

test('trace query: validated and encoded', () => {
  assert.equal(traceQuery({ lon: 120.5, lat: 31.1, direction: 'down', maxKm: '30' }),
    '/api/trace?at=120.500000%2C31.100000&direction=down&format=geojson&max_km=30');
  assert.match(traceQuery({ lon: 1, lat: 2, direction: 'up', mode: 'main', maxKm: '' }), /mode=main/);
  assert.doesNotMatch(traceQuery({ lon: 1, lat: 2, direction: 'up', maxKm: '' }), /max_km/);
  assert.throws(() => traceQuery({ lon: 1, lat: 2, direction: 'sideways' }), /direction/);
  assert.throws(() => traceQuery({ lon: 1, lat: 2, direction: 'up', maxKm: '-3' }), /max km/);
  assert.throws(() => traceQuery({ lon: NaN, lat: 2, direction: 'up' }), /point/);
});

test('CSV: BOM, CRLF, quoting, missing values', () => {
  const csv = toCsv(['a', 'b'], [{ a: '太浦河, "一号"', b: 1.5 }, { a: 'x' }]);
  assert.equal(csv, '\ufeffa,b\r\n"太浦河, ""一号""",1.5\r\nx,\r\n');
});

test('trace rows: features only, by distance', () => {
  const fc = { features: [
    { properties: { kind: 'reach', reach_id: 'R' } },
    { properties: { kind: 'feature', id: 'far', distance_km: 9 } },
    { properties: { kind: 'feature', id: 'near', distance_km: 1 } }] };
  assert.deepEqual(traceFeatureRows(fc).map((r) => r.id), ['near', 'far']);
});

test('date filter: either bound, or none', () => {
  assert.equal(dateFilter('reported_at', '', ''), null);
  const f = dateFilter('reported_at', '2025-06-01', '');
  assert.equal(f[0], 'all');
  assert.equal(f.length, 2);
  assert.deepEqual(f[1][2], '2025-06-01');
});

test('patrolQuery: preset or river, date, mode, format; bad input refused', () => {
  assert.equal(patrolQuery({ target: 'yihe-sanhu', date: '2025-10-31', mode: 'boat' }),
    '/api/patrol?preset=yihe-sanhu&date=2025-10-31&mode=boat&format=geojson');
  assert.equal(patrolQuery({ target: ' 太浦河 ', mode: 'foot', format: 'gpx' }),
    '/api/patrol?river=%E5%A4%AA%E6%B5%A6%E6%B2%B3&mode=foot&format=gpx');
  assert.throws(() => patrolQuery({ target: '', mode: 'boat' }), /river/);
  assert.throws(() => patrolQuery({ target: 'yihe-sanhu', date: '31/10/2025', mode: 'boat' }), /date/);
  assert.throws(() => patrolQuery({ target: 'yihe-sanhu', mode: 'car' }), /boat or foot/);
});

test('chart data: series by method and party on one time axis, the target as a line', () => {
  const doc = { name: '太浦河康家村', target: 'II', series: [
    { indicator: 'nh3n', name: '氨氮', unit: 'mg/L', method: 'manual', party: 'upstream', target_limit: 0.5, target_limit_kind: 'max',
      points: [['2025-01-11', 0.45, 1, false], ['2025-02-09', 0.38, 1, false]] },
    { indicator: 'nh3n', name: '氨氮', unit: 'mg/L', method: 'automatic', party: '', target_limit: 0.5, target_limit_kind: 'max',
      points: [['2025-01-10', 0.33, 6, false], ['2025-01-11', 0.35, 6, false]] },
    { indicator: 'tp', name: '总磷', unit: 'mg/L', method: 'manual', party: '', points: [['2025-01-11', 0.06, 1, false]] }] };
  const cd = chartData(doc, 'nh3n');
  assert.deepEqual(cd.data[0], [Date.parse('2025-01-10T00:00:00Z') / 1000, Date.parse('2025-01-11T00:00:00Z') / 1000,
    Date.parse('2025-02-09T00:00:00Z') / 1000]);
  assert.deepEqual(cd.data[1], [null, 0.45, 0.38]);
  assert.deepEqual(cd.data[2], [0.33, 0.35, null]);
  assert.deepEqual(cd.data[3], [0.5, 0.5, 0.5]);
  assert.deepEqual(cd.labels, ['manual upstream', 'automatic', 'target II (≤ 0.5)']);
  assert.equal(chartData(doc, 'tp').hasTarget, false);
});

test('class colours: the style colours sections as the national reports do', () => {
  const sections = style.layers.find((l) => l.id === 'sections');
  const expr = sections.paint['circle-color'];
  assert.deepEqual(expr[1], ['get', 'wq_class']);
  for (const [cls, colour] of Object.entries(CLASS_COLOURS)) {
    assert.equal(expr[expr.indexOf(cls) + 1], colour, cls);
  }
});

test('coordinates as typed: decimal, DMS, Chinese commas and units, latitude first', () => {
  const near = (p, lon, lat) => Math.abs(p.lon - lon) < 1e-9 && Math.abs(p.lat - lat) < 1e-9;
  assert.ok(near(parseCoordinate('120.8792,31.025'), 120.8792, 31.025));
  assert.ok(near(parseCoordinate('120°52\'45"E,31°1\'30"N'), 120 + 52 / 60 + 45 / 3600, 31 + 1 / 60 + 30 / 3600));
  assert.ok(near(parseCoordinate('120度52分45秒，31度1分30秒'), 120 + 52 / 60 + 45 / 3600, 31.025));
  assert.ok(near(parseCoordinate('120.8792 31.025'), 120.8792, 31.025));
  const swapped = parseCoordinate('31.025, 120.8792');
  assert.ok(swapped.swapped && near(swapped, 120.8792, 31.025));
  assert.ok(parseCoordinate('31°1\'30"N,120°52\'45"E').swapped);
  assert.throws(() => parseCoordinate('120.88'), /LON,LAT/);
  assert.throws(() => parseCoordinate('120°75\'0"E,31'), /not decimal degrees or DMS/);
  assert.throws(() => parseCoordinate('200,95'), /not on the Earth/);
});

test('GCJ-02 to WGS84: gcoord (independent) maps our point back onto the input within a millimetre', () => {
  const gcoord = createRequire(import.meta.url)('gcoord');
  const metres = (a, b) => Math.hypot((a[0] - b[0]) * 111320 * Math.cos(a[1] * Math.PI / 180), (a[1] - b[1]) * 110540);
  for (let lon = 120.5; lon <= 121.3; lon += 0.1) {
    for (let lat = 30.7; lat <= 31.3; lat += 0.1) {
      const w = gcj02ToWgs84(lon, lat);
      /* gcoord's forward shift of our inverse is the input; its own inverse is looser (≤ 0.5 m) */
      assert.ok(metres(gcoord.transform(w, gcoord.WGS84, gcoord.GCJ02), [lon, lat]) < 0.001);
      assert.ok(metres(w, gcoord.transform([lon, lat], gcoord.GCJ02, gcoord.WGS84)) < 0.5);
      assert.ok(metres(wgs84ToGcj02(w[0], w[1]), [lon, lat]) < 0.001); /* our own round trip */
      assert.ok(metres(w, [lon, lat]) > 300); /* the shift is hundreds of metres here */
    }
  }
});

test('trace query with a spill; threatened places first by arrival; pages', () => {
  const q = traceQuery({ lon: 120.88, lat: 31.02, direction: 'down', spillKg: '800', spillHours: '2' });
  assert.match(q, /spill_kg=800&spill_hours=2/);
  assert.throws(() => traceQuery({ lon: 1, lat: 2, direction: 'up', spillKg: '5' }), /downstream/);
  assert.throws(() => traceQuery({ lon: 1, lat: 2, direction: 'down', spillKg: '-5' }), /positive/);
  const fc = { features: [
    { properties: { kind: 'feature', layer: 'outfalls', id: 'O', time_h: 0.1 } },
    { properties: { kind: 'feature', layer: 'monitoring_sections', id: 'S', time_h: 3, spill: { leading_edge_h: 2.5 } } },
    { properties: { kind: 'feature', layer: 'intakes', id: 'I', time_h: 1.5 } }] };
  assert.deepEqual(threatenedRows(fc).map((r) => [r.id, r.arrives_h]), [['I', 1.5], ['S', 2.5]]);
  const rows = Array.from({ length: 120 }, (_, i) => i);
  assert.deepEqual(pageOf(rows, 2, 50), { rows: rows.slice(100), page: 2, pages: 3 });
  assert.equal(pageOf(rows, 9, 50).page, 2);
  assert.deepEqual(pageOf([], 0, 50), { rows: [], page: 0, pages: 1 });
});

test('the UI catalogue: every string in both languages, every key the page and app use exists', async () => {
  const { MESSAGES, t, setLanguage, when, num } = await import('../../web/i18n.mjs');
  for (const [k, m] of Object.entries(MESSAGES)) {
    assert.ok(m.zh && m.en, `${k} lacks a language`);
  }
  const html = readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
  const app = readFileSync(new URL('../../web/app.mjs', import.meta.url), 'utf8');
  const used = [...html.matchAll(/data-i18n(?:-placeholder|-title|-aria)?="([^"]+)"/g), ...app.matchAll(/\bt\('([^']+)'/g)].map((m) => m[1]);
  assert.ok(used.length > 60);
  for (const k of used) assert.ok(MESSAGES[k], `unknown key ${k}`);
  // keys built from values: every value the data can give
  for (const r of ['target_missed', 'class_worse', 'sudden_change', 'repeated', 'silent']) assert.ok(MESSAGES[`rule.${r}`]);
  for (const st of ['open', 'rectifying', 'rectified', 'verified', 'closed']) assert.ok(MESSAGES[`state.${st}`]);
  for (const a of ['open', 'close', 'reverse']) assert.ok(MESSAGES[`action.${a}`]);
  for (const o of ['planned', 'actual', 'cancelled']) assert.ok(MESSAGES[`op.${o}`]);
  for (const l of ['county', 'city', 'province']) assert.ok(MESSAGES[`level.${l}`]);
  // no Chinese or English interface text left in the page script itself
  assert.doesNotMatch(app.replace(/\/\/.*$/gm, ''), /[\u4e00-\u9fff]/);
  // local forms
  setLanguage('zh');
  assert.equal(t('trace.met', { n: 3 }), '途经要素 3 个');
  assert.equal(when('2025-08-12T06:00:00'), '8月12日 06:00');
  assert.equal(num(1234.56), '1,234.6');
  setLanguage('en');
  assert.equal(t('trace.met', { n: 3 }), '3 features met');
  assert.equal(when('2025-08-12T06:00:00'), '12 Aug, 06:00');
  assert.equal(when('2025-08-12', true), '12 Aug 2025');
  assert.equal(t('no.such'), '⟦no.such⟧');
  setLanguage('zh');
});
