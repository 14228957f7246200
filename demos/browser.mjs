// `npm run demo`: builds the demo pages, serves them on 127.0.0.1, and drives them in headless
// Chromium (WebGPU on SwiftShader) as a person would: the tokenizer playground, pre-training on
// the bundled Moby-Dick, fill-mask with the trained model, then fine-tuning it on the UCI
// sentiment sentences (imdb + amazon -> held-back yelp), classifying sentences, tagging and QA.
// Progress and results go to the terminal; screenshots of each page, the pre-trained Hugging Face
// directory and the fine-tuned sentiment model (each downloaded from its page as a zip, kept as
// model.zip / sentiment-model.zip and unpacked beside) go to --out. Exits 1 unless, with no page
// error, the pre-trained model beats its baseline on held-back text (MLM loss below the unigram
// entropy), the fine-tuned classifier beats the majority class on held-back yelp (whether it
// beats the bag of words is printed, not required), the tagger beats the most frequent tag of
// each word and the QA model the best place rule.
// Usage: node demos/browser.mjs [--out demo-output] [--smoke] [--objective mlm-nsp|roberta|electra|mlm]
//   [--steps N] [--size demo|bert-tiny|...] [--vocab N] [--seq N] [--batch N] [--lr X] [--eval-every N]
//   [--chapters N] [--held-back N] [--eval-batches N] [--warmup N] [--dropout P] [--seed N] [--timeout-min M]
//   [--finetune 'epochs=3&lr=2e-3&method=lora' (the fine-tune page's query settings)]
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

/** The demo's pre-training: 2 x 64 BERT, 200-piece vocabulary, 16 x 32 tokens, MLM + NSP (the page's defaults) for this many steps. */
const DEMO = { steps: '400', 'eval-every': '100' };
/**
 * The fine-tune page's settings in the demo (query parameters of finetune.html): its defaults, from the model pre-trained
 * above: 3 epochs of imdb + amazon (500 each; the words seen twice added to the vocabulary) in batches of 8 at lr 1e-3, evaluated on 500 yelp sentences every 63 steps;
 * tagging 40 steps and QA 250 steps of 8, each with its words added to the vocabulary.
 */
const FINETUNE = {};
const FINETUNE_SMOKE = {
  perFile: '24',
  evalSize: '24',
  epochs: '1',
  batch: '8',
  evalEvery: '2',
  tagSteps: '2',
  qaSteps: '2',
  maxLength: '32',
};
/** Sentences the demo classifies with the fine-tuned model. */
const SENTENCES = [
  'The food was wonderful and the staff were friendly.',
  'Terrible service, cold food and a rude waiter.',
  'I would not go back.',
];

const camel = (s) => s.replace(/-(\w)/g, (_, c) => c.toUpperCase());

/**
 * Browser downloads into `folder`: `zipFrom(page, selector, dir)` clicks the page's download button,
 * waits for the zip, keeps it as `dir`.zip and unpacks it into `dir` (without the zip's top folder);
 * returns { zip, path, dir, files } or, when no zip came, a string saying why.
 */
export async function downloads(browser, folder) {
  const cdp = await browser.target().createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: folder, eventsEnabled: true });
  return {
    async zipFrom(page, selector, dir) {
      rmSync(folder, { recursive: true, force: true });
      mkdirSync(folder, { recursive: true });
      let on;
      const done = new Promise((settle) => {
        on = (e) => {
          if (e.state === 'completed' || e.state === 'canceled') settle(e.state);
        };
        cdp.on('Browser.downloadProgress', on);
      });
      await page.click(selector);
      const how = await Promise.race([done, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
      cdp.off('Browser.downloadProgress', on);
      const zip = readdirSync(folder).find((f) => f.endsWith('.zip'));
      if (how !== 'completed' || !zip) return `${how}${zip ? '' : ', no zip'}`;
      const bytes = readFileSync(join(folder, zip));
      rmSync(folder, { recursive: true, force: true });
      const entries = unzipSync(bytes);
      rmSync(dir, { recursive: true, force: true });
      const files = [];
      for (const [name, b] of Object.entries(entries)) {
        const rel = name.split('/').slice(1).join('/'); // drop the zip's top folder
        if (!rel || name.endsWith('/')) continue;
        mkdirSync(join(dir, rel, '..'), { recursive: true });
        writeFileSync(join(dir, rel), b);
        files.push(rel);
      }
      writeFileSync(`${dir}.zip`, bytes);
      return { zip, path: `${dir}.zip`, dir, files };
    },
  };
}

/**
 * Runs the demo; returns { ok, verdict, failures, wallSeconds, out, screenshots, modelDir, tokens, ids, merges, fills,
 * resumedAt, ... }. `pauseAndReload` pauses after the first held-back evaluation, reloads the page and
 * resumes the stored run. `inspect(browser, base, result, downloader)` (downloads()), when given, runs at the end in the same browser
 * (same storage) and its result is returned as `inspected`. `log` receives each line for the terminal.
 */
export async function runDemo({
  out = 'demo-output',
  smoke = false,
  pauseAndReload = false,
  inspect = null,
  settings = {},
  finetune = {},
  timeoutMinutes = 40,
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
    sentiment: null,
    sentimentModel: null,
    classified: [],
    tagged: [],
    tagVerdict: null,
    qaVerdict: null,
    answer: null,
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
    for (const [k, v] of Object.entries({ ...(smoke ? SMOKE : DEMO), ...settings })) query.set(camel(k), String(v));
    say(`pre-train: ${base}/pretrain.html?${query}`);
    const downloader = await downloads(browser, resolve(out, '.download'));
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
      const got = await downloader.zipFrom(page, '#download', join(out, 'model'));
      if (typeof got === 'string') failures.push(`the model download did not complete (${got})`);
      else {
        result.modelDir = got.dir;
        say(`Hugging Face directory (from the page's download, ${got.zip}): ${got.dir}/ ${got.files.join(', ')}`);
      }
    }

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

    // 4. fine-tune the stored model: sentiment, then classify, tag and answer
    if (verdictState && !failures.length) {
      const ftQuery = new URLSearchParams({ autostart: '1', ...(smoke ? FINETUNE_SMOKE : FINETUNE), ...finetune });
      say(`fine-tune: ${base}/finetune.html?${ftQuery}`);
      await page.goto(`${base}/finetune.html?${ftQuery}`);
      for (;;) {
        const state = await page.$eval('body', (b) => b.dataset.state ?? '');
        if (state === 'done' || state === 'failed' || failures.length) break;
        const errorBox = await text('#error');
        if (errorBox) {
          failures.push(`fine-tune page: ${errorBox}`);
          break;
        }
        if (Date.now() > deadline) {
          failures.push(`fine-tuning did not finish within ${timeoutMinutes} minutes in all`);
          break;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      const v = await page.$eval('#sentiment-verdict', (e) => ({ ...e.dataset }));
      if (v.verdict) {
        result.sentiment = {
          accuracy: Number(v.accuracy),
          majority: Number(v.majority),
          bow: Number(v.bow),
          beatsMajority: v.verdict !== 'fail',
          beatsBow: v.verdict === 'beats-both',
          levelBow: v.verdict === 'level-bow',
          pBow: Number(v.pBow),
          pMajority: Number(v.pMajority),
          onlyModel: Number(v.onlyModel),
          onlyBow: Number(v.onlyBow),
          seconds: Number(v.seconds),
          source: await page.$eval('body', (b) => b.dataset.source),
          text: await text('#sentiment-verdict-text'),
          lossPoints: Number(await page.$eval('#chart-ft-loss', (e) => e.dataset.points)),
          accuracyPoints: Number(await page.$eval('#chart-ft-acc', (e) => e.dataset.points)),
          canvas: await page.$eval('#chart-ft-acc canvas', (c) => [c.width, c.height]),
        };
        for (const sentence of SENTENCES) {
          await page.$eval('#classified', (e) => e.replaceChildren());
          await page.click('#classify-text', { clickCount: 3 }); // a person selecting the old text and typing over it
          await page.type('#classify-text', sentence);
          await page.click('#classify');
          await page.waitForSelector('#classified-label', { timeout: 60_000 });
          const c = await page.evaluate(() => ({
            label: document.querySelector('#classified-label b')?.textContent ?? '',
            probs: [...document.querySelectorAll('#classified-probs tr.prob')].map((r) => [r.cells[0].textContent, r.cells[1].textContent]),
          }));
          result.classified.push({ sentence, ...c });
          say(`classify "${sentence}" -> ${c.label} (${c.probs.map((p) => p.join(' ')).join(', ')})`);
        }
        await page.$eval('#classify-text', (e, t) => (e.value = t), SENTENCES[0]);
        await page.click('#classify');
        await page.waitForSelector('#classified-label', { timeout: 60_000 });
        const got = await downloader.zipFrom(page, '#download-sentiment', join(out, 'sentiment-model'));
        if (typeof got === 'string') failures.push(`the fine-tuned model download did not complete (${got})`);
        else {
          result.sentimentModel = got;
          say(
            `fine-tuned sentiment model (from the page's download, ${got.zip}): ${got.path}, unpacked in ${got.dir}/ ${got.files.join(', ')}`,
          );
        }
      }
      if ((await page.$eval('body', (b) => b.dataset.state ?? '')) === 'done') {
        result.tagText = await page.$eval('#tag-text', (e) => e.value);
        result.tagged = await page.$$eval('#tagged .tagged', (s) =>
          s.map((x) => ({
            word: x.firstChild?.textContent ?? '',
            tag: x.dataset.tag,
            start: +x.dataset.start,
            end: +x.dataset.end,
            colour: x.style.background,
          })),
        );
        const panel = (id) => page.$eval(id, (e) => ({ ...e.dataset, text: e.textContent ?? '' }));
        result.tagVerdict = await panel('#tag-verdict');
        result.qaVerdict = await panel('#qa-verdict');
        say(`tagging: ${result.tagVerdict.text} ${result.tagged.map((t) => `${t.word}/${t.tag}`).join(' ')}`);
        result.answer = await page.evaluate(() => {
          const m = document.querySelector('#answer-span');
          return {
            context: document.querySelector('#qa-context').value,
            question: document.querySelector('#qa-question').value,
            shown: m?.textContent ?? null,
            before: m?.previousSibling?.textContent ?? '',
            start: Number(m?.dataset.start),
            end: Number(m?.dataset.end),
            info: document.querySelector('#answer-info')?.textContent ?? '',
          };
        });
        say(`QA: ${result.qaVerdict.text} "${result.answer.question}" -> ${result.answer.info}`);
      }
      await shot('finetune');
    }
    if (inspect) result.inspected = await inspect(browser, base, result, downloader);
  } finally {
    await browser.close();
    server.close();
  }
  result.wallSeconds = (Date.now() - t0) / 1000;
  const beats = (v) => v?.verdict === 'beats';
  result.ok =
    failures.length === 0 &&
    (smoke ||
      (result.verdict?.pass === true && result.sentiment?.beatsMajority === true && beats(result.tagVerdict) && beats(result.qaVerdict)));
  return result;
}

async function main() {
  const options = Object.fromEntries(SETTINGS.map((k) => [k, { type: 'string' }]));
  const { values } = parseArgs({
    options: {
      ...options,
      out: { type: 'string', default: 'demo-output' },
      smoke: { type: 'boolean', default: false },
      'timeout-min': { type: 'string', default: '40' },
      finetune: { type: 'string', default: '' },
    },
  });
  const settings = Object.fromEntries(SETTINGS.filter((k) => values[k] !== undefined).map((k) => [k, values[k]]));
  const finetune = Object.fromEntries(new URLSearchParams(values.finetune));
  const r = await runDemo({ out: values.out, smoke: values.smoke, settings, finetune, timeoutMinutes: Number(values['timeout-min']) });
  const m = Math.floor(r.wallSeconds / 60);
  console.log(
    `\nwall time ${m}m${String(Math.round(r.wallSeconds % 60)).padStart(2, '0')}s; screenshots: ${r.screenshots.join(', ')}; model: ${r.modelDir ?? 'none'}`,
  );
  for (const f of r.failures) console.log(`FAILED: ${f}`);
  const pct = (v) => `${(v * 100).toFixed(1)}%`;
  if (r.verdict) console.log(`pre-training: ${r.verdict.pass ? 'beats' : 'does NOT beat'} its baseline: ${r.verdict.text}`);
  const s = r.sentiment;
  if (s)
    console.log(
      `fine-tuning (from ${s.source === 'stored' ? 'the model pre-trained above' : 'a fresh init'}, ${Math.round(s.seconds)} s): held-back yelp accuracy ${pct(s.accuracy)} vs majority class ${pct(s.majority)}` +
        ` (${s.beatsMajority ? 'beats it' : 'does NOT beat it'}) and bag-of-words logistic regression ${pct(s.bow)} on the same split` +
        ` (${s.beatsBow ? 'beats it' : s.levelBow ? 'level with it: the gap is within chance' : 'below it'}; McNemar p = ${s.pBow.toPrecision(2)}, ${s.onlyModel} sentences only the model gets right, ${s.onlyBow} only the bag of words)`,
    );
  for (const [name, v] of [
    ['tagging', r.tagVerdict],
    ['QA', r.qaVerdict],
  ])
    if (v) console.log(`${name}: ${v.verdict === 'beats' ? 'beats' : 'does NOT beat'} its baseline: ${v.text.replace(/^[^:]*: /, '')}`);
  if (r.sentimentModel) console.log(`fine-tuned sentiment model: ${r.sentimentModel.path} (${r.sentimentModel.files.join(', ')})`);
  const verdictText = [
    r.verdict?.text ?? 'no pre-training verdict',
    s ? s.text : 'no fine-tuning verdict',
    `tagging ${r.tagVerdict?.text.replace(/^[^:]*: /, '') ?? 'no verdict'}`,
    `QA ${r.qaVerdict?.text.replace(/^[^:]*: /, '') ?? 'no verdict'}`,
  ].join('; ');
  console.log(`${r.ok ? (values.smoke ? 'DEMO SMOKE RUN OK (verdict not judged)' : 'DEMO OK') : 'DEMO FAILED'}: ${verdictText}`);
  process.exitCode = r.ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
