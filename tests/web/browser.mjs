// Debian's Chromium headless for the browser checks (software WebGL), and a page that keeps
// its script errors and the URLs it requested.
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-dev-shm-usage'],
  });
}

// A 1400×900 page: { page, errors, requests }.
export async function watchedPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  return { page, errors, requests };
}

// Go to url and wait until the map is idle; the text of #status (an error shown), or ''.
export async function openMap(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.idle === 'yes', null, { timeout: 90000 });
  return (await page.textContent('#status')) || '';
}
