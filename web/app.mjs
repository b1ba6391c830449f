// The web map: MapLibre GL (served from /vendor, no network beyond this server), the zone
// style, layer switcher and legend, popups with the join results, search, a date filter for
// hyacinth reports, and the trace tool with its notification list and CSV download.
import { legendEntries, traceQuery, toCsv, traceFeatureRows, dateFilter, patrolQuery } from './lib.mjs';

const $ = (id) => document.getElementById(id);
const status = (msg) => { $('status').textContent = msg || ''; };
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

async function getJson(url) {
  const r = await fetch(url);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${url}: HTTP ${r.status}`);
  return body;
}

const [style, tilejson] = await Promise.all([getJson('/styles/zone.json'), getJson('/tiles.json')])
  .catch((err) => { status(`cannot start the map: ${err.message}`); throw err; });
const idField = Object.fromEntries(tilejson.vector_layers.map((l) => [l.id, l.id_field]));
const map = new maplibregl.Map({ container: 'map', style, bounds: tilejson.bounds, attributionControl: false });
map.addControl(new maplibregl.NavigationControl(), 'top-left');
map.on('error', (e) => status(e.error ? e.error.message : String(e)));
map.on('idle', () => { document.body.dataset.idle = 'yes'; });
window.crossriverMap = map; // for the browser test and for debugging from the console
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');

// layer switcher with the legend of each style layer
const layersDiv = $('layers');
for (const g of legendEntries(style)) {
  const div = document.createElement('div');
  div.className = 'layer-group';
  div.innerHTML = `<label><input type="checkbox" checked data-layer="${esc(g.id)}"> ${esc(g.id)}` +
    `${g.field ? ` <small>(${esc(g.field)})</small>` : ''}</label>` +
    g.items.map((i) => `<div class="legend-item"><span class="swatch" style="background:${esc(i.colour)}"></span>${esc(i.value)}</div>`).join('');
  layersDiv.appendChild(div);
}
layersDiv.addEventListener('change', (e) => {
  const id = e.target.dataset.layer;
  if (id) map.setLayoutProperty(id, 'visibility', e.target.checked ? 'visible' : 'none');
});

// hyacinth reports by date
const applyDates = () => map.setFilter('hyacinth', dateFilter('reported_at', $('date-from').value, $('date-to').value));
$('date-from').addEventListener('change', applyDates);
$('date-to').addEventListener('change', applyDates);

// popups: the tile's attributes at once, then the whole feature with its join results
const clickable = legendEntries(style).filter((g) => g.type !== 'background').map((g) => g.id);
let tracing = false;
map.on('click', async (e) => {
  if (tracing) return runTrace(e.lngLat);
  const hits = map.queryRenderedFeatures(e.point, { layers: clickable });
  if (!hits.length) return;
  const f = hits[0];
  const layer = f.sourceLayer;
  const id = f.properties[idField[layer]];
  const popup = new maplibregl.Popup({ maxWidth: '360px' }).setLngLat(e.lngLat)
    .setHTML(`<b>${esc(layer)}</b> ${esc(id)}<br>${esc(f.properties.name ?? '')}`).addTo(map);
  if (id === undefined) return;
  try {
    const full = await getJson(`/api/features/${encodeURIComponent(layer)}/${encodeURIComponent(id)}`);
    const rows = Object.entries(full.properties).filter(([, v]) => v !== null)
      .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
    popup.setHTML(`<b>${esc(layer)}</b> ${esc(id)}<table>${rows}</table>`);
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
  $('trace-btn').textContent = tracing ? 'Tracing: click a river (again to stop)' : 'Click the map to trace';
});

async function runTrace(lngLat) {
  status('');
  let url;
  try {
    url = traceQuery({ lon: lngLat.lng, lat: lngLat.lat, direction: document.querySelector('input[name=dir]:checked').value,
      maxKm: $('max-km').value, mode: $('main-only').checked ? 'main' : 'all' });
  } catch (err) { return status(err.message); }
  try {
    const fc = await getJson(url);
    map.getSource('trace').setData(fc);
    const juris = fc.jurisdictions || [];
    const rows = traceFeatureRows(fc);
    $('trace-out').innerHTML =
      `<p>${fc.features.filter((f) => f.properties.kind === 'reach').length} reaches from ${esc(fc.start?.reach_id ?? '')}</p>` +
      '<b>通知 Notify, in this order</b><table>' +
      juris.map((j) => `<tr><td>${esc(j.name)}</td><td>${Number(j.distance_km).toFixed(1)} km</td><td>${Number(j.time_h).toFixed(1)} h</td>` +
        `<td>${(j.contacts || []).map((c) => esc(`${c.agency ?? ''} ${c.duty_phone ?? ''}`)).join('<br>')}</td></tr>`).join('') +
      `</table><b>${rows.length} features met</b><table>` +
      rows.slice(0, 50).map((p) => `<tr><td>${esc(p.layer)}</td><td>${esc(p.id)}</td><td>${esc(p.name ?? '')}</td><td>${Number(p.distance_km).toFixed(2)} km</td></tr>`).join('') +
      '</table><button id="csv-btn" type="button">Download CSV</button>';
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
      `<p>${Number(route.properties.length_km).toFixed(1)} km, ${Number(route.properties.time_h).toFixed(1)} h, ${stops.length} stops</p>` +
      '<b>分段 Legs</b><table id="patrol-legs">' +
      legs.map((l) => `<tr><td>${esc(l.county_name)}</td><td>${Number(l.from_km).toFixed(1)}–${Number(l.to_km).toFixed(1)} km</td>` +
        `<td>${esc(l.lead_agency ?? '')} ${esc(l.duty_phone ?? '')}</td></tr>`).join('') +
      '</table><b>检查点 Stops</b><table id="patrol-stops">' +
      stops.slice(0, 60).map((p) => `<tr><td>${p.seq}</td><td>${Number(p.km).toFixed(1)} km</td><td>${esc(p.id)}</td><td>${esc(p.issue)}</td></tr>`).join('') +
      `</table><a href="${ask('gpx')}" download="patrol.gpx">GPX</a> · <a href="${ask('csv')}" download="patrol.csv">checklist CSV</a> · ` +
      `<a href="${ask('html')}" target="_blank" rel="noopener">printable checklist</a>`;
    const b = route.geometry.coordinates.reduce((acc, c) => [Math.min(acc[0], c[0]), Math.min(acc[1], c[1]),
      Math.max(acc[2], c[0]), Math.max(acc[3], c[1])], [180, 90, -180, -90]);
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0 });
  } catch (err) { status(err.message); }
});
