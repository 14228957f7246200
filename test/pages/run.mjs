// The demo pages as a person sees them, in headless Chromium: `npm run demo` at its smallest
// setting (tokenizer -> a few pre-training steps with a pause, a reload and a resume -> fill-mask
// -> a few fine-tuning steps on sentiment, tagging and QA), then what is on screen: the token table
// and highlighted spans, the BPE merges, charts with points and a loss number, k guesses per mask,
// a typed sentence's label with probabilities, coloured tags, the QA answer highlighted at its
// offsets, each panel's verdict against its baseline, screenshots that are not blank, the
// downloaded Hugging Face directories (pre-trained; fine-tuned, full and LoRA), no console errors;
// and a browser without WebGPU told what to do.
// Run by `node scripts/test.mjs pages`; prints uvu's summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { unzipSync } from 'fflate';
import { runDemo } from '../../demos/browser.mjs';
import { buildPages } from '../../demos/build.mjs';

const OUT = resolve(process.env.TEST_BUILD_DIR ?? '.test-build', 'pages');
let demo;

test('npm run demo --smoke: every page driven end to end, no page or console error', async () => {
  demo = await runDemo({
    out: join(OUT, 'out'),
    buildDir: join(OUT, 'site'),
    smoke: true,
    pauseAndReload: true,
    inspect: look,
    log: () => {},
  });
  assert.equal(demo.failures, []);
  assert.ok(demo.ok);
});

test('tokenizer page: "I love NLP!" tokens, ids and the deck\'s BPE merges', () => {
  assert.is(demo.tokens, '[CLS] i love nl ##p ! [SEP]');
  assert.is(demo.ids, '101 1045 2293 17953 2361 999 102');
  assert.equal(demo.merges, [
    'e + s → es',
    'es + t → est',
    'l + o → lo',
    'lo + w → low',
    'n + e → ne',
    'ne + w → new',
    'new + est → newest',
    'w + i → wi',
    'wi + d → wid',
    'wid + est → widest',
  ]);
});

test("pre-train page: paused, reloaded and resumed from the browser's storage; a verdict shown", () => {
  assert.ok(demo.resumedAt, 'the run was not paused and reloaded');
  assert.match(demo.resumedAt.paused, /^Paused: step \d+ \/ 8/);
  assert.match(demo.resumedAt.restored, /^Restored from this browser's storage at step \d+/);
  assert.match(demo.verdict.text, /held-back MLM loss \d+\.\d+ [<≥] unigram entropy \d+\.\d+ nats after 8 steps/);
});

test('the Hugging Face directory downloaded from the page: config, weights, a vocabulary of vocab_size lines', () => {
  for (const f of ['config.json', 'model.safetensors', 'vocab.txt']) assert.ok(existsSync(join(demo.modelDir, f)), f);
  const config = JSON.parse(readFileSync(join(demo.modelDir, 'config.json'), 'utf8'));
  assert.equal(config.architectures, ['BertForPreTraining']);
  assert.is(readFileSync(join(demo.modelDir, 'vocab.txt'), 'utf8').split('\n').filter(Boolean).length, config.vocab_size);
});

test('fine-tune page: sentiment from the stored model, both charts with points, the verdict against both baselines', () => {
  const s = demo.sentiment;
  assert.ok(s, 'no sentiment result');
  assert.is(s.source, 'stored');
  assert.ok(s.lossPoints >= 2, `loss chart points ${s.lossPoints}`);
  assert.ok(s.accuracyPoints >= 2, `accuracy chart points ${s.accuracyPoints}`);
  assert.ok(s.canvas[0] > 200 && s.canvas[1] > 100, String(s.canvas));
  for (const k of ['accuracy', 'majority', 'bow']) assert.ok(s[k] >= 0 && s[k] <= 1, `${k} ${s[k]}`);
  assert.match(s.text, /held-back yelp accuracy \d+\.\d% vs majority class \d+\.\d% and bag of words \d+\.\d% \(McNemar's exact test/);
  // the wording follows the numbers: "beats" only above the baseline at p < 0.05, "level" within chance
  const beatsMajority = s.accuracy > s.majority && s.pMajority < 0.05;
  assert.is(s.beatsMajority, beatsMajority, s.text);
  if (beatsMajority) {
    assert.is(s.beatsBow, s.accuracy > s.bow && s.pBow < 0.05, s.text);
    assert.is(s.levelBow, s.pBow >= 0.05, s.text);
    assert.match(
      s.text,
      s.beatsBow ? /^Beats the majority class and the bag of words/ : s.levelBow ? /level with the bag of words/ : /below the bag of words/,
    );
  } else assert.match(s.text, /^Does not beat the majority class/);
  assert.ok(s.pBow > 0 && s.pBow <= 1 && s.pMajority > 0 && s.pMajority <= 1, `${s.pBow} ${s.pMajority}`);
});

test('fine-tune page: each typed sentence gets a label and two probabilities that sum to 100%', () => {
  assert.is(demo.classified.length, 3);
  for (const c of demo.classified) {
    assert.ok(['positive', 'negative'].includes(c.label), c.label);
    assert.equal(c.probs.map((p) => p[0]).sort(), ['neg', 'pos']);
    const sum = c.probs.reduce((a, p) => a + parseFloat(p[1]), 0);
    assert.ok(Math.abs(sum - 100) < 0.2, `${c.sentence}: ${sum}`);
    // the shown label is the more probable one
    assert.is(c.probs[0][0] === 'pos' ? 'positive' : 'negative', c.label);
  }
});

test('fine-tune page: every word tagged in its tag colour at its offsets; the QA highlight is the predicted span', () => {
  const words = demo.tagText.match(/[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu);
  assert.equal(
    demo.tagged.map((t) => t.word),
    words,
  );
  const colourOf = new Map();
  for (const t of demo.tagged) {
    assert.is(demo.tagText.slice(t.start, t.end), t.word);
    assert.ok(t.colour, `${t.word} has no colour`);
    if (colourOf.has(t.tag)) assert.is(t.colour, colourOf.get(t.tag), t.tag);
    colourOf.set(t.tag, t.colour);
  }
  assert.is(new Set(colourOf.values()).size, colourOf.size, 'two tags share a colour');
  const a = demo.answer;
  assert.ok(a.end > a.start, `empty answer ${a.start}-${a.end}`);
  assert.is(a.shown, a.context.slice(a.start, a.end));
  assert.is(a.before, a.context.slice(0, a.start));
  assert.match(a.info, new RegExp(`characters ${a.start}–${a.end}`));
});

/** The JSON header of a safetensors file: tensor entries and __metadata__. */
function safetensorsHeader(bytes) {
  const n = Number(Buffer.from(bytes.buffer, bytes.byteOffset, 8).readBigUInt64LE(0));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

/** A downloaded zip's files, by their path below its one top folder. */
function zipFiles(path) {
  const entries = Object.entries(unzipSync(readFileSync(path))).filter(([n]) => !n.endsWith('/'));
  const tops = new Set(entries.map(([n]) => n.split('/')[0]));
  assert.is(tops.size, 1, `one top folder, got ${[...tops]}`);
  return Object.fromEntries(entries.map(([n, b]) => [n.split('/').slice(1).join('/'), b]));
}

test('fine-tune page: the sentiment model downloaded as a zip, a Hugging Face directory with the labels', () => {
  const m = demo.sentimentModel;
  assert.ok(m, 'no fine-tuned model downloaded');
  assert.match(m.zip, /^bertgpu-sentiment-full-step\d+\.zip$/);
  const files = zipFiles(m.path);
  assert.equal(Object.keys(files).sort(), ['config.json', 'model.safetensors', 'vocab.txt']);
  const config = JSON.parse(new TextDecoder().decode(files['config.json']));
  assert.equal(config.architectures, ['BertForSequenceClassification']);
  assert.equal(config.id2label, { 0: 'neg', 1: 'pos' });
  assert.equal(config.label2id, { neg: 0, pos: 1 });
  const header = safetensorsHeader(files['model.safetensors']);
  assert.equal(header['classifier.weight'].shape, [2, config.hidden_size]);
  assert.equal(header['bert.embeddings.word_embeddings.weight'].shape, [config.vocab_size, config.hidden_size]);
  assert.is(new TextDecoder().decode(files['vocab.txt']).split('\n').filter(Boolean).length, config.vocab_size);
  // the unpacked copy is the zip's
  assert.equal(new Uint8Array(readFileSync(join(m.dir, 'model.safetensors'))), files['model.safetensors']);
});

test("fine-tune page: a LoRA run downloads PEFT's adapter directory, its head's labels in the adapter", () => {
  const m = demo.inspected.lora;
  assert.ok(m && typeof m === 'object', `no LoRA download: ${m}`);
  assert.match(m.zip, /^bertgpu-sentiment-lora-step\d+\.zip$/);
  const files = zipFiles(m.path);
  assert.equal(Object.keys(files).sort(), ['adapter_config.json', 'adapter_model.safetensors', 'vocab.txt']);
  const config = JSON.parse(new TextDecoder().decode(files['adapter_config.json']));
  assert.is(config.peft_type, 'LORA');
  assert.is(config.task_type, 'SEQ_CLS');
  assert.is(config.r, 8);
  const header = safetensorsHeader(files['adapter_model.safetensors']);
  assert.equal(JSON.parse(header.__metadata__['bertgpu.id2label']), { 0: 'neg', 1: 'pos' });
  assert.ok(
    Object.keys(header).some((k) => k.includes('lora_A')),
    'no lora_A tensor',
  );
  // the words added to the vocabulary train with the adapter: their rows are in it, their ids the
  // last lines of its vocab.txt
  const vocab = new TextDecoder().decode(files['vocab.txt']).trim().split('\n');
  const ids = config.trainable_token_indices;
  assert.ok(Array.isArray(ids) && ids.length > 0, `trainable_token_indices: ${JSON.stringify(ids)}`);
  assert.equal(
    ids,
    ids.map((_, k) => vocab.length - ids.length + k),
  );
  const rows = header['base_model.model.bert.embeddings.word_embeddings.token_adapter.trainable_tokens_delta'];
  assert.ok(rows, 'no trainable_tokens_delta tensor');
  assert.is(rows.shape[0], ids.length);
});

test('fine-tune page: tagging and QA each say plainly whether they beat their baseline, with both figures', () => {
  const check = (v, pattern) => {
    assert.ok(v, 'no verdict');
    assert.match(v.text, pattern);
    const beats = Number(v.model) > Number(v.baseline);
    assert.is(v.verdict, beats ? 'beats' : 'fail');
    assert.ok(v.text.startsWith(beats ? 'Beats the baseline: ' : 'Does not beat the baseline: '), v.text);
  };
  check(demo.tagVerdict, /held-back word accuracy \d+\.\d% vs most frequent tag of each word \d+\.\d% \(after 2 steps/);
  check(demo.qaVerdict, /held-back exact match \d+\.\d% \(F1 \d+\.\d%\) vs the best place rule \d+\.\d% \(after 2 steps/);
});

test('fill-mask page: k guesses for each sentence', () => {
  assert.is(demo.fills.length, 4);
  for (const f of demo.fills) assert.is(f.rows, 5, f.sentence);
});

/** Pixel spread of a PNG, measured in the browser (canvas): a blank page has none. */
async function pixelSpread(page, path) {
  const b64 = readFileSync(path).toString('base64');
  return page.evaluate(async (data) => {
    const img = new Image();
    img.src = `data:image/png;base64,${data}`;
    await img.decode();
    const c = new OffscreenCanvas(img.width, img.height);
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const px = g.getImageData(0, 0, img.width, img.height).data;
    let sum = 0,
      sq = 0,
      n = 0;
    for (let i = 0; i < px.length; i += 4 * 7) {
      const v = (px[i] + px[i + 1] + px[i + 2]) / 3;
      sum += v;
      sq += v * v;
      n++;
    }
    return Math.sqrt(sq / n - (sum / n) ** 2);
  }, b64);
}

/** What the pages show, read in the demo's own browser (its storage holds the trained run). */
async function look(browser, base, result, downloader) {
  const seen = {};
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  // a LoRA sentiment run from the stored model, and its download
  await page.goto(`${base}/finetune.html?autostart=sentiment&method=lora&perFile=8&evalSize=8&epochs=1&evalEvery=1&maxLength=32`);
  await page.waitForFunction(() => document.body.dataset.state, { timeout: 300_000 });
  seen.lora = await downloader.zipFrom(page, '#download-sentiment', join(result.out, 'sentiment-lora'));
  seen.spreads = [];
  for (const shot of result.screenshots) seen.spreads.push(await pixelSpread(page, shot));

  await page.goto(`${base}/tokenizer.html`);
  await page.waitForSelector('body[data-ready]');
  seen.idCells = await page.$$eval('#encoding tr:nth-child(3) td', (td) => td.map((x) => x.textContent));
  seen.spans = await page.$$eval('#spans .hl', (s) => s.map((x) => x.textContent));
  await page.type('#pair', 'Me too.');
  seen.pairTypeIds = await page.$$eval('#encoding tr:nth-child(4) td', (td) => td.map((x) => x.textContent));
  await page.click('#bpe-next');
  await page.click('#bpe-next');
  seen.bpeStep = await page.$eval('#bpe-step', (e) => e.textContent);
  seen.bpeVocab = await page.$$eval('#bpe-vocab-list .chip', (c) => c.map((x) => x.textContent));

  // the stored, finished run comes back with its charts and numbers
  await page.goto(`${base}/pretrain.html`);
  await page.waitForFunction(() => document.body.dataset.state === 'done', { timeout: 120_000 });
  seen.loss = await page.$eval('#loss', (e) => e.textContent);
  seen.canvas = await page.$eval('#chart-loss canvas', (c) => [c.width, c.height]);
  seen.heldBack = await page.$eval('#heldback-table', (t) => t.textContent);

  await page.goto(`${base}/fill-mask.html?k=3&sentences=${encodeURIComponent('the [MASK] of the [MASK].|[MASK] sea')}&autofill=1`);
  await page.waitForSelector('body[data-filled]', { timeout: 120_000 });
  seen.guessRows = await page.$$eval('.result table.guesses', (t) => t.map((x) => x.querySelectorAll('tr.guess').length));
  seen.probabilities = await page.$$eval('.result table.guesses td.num', (td) => td.map((x) => parseFloat(x.textContent)));

  // a browser without WebGPU gets told what to do, not a blank page
  const bare = await browser.newPage();
  await bare.evaluateOnNewDocument(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await bare.goto(`${base}/pretrain.html`);
  await bare.waitForSelector('#no-webgpu');
  seen.noWebGPU = await bare.$eval('#no-webgpu', (e) => e.textContent);
  seen.startDisabled = await bare.$eval('#start', (b) => b.disabled);
  await bare.goto(`${base}/finetune.html`);
  await bare.waitForSelector('#no-webgpu');
  seen.finetuneNoWebGPU = await bare.$eval('#no-webgpu', (e) => e.textContent);
  seen.finetuneDisabled = await bare.$$eval('#train-sentiment, #train-tag, #train-qa', (b) => b.map((x) => x.disabled));
  return seen;
}

test("tokenizer page on screen: the id row, spans at the offsets, a pair's type ids, BPE step 2", () => {
  const s = demo.inspected;
  assert.equal(s.idCells, ['101', '1045', '2293', '17953', '2361', '999', '102']);
  assert.equal(s.spans, ['I', 'love', 'NL', 'P', '!']);
  assert.equal(s.pairTypeIds, ['0', '0', '0', '0', '0', '0', '0', '1', '1', '1', '1']);
  assert.match(s.bpeStep, /^step 2 of 10: merged es \+ t → est \(seen 9 times\)/);
  assert.equal(s.bpeVocab, ['d', 'e', 'i', 'l', 'n', 'o', 'r', 's', 't', 'w', 'es', 'est']);
});

test('pre-train page after a reload: loss number, a drawn chart, the held-back table', () => {
  const s = demo.inspected;
  assert.match(s.loss, /^\d+\.\d{3}$/);
  assert.ok(s.canvas[0] > 200 && s.canvas[1] > 100, String(s.canvas));
  assert.match(s.heldBack, /MLM loss \(nats\)\d+\.\d{4}\d+\.\d{4}/);
});

test('fill-mask page: k = 3 guesses per mask, probabilities in [0, 100]%', () => {
  const s = demo.inspected;
  assert.equal(s.guessRows, [3, 3, 3]);
  assert.ok(
    s.probabilities.every((p) => p >= 0 && p <= 100),
    String(s.probabilities),
  );
});

test('screenshots are not blank; a browser without WebGPU is told what to do', () => {
  const s = demo.inspected;
  assert.equal(
    demo.screenshots.map((p) => p.split('/').at(-1)),
    ['tokenizer.png', 'pretrain.png', 'fill-mask.png', 'finetune.png'],
  );
  for (const [i, v] of s.spreads.entries()) assert.ok(v > 20, `${demo.screenshots[i]} looks blank (spread ${v})`);
  assert.match(s.noWebGPU, /No WebGPU here: this browser has no navigator\.gpu.*--enable-unsafe-webgpu/);
  assert.ok(s.startDisabled);
  assert.match(s.finetuneNoWebGPU, /No WebGPU here: .*--enable-unsafe-webgpu/);
  assert.equal(s.finetuneDisabled, [true, true, true]);
});

test('buildPages makes its folder when missing', async () => {
  const dir = join(OUT, 'fresh', 'nested');
  await buildPages(dir);
  for (const f of [
    'index.html',
    'tokenizer.js',
    'pretrain.js',
    'fill-mask.js',
    'finetune.js',
    'data/bert-base-uncased-vocab.txt',
    'data/sentiment/yelp.json',
    'corpus/files.json',
  ])
    assert.ok(existsSync(join(dir, f)), f);
});

test.run();
