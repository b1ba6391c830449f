// The web map as a static site (`crossriver site`), served by nginx alone — no crossriver
// process — in Debian's Chromium. Usage: static_check.mjs BASE_URL OUT_DIR NGINX_ACCESS_LOG
// Checks: the page goes idle with no error shown; counties, lakes, reaches and sections are
// drawn from the PMTiles archive, read with range requests (206 answers in nginx's log);
// Chinese labels placed from the static glyphs; the API's panels hidden; no request leaves
// BASE_URL. Leaves OUT_DIR/static.png.
import { launch, watchedPage, openMap, jumpAndSettle, readUntil } from './browser.mjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [base, outDir, accessLog] = process.argv.slice(2);
let failures = 0;
const fail = (m) => { console.error('static_check: ' + m); failures++; };
let browser;
try {
  browser = await launch();
  const { page, errors, requests } = await watchedPage(browser);
  const status = await openMap(page, base + '/index.html');
  if (status) fail(`the page shows an error: ${status}`);
  await jumpAndSettle(page, [120.9, 31.0], 9.5);
  const drawn = await page.evaluate(() => [...new Set(crossriverMap.queryRenderedFeatures().map((f) => f.sourceLayer))].sort());
  for (const l of ['admin_units', 'lakes', 'monitoring_sections', 'reaches']) {
    if (!drawn.includes(l)) fail(`${l} not drawn (drawn: ${drawn})`);
  }
  const counties = await readUntil(page, () => page.evaluate(() => [...new Set(crossriverMap.queryRenderedFeatures({ layers: ['label-counties'] }).map((f) => f.properties.name))]),
    (names) => ['吴江区', '青浦区', '嘉善县'].every((c) => names.includes(c)));
  for (const c of ['吴江区', '青浦区', '嘉善县']) if (!counties.includes(c)) fail(`county labels: ${counties}`);
  if (!requests.some((u) => /\/glyphs\/.+\/(19968|2[0-9]{4}|3[0-9]{4})-\d+\.pbf$/.test(decodeURIComponent(u)))) fail('no Chinese glyph range fetched');
  if (await page.locator('#search-form').isVisible()) fail('the search (an API panel) is shown on a static site');
  if (await page.locator('#layers .layer-group').count() < 5) fail('layer switcher incomplete');
  const away = requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:'));
  if (away.length) fail(`requests left the site: ${away.slice(0, 3)}`);
  if (!requests.some((u) => u.endsWith('/tiles.pmtiles'))) fail('the archive was not read');
  if (errors.length) fail(`page errors: ${errors.slice(0, 3)}`);
  await page.screenshot({ path: join(outDir, 'static.png') });
  const ranges = readFileSync(accessLog, 'utf8').split('\n').filter((l) => l.includes('/tiles.pmtiles') && / 206 /.test(l)).length;
  if (ranges < 2) fail(`nginx answered ${ranges} range requests for the archive`);
  if (!failures) console.log(`static_check: the static site draws ${drawn.length} layers from the archive (${ranges} range requests), labels ${counties.join(' ')}`);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  if (browser) await browser.close();
}
process.exit(failures ? 1 : 0);
