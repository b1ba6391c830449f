// The web map: MapLibre GL (served from /vendor, no network beyond this server), the zone
// style, layer switcher and legend, popups with the join results, search, a date filter for
// hyacinth reports, and the trace tool with its notification list and CSV download.
import { parseCoordinate, gcj02ToWgs84, threatenedRows, pageOf } from './lib.mjs';
import { t, num, when, language, setLanguage, applyStatic } from './i18n.mjs';
import { legendEntries, popupRows, traceQuery, toCsv, traceFeatureRows, dateFilter, patrolQuery, chartData } from './lib.mjs';

const $ = (id) => document.getElementById(id);
const status = (msg) => { $('status').textContent = msg || ''; };
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

async function getJson(url) {
  const r = await fetch(url);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${url}: HTTP ${r.status}`);
  return body;
}

applyStatic(document);
$('lang').onclick = () => { setLanguage(language() === 'en' ? 'zh' : 'en'); location.reload(); };

// a static site (`crossriver site`): the tiles from a PMTiles archive by range requests, the
// rest from files beside the page; the panels that need the API are hidden (app.css)
const staticArchive = document.querySelector('meta[name="crossriver-static"]')?.content;
const base = staticArchive ? new URL('.', location.href).href.replace(/\/$/, '') : '';
if (staticArchive) {
  document.body.dataset.static = 'yes';
  maplibregl.addProtocol('pmtiles', new pmtiles.Protocol().tile);
}
const [style, tilejson, catalog] = await Promise.all([getJson(`${base}/styles/zone.json`), getJson(`${base}/tiles.json`), getJson(`${base}/api/catalog`)])
  .then(([s, ...rest]) => [staticArchive ? JSON.parse(JSON.stringify(s).replaceAll('{base}', base)) : s, ...rest])
  .catch((err) => { status(t('app.start_failed', { msg: err.message })); throw err; });
const idField = Object.fromEntries(tilejson.vector_layers.map((l) => [l.id, l.id_field]));
// labels: every glyph, Chinese too, from this server's font (no reliance on the reader's fonts);
// the drawing buffer kept so a view can be saved as PNG
const map = new maplibregl.Map({
  container: 'map', style, bounds: tilejson.bounds, attributionControl: false,
  localIdeographFontFamily: false, canvasContextAttributes: { preserveDrawingBuffer: true },
});
map.addControl(new maplibregl.NavigationControl(), 'top-left');
map.on('error', (e) => status(e.error ? e.error.message : String(e)));
map.on('idle', () => { document.body.dataset.idle = 'yes'; });
window.crossriverMap = map; // for the browser test and for debugging from the console
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');

// layer switcher with the legend of each style layer
const layersDiv = $('layers');
const labelLayers = style.layers.filter((l) => l.id.startsWith('label-')).map((l) => l.id);
{
  const div = document.createElement('div');
  div.className = 'layer-group';
  div.innerHTML = `<label><input type="checkbox" checked data-layer="${esc(labelLayers.join(','))}"> ${esc(t('panel.labels'))}</label>`;
  layersDiv.appendChild(div);
}
for (const g of legendEntries(style, catalog)) {
  const div = document.createElement('div');
  div.className = 'layer-group';
  div.innerHTML = `<label><input type="checkbox" checked data-layer="${esc(g.id)}"> ${esc(g.title)}` +
    `${g.field ? ` <small>${esc(g.fieldTitle)}</small>` : ''}</label>` +
    g.items.map((i) => `<div class="legend-item">${g.symbol
      ? `<span class="shape" style="color:${esc(i.colour)}">${esc(g.symbol)}</span>`
      : `<span class="swatch" style="background:${esc(i.colour)}"></span>`}${esc(i.word || i.value)}</div>`).join('');
  layersDiv.appendChild(div);
}
layersDiv.addEventListener('change', (e) => {
  const ids = e.target.dataset.layer;
  for (const id of (ids || '').split(',').filter(Boolean)) map.setLayoutProperty(id, 'visibility', e.target.checked ? 'visible' : 'none');
});

// hyacinth reports by date
const applyDates = () => map.setFilter('hyacinth', dateFilter('reported_at', $('date-from').value, $('date-to').value));
$('date-from').addEventListener('change', applyDates);
$('date-to').addEventListener('change', applyDates);

// popups: the tile's attributes at once, then the whole feature with its join results
const clickable = legendEntries(style, catalog).filter((g) => g.type !== 'background').map((g) => g.id);
const layerTitle = (layer) => catalog.layers[layer]?.title ?? layer;
let tracing = false;
map.on('click', async (e) => {
  if (tracing) return runTrace(e.lngLat);
  const hits = map.queryRenderedFeatures(e.point, { layers: clickable });
  if (!hits.length) return;
  const f = hits.find((h) => h.sourceLayer === 'monitoring_sections') ?? hits[0]; // a section first
  const layer = f.sourceLayer;
  const id = f.properties[idField[layer]];
  if (layer === 'monitoring_sections' && id !== undefined && !staticArchive) showSection(id);
  const head = `<b>${esc(f.properties.name ?? id ?? '')}</b><br><small>${esc(layerTitle(layer))} · ${esc(id)}</small>`;
  const popup = new maplibregl.Popup({ maxWidth: '380px' }).setLngLat(e.lngLat).setHTML(head).addTo(map);
  if (id === undefined || staticArchive) return; // a static site: the tile's attributes only
  try {
    const full = await getJson(`/api/features/${encodeURIComponent(layer)}/${encodeURIComponent(id)}`);
    const { main, provenance } = popupRows(full.properties, layer, catalog);
    const table = (rows) => rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
    popup.setHTML(`${head}<table class="popup-fields">${table(main)}</table>` +
      `<details class="provenance"><summary>${esc(t('popup.provenance'))}</summary><table>${table(provenance)}</table></details>`);
  } catch (err) { status(err.message); }
});
map.on('mousemove', (e) => {
  map.getCanvas().style.cursor = tracing || map.queryRenderedFeatures(e.point, { layers: clickable }).length ? 'pointer' : '';
});

// search
$('search-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const q = $('search').value.trim();
  if (!q) return;
  try {
    const r = await getJson('/api/search?' + new URLSearchParams({ q, limit: '20' }));
    $('search-results').innerHTML = r.results.length
      ? r.results.map((h, i) => `<li data-i="${i}">${esc(h.layer)} · ${esc(h.id)} ${esc(h.name ?? '')}</li>`).join('')
      : '<li>nothing found</li>';
    $('search-results').onclick = (ev) => {
      const h = r.results[ev.target.dataset.i];
      if (h) map.flyTo({ center: [h.lon, h.lat], zoom: Math.max(map.getZoom(), 13) });
    };
  } catch (err) { status(err.message); }
});

// trace tool
map.on('load', () => {
  map.addSource('trace', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'trace-reaches', type: 'line', source: 'trace', filter: ['==', ['get', 'kind'], 'reach'],
    paint: { 'line-color': '#ff2d55', 'line-width': 6, 'line-opacity': 0.75 } });
  map.addLayer({ id: 'trace-features', type: 'circle', source: 'trace', filter: ['all', ['==', ['get', 'kind'], 'feature'], ['==', ['geometry-type'], 'Point']],
    paint: { 'circle-color': '#ff2d55', 'circle-radius': 4, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
});
$('trace-btn').addEventListener('click', () => {
  tracing = !tracing;
  $('trace-btn').setAttribute('aria-pressed', String(tracing));
  $('trace-btn').textContent = t(tracing ? 'trace.clicking' : 'trace.click');
});

// a point typed or pasted: decimal or DMS, latitude first turned round (and said), GCJ-02 from
// a phone's map converted to WGS84
$('trace-at-form').addEventListener('submit', (e) => {
  e.preventDefault();
  status('');
  let p;
  try { p = parseCoordinate($('trace-at').value); } catch (err) { return status(err.message); }
  let [lon, lat] = [p.lon, p.lat];
  if ($('trace-gcj').checked) [lon, lat] = gcj02ToWgs84(lon, lat);
  if (p.swapped) status(t('trace.swapped', { lon: lon.toFixed(6), lat: lat.toFixed(6) }));
  map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 12) });
  runTrace({ lng: lon, lat, keepStatus: p.swapped });
});

const fmtH = (h) => (h === undefined || h === null ? '' : `${num(h)} ${t('unit.h')}`);
const fmtKm = (km, d = 1) => `${num(km, d)} ${t('unit.km')}`;
async function runTrace(lngLat) {
  if (!lngLat.keepStatus) status('');
  let url;
  const direction = document.querySelector('input[name=dir]:checked').value;
  try {
    url = traceQuery({ lon: lngLat.lng, lat: lngLat.lat, direction,
      maxKm: $('max-km').value, mode: $('main-only').checked ? 'main' : 'all',
      spillKg: direction === 'down' ? $('spill-kg').value : '', spillHours: $('spill-hours').value });
  } catch (err) { return status(err.message); }
  try {
    const fc = await getJson(url);
    map.getSource('trace').setData(fc);
    const juris = fc.jurisdictions || [];
    const rows = traceFeatureRows(fc);
    const nReaches = fc.features.filter((f) => f.properties.kind === 'reach').length;
    let html = `<p>${esc(t('trace.reaches', { n: nReaches, id: fc.start?.reach_id ?? '' }))}</p>`;
    if (direction === 'down') {
      const thr = threatenedRows(fc);
      html += `<b>${esc(t('trace.threatened'))}</b><table id="trace-threatened">` +
        (thr.length ? thr.map((r) => `<tr><td>${esc(r.name ?? r.id)}</td><td>${esc(fmtH(r.arrives_h))}</td>` +
          `<td>${r.spill ? `${esc(t('trace.peak', { t: fmtH(r.spill.peak_h) }))}${r.spill.peak_mg_l != null ? ` · ${num(r.spill.peak_mg_l, 3)} mg/L` : ''} · ${esc(t('trace.passed', { t: fmtH(r.spill.trailing_edge_h) }))}` : ''}</td></tr>`).join('')
          : `<tr><td>${esc(t('trace.none_in_bound'))}</td></tr>`) + '</table>' +
        `<b>${esc(t('trace.notify'))}</b><table id="trace-notify">` +
        juris.map((j) => `<tr><td>${esc(j.name)}</td><td>${esc(fmtKm(j.distance_km))}</td><td>${esc(fmtH(j.time_h))}</td>` +
          `<td>${(j.contacts || []).map((c) => esc(`${c.agency ?? ''} ${c.duty_phone ?? ''}`)).join('<br>')}</td></tr>`).join('') + '</table>';
    } else {
      // upstream: where it may have come from, not whom to notify
      const att = fc.attribution || [];
      html += `<b>${esc(t('trace.attribution'))}</b><table id="trace-attribution">` +
        (att.length ? att.map((a) => `<tr><td>${esc(a.county_name ?? a.county_code ?? '')}</td><td>${(a.outfalls || []).slice(0, 5).map((o) =>
          `${esc(o.name ?? o.id)} (${esc(fmtKm(o.distance_km))})`).join('<br>')}${(a.outfalls || []).length > 5 ? `<br>${esc(t('trace.more', { n: a.outfalls.length - 5 }))}` : ''}</td></tr>`).join('')
          : `<tr><td>${esc(t('app.none'))}</td></tr>`) + '</table>' +
        `<b>${esc(t('trace.upstream_juris'))}</b><table id="trace-notify">` +
        juris.map((j) => `<tr><td>${esc(j.name)}</td><td>${esc(fmtKm(j.distance_km))}</td><td>${esc(fmtH(j.time_h))}</td></tr>`).join('') + '</table>';
    }
    html += `<b id="trace-met" data-n="${rows.length}">${esc(t('trace.met', { n: rows.length }))}</b><div id="trace-page"></div><table id="trace-features"></table>` +
      `<button id="csv-btn" type="button">${esc(t('trace.csv'))}</button>`;
    $('trace-out').innerHTML = html;
    const showPage = (n) => {
      const pg = pageOf(rows, n, 50);
      $('trace-features').innerHTML = pg.rows.map((p) => `<tr><td>${esc(p.layer)}</td><td>${esc(p.id)}</td><td>${esc(p.name ?? '')}</td><td>${esc(fmtKm(p.distance_km, 2))}</td></tr>`).join('');
      $('trace-page').innerHTML = pg.pages > 1
        ? `<button type="button" data-p="${pg.page - 1}" ${pg.page === 0 ? 'disabled' : ''}>‹ ${esc(t('trace.prev'))}</button> <span id="trace-page-no">${pg.page + 1} / ${pg.pages}</span> ` +
          `<button type="button" data-p="${pg.page + 1}" ${pg.page + 1 === pg.pages ? 'disabled' : ''}>${esc(t('trace.next'))} ›</button>` : '';
    };
    $('trace-page').onclick = (ev) => { const b = ev.target.closest('button'); if (b) showPage(Number(b.dataset.p)); };
    showPage(0);
    $('csv-btn').onclick = () => {
      const csv = toCsv(['layer', 'id', 'name', 'reach_id', 'distance_km', 'time_h', 'county_code'], rows);
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
      a.download = 'trace-features.csv';
      a.click();
      URL.revokeObjectURL(a.href);
    };
  } catch (err) { status(err.message); }
}

// patrol panel: the route drawn, the legs and the stops listed, GPX and checklist downloads
map.on('load', () => {
  map.addSource('patrol', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'patrol-route', type: 'line', source: 'patrol', filter: ['==', ['get', 'kind'], 'route'],
    paint: { 'line-color': '#0066ff', 'line-width': 5, 'line-opacity': 0.7 } });
  map.addLayer({ id: 'patrol-stops', type: 'circle', source: 'patrol', filter: ['==', ['get', 'kind'], 'stop'],
    paint: { 'circle-color': '#0066ff', 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
});
$('patrol-btn').addEventListener('click', async () => {
  status('');
  const ask = (format) => patrolQuery({ target: $('patrol-target').value, date: $('patrol-date').value,
    mode: document.querySelector('input[name=patrol-mode]:checked').value, format });
  let url;
  try { url = ask('geojson'); } catch (err) { return status(err.message); }
  try {
    const fc = await getJson(url);
    map.getSource('patrol').setData(fc);
    const route = fc.features.find((f) => f.properties.kind === 'route');
    const legs = fc.features.filter((f) => f.properties.kind === 'leg').map((f) => f.properties);
    const stops = fc.features.filter((f) => f.properties.kind === 'stop').map((f) => f.properties);
    $('patrol-out').innerHTML =
      `<p>${esc(t('patrol.summary', { km: num(route.properties.length_km), h: num(route.properties.time_h), n: stops.length }))}</p>` +
      `<b>${esc(t('patrol.legs'))}</b><table id="patrol-legs">` +
      legs.map((l) => `<tr><td>${esc(l.county_name)}</td><td>${esc(num(l.from_km))}–${esc(fmtKm(l.to_km))}</td>` +
        `<td>${esc(l.lead_agency ?? '')} ${esc(l.duty_phone ?? '')}</td></tr>`).join('') +
      `</table><b>${esc(t('patrol.stops'))}</b><table id="patrol-stops">` +
      stops.slice(0, 60).map((p) => `<tr><td>${p.seq}</td><td>${esc(fmtKm(p.km))}</td><td>${esc(p.id)}</td><td>${esc(p.issue)}</td></tr>`).join('') +
      `</table><a href="${ask('gpx')}" download="patrol.gpx">GPX</a> · <a href="${ask('csv')}" download="patrol.csv">${esc(t('patrol.checklist'))}</a> · ` +
      `<a href="${ask('html')}" target="_blank" rel="noopener">${esc(t('patrol.printable'))}</a>`;
    const b = route.geometry.coordinates.reduce((acc, c) => [Math.min(acc[0], c[0]), Math.min(acc[1], c[1]),
      Math.max(acc[2], c[0]), Math.max(acc[3], c[1])], [180, 90, -180, -90]);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0 });
  } catch (err) { status(err.message); }
});

// water quality: a section's series in a uPlot chart with its target line, and the open alarms
let chart = null;
let current = null; // { id, doc }
let wanted = null; // the indicator an alarm asks for
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b'];

function drawChart() {
  if (!current) return;
  const code = $('wq-indicator').value;
  const cd = chartData(current.doc, code);
  if (chart) { chart.destroy(); chart = null; }
  $('wq-chart').innerHTML = '';
  if (cd.data[0].length === 0) { $('wq-chart').textContent = t('quality.no_readings'); return; }
  const series = [{}].concat(cd.labels.map((label, i) => {
    const target = cd.hasTarget && i === cd.labels.length - 1;
    const n = cd.data[i + 1].filter((v) => v !== null).length;
    return { label, stroke: target ? '#b00020' : palette[i % palette.length], width: target ? 1.5 : 1.2,
      dash: target ? [6, 4] : undefined, spanGaps: true, points: { show: n < 60 } };
  }));
  chart = new uPlot({ width: 330, height: 200, title: `${current.doc.name} · ${cd.name} (${cd.unit})`,
    scales: { x: { time: true } }, series, axes: [{}, { size: 50 }] }, cd.data, $('wq-chart'));
  window.crossriverChart = chart;
}

async function showSection(id) {
  try {
    const step = $('wq-step').value;
    const q = new URLSearchParams({ step });
    if (step === 'raw') { q.set('from', '2025-07-01'); q.set('to', '2025-09-30'); }
    const doc = await getJson(`/api/sections/${encodeURIComponent(id)}/readings?` + q);
    current = { id, doc };
    const codes = [...new Set(doc.series.map((s) => s.indicator))];
    const names = Object.fromEntries(doc.series.map((s) => [s.indicator, s.name]));
    const ask = wanted ?? $('wq-indicator').value;
    wanted = null;
    const keep = codes.includes(ask) ? ask : (codes.includes('nh3n') ? 'nh3n' : codes[0]);
    $('wq-indicator').innerHTML = codes.map((c) => `<option value="${esc(c)}">${esc(names[c])}</option>`).join('');
    if (keep) $('wq-indicator').value = keep;
    $('wq-section').innerHTML = `<b>${esc(doc.name)}</b> ${esc(id)} · ${esc(t('quality.target'))} ${esc(doc.target ?? '—')}`;
    document.getElementById('quality').open = true;
    drawChart();
  } catch (err) { status(err.message); }
}
$('wq-indicator').addEventListener('change', drawChart);
$('wq-step').addEventListener('change', () => current && showSection(current.id));

async function loadAlarms() {
  try {
    const r = await getJson('/api/alarms?state=open');
    $('alarms').innerHTML = r.alarms.length ? r.alarms.slice(0, 100).map((a, i) =>
      `<li data-i="${i}"><span class="rule">${esc(t(`rule.${a.rule}`))}</span> ${esc(when(a.start, true))}<br>${esc(a.message)}</li>`).join('')
      : `<li>${esc(t('app.none'))}</li>`;
    $('alarms').onclick = (ev) => {
      const li = ev.target.closest('li');
      const a = li && r.alarms[li.dataset.i];
      if (!a) return;
      wanted = a.indicator;
      showSection(a.section_id);
      const f = map.querySourceFeatures('crossriver', { sourceLayer: 'monitoring_sections' })
        .find((x) => x.properties.section_id === a.section_id);
      if (f) map.flyTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 12) });
    };
  } catch (err) { $('alarms').innerHTML = `<li>${esc(err.message)}</li>`; }
}
if (!staticArchive) loadAlarms();


// incidents: the list, and for one the threatened intakes and sections and whom to notify
async function loadIncidents() {
  try {
    const r = await getJson('/api/incidents');
    $('incidents').innerHTML = r.incidents.length ? r.incidents.map((x, i) =>
      `<li data-i="${i}"><b>${esc(x.incident_id)}</b> ${esc(when(x.occurred_at, true))} ${esc(x.substance)} (${esc(catalog.layers.incidents?.fields?.status?.values?.[x.status] ?? x.status ?? '')})</li>`).join('')
      : `<li>${esc(t('app.none'))}</li>`;
    $('incidents').onclick = async (ev) => {
      const li = ev.target.closest('li');
      const x = li && r.incidents[li.dataset.i];
      if (!x) return;
      map.flyTo({ center: [x.lon, x.lat], zoom: Math.max(map.getZoom(), 12) });
      try {
        const rep = await getJson(`/api/incidents/${encodeURIComponent(x.incident_id)}`);
        const id = encodeURIComponent(x.incident_id);
        $('incident-out').innerHTML =
          `<b>${esc(t('incident.threatened'))}</b><table id="incident-threatened">` +
          rep.threatened.filter((x2) => x2.layer !== 'protection_zones').slice(0, 12).map((x2) =>
            `<tr><td>${esc(x2.name ?? x2.id)}</td><td>${esc(when(x2.leading_edge))}</td><td>${esc(when(x2.peak))}</td><td>${esc(when(x2.trailing_edge))}</td></tr>`).join('') +
          `</table><b>${esc(t('incident.notify'))}</b><table id="incident-notify">` +
          ['county', 'city', 'province'].map((lvl) => rep.notification[lvl].map((n) =>
            `<tr><td>${esc(t(`level.${lvl}`))}</td><td>${esc(n.name)}</td><td>${esc(when(n.arrival))}</td></tr>`).join('')).join('') +
          `</table><b>${esc(t('incident.deadlines'))}</b><table id="incident-deadlines">` +
          rep.deadlines.map((d) =>
            `<tr><td>${esc(d.what)}</td><td>${esc(when(d.due))}</td><td>${d.done_at ? esc(t('incident.done', { t: when(d.done_at) })) : d.overdue ? `<b class="overdue">${esc(t('incident.overdue'))}</b>` : esc(t('incident.pending'))}</td></tr>`).join('') +
          `</table><b>${esc(t('incident.notified'))}</b><table id="incident-sent">` +
          (rep.notifications_sent.length ? rep.notifications_sent.map((n) =>
            `<tr><td>${esc(n.to_name ?? n.to_code)}</td><td>${esc(n.channel)}</td><td>${esc(when(n.sent_at))}</td><td>${n.acknowledged_at ? esc(t('incident.ack', { t: when(n.acknowledged_at) })) : ''}</td></tr>`).join('')
            : `<tr><td>${esc(t('incident.none_yet'))}</td></tr>`) +
          `</table><a href="/api/incidents/${id}/plan?format=html" target="_blank" rel="noopener">${esc(t('incident.plan'))}</a> · ` +
          `<a href="/api/incidents/${id}/plan?format=csv" download="plan.csv">CSV</a> · ` +
          `<a href="/api/incidents/${id}/notice" target="_blank" rel="noopener">${esc(t('incident.notice'))}</a>`;
      } catch (err) { status(err.message); }
    };
  } catch (err) { $('incidents').innerHTML = `<li>${esc(err.message)}</li>`; }
}
if (!staticArchive) loadIncidents();

// patrol findings: by state, one with its steps; the rectification report of a period
async function loadFindings() {
  try {
    const st = $('findings-state').value;
    const r = await getJson('/api/findings' + (st ? `?status=${encodeURIComponent(st)}` : ''));
    $('findings').innerHTML = r.findings.length ? r.findings.map((x, i) =>
      `<li data-i="${i}"><b>${esc(x.finding_id)}</b> ${esc(when(x.found_at.slice(0, 10), true))} ${esc(x.description ?? x.kind ?? '')} (${esc(t(`state.${x.status}`))})</li>`).join('')
      : `<li>${esc(t('app.none'))}</li>`;
    $('findings').onclick = async (ev) => {
      const li = ev.target.closest('li');
      const x = li && r.findings[li.dataset.i];
      if (!x) return;
      if (x.lon != null) map.flyTo({ center: [x.lon, x.lat], zoom: Math.max(map.getZoom(), 13) });
      try {
        const f = await getJson(`/api/findings/${encodeURIComponent(x.finding_id)}`);
        $('finding-out').innerHTML = `<b>${esc(f.finding_id)}</b> ${esc(t('finding.deadline'))} ${esc(f.deadline ? when(f.deadline, true) : t('finding.by_kind'))}` +
          '<table id="finding-steps">' + f.versions.map((v) =>
            `<tr><td>v${esc(String(v.version))}</td><td>${esc(t(`state.${v.status}`))}</td><td>${esc(v.step_at ? when(v.step_at, true) : '')}</td><td>${esc(v.step_by ?? '')}</td><td>${esc(v.note ?? '')}</td></tr>`).join('') +
          '</table>';
      } catch (err) { status(err.message); }
    };
  } catch (err) { $('findings').innerHTML = `<li>${esc(err.message)}</li>`; }
}
$('findings-state').onchange = loadFindings;
$('report-period').oninput = () => {
  $('report-link').href = `/api/findings/report?period=${encodeURIComponent($('report-period').value.trim())}&format=html`;
};
if (!staticArchive) loadFindings();

// gate operations: the log; for one its advance notice, whom to notify and by when
async function loadGateOps() {
  try {
    const r = await getJson('/api/gate-operations');
    $('gate-ops').innerHTML = r.operations.length ? r.operations.map((x, i) =>
      `<li data-i="${i}" data-op="${esc(x.op_id)}"><b>${esc(x.gate_name ?? x.gate_id)}</b> ${esc(t(`action.${x.action}`))} ${esc(t(`op.${x.status}`))} ${esc(when(x.start_at, true))}${x.emergency ? ` ${esc(t('op.emergency'))}` : ''}</li>`).join('')
      : `<li>${esc(t('app.none'))}</li>`;
    $('gate-ops').onclick = async (ev) => {
      const li = ev.target.closest('li');
      const x = li && r.operations[li.dataset.i];
      if (!x) return;
      try {
        const id = encodeURIComponent(x.op_id);
        const n = await getJson(`/api/gate-operations/${id}`);
        const a = n.advance_notice;
        $('gate-out').innerHTML =
          `<p id="gate-due" data-due="${esc(a.due)}">${esc(t('gate.due', { t: when(a.due, true), h: num(a.lead_h, 0) }))}` +
          (a.done_at ? esc(t('gate.sent', { t: when(a.done_at) })) : a.overdue ? `<b class="overdue">${esc(t('gate.overdue'))}</b>` : esc(t('incident.pending'))) + '</p>' +
          `<b>${esc(t('incident.notify'))}</b><table id="gate-notify">` +
          ['county', 'city', 'province'].map((lvl) => n.notification[lvl].map((c) =>
            `<tr><td>${esc(t(`level.${lvl}`))}</td><td>${esc(c.name)}</td><td>${esc(when(c.arrival))}</td></tr>`).join('')).join('') +
          `</table><b>${esc(t('gate.reached'))}</b><table id="gate-reached">` +
          n.reached.filter((p) => p.layer !== 'protection_zones').slice(0, 10).map((p) =>
            `<tr><td>${esc(p.name ?? p.id)}</td><td>${esc(when(p.arrival))}</td></tr>`).join('') +
          `</table><a href="/api/gate-operations/${id}/notice" target="_blank" rel="noopener">${esc(t('gate.notice'))}</a>`;
      } catch (err) { status(err.message); }
    };
  } catch (err) { $('gate-ops').innerHTML = `<li>${esc(err.message)}</li>`; }
}
if (!staticArchive) loadGateOps();

// print a view: the map as drawn, with its legend (the visible layers), a scale bar and the
// date, saved as one PNG for reports and meetings
function metresPerPixel() {
  const c = map.getCanvas();
  const y = c.clientHeight / 2;
  const a = map.unproject([c.clientWidth / 2 - 50, y]), b = map.unproject([c.clientWidth / 2 + 50, y]);
  const rad = Math.PI / 180, R = 6371008.8;
  const d = 2 * R * Math.asin(Math.sqrt(Math.sin((b.lat - a.lat) * rad / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin((b.lng - a.lng) * rad / 2) ** 2));
  return d / 100;
}
$('save-png').onclick = () => {
  const mc = map.getCanvas();
  const k = mc.width / mc.clientWidth; // device pixels per CSS pixel
  const legendW = Math.round(300 * k);
  const groups = legendEntries(style, catalog).filter((g) => map.getLayoutProperty(g.id, 'visibility') !== 'none');
  const lineH = Math.round(16 * k);
  const rows = groups.reduce((n, g) => n + 1 + g.items.length, 0);
  const out = document.createElement('canvas');
  out.width = mc.width + legendW;
  out.height = Math.max(mc.height, Math.round((60 + 16 * rows) * k));
  const g2 = out.getContext('2d');
  g2.fillStyle = '#ffffff';
  g2.fillRect(0, 0, out.width, out.height);
  g2.drawImage(mc, 0, 0);
  g2.fillStyle = '#222';
  g2.font = `bold ${Math.round(15 * k)}px sans-serif`;
  let y = Math.round(22 * k);
  const x0 = mc.width + Math.round(12 * k);
  g2.fillText(`crossriver · ${t('app.title')} · ${when(new Date().toISOString().slice(0, 10), true)}`, x0, y, legendW - 20 * k);
  y += Math.round(10 * k);
  for (const g of groups) {
    y += lineH;
    g2.font = `bold ${Math.round(12 * k)}px sans-serif`;
    g2.fillStyle = '#222';
    g2.fillText(g.title, x0, y, legendW - 20 * k);
    g2.font = `${Math.round(11 * k)}px sans-serif`;
    for (const it of g.items) {
      y += lineH;
      g2.fillStyle = it.colour;
      if (g.symbol) g2.fillText(g.symbol, x0 + 4 * k, y);
      else g2.fillRect(x0 + 4 * k, y - 10 * k, 12 * k, 10 * k);
      g2.fillStyle = '#333';
      g2.fillText(it.word || it.value || '', x0 + 22 * k, y, legendW - 40 * k);
    }
  }
  // the scale bar: a round length near 120 px
  const mpp = metresPerPixel();
  const target = 120 * mpp, pow = 10 ** Math.floor(Math.log10(target));
  const len = [1, 2, 5, 10].map((f) => f * pow).filter((v) => v <= target).pop();
  const px = (len / mpp) * k, by = mc.height - 20 * k;
  g2.fillStyle = 'rgba(255,255,255,0.85)';
  g2.fillRect(8 * k, by - 18 * k, px + 16 * k, 26 * k);
  g2.fillStyle = '#222';
  g2.fillRect(16 * k, by, px, 3 * k);
  g2.font = `${Math.round(11 * k)}px sans-serif`;
  g2.fillText(len >= 1000 ? `${len / 1000} ${t('unit.km')}` : `${len} ${t('unit.m')}`, 16 * k, by - 5 * k);
  out.toBlob((blob) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `crossriver-map-${new Date().toISOString().slice(0, 10)}.png`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }, 'image/png');
};
