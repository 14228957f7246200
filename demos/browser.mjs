// `npm run demo`: builds the demo pages, serves them on 127.0.0.1, and drives them in headless
// Chromium (WebGPU on SwiftShader) as a person would: the tokenizer playground, pre-training on
// the bundled Moby-Dick, then fill-mask with the trained model. Progress and results go to the
// terminal; screenshots of each page and the trained Hugging Face directory (downloaded from the
// page as a zip, unpacked) go to --out. Exits 1 unless the model beats its baseline on held-back
// text (MLM loss below the unigram entropy) with no page error.
// Usage: node demos/browser.mjs [--out demo-output] [--smoke] [--objective mlm-nsp|roberta|electra|mlm]
//   [--steps N] [--size demo|bert-tiny|...] [--vocab N] [--seq N] [--batch N] [--lr X] [--eval-every N]
//   [--chapters N] [--held-back N] [--eval-batches N] [--warmup N] [--dropout P] [--seed N] [--timeout-min M]
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import { buildPages } from './build.mjs';
import { chromiumPath, launchChromium, serve } from '../scripts/chromium.mjs';

/** Page settings (query parameters of pretrain.html) the command line may set. */
const SETTINGS = [
  'objective',
  'steps',
  'size',
  'vocab',
  'seq',
  'batch',
  'lr',
  'eval-every',
  'chapters',
  'held-back',
  'eval-batches',
  'warmup',
  'dropout',
  'seed',
];
/** The smallest setting (CI): a few steps on a few chapters; its verdict is printed, not required. */
const SMOKE = {
  steps: '8',
  'eval-every': '4',
  chapters: '4',
  'held-back': '1',
  'eval-batches': '2',
  batch: '8',
  seq: '32',
  vocab: '150',
  warmup: '2',
};

const camel = (s) => s.replace(/-(\w)/g, (_, c) => c.toUpperCase());

/**
 * Runs the demo; returns { ok, verdict, failures, wallSeconds, out, screenshots, modelDir, tokens, ids, merges, fills,
 * resumedAt }. `pauseAndReload` pauses after the first held-back evaluation, reloads the page and
 * resumes the stored run. `inspect(browser, base, result)`, when given, runs at the end in the same browser
 * (same storage) and its result is returned as `inspected`. `log` receives each line for the terminal.
 */
export async function runDemo({
  out = 'demo-output',
  smoke = false,
  pauseAndReload = false,
  inspect = null,
  settings = {},
  timeoutMinutes = 15,
  buildDir = '.demo-build/pages',
  log = console.log,
} = {}) {
  const t0 = Date.now();
  const since = () => `${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s`;
  const say = (line) => log(`${since()} ${line}`);
  if (!existsSync(chromiumPath()))
    throw new Error(
      `no Chromium at ${chromiumPath()}: install it (Debian: apt-get install chromium, or bash .ci/setup-system.sh) or set CHROMIUM_PATH`,
    );
  mkdirSync(out, { recursive: true });
  await buildPages(buildDir);
  const server = await serve(buildDir);
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchChromium();
  const failures = [];
  const result = {
    ok: false,
    verdict: null,
    failures,
    out,
    screenshots: [],
    modelDir: null,
    tokens: '',
    ids: '',
    merges: [],
    fills: [],
    resumedAt: null,
  };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Failed to load resource: .* 404/.test(text) && /favicon/.test(msg.location()?.url ?? '')) return;
      if (msg.type() === 'error') failures.push(`console error: ${text}`);
      say(`[page] ${text}`);
    });
    page.on('pageerror', (err) => {
      failures.push(`page error: ${err.message}`);
      say(`[page error] ${err.message}`);
    });
    const shot = async (name) => {
      const path = join(out, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      result.screenshots.push(path);
      say(`screenshot ${path}`);
    };
    const text = (sel) => page.$eval(sel, (e) => e.textContent ?? '');

    // 1. tokenizer playground
    say(`tokenizer playground: ${base}/tokenizer.html`);
    await page.goto(`${base}/tokenizer.html`);
    await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
    result.tokens = await text('#tokens');
    result.ids = await text('#ids');
    say(`"I love NLP!" -> tokens ${result.tokens} | ids ${result.ids}`);
    await page.click('#bpe-all');
    result.merges = await page.$$eval('#bpe-merge-list li', (li) => li.map((x) => x.firstChild?.textContent ?? ''));
    say(`BPE on low:5 lower:2 newest:6 widest:3, ${result.merges.length} merges: ${result.merges.join(', ')}`);
    await page.click('#bpe-prev'); // a step with its new symbol highlighted
    await shot('tokenizer');

    // 2. pre-train live
    const query = new URLSearchParams({ fresh: '1', autostart: '1' });
    for (const [k, v] of Object.entries({ ...(smoke ? SMOKE : {}), ...settings })) query.set(camel(k), String(v));
    say(`pre-train: ${base}/pretrain.html?${query}`);
    const downloads = resolve(out, '.download');
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true });
    const cdp = await browser.target().createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });
    const downloaded = new Promise((done) =>
      cdp.on('Browser.downloadProgress', (e) => {
        if (e.state === 'completed' || e.state === 'canceled') done(e.state);
      }),
    );
    await page.goto(`${base}/pretrain.html?${query}`);
    const deadline = Date.now() + timeoutMinutes * 60_000;
    for (;;) {
      const state = await page.$eval('body', (b) => b.dataset.state ?? '');
      if (state === 'done' || failures.length) break;
      if (Date.now() > deadline) {
        failures.push(`pre-training did not finish within ${timeoutMinutes} minutes (page state '${state}')`);
        break;
      }
      const errorBox = await text('#error');
      if (errorBox) {
        failures.push(`pre-train page: ${errorBox}`);
        break;
      }
      if (pauseAndReload && !result.resumedAt && state === 'running') {
        // a person pausing, closing the tab and coming back: the run must come back from IndexedDB.
        // Paused in the page as soon as the first loss shows, so a short run cannot end first.
        await page.waitForFunction(
          () => {
            if (document.querySelector('#loss')?.textContent === '–') return false;
            document.querySelector('#pause').click();
            return true;
          },
          { polling: 'mutation', timeout: 300_000 },
        );
        await page.waitForFunction(() => document.body.dataset.state !== 'pausing' && document.body.dataset.state !== 'running', {
          timeout: 300_000,
        });
        if ((await page.$eval('body', (b) => b.dataset.state)) !== 'paused') {
          failures.push('the run did not pause');
          break;
        }
        const pausedAt = await text('#status');
        await page.goto(`${base}/pretrain.html`);
        await page.waitForFunction(() => document.body.dataset.state === 'paused' || document.querySelector('#error')?.textContent, {
          timeout: 120_000,
        });
        result.resumedAt = { paused: pausedAt, restored: await text('#stored') };
        say(`paused (${pausedAt}), reloaded: ${result.resumedAt.restored}`);
        await page.click('#resume');
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const verdictState = await page.$eval('#verdict', (e) => e.dataset.verdict ?? '');
    result.verdict = { pass: verdictState === 'pass', text: verdictState ? await text('#verdict-text') : '' };
    await shot('pretrain');
    if (verdictState) {
      await page.click('#download');
      const how = await Promise.race([downloaded, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
      const zip = readdirSync(downloads).find((f) => f.endsWith('.zip'));
      if (how !== 'completed' || !zip) failures.push(`the model download did not complete (${how})`);
      else {
        const files = unzipSync(readFileSync(join(downloads, zip)));
        const modelDir = join(out, 'model');
        rmSync(modelDir, { recursive: true, force: true });
        for (const [name, bytes] of Object.entries(files)) {
          const rel = name.split('/').slice(1).join('/'); // drop the zip's top folder
          if (!rel || name.endsWith('/')) continue;
          mkdirSync(join(modelDir, rel, '..'), { recursive: true });
          writeFileSync(join(modelDir, rel), bytes);
        }
        result.modelDir = modelDir;
        say(
          `Hugging Face directory (from the page's download, ${zip}): ${modelDir}/ ${Object.keys(files)
            .map((n) => n.split('/').slice(1).join('/'))
            .filter(Boolean)
            .join(', ')}`,
        );
      }
    }
    rmSync(downloads, { recursive: true, force: true });

    // 3. fill-mask with the model the pre-train page stored in this browser
    if (verdictState) {
      say(`fill-mask: ${base}/fill-mask.html`);
      await page.goto(`${base}/fill-mask.html?autofill=1`);
      await page.waitForFunction(() => document.body.dataset.filled || document.querySelector('#error')?.textContent, { timeout: 120_000 });
      const err = await text('#error');
      if (err) failures.push(`fill-mask page: ${err}`);
      result.fills = await page.$$eval('.result', (rs) =>
        rs.map((r) => ({
          sentence: r.querySelector('b')?.textContent ?? '',
          rows: r.querySelectorAll('tr.guess').length,
          best: r.querySelector('tr.guess td')?.textContent ?? '',
        })),
      );
      await shot('fill-mask');
    }
    if (inspect) result.inspected = await inspect(browser, base, result);
  } finally {
    await browser.close();
    server.close();
  }
  result.wallSeconds = (Date.now() - t0) / 1000;
  result.ok = failures.length === 0 && (smoke || result.verdict?.pass === true);
  return result;
}

async function main() {
  const options = Object.fromEntries(SETTINGS.map((k) => [k, { type: 'string' }]));
  const { values } = parseArgs({
    options: {
      ...options,
      out: { type: 'string', default: 'demo-output' },
      smoke: { type: 'boolean', default: false },
      'timeout-min': { type: 'string', default: '15' },
    },
  });
  const settings = Object.fromEntries(SETTINGS.filter((k) => values[k] !== undefined).map((k) => [k, values[k]]));
  const r = await runDemo({ out: values.out, smoke: values.smoke, settings, timeoutMinutes: Number(values['timeout-min']) });
  const m = Math.floor(r.wallSeconds / 60);
  console.log(
    `\nwall time ${m}m${String(Math.round(r.wallSeconds % 60)).padStart(2, '0')}s; screenshots: ${r.screenshots.join(', ')}; model: ${r.modelDir ?? 'none'}`,
  );
  for (const f of r.failures) console.log(`FAILED: ${f}`);
  if (r.verdict)
    console.log(`${r.verdict.pass ? 'DEMO OK' : values.smoke ? 'DEMO SMOKE RUN (verdict not judged)' : 'DEMO FAILED'}: ${r.verdict.text}`);
  else console.log('DEMO FAILED: no verdict');
  process.exitCode = r.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
