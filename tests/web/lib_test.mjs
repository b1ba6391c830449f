// Unit tests of web/lib.mjs (node:test). Run: node --test tests/web/lib_test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { legendEntries, traceQuery, toCsv, traceFeatureRows, dateFilter, patrolQuery } from '../../web/lib.mjs';

const style = JSON.parse(readFileSync(new URL('../../styles/zone.json', import.meta.url), 'utf8'));

test('legend: one group per data layer, match values in order, fallback last', () => {
  const g = legendEntries(style);
  assert.equal(g.length, style.layers.filter((l) => l['source-layer']).length);
  const zones = g.find((x) => x.id === 'protection-zones');
  assert.equal(zones.field, 'grade');
  assert.deepEqual(zones.items.map((i) => i.value), ['1', '2', 'quasi', '(other)']);
  assert.equal(g.find((x) => x.id === 'lakes').items.length, 1);
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
