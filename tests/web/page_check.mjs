// The web map in a real browser: headless Chromium (Debian) with software WebGL, driven over
// the DevTools protocol. Usage: page_check.mjs BASE_URL OUT_DIR
// Checks: the page loads and the map goes idle with no error shown; the counties, lakes,
// reaches and sections are drawn; search finds 元荡; the trace tool, clicked on a river, draws
// the trace and lists who to notify. Leaves OUT_DIR/page.png for people to look at.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

const [base, outDir] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'crossriver-chromium-'));
const chrome = spawn('chromium', ['--headless', '--no-sandbox', '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader', '--disable-dev-shm-usage', '--window-size=1400,900',
  '--remote-debugging-port=0',
  `--user-data-dir=${profile}`, 'about:blank'], { stdio: 'ignore' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
const fail = (m) => { console.error('page_check: ' + m); failures++; };
chrome.on('error', (e) => fail(`cannot start chromium (scripts/deps.sh installs it): ${e.message}`));

async function until(what, fn, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    const v = await fn();
    if (v) return v;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

try {
  const portFile = join(profile, 'DevToolsActivePort');
  await until('Chromium', () => existsSync(portFile) && readFileSync(portFile, 'utf8').includes('\n'), 30);
  const port = readFileSync(portFile, 'utf8').split('\n')[0];
  const targets = await until('a page', async () => {
    const t = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
    return t.find((x) => x.type === 'page');
  }, 10);
  const ws = new WebSocket(targets.webSocketDebuggerUrl);
  await new Promise((r, j) => { ws.on('open', r); ws.on('error', j); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (m) => { const d = JSON.parse(m); if (pending.has(d.id)) { pending.get(d.id)(d); pending.delete(d.id); } });
  const send = (method, params = {}) => new Promise((r) => { pending.set(++id, r); ws.send(JSON.stringify({ id, method, params })); });
  const ev = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.result?.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.result.exceptionDetails).slice(0, 300)}`);
    return r.result?.result?.value;
  };
  await send('Page.navigate', { url: base + '/' });
  await until('the map to go idle', () => ev("document.body && document.body.dataset.idle === 'yes'"), 90);
  const status = await ev("document.getElementById('status').textContent");
  if (status) fail(`the page shows an error: ${status}`);
  const drawn = await ev('[...new Set(crossriverMap.queryRenderedFeatures().map((f) => f.sourceLayer))].sort()');
  for (const l of ['admin_units', 'lakes', 'monitoring_sections', 'reaches']) {
    if (!drawn.includes(l)) fail(`${l} not drawn (drawn: ${drawn})`);
  }
  const legend = await ev("document.querySelectorAll('#layers .layer-group').length");
  if (legend < 9) fail(`layer switcher has ${legend} groups`);

  // search
  await ev("document.getElementById('search').value = '元荡'; document.getElementById('search-form').requestSubmit(); 1");
  const hits = await until('search results', () => ev("[...document.querySelectorAll('#search-results li')].map((li) => li.textContent).join('|')"), 20);
  if (!hits.includes('L-YUANDANG')) fail(`search for 元荡: ${hits}`);

  // trace: press the tool, click on reach DCH-01 (its upstream end is 120.625,31.25)
  await ev(`document.getElementById('trace-btn').click();
    const ll = new maplibregl.LngLat(120.626, 31.2498);
    crossriverMap.fire('click', { lngLat: ll, point: crossriverMap.project(ll) }); 1`);
  const out = await until('the trace panel', () => ev("document.getElementById('trace-out').textContent"), 30);
  if (!/reaches from/.test(out) || !/features met/.test(out)) fail(`trace panel: ${out.slice(0, 200)}`);
  const notify = await ev("document.querySelectorAll('#trace-out table')[0].rows.length");
  if (!(notify >= 1)) fail('the notification list is empty');
  await until('the trace drawn', () => ev("crossriverMap.queryRenderedFeatures({ layers: ['trace-reaches'] }).length > 0"), 20)
    .catch((e) => fail(e.message));
  const shot = await send('Page.captureScreenshot', { format: 'png' });
  writeFileSync(join(outDir, 'page.png'), Buffer.from(shot.result.data, 'base64'));
  ws.close();
} catch (e) {
  fail(e.message);
} finally {
  chrome.kill('SIGKILL');
  await sleep(200);
  rmSync(profile, { recursive: true, force: true });
}
if (failures) process.exit(1);
console.log('page_check: the web map draws, searches and traces');
