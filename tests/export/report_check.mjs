// The evidence report in a real browser: playwright-core driving Debian's Chromium headless.
// Usage: report_check.mjs REPORT.html OUT.png — the page loads without script or load errors,
// the SVG map is drawn at its size with features on it, the tables are there; a screenshot.
import { chromium } from 'playwright-core';
import { pathToFileURL } from 'node:url';

const [report, png] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let failed = false;
const fail = (m) => { console.error(`report_check: ${m}`); failed = true; };
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(report).href);
  const box = await page.locator('svg').first().boundingBox();
  if (!box || box.width < 400 || box.height < 250) fail(`the map is ${JSON.stringify(box)}`);
  const circles = await page.locator('svg circle[data-id]').count();
  if (circles < 5) fail(`${circles} features on the map`);
  const tables = await page.locator('table').count();
  if (tables < 2) fail(`${tables} tables`);
  await page.screenshot({ path: png, fullPage: true });
  if (errors.length) fail(errors.join('; '));
} finally {
  await browser.close();
}
if (failed) process.exit(1);
console.log('report_check: the report renders with its map and tables');
