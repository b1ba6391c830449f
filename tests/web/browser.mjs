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

// Move the map and wait for its next 'idle' (tiles loaded, no transition running).
export async function jumpAndSettle(page, center, zoom) {
  await page.evaluate(([c, z]) => new Promise((done) => {
    crossriverMap.once('idle', done);
    crossriverMap.jumpTo({ center: c, zoom: z });
    crossriverMap.triggerRepaint();
  }), [center, zoom]);
}

// Symbols are placed over several frames after their tiles load (slower under software WebGL
// on a busy machine): call read() until want(result) holds or ms have passed, and return
// what it last read either way, for the caller to check.
export async function readUntil(page, read, want, ms = 20000) {
  let got = await read();
  for (let waited = 0; !want(got) && waited < ms; waited += 250) {
    await page.waitForTimeout(250);
    got = await read();
  }
  return got;
}
