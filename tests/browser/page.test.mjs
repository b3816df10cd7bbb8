// Browser test of wim-server's page (web/): drives it in headless Chromium.
//
//   node page.test.mjs URL OUTDIR        (or WIM_URL=... WIM_OUT=... node page.test.mjs)
//
// WIM_API_KEY=KEY if the server was started with --api-key.
//
// URL is a running wim-server (e.g. http://127.0.0.1:18080); OUTDIR receives
// page.png, a screenshot of the page at the end. Chromium is Debian's
// /usr/bin/chromium (override with CHROMIUM=path). Passes with any model: it
// checks the page's mechanics (progress, margins, the person's word, stop,
// answer), not what the model writes. Exits 0 on success; on failure prints
// one line and exits 1.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const url = process.argv[2] || process.env.WIM_URL;
const outDir = process.argv[3] || process.env.WIM_OUT || '.';
const TIMEOUT = 60_000;

function fail(msg) {
  console.error(`page.test: FAIL: ${msg}`);
  process.exit(1);
}

if (!url) fail('usage: node page.test.mjs URL OUTDIR');
fs.mkdirSync(outDir, { recursive: true });

// A document long enough for several 64-token segments, with one fact to find.
function makeDocument() {
  const towns = ['Arden', 'Brisk', 'Calder', 'Dunmore', 'Elwick', 'Fenwick', 'Garrow', 'Hollin'];
  const s = [];
  for (let i = 0; i < 40; i++) {
    const town = towns[i % towns.length];
    s.push(i === 23
      ? 'The lighthouse keeper of Garrow counts exactly 417 ships passing each winter.'
      : `In year ${1800 + i}, the market of ${town} sold ${10 + (i * 7) % 90} barrels of apples and ${3 + i % 11} carts of wool.`);
  }
  return s.join(' ');
}

let browser, page;
async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(TIMEOUT);
  const jsErrors = [];
  page.on('pageerror', (e) => jsErrors.push(e.message));

  const resp = await page.goto(url);
  if (!resp || !resp.ok()) throw new Error(`GET ${url} answered ${resp ? resp.status() : 'nothing'}`);
  for (const id of ['document', 'file', 'query', 'mode', 'start', 'stop', 'progress', 'status', 'margins', 'answer']) {
    if (!(await page.$(`#${id}`))) throw new Error(`the page has no #${id}`);
  }

  if (process.env.WIM_API_KEY) {  // for a server started with --api-key
    await page.click('#key-box summary');
    await page.fill('#apikey', process.env.WIM_API_KEY);
    await page.dispatchEvent('#apikey', 'change');
  }
  await page.fill('#document', makeDocument());
  await page.fill('#query', 'How many ships pass Garrow each winter?');
  await page.selectOption('#mode', 'wim');
  await page.fill('#segtokens', '64');
  await page.check('#quoted');
  await page.check('#quoted-answers');
  const sent = page.waitForRequest((r) => r.url().endsWith('/v1/wim') && r.method() === 'POST');
  await page.click('#start');
  const options = JSON.parse((await sent).postData()).options || {};
  if (options.segment_tokens !== 64 || options.quoted_margins !== true ||
      options.quoted_answers !== true) {
    throw new Error(`the request's options were ${JSON.stringify(options)}`);
  }

  // Reading: the progress moves and a margin is written.
  await page.waitForFunction(() => {
    const st = document.getElementById('status').dataset.state;
    if (st === 'error') return true;
    const f = parseFloat(document.getElementById('progress').dataset.fraction);
    return f > 0 && document.querySelectorAll('#margins .margin').length > 0;
  });
  await failOnErrorState(page);
  const segs = await page.$$eval('#margins .margin', (ms) => ms.map((m) => m.dataset.segment));
  if (segs.some((s) => !/^\d+$/.test(s))) throw new Error(`a margin without a segment number: ${segs}`);

  // The person keeps the first margin; the reading is slowed (run.sh), so it
  // is still reading and the server applies the word (200).
  const first = page.locator('#margins .margin').first();
  await first.locator('button.keep').click();
  await page.waitForFunction(() => {
    const m = document.querySelector('#margins .margin');
    return m.dataset.overrule && m.dataset.overrule !== 'pending';
  });
  const word = await first.getAttribute('data-overrule');
  if (word !== 'ok') throw new Error(`keeping a margin gave '${word}': ${await first.locator('.word-note').textContent()}`);

  // Stop the reading, then wait for the answer.
  // (force: the button turns disabled when the answer starts; a click that
  // lands on a disabled button does nothing, where a waiting click would hang.)
  await page.click('#stop', { force: true });
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state));
  await failOnErrorState(page);
  const answer = await page.textContent('#answer');
  const blank = await page.$eval('#answer', (a) => a.classList.contains('blank'));
  if (!answer && !blank) throw new Error('done, but the answer box is empty');

  // The margin the person kept must have fed the answer.
  if (!(await first.evaluate((m) => m.classList.contains('used')))) {
    throw new Error(`margin ${segs[0]} was kept (200) but is not marked "used" after the answer`);
  }
  // Every margin has its verdict by the end.
  const unjudged = await page.$$eval('#margins .margin', (ms) =>
    ms.filter((m) => !m.classList.contains('relevant') && !m.classList.contains('irrelevant')).length);
  if (unjudged) throw new Error(`${unjudged} margin(s) without a verdict after done`);

  // A margin's link highlights its (approximate) place in the document.
  await first.locator('.margin-head a').click();
  await page.waitForSelector('#docview mark');

  // The document pane is sticky: from the top, the full-page shot shows it in place.
  await page.evaluate(() => window.scrollTo(0, 0));
  const shot = path.join(outDir, 'page.png');
  await page.screenshot({ path: shot, fullPage: true });
  if (jsErrors.length) throw new Error(`JavaScript error on the page: ${jsErrors[0]}`);

  const status = (await page.textContent('#status')).trim();
  const n = await page.$$eval('#margins .margin', (ms) => ms.length);
  console.log(`page.test: ok: ${n} margin(s), keep on margin ${segs[0]}: ${word}; ${status} (${shot})`);
}

async function failOnErrorState(page) {
  if ((await page.getAttribute('#status', 'data-state')) === 'error') {
    throw new Error(`the page shows an error: ${(await page.textContent('#status')).trim()}`);
  }
}

try {
  await main();
  await browser.close();
  process.exit(0);
} catch (e) {
  // A screenshot of the failure helps more than the line alone.
  if (page) await page.screenshot({ path: path.join(outDir, 'page.png'), fullPage: true }).catch(() => {});
  if (browser) await browser.close().catch(() => {});
  fail(String(e && e.message ? e.message : e).split('\n')[0]);
}
