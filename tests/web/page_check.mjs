// The web map in a real browser: playwright-core driving Debian's Chromium headless (software
// WebGL). Usage: page_check.mjs BASE_URL OUT_DIR
// Checks: the page loads and the map goes idle with no error shown; counties, lakes, reaches
// and sections are drawn on the canvas; search finds 元荡; the trace tool, clicked on the Taipu
// River in Wujiang, highlights the trace and lists Wujiang, Jiashan, Qingpu and Songjiang to
// notify, in that order (what `crossriver trace` says for the same point); the patrol panel
// plans 一河三湖, draws the route and lists legs starting in Wujiang with Jiashan and Qingpu on
// the way; sections carry their class, a click on one charts its series with the target line
// (uPlot), the open alarms are listed; county, river and town names are labelled from the
// server's glyphs (Chinese ranges fetched from it, the label pixels drawn) and no request
// leaves the machine. Leaves OUT_DIR/page.png, labels-z11.png, patrol.png and quality.png.
import { launch, watchedPage, openMap, jumpAndSettle, readUntil } from './browser.mjs';
import { join } from 'node:path';

const [base, outDir] = process.argv.slice(2);
let failures = 0;
const fail = (m) => { console.error('page_check: ' + m); failures++; };

let browser;
try {
  browser = await launch();
  const { page, errors, requests } = await watchedPage(browser);
  const status = await openMap(page, base + '/');
  if (status) fail(`the page shows an error: ${status}`);
  const drawn = await page.evaluate(() => [...new Set(crossriverMap.queryRenderedFeatures().map((f) => f.sourceLayer))].sort());
  for (const l of ['admin_units', 'lakes', 'monitoring_sections', 'reaches']) {
    if (!drawn.includes(l)) fail(`${l} not drawn (drawn: ${drawn})`);
  }
  if ((await page.locator('#layers .layer-group').count()) < 9) fail('layer switcher incomplete');
  // the legend in words from the layer definitions, not style IDs and raw codes
  const legend = await page.locator('#layers').textContent();
  for (const w of ['上海市 310000', '江苏省 320000', '一级 1', '准保护区 quasi', '双向 both', '闸控 gated', '饮用水水源保护区', '地名标注']) {
    if (!legend.includes(w)) fail(`legend lacks '${w}'`);
  }
  if (/counties-fill|province_code/.test(legend)) fail('legend shows style IDs or field names');

  // labels: county, lake and river names placed, from this server's glyphs (Chinese ranges
  // too), and drawn — the pixels differ with the label layers hidden
  const labelsAt = async (center, zoom, want) => {
    await jumpAndSettle(page, center, zoom);
    return readUntil(page, () => page.evaluate(() => {
      const names = (layer) => [...new Set(crossriverMap.queryRenderedFeatures({ layers: [layer] }).map((f) => f.properties.name))];
      return { counties: names('label-counties'), rivers: names('label-rivers'), lakes: names('label-lakes'), towns: names('label-towns') };
    }), want);
  };
  let labels = await labelsAt([120.9, 31.0], 9.5, (l) => ['吴江区', '青浦区', '嘉善县'].every((c) => l.counties.includes(c)) && l.lakes.includes('淀山湖')); // the zone: its three counties, each once
  for (const c of ['吴江区', '青浦区', '嘉善县']) if (!labels.counties.includes(c)) fail(`county labels at z9.5: ${labels.counties}`);
  if (!labels.lakes.includes('淀山湖')) fail(`lake labels at z9.5: ${labels.lakes}`);
  const once = await page.evaluate(() => crossriverMap.queryRenderedFeatures({ layers: ['label-counties'] }).filter((f) => f.properties.name === '吴江区').length);
  if (once !== 1) fail(`吴江区 labelled ${once} times`);
  labels = await labelsAt([120.85, 31.03], 11, (l) => l.rivers.includes('太浦河') && l.towns.length > 0); // closer: rivers along their lines, towns
  if (!labels.rivers.includes('太浦河')) fail(`river labels: ${labels.rivers}`);
  if (!labels.towns.length) fail('no town labels at z11');
  const cjkRanges = requests.filter((u) => /\/glyphs\/[^/]+\/(\d+)-\d+\.pbf$/.test(u) && Number(u.match(/\/(\d+)-\d+\.pbf$/)[1]) >= 19968);
  if (!cjkRanges.length) fail('no Chinese glyph range was fetched from the server');
  const labelPixels = await page.evaluate(async () => {
    const m = crossriverMap;
    const grab = () => new Promise((done) => {
      m.once('idle', () => {
        const c = document.createElement('canvas');
        c.width = m.getCanvas().width; c.height = m.getCanvas().height;
        const g = c.getContext('2d');
        g.drawImage(m.getCanvas(), 0, 0);
        done(g.getImageData(0, 0, c.width, c.height).data);
      });
      m.triggerRepaint();
    });
    const ids = m.getStyle().layers.filter((l) => l.id.startsWith('label-')).map((l) => l.id);
    const on = await grab();
    ids.forEach((id) => m.setLayoutProperty(id, 'visibility', 'none'));
    const off = await grab();
    ids.forEach((id) => m.setLayoutProperty(id, 'visibility', 'visible'));
    let n = 0;
    for (let i = 0; i < on.length; i += 4) {
      if (Math.abs(on[i] - off[i]) + Math.abs(on[i + 1] - off[i + 1]) + Math.abs(on[i + 2] - off[i + 2]) > 60) n++;
    }
    return n;
  });
  if (labelPixels < 2000) fail(`labels changed only ${labelPixels} pixels`);
  await page.waitForFunction(() => crossriverMap.loaded(), null, { timeout: 30000 });
  await page.waitForTimeout(800); // labels fade in
  await page.screenshot({ path: join(outDir, 'labels-z11.png') });
  // the map at three zooms, kept for review: the zone, a town, inside the Jinze zones
  for (const [z, c] of [[9, [120.9, 31.0]], [12, [120.88, 31.02]], [15, [120.905, 31.032]]]) {
    await page.evaluate(([cc, zz]) => crossriverMap.jumpTo({ center: cc, zoom: zz }), [c, z]);
    await page.waitForFunction(() => crossriverMap.loaded() && crossriverMap.areTilesLoaded(), null, { timeout: 60000 });
    await page.waitForTimeout(800);
    await page.screenshot({ path: join(outDir, `zoom-${z}.png`) });
  }

  // search through the UI
  await page.fill('#search', '元荡');
  await page.press('#search', 'Enter');
  await page.waitForSelector('#search-results li');
  const hits = (await page.locator('#search-results li').allTextContents()).join('|');
  if (!hits.includes('L-YUANDANG')) fail(`search for 元荡: ${hits}`);

  // the trace tool through the UI: downstream, 40 km, a click on the Taipu River in Wujiang
  await page.check('input[name=dir][value=down]');
  await page.fill('#max-km', '40');
  await page.click('#trace-btn');
  const pt = await page.evaluate(() => {
    crossriverMap.jumpTo({ center: [120.7519, 30.9973], zoom: 12 });
    const p = crossriverMap.project([120.7519, 30.9973]);
    return { x: p.x, y: p.y };
  });
  await page.waitForFunction(() => crossriverMap.loaded(), null, { timeout: 30000 });
  await page.locator('#map canvas').click({ position: pt });
  await page.waitForFunction(() => document.getElementById('trace-met'), null, { timeout: 30000 });
  const names = await page.locator('#trace-notify tr td:first-child').allTextContents();
  const want = ['吴江区', '嘉善县', '青浦区', '松江区'];
  if (JSON.stringify(names) !== JSON.stringify(want)) fail(`notify ${names}, want ${want}`);
  await page.evaluate(() => crossriverMap.fitBounds([[120.55, 30.85], [121.1, 31.2]], { duration: 0 }));
  await page.waitForFunction(() => crossriverMap.loaded() && crossriverMap.queryRenderedFeatures({ layers: ['trace-reaches'] }).length > 0,
    null, { timeout: 30000 }).catch(() => fail('the traced reaches are not highlighted'));
  await page.screenshot({ path: join(outDir, 'page.png') });

  // the trace panel for the field: a point typed latitude first, 800 kg over 2 h downstream:
  // the Jinze intake among the threatened with its peak, the full list paged
  await page.fill('#max-km', '60');
  await page.fill('#trace-at', '31°1\'27.5"N, 120°52\'46.2"E');
  await page.fill('#spill-kg', '800');
  await page.fill('#spill-hours', '2');
  await page.evaluate(() => { document.getElementById('trace-out').innerHTML = ''; });
  await page.click('#trace-at-btn');
  await page.waitForFunction(() => document.getElementById('trace-met'), null, { timeout: 30000 })
    .catch(() => fail('no trace from the typed point'));
  const st = await page.textContent('#status');
  if (!/纬度在前/.test(st)) fail(`a latitude-first point is not said: ${st}`);
  const thr = (await page.locator('#trace-threatened').textContent()) || '';
  if (!/金泽水库太浦河取水泵站/.test(thr) || !/峰值/.test(thr)) fail(`threatened: ${thr.slice(0, 200)}`);
  const metN = Number(await page.getAttribute('#trace-met', 'data-n'));
  if (metN > 50) {
    if ((await page.locator('#trace-features tr').count()) !== 50) fail('the first page is not 50 rows');
    await page.locator('#trace-page button', { hasText: '下一页' }).click();
    if (!/^2 \//.test(await page.textContent('#trace-page-no'))) fail('no second page');
  }
  // upstream from 康家村 typed as GCJ-02 off a phone: attribution, not whom to notify
  await page.check('input[name=dir][value=up]');
  await page.fill('#spill-kg', '');
  await page.fill('#trace-at', '120.8838,31.0228');
  await page.check('#trace-gcj');
  await page.evaluate(() => { document.getElementById('trace-out').innerHTML = ''; });
  await page.click('#trace-at-btn');
  await page.waitForSelector('#trace-attribution tr', { timeout: 30000 }).catch(() => fail('no upstream attribution'));
  const att = (await page.locator('#trace-attribution').textContent()) || '';
  if (!/吴江区/.test(att) || !/排口/.test(att)) fail(`attribution: ${att.slice(0, 200)}`);
  if (/通知/.test(await page.textContent('#trace-out'))) fail('an upstream trace reads as "notify"');
  await page.uncheck('#trace-gcj');
  await page.check('input[name=dir][value=down]');
  await page.screenshot({ path: join(outDir, 'trace-panel.png') });
  await page.waitForFunction(() => !crossriverMap.isMoving(), null, { timeout: 30000 });
  // the patrol panel: 一河三湖 by boat; the route drawn, legs by jurisdiction listed
  await page.fill('#patrol-date', '2025-10-31');
  await page.click('#patrol-btn');
  await page.waitForFunction(() => document.querySelectorAll('#patrol-legs tr').length > 0, null, { timeout: 30000 })
    .catch(() => fail('the patrol panel lists no legs'));
  const legs = await page.locator('#patrol-legs tr td:first-child').allTextContents();
  if (legs[0] !== '吴江区' || !legs.includes('嘉善县') || !legs.includes('青浦区')) fail(`patrol legs ${legs}`);
  const stops = await page.locator('#patrol-stops tr').count();
  if (stops < 10) fail(`patrol stops ${stops}`);
  await page.waitForFunction(() => crossriverMap.loaded() && crossriverMap.queryRenderedFeatures({ layers: ['patrol-route'] }).length > 0,
    null, { timeout: 30000 }).catch(() => fail('the patrol route is not drawn'));
  await page.screenshot({ path: join(outDir, 'patrol.png') });
  // water quality: sections carry their latest class; a click on 康家村 draws its series with
  // the target line (uPlot), and the open alarms are listed with the ammonia spike among them
  const classes = await page.evaluate(() => crossriverMap.querySourceFeatures('crossriver', { sourceLayer: 'monitoring_sections' })
    .map((f) => f.properties.wq_class).filter(Boolean));
  if (classes.length === 0) fail('no section carries a class (wq_class) in the tiles');
  await page.click('#trace-btn'); // tracing off: a click is a click again
  const kj = await page.evaluate(() => {
    crossriverMap.jumpTo({ center: [120.880, 31.025], zoom: 13 });
    const p = crossriverMap.project([120.880, 31.025]);
    return { x: p.x, y: p.y };
  });
  await page.waitForFunction(() => crossriverMap.loaded(), null, { timeout: 30000 });
  await page.locator('#map canvas').click({ position: kj });
  await page.waitForFunction(() => window.crossriverChart && document.querySelector('#wq-chart canvas'), null, { timeout: 30000 })
    .catch(() => fail('no chart after clicking SEC-TPH-KJ'));
  const title = await page.textContent('#wq-chart .u-title').catch(() => '');
  if (!/太浦河康家村/.test(title) || !/氨氮/.test(title)) fail(`chart title: ${title}`);
  const chartSeries = await page.evaluate(() => window.crossriverChart.series.map((s) => s.label));
  if (!chartSeries.some((l) => /^target II/.test(l))) fail(`no target line: ${chartSeries}`);
  const peak = await page.evaluate(() => Math.max(...window.crossriverChart.data.slice(1, -1).flat().filter((v) => v !== null)));
  if (!(peak > 1.0)) fail(`the 2025-08-12 ammonia spike is not in the chart (max ${peak})`);
  const alarms = (await page.locator('#alarms li').allTextContents()).join('|');
  if (!/突变/.test(alarms) || !/太浦河康家村/.test(alarms)) fail(`alarms listed: ${alarms.slice(0, 300)}`);
  await page.screenshot({ path: join(outDir, 'quality.png') });
  // incidents: the sample incident listed; a click shows the Jinze intake threatened and the
  // counties to notify starting with Wujiang
  await page.evaluate(() => { document.getElementById('incidents-panel').open = true; });
  await page.locator('#incidents li').first().click();
  await page.waitForSelector('#incident-notify tr', { timeout: 30000 }).catch(() => fail('no incident notification list'));
  const threatened = (await page.locator('#incident-threatened').textContent().catch(() => '')) || '';
  if (!threatened.includes('金泽水库太浦河取水泵站')) fail(`incident threatened: ${threatened.slice(0, 200)}`);
  const notifyRows = await page.locator('#incident-notify tr td:nth-child(2)').allTextContents();
  if (notifyRows[0] !== '吴江区') fail(`incident notify: ${notifyRows}`);
  const deadlines = await page.locator('#incident-deadlines tr').count();
  if (deadlines !== 2) fail(`incident deadlines: ${deadlines} rows`);
  // findings: the open ones listed; one shows its steps
  await page.evaluate(() => { document.getElementById('findings-panel').open = true; });
  await page.waitForSelector('#findings li[data-i]', { timeout: 30000 }).catch(() => fail('no findings listed'));
  const findings = (await page.locator('#findings li').allTextContents()).join('|');
  if (!findings.includes('XH-2025-07-01') || !findings.includes('待整改')) fail(`findings: ${findings.slice(0, 200)}`);
  await page.locator('#findings li[data-i]').first().click();
  await page.waitForSelector('#finding-steps tr', { timeout: 30000 }).catch(() => fail('no finding steps'));
  // gate operations: the planned release of 太浦闸, its notice due 2 h before, Wujiang first
  await page.evaluate(() => { document.getElementById('gates-panel').open = true; });
  await page.waitForSelector('#gate-ops li[data-i]', { timeout: 30000 }).catch(() => fail('no gate operations listed'));
  await page.locator('#gate-ops li[data-op="DD-2025-060"]').click();
  await page.waitForSelector('#gate-notify tr', { timeout: 30000 }).catch(() => fail('no gate notification list'));
  const due = (await page.locator('#gate-due').textContent()) || '';
  const dueAt = await page.getAttribute('#gate-due', 'data-due');
  if (dueAt !== '2025-09-10T06:00:00' || !/预通报时限/.test(due)) fail(`gate notice due: ${dueAt} ${due}`);
  const gateRows = await page.locator('#gate-notify tr td:nth-child(2)').allTextContents();
  if (gateRows[0] !== '吴江区') fail(`gate notify: ${gateRows}`);
  await page.screenshot({ path: join(outDir, 'records.png') });
  // the interface in Chinese by default; the switch turns it to English (kept across a reload)
  if ((await page.getAttribute('html', 'lang')) !== 'zh-CN') fail('the page is not Chinese by default');
  if ((await page.textContent('#trace-btn')).trim() !== '点击地图追踪') fail('the trace button is not in Chinese');
  await Promise.all([page.waitForEvent('load'), page.click('#lang')]);
  await page.waitForFunction(() => document.body.dataset.idle === 'yes' && document.documentElement.lang === 'en', null, { timeout: 90000 })
    .catch(() => fail('the English switch did not take'));
  const en = await page.evaluate(() => ({
    layers: document.querySelector('[data-i18n="panel.layers"]').textContent,
    trace: document.getElementById('trace-btn').textContent,
    labels: document.querySelector('#layers .layer-group label').textContent.trim(),
    search: document.getElementById('search').placeholder,
  }));
  if (en.layers !== 'Layers' || en.trace !== 'Click the map to trace' || en.labels !== 'Place labels' || en.search !== 'Search a name or ID') {
    fail(`English: ${JSON.stringify(en)}`);
  }
  await page.screenshot({ path: join(outDir, 'english.png') });
  await Promise.all([page.waitForEvent('load'), page.click('#lang')]);
  await page.waitForFunction(() => document.body.dataset.idle === 'yes' && document.documentElement.lang === 'zh-CN', null, { timeout: 90000 })
    .catch(() => fail('the switch back to Chinese did not take'));
  const offsite = requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:'));
  if (offsite.length) fail(`requests left the machine: ${offsite.slice(0, 3)}`);
  // a popup in words, provenance folded: the Jinze intake (a feature with joins)
  await page.evaluate(() => crossriverMap.jumpTo({ center: [120.9, 31.03], zoom: 13 }));
  await page.waitForFunction(() => crossriverMap.loaded() && crossriverMap.areTilesLoaded(), null, { timeout: 60000 });
  const zpt = await page.evaluate(() => {
    const f = crossriverMap.queryRenderedFeatures({ layers: ['protection-zones'] })[0];
    if (!f) return null;
    const p = crossriverMap.project([120.9, 31.03]);
    return { x: p.x, y: p.y };
  });
  if (!zpt) fail('no protection zone at z13 around 金泽');
  else {
    await page.locator('#map canvas').click({ position: zpt });
    await page.waitForSelector('.maplibregl-popup .popup-fields', { timeout: 30000 }).catch(() => fail('no popup in words'));
    const pop = (await page.locator('.maplibregl-popup').textContent()) || '';
    if ((await page.locator('.maplibregl-popup details.provenance summary').textContent()) !== '来源') fail(`popup without provenance fold: ${pop.slice(0, 120)}`);
    const shown = (await page.locator('.maplibregl-popup .popup-fields').textContent()) || '';
    if (/content_sha256|batch_id/.test(shown)) fail('popup shows provenance among the fields');
    if (!/保护区|河段|区县/.test(shown)) fail(`popup fields not in words: ${shown.slice(0, 160)}`);
    await page.screenshot({ path: join(outDir, 'popup.png') });
    await page.evaluate(() => document.querySelectorAll('.maplibregl-popup').forEach((p) => p.remove()));
  }
  // print a view: the PNG with the legend beside the map
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }), page.click('#save-png')]);
  const png = await download.path().then((p) => import('node:fs').then((fs) => fs.readFileSync(p)));
  const canvasW = await page.evaluate(() => crossriverMap.getCanvas().width);
  if (png.readUInt32BE(0) !== 0x89504e47) fail('the saved map is not a PNG');
  else if (png.readUInt32BE(16) <= canvasW) fail(`the saved map (${png.readUInt32BE(16)} px) has no legend beside the map (${canvasW} px)`);
  else (await import('node:fs')).writeFileSync(join(outDir, 'saved-map.png'), png);
  if (errors.length) fail(`script errors: ${errors.join('; ')}`);
} catch (e) {
  fail(e.message.split('\n')[0]);
} finally {
  if (browser) await browser.close();
}
if (failures) process.exit(1);
console.log('page_check: the web map draws, searches, traces, plans a patrol, charts a section with its alarms and shows incidents, findings and gate notices');
