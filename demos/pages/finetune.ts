// Fine-tune: the library's finetune() (src/finetune/train.ts, the task registry the CLI uses) run
// in this tab on WebGPU, three times from one base model — the model the pre-train page kept in
// this browser, or a fresh initialisation (the page says which):
// 1. sentiment on the UCI sentences (imdb + amazon -> yelp, held back), full or LoRA, with live
//    curves of the training loss and the held-back accuracy against the majority class and a
//    bag-of-words logistic regression trained on the same split; then a box to classify a sentence;
// 2. token tagging (a small synthetic part-of-speech task, trained in seconds) with coloured tags;
// 3. extractive QA (synthetic "Which port is named?" questions) with the answer highlighted in the context.
// Each panel adds its training words to the base's vocabulary first (withWords: the demo's 200 pieces
// are nearly letters; sentiment adds the words seen at least twice); each panel prints its figure next to its baseline and says whether it beats it.
// Settings come from the form or the query string (?perFile=500&epochs=2&autostart=1; autostart=sentiment: panel 1 alone).
import * as bg from '../../src/index.js';
import type uPlot from 'uplot';
import {
  $,
  el,
  shell,
  startWebGPU,
  showError,
  fieldInputs,
  fieldsFromQuery,
  readFields,
  type Field,
  action,
  downloadZip,
} from './common.js';
import { chart, line, DOTS, DASHED } from './charts.js';
import { load, MODEL_KEY, type StoredModel } from './store.js';
import { tagCorpus, qaCorpus, namesIn, TAG_COLOURS, TAG_NAMES } from './finetune-data.js';

interface Settings {
  source: 'stored' | 'fresh';
  method: 'full' | 'lora';
  perFile: number;
  evalSize: number;
  epochs: number;
  batch: number;
  lr: number;
  maxLength: number;
  evalEvery: number;
  tagSteps: number;
  qaSteps: number;
  seed: number;
}

const DEFAULTS: Settings = {
  source: 'stored',
  method: 'full',
  perFile: 500,
  evalSize: 500,
  epochs: 3,
  batch: 8,
  lr: 1e-3,
  maxLength: 64,
  evalEvery: 63,
  tagSteps: 40,
  qaSteps: 250,
  seed: 0,
};

const FIELDS: Field<keyof Settings>[] = [
  {
    key: 'source',
    label: 'start from',
    options: ['stored', 'fresh'],
    title:
      'stored: the model the pre-train page trained in this browser; fresh: random weights and a vocabulary learned from the task texts',
  },
  {
    key: 'method',
    label: 'method',
    options: ['full', 'lora'],
    title: "full fine-tuning, or LoRA adapters (r 8) on query/value, the head and the added words' rows",
  },
  { key: 'perFile', label: 'sentences per file', title: 'a seeded sample of imdb and of amazon (1000 each) to train on' },
  { key: 'evalSize', label: 'held-back yelp', title: 'a seeded sample of the yelp sentences (1000), never trained on' },
  { key: 'epochs', label: 'epochs', title: 'passes over the training sentences' },
  { key: 'batch', label: 'batch', title: 'sentences per step' },
  { key: 'lr', label: 'learning rate', step: 'any', title: 'peak learning rate (10% warm-up, then linear decay); LoRA wants ~5x more' },
  { key: 'maxLength', label: 'max tokens', title: 'tokens per sentence, [CLS] and [SEP] included' },
  { key: 'evalEvery', label: 'evaluate every', title: 'steps between held-back evaluations' },
  { key: 'tagSteps', label: 'tagging steps', title: 'steps of the tagging run' },
  { key: 'qaSteps', label: 'QA steps', title: 'steps of the QA run' },
  { key: 'seed', label: 'seed', title: 'the samples, batches and fresh weights' },
];

const main = shell(
  'finetune.html',
  'Fine-tune',
  "The library's finetune() — the task registry and trainer the bertgpu finetune command uses — run in this tab on WebGPU: sentiment, token tagging and question answering, each from the same base model.",
);
const params = new URLSearchParams(location.search);

main.append(
  el(
    'section',
    {},
    el('h2', {}, 'Base model and settings'),
    el('div', { id: 'base' }, 'Looking for the model trained on the pre-train page…'),
    el('div', { class: 'row', id: 'settings' }, ...fieldInputs(FIELDS, DEFAULTS)),
  ),
  el(
    'section',
    {},
    el('h2', {}, '1. Sentiment: imdb + amazon → yelp (UCI sentences)'),
    el(
      'div',
      { class: 'row' },
      el('button', { id: 'train-sentiment' }, 'Fine-tune'),
      el('button', { id: 'stop', class: 'secondary', disabled: true }, 'Stop'),
      el('b', { id: 'sentiment-status' }, 'Not started.'),
    ),
    el('div', { id: 'sentiment-info', class: 'muted' }),
    el('div', { class: 'cols' }, el('div', { id: 'chart-ft-loss' }), el('div', { id: 'chart-ft-acc' })),
    el('div', { id: 'sentiment-table' }),
    el('p', { id: 'sentiment-verdict' }),
    el(
      'div',
      { class: 'row' },
      el('button', { id: 'download-sentiment', class: 'secondary', disabled: true }, 'Download the fine-tuned model (.zip)'),
      el('span', { id: 'sentiment-files', class: 'muted' }),
    ),
    el(
      'div',
      { class: 'row' },
      el('input', {
        type: 'text',
        id: 'classify-text',
        size: 60,
        value: params.get('text') ?? 'The food was wonderful and the staff were friendly.',
      }),
      el('button', { id: 'classify', disabled: true }, 'Classify'),
    ),
    el('div', { id: 'classified' }),
  ),
  el(
    'section',
    {},
    el('h2', {}, '2. Token tagging: parts of speech (synthetic sea sentences)'),
    el(
      'p',
      { class: 'muted' },
      'Sentences drawn from a small grammar, where watch, fear, sail, hunt and wake are nouns after a determiner or adjective and verbs after a subject — so the tag of a word depends on its context. The baseline is the most frequent tag of each word in the training sentences.',
    ),
    el('div', { class: 'row' }, el('button', { id: 'train-tag' }, 'Fine-tune the tagger'), el('b', { id: 'tag-status' }, 'Not started.')),
    el('div', { id: 'tag-info', class: 'muted' }),
    el('p', { id: 'tag-verdict' }),
    el(
      'div',
      { class: 'row' },
      el('input', {
        type: 'text',
        id: 'tag-text',
        size: 60,
        value: params.get('tagText') ?? 'The old sailors watch the dark sea near the island.',
      }),
      el('button', { id: 'tag', disabled: true }, 'Tag'),
    ),
    el('div', { id: 'tagged', class: 'spans' }),
    el('div', { id: 'tag-legend' }, ...TAG_NAMES.map((t) => el('span', { class: 'chip', style: `background:${TAG_COLOURS[t]}` }, t))),
  ),
  el(
    'section',
    {},
    el('h2', {}, '3. Question answering: the answer span in the context'),
    el(
      'p',
      { class: 'muted' },
      'Contexts of one sentence naming a sailor, a ship and a port in one of six orders ("The Pequod left Nantucket with Ishmael aboard.") and a question asking for one of them ("Which port is named?"); the model picks a span of the context (src/finetune/qa.ts decodes its start and end logits into character offsets). The baseline is the best rule by place: for each question, the name (first, second or third of the context) most often right in training.',
    ),
    el('div', { class: 'row' }, el('button', { id: 'train-qa' }, 'Fine-tune for QA'), el('b', { id: 'qa-status' }, 'Not started.')),
    el('div', { id: 'qa-info', class: 'muted' }),
    el('p', { id: 'qa-verdict' }),
    el('textarea', { id: 'qa-context', rows: 2 }, params.get('context') ?? 'The Rachel carried Queequeg to New Bedford.'),
    el(
      'div',
      { class: 'row' },
      el('input', { type: 'text', id: 'qa-question', size: 40, value: params.get('question') ?? 'Which port is named?' }),
      el('button', { id: 'answer', disabled: true }, 'Answer'),
    ),
    el('div', { id: 'answered', class: 'spans' }),
  ),
);

fieldsFromQuery(FIELDS, params);

function readSettings(): Settings {
  const set = readFields<Settings>(FIELDS);
  for (const k of ['perFile', 'evalSize', 'epochs', 'batch', 'evalEvery', 'tagSteps', 'qaSteps'] as const)
    if (set[k] < 1) throw new Error(`${k}: must be at least 1, got ${set[k]}`);
  if (set.maxLength < 8) throw new Error(`max tokens: at least 8, got ${set.maxLength}`);
  if (!(set.lr > 0)) throw new Error(`learning rate: must be > 0, got ${set.lr}`);
  return set;
}

// ---- the base model ----
interface Base {
  name: string;
  tokenizer: bg.WordPieceTokenizer;
  /** The base's tokenizer files, as the CLI's finetune --out copies them from --model (a fresh base: its vocab.txt). */
  tokenizerFiles: Record<string, Uint8Array>;
  /** The stored Hugging Face files, or null for a fresh initialisation. */
  files: { config: string; weights: Uint8Array } | null;
  config: bg.BertConfig;
}
let stored: StoredModel | undefined;
/** The tokenizer files a Hugging Face directory may hold (src/cli/task-io.ts keeps the same list). */
const TOKENIZER_FILES = ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
let freshBase: Base | null = null;

/** The demo model's size (the pre-train page's default), for a fresh start. */
const FRESH_SIZE = { num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 2, intermediate_size: 256 };

async function base(s: Settings, texts: () => Promise<string[]>): Promise<Base> {
  if (s.source === 'stored') {
    if (!stored) throw new Error('no model trained in this browser yet: train one on the pre-train page, or start from a fresh init');
    const f = stored.files;
    const config = new TextDecoder().decode(f['config.json']);
    const vocab = f['vocab.txt'];
    if (!vocab) throw new Error('the stored model has no vocab.txt');
    return {
      name: `${stored.name} (${stored.summary})`,
      tokenizer: bg.WordPieceTokenizer.fromVocabText(new TextDecoder().decode(vocab), {}, 'stored vocab.txt'),
      tokenizerFiles: Object.fromEntries(Object.entries(f).filter(([n]) => TOKENIZER_FILES.includes(n))),
      files: { config, weights: f['model.safetensors'] },
      config: bg.parseConfigJson(config, 'stored config.json').config,
    };
  }
  if (!freshBase) {
    const tokenizer = bg.trainWordPiece(await texts(), { vocabSize: 1000 });
    freshBase = {
      name: `a fresh initialisation (${FRESH_SIZE.num_hidden_layers} layers of ${FRESH_SIZE.hidden_size}; a ${tokenizer.vocabSize}-piece vocabulary learned from the task texts)`,
      tokenizer,
      tokenizerFiles: { 'vocab.txt': new TextEncoder().encode(tokenizer.toVocabText()) },
      files: null,
      config: bg.bertConfig({
        ...FRESH_SIZE,
        vocab_size: tokenizer.vocabSize,
        pad_token_id: tokenizer.tokenToId('[PAD]') ?? 0,
        hidden_dropout_prob: 0,
        attention_probs_dropout_prob: 0,
      }),
    };
  }
  return freshBase;
}

/**
 * The base with the task's words added to its vocabulary as whole tokens (addWords: Hugging Face's
 * add_tokens + resize_token_embeddings, each new row the mean of the word's pieces). The demo's
 * 200-piece vocabulary cuts a word into ~3 pieces, nearly letters, and a tag rides on the first
 * (c… begins cold, crew, captain and chase): the 2-layer model had to learn to gather each word
 * from its pieces first, which took it ~300 steps to pass the most-frequent-tag baseline.
 */
function withWords(b: Base, words: string[]): Base & { added: string[]; ids: number[] } {
  const vocab = b.tokenizer.toVocabText();
  const x = bg.addWords({ vocab, config: b.files?.config ?? JSON.stringify(b.config), weights: b.files?.weights ?? null }, words);
  return {
    ...b,
    tokenizer: bg.WordPieceTokenizer.fromVocabText(x.vocab, {}, 'vocab.txt with the task words'),
    tokenizerFiles: { 'vocab.txt': new TextEncoder().encode(x.vocab) },
    files: x.weights ? { config: x.config, weights: x.weights } : null,
    config: { ...b.config, vocab_size: b.config.vocab_size + x.added.length },
    added: x.added,
    ids: x.ids,
  };
}

/** LoRA r 8 on query / value and the head, training the added words' rows too (PEFT's trainable_token_indices). */
function loraWithRows(b: { ids: number[] }, seed: number): bg.LoraOptions {
  return { r: 8, alpha: 16, seed, ...(b.ids.length && { trainableTokenIndices: b.ids }) };
}

/** The task class on the base: its encoder loaded (or fresh), a fresh head for the task's labels. */
async function taskModel(b: Base, task: bg.AnyTask, labels: bg.LabelSet | undefined, seed: number): Promise<bg.PreTrainedModel> {
  const architecture = task.modelClass(b.config.model_type);
  const fields = task.configFields(labels);
  const generator = new bg.Generator(seed);
  if (b.files)
    return (
      await bg.fromPretrained(
        { config: b.files.config, weights: b.files.weights },
        { architecture, allowMissing: true, config: fields, generator },
      )
    ).model;
  return bg.createModel(architecture, bg.bertConfig({ ...b.config, ...fields }), { generator });
}

function showBase(s: Settings): void {
  const text =
    s.source === 'stored'
      ? stored
        ? `Starting from the model pre-trained in this browser: ${stored.name} — ${stored.summary}.`
        : 'No model pre-trained in this browser yet (train one on the pre-train page): starting from a fresh initialisation.'
      : 'Starting from a fresh initialisation (random weights; a vocabulary learned from the task texts).';
  $('base').replaceChildren(el('b', {}, 'Base model: '), text);
  document.body.dataset.source = s.source;
}

// ---- sentiment data ----
interface Sentence {
  text: string;
  label: string;
}
const sentimentCache = new Map<string, Sentence[]>();

async function sentences(name: 'imdb' | 'amazon' | 'yelp'): Promise<Sentence[]> {
  let rows = sentimentCache.get(name);
  if (!rows) {
    const r = await fetch(`data/sentiment/${name}.json`);
    if (!r.ok) throw new Error(`data/sentiment/${name}.json: HTTP ${r.status}`);
    // the files end with an empty {"text": "", "class": null} entry
    rows = ((await r.json()) as { text: string; class: number | null }[])
      .filter((x) => x.class !== null)
      .map((x) => ({ text: x.text.trim(), label: x.class === 1 ? 'pos' : 'neg' }));
    sentimentCache.set(name, rows);
  }
  return rows;
}

/** bench/finetune/sentiment.mjs's split: seeded samples (seed * 10 + 1, 2, 3) of imdb, amazon and yelp. */
async function sentimentSplit(s: Settings) {
  const sample = async (name: 'imdb' | 'amazon' | 'yelp', k: number, n: number) =>
    bg.seededShuffle(await sentences(name), s.seed * 10 + k).slice(0, n);
  const train = [...(await sample('imdb', 1, s.perFile)), ...(await sample('amazon', 2, s.perFile))];
  const test = await sample('yelp', 3, s.evalSize);
  const task = bg.getTask('cls');
  const read = (rows: Sentence[], source: string) => task.read(rows.map((r) => JSON.stringify(r)).join('\n'), source);
  return { train, test, trainExamples: read(train, 'imdb+amazon.jsonl'), testExamples: read(test, 'yelp.jsonl') };
}

/** Every text the tasks train on (a fresh vocabulary is learned from them). */
async function allTexts(): Promise<string[]> {
  const rows = [...(await sentences('imdb')), ...(await sentences('amazon'))].map((r) => r.text);
  return [...rows, ...tagCorpus(400, 99).map((x) => x.tokens.join(' ')), ...qaCorpus(200, 99).map((x) => `${x.question} ${x.context}`)];
}

// ---- runs ----
interface Done {
  run: bg.FineTuneRun;
  labels?: bg.LabelSet;
  base?: Base;
  settings?: Settings;
}
let sentimentRun: Done | null = null;
let tagRun: Done | null = null;
let qaRun: Done | null = null;
const abort = { aborted: false };

let charts: uPlot[] = [];
const losses: [number, number][] = [];
const accs: [number, number][] = [];
let baselines = { majority: NaN, bow: NaN, bowModel: null as bg.BowClassifier<string> | null };

function updateSentimentCharts(): void {
  const steps = [...new Set([...losses.map((x) => x[0]), ...accs.map((x) => x[0])])].sort((a, b) => a - b);
  const lossAt = new Map(losses);
  const accAt = new Map(accs);
  charts[0]?.setData([steps, steps.map((s) => lossAt.get(s) ?? null)] as uPlot.AlignedData);
  charts[1]?.setData([
    steps,
    steps.map((s) => accAt.get(s) ?? null),
    steps.map(() => baselines.majority),
    steps.map(() => baselines.bow),
  ] as uPlot.AlignedData);
  $('chart-ft-loss').dataset.points = String(losses.length);
  $('chart-ft-acc').dataset.points = String(accs.length);
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

async function trainSentiment(): Promise<void> {
  const s = readSettings();
  showBase(s);
  sentimentRun?.run.dispose();
  sentimentRun = null;
  document.body.dataset.sentiment = 'preparing';
  $('sentiment-status').textContent = 'Reading the sentences and fitting the baselines…';
  $<HTMLButtonElement>('classify').disabled = true;
  $<HTMLButtonElement>('download-sentiment').disabled = true;
  $('sentiment-files').textContent = '';
  const split = await sentimentSplit(s);
  // with LoRA, the added words' rows train with the adapter (PEFT trainable tokens) and go into
  // its download with the wider vocab.txt: a frozen mean of a word's pieces would mean little
  const words = bg.repeatedWords(
    split.train.map((e) => e.text),
    2,
  );
  const b = withWords(await base(s, allTexts), words);
  // the baselines, on the same split
  const maj = bg.majorityBaseline(
    split.train.map((e) => e.label),
    split.test.map((e) => e.label),
  );
  const bow = bg.trainBowClassifier(
    split.train.map((e) => e.text),
    split.train.map((e) => e.label),
    { seed: s.seed },
  );
  const bowAcc = split.test.filter((e) => bow.predict(e.text) === e.label).length / split.test.length;
  baselines = { majority: maj.accuracy, bow: bowAcc, bowModel: bow };
  const task = bg.getTask('cls');
  const labels = task.labelSet!(split.trainExamples);
  const model = await taskModel(b, task, labels, s.seed);
  const run = bg.finetune({
    task: 'cls',
    model,
    tokenizer: b.tokenizer,
    train: split.trainExamples,
    eval: split.testExamples,
    labels,
    epochs: s.epochs,
    batchSize: s.batch,
    lr: s.lr,
    maxLength: s.maxLength,
    seed: s.seed,
    evalEvery: s.evalEvery,
    logEvery: Math.max(1, Math.min(5, s.evalEvery)),
    lora: s.method === 'lora' ? loraWithRows(b, s.seed) : undefined,
  });
  const trainable = run.trainer.objective.namedParameters().reduce((a, [, t]) => a + t.size, 0);
  const total = model.namedParameters().reduce((a, [, t]) => a + t.size, 0);
  const pos = (xs: Sentence[]) => xs.filter((e) => e.label === 'pos').length;
  const info = `${split.train.length} training sentences (${pos(split.train)} positive) from imdb + amazon, ${split.test.length} held-back yelp sentences (${pos(split.test)} positive); ${run.trainer.options.steps} steps of ${s.batch}; ${s.method === 'lora' ? "LoRA r 8 on query/value + the head + the added words' rows" : 'full fine-tuning'}: ${trainable.toLocaleString('en')} of ${total.toLocaleString('en')} parameters trained. ${b.added.length} words seen at least twice in the training sentences added to the base's vocabulary as whole tokens (${b.tokenizer.vocabSize} now). Baselines on the same split: majority class '${maj.label}' ${pct(maj.accuracy)}, bag-of-words logistic regression (${bow.vocabSize} words) ${pct(bowAcc)}.`;
  $('sentiment-info').textContent = info;
  console.log(`finetune sentiment: ${info}`);
  losses.length = 0;
  accs.length = 0;
  for (const c of charts) c.destroy();
  charts = [
    chart('chart-ft-loss', 'Training loss (cross-entropy, nats)', [line('train loss', 0)], 'nats'),
    chart(
      'chart-ft-acc',
      'Held-back yelp accuracy',
      [line('fine-tuned', 0, DOTS), line('majority class', 1, DASHED), line('bag of words', 2, { ...DASHED, stroke: '#2b8a3e' })],
      'accuracy',
    ),
  ];
  updateSentimentCharts();
  const t0 = performance.now();
  run.onLog = (r) => {
    losses.push([r.step, r.loss]);
    updateSentimentCharts();
    const line = `step ${r.step} / ${run.trainer.options.steps}, epoch ${r.epoch.toFixed(2)}: loss ${r.loss.toFixed(4)} · ${((performance.now() - t0) / 1000).toFixed(0)} s`;
    $('sentiment-status').textContent = `Training: ${line}`;
    console.log(`finetune sentiment ${line}`);
  };
  run.onEval = (e) => {
    accs.push([e.step, e.metrics.accuracy!]);
    updateSentimentCharts();
    console.log(`finetune sentiment held-back at step ${e.step}: accuracy ${pct(e.metrics.accuracy!)} (loss ${e.loss.toFixed(4)})`);
  };
  abort.aborted = false;
  $<HTMLButtonElement>('stop').disabled = false;
  document.body.dataset.sentiment = 'training';
  try {
    await run.run(abort);
  } finally {
    $<HTMLButtonElement>('stop').disabled = true;
  }
  sentimentRun = { run, labels, base: b, settings: s };
  const seconds = (performance.now() - t0) / 1000;
  $('sentiment-status').textContent =
    `${run.stopped === 'cancelled' ? 'Stopped' : 'Done'}: ${run.trainer.step} steps in ${seconds.toFixed(0)} s.`;
  // per-sentence right / wrong of the model and both baselines, for McNemar's test
  const preds = (await run.predict(split.testExamples)) as bg.ClassPrediction[];
  showSentimentResult(seconds, {
    model: preds.map((p, i) => p.label === split.test[i].label),
    majority: split.test.map((e) => e.label === maj.label),
    bow: split.test.map((e) => bow.predict(e.text) === e.label),
  });
  $<HTMLButtonElement>('classify').disabled = false;
  $<HTMLButtonElement>('download-sentiment').disabled = false;
  document.body.dataset.sentiment = 'done';
  await classify();
}

/**
 * The last held-back evaluation (nothing is chosen on the held-back set) against both baselines.
 * "Beats" needs McNemar's exact test on the same sentences at p < 0.05: on 500 sentences a gap of
 * a point or two is chance (one standard error is ~2 points), and the page says "level with" then.
 */
function showSentimentResult(seconds: number, right: { model: boolean[]; majority: boolean[]; bow: boolean[] }): void {
  const last = sentimentRun!.run.evals.at(-1);
  const acc = last?.metrics.accuracy ?? NaN;
  const { majority, bow } = baselines;
  const row = (name: string, v: number, what: string) =>
    el('tr', {}, el('td', {}, name), el('td', { class: 'num' }, Number.isNaN(v) ? '–' : pct(v)), el('td', { class: 'muted' }, what));
  $('sentiment-table').replaceChildren(
    el(
      'table',
      { id: 'sentiment-results' },
      el('tr', {}, el('th', {}, 'held-back yelp'), el('th', {}, 'accuracy'), el('th', {})),
      row('fine-tuned model', acc, last ? `last evaluation, step ${last.step}, F1 ${last.metrics.f1?.toFixed(3)}` : 'no evaluation'),
      row('majority class', majority, 'the most frequent training label, always'),
      row('bag-of-words logistic regression', bow, 'word presence, trained on the same sentences'),
    ),
  );
  const vsMajority = bg.metrics.mcnemar(right.model, right.majority);
  const vsBow = bg.metrics.mcnemar(right.model, right.bow);
  const beatsMajority = acc > majority && vsMajority.pValue < 0.05;
  const vsBowWord = acc > bow && vsBow.pValue < 0.05 ? 'beats' : acc < bow && vsBow.pValue < 0.05 ? 'below' : 'level';
  const v = $('sentiment-verdict');
  Object.assign(v.dataset, {
    accuracy: String(acc),
    majority: String(majority),
    bow: String(bow),
    pMajority: String(vsMajority.pValue),
    pBow: String(vsBow.pValue),
    onlyModel: String(vsBow.onlyFirst),
    onlyBow: String(vsBow.onlySecond),
    seconds: seconds.toFixed(1),
  });
  v.dataset.verdict = !beatsMajority
    ? 'fail'
    : vsBowWord === 'beats'
      ? 'beats-both'
      : vsBowWord === 'level'
        ? 'level-bow'
        : 'beats-majority';
  const p = (x: number) => (x < 0.001 ? 'p < 0.001' : `p = ${x.toFixed(3)}`);
  const text =
    `held-back yelp accuracy ${pct(acc)} vs majority class ${pct(majority)} and bag of words ${pct(bow)}` +
    ` (McNemar's exact test on the same ${right.model.length} sentences: vs the majority class ${p(vsMajority.pValue)};` +
    ` vs the bag of words ${p(vsBow.pValue)}, ${vsBow.onlyFirst} sentences only the model gets right, ${vsBow.onlySecond} only the bag of words)`;
  const head = !beatsMajority
    ? 'Does not beat the majority class: '
    : vsBowWord === 'beats'
      ? 'Beats the majority class and the bag of words: '
      : vsBowWord === 'level'
        ? 'Beats the majority class; level with the bag of words (the gap is within chance): '
        : 'Beats the majority class; below the bag of words: ';
  v.replaceChildren(el('span', { id: 'sentiment-verdict-text' }, el('b', { class: beatsMajority ? 'good' : 'bad' }, head), text));
  console.log(`finetune sentiment verdict: ${v.dataset.verdict}: ${text}`);
}

/**
 * The sentiment model as the CLI's `finetune --out` writes it, at its last step (the figures
 * shown): full fine-tuning, the task class's Hugging Face directory (config.json with id2label /
 * label2id, model.safetensors) with the base's tokenizer files; LoRA, PEFT's adapter directory
 * (adapter_config.json, adapter_model.safetensors, the added words' rows among its tensors) with
 * them (vocab.txt with the added words, which `bertgpu predict --adapter` widens the base to).
 */
async function downloadSentiment(): Promise<void> {
  if (!sentimentRun?.base || !sentimentRun.settings) throw new Error('fine-tune first');
  const { run, base: b, settings: s } = sentimentRun;
  const files = run.lora ? await run.adapterFiles() : await run.modelFiles();
  // the base's own tokenizer files, as they are (exportPretrained writes a vocab.txt only)
  if (!run.lora) delete files['vocab.txt'];
  const name = `bertgpu-sentiment-${s.method}-step${run.trainer.step}`;
  const listing = downloadZip(name, { ...b.tokenizerFiles, ...files });
  $('sentiment-files').textContent = listing;
  console.log(`finetune download: ${listing}`);
}

async function classify(): Promise<void> {
  if (!sentimentRun) throw new Error('fine-tune first');
  const text = $<HTMLInputElement>('classify-text').value.trim();
  if (!text) throw new Error('type a sentence to classify');
  const [p] = (await sentimentRun.run.predict([{ source: 'typed', line: 1, text } as bg.TextExample])) as bg.ClassPrediction[];
  const bowP = baselines.bowModel?.probabilities(text) ?? [];
  $('classified').replaceChildren(
    el(
      'div',
      { id: 'classified-label' },
      'Label: ',
      el('b', { class: p.label === 'pos' ? 'good' : 'bad' }, p.label === 'pos' ? 'positive' : 'negative'),
      ` (${pct(p.score)})`,
    ),
    el(
      'table',
      { id: 'classified-probs' },
      el('tr', {}, el('th', {}, 'label'), el('th', {}, 'probability'), el('th', {}), el('th', {}, 'bag of words')),
      ...p.ranked.map((r) =>
        el(
          'tr',
          { class: 'prob' },
          el('td', { class: 'mono' }, String(r.label)),
          el('td', { class: 'num' }, pct(r.score)),
          el('td', {}, el('span', { class: 'bar', style: `width:${Math.max(1, Math.round(r.score * 200))}px` })),
          el('td', { class: 'num muted' }, pct(bowP.find((x) => x.label === r.label)?.score ?? NaN)),
        ),
      ),
    ),
  );
  console.log(`finetune classify: "${text}" -> ${p.ranked.map((r) => `${r.label} ${pct(r.score)}`).join(', ')}`);
}

// ---- tagging ----
/** A panel's result against its baseline, in words a person reads first (and data-* for the driver). */
function panelVerdict(id: string, model: number, baseline: number, text: string): void {
  const beats = model > baseline;
  const v = $(id);
  Object.assign(v.dataset, { verdict: beats ? 'beats' : 'fail', model: String(model), baseline: String(baseline) });
  v.replaceChildren(el('b', { class: beats ? 'good' : 'bad' }, beats ? 'Beats the baseline: ' : 'Does not beat the baseline: '), text);
  console.log(`finetune ${id} ${beats ? 'beats the baseline' : 'does NOT beat the baseline'}: ${text}`);
}

async function trainTagger(): Promise<void> {
  const s = readSettings();
  showBase(s);
  tagRun?.run.dispose();
  tagRun = null;
  $<HTMLButtonElement>('tag').disabled = true;
  $('tag-verdict').replaceChildren();
  const task = bg.getTask('tag');
  const toText = (rows: ReturnType<typeof tagCorpus>) => rows.map((r) => JSON.stringify(r)).join('\n');
  const train = task.read(toText(tagCorpus(800, s.seed + 1)), 'tag-train.jsonl') as bg.TagExample[];
  const test = task.read(toText(tagCorpus(100, s.seed + 2)), 'tag-test.jsonl') as bg.TagExample[];
  const b = withWords(
    await base(s, allTexts),
    train.flatMap((ex) => ex.words),
  );
  const labels = task.labelSet!(train);
  // most frequent tag of each training word: the baseline a tagger that reads context beats
  const counts = new Map<string, Map<string, number>>();
  for (const ex of train)
    ex.words.forEach((w, i) => {
      const m = counts.get(w.toLowerCase()) ?? new Map<string, number>();
      m.set(ex.tags![i], (m.get(ex.tags![i]) ?? 0) + 1);
      counts.set(w.toLowerCase(), m);
    });
  const frequent = (w: string) => [...(counts.get(w.toLowerCase()) ?? new Map([['NOUN', 1]]))].sort((a, c) => c[1] - a[1])[0][0];
  let right = 0;
  let all = 0;
  for (const ex of test) ex.words.forEach((w, i) => ((right += frequent(w) === ex.tags![i] ? 1 : 0), all++));
  const model = await taskModel(b, task, labels, s.seed);
  const run = bg.finetune({
    task: 'tag',
    model,
    tokenizer: b.tokenizer,
    train,
    eval: test,
    labels,
    steps: s.tagSteps,
    metric: 'accuracy',
    batchSize: s.batch,
    lr: s.method === 'lora' ? 5e-3 : 2e-3,
    maxLength: 32,
    seed: s.seed,
    evalEvery: s.tagSteps,
    logEvery: Math.max(1, Math.floor(s.tagSteps / 6)),
    lora: s.method === 'lora' ? loraWithRows(b, s.seed) : undefined,
  });
  $('tag-info').textContent =
    `${train.length} training sentences, ${test.length} held back; tags ${labels.labels.join(', ')}; ${b.added.length} words of the training sentences added to the base's vocabulary as whole tokens (${b.tokenizer.vocabSize} now).`;
  const t0 = performance.now();
  run.onLog = (r) => {
    $('tag-status').textContent = `Training: step ${r.step} / ${s.tagSteps}, loss ${r.loss.toFixed(4)}`;
    console.log(`finetune tagging step ${r.step}/${s.tagSteps}: loss ${r.loss.toFixed(4)}`);
  };
  await run.run();
  tagRun = { run, labels };
  const acc = run.evals.at(-1)?.metrics.accuracy ?? NaN;
  const text = `held-back word accuracy ${pct(acc)} vs most frequent tag of each word ${pct(right / all)} (after ${s.tagSteps} steps, ${((performance.now() - t0) / 1000).toFixed(0)} s)`;
  $('tag-status').textContent = 'Done.';
  panelVerdict('tag-verdict', acc, right / all, text);
  $<HTMLButtonElement>('tag').disabled = false;
  await tag();
}

async function tag(): Promise<void> {
  if (!tagRun) throw new Error('fine-tune the tagger first');
  const text = $<HTMLInputElement>('tag-text').value;
  const { words, offsets } = bg.splitWords(text);
  if (!words.length) throw new Error('type a sentence to tag');
  const [p] = (await tagRun.run.predict([
    { source: 'typed', line: 1, words, wordOffsets: offsets } as bg.TagExample,
  ])) as bg.TagPrediction[];
  const out: (Node | string)[] = [];
  let at = 0;
  words.forEach((w, i) => {
    const [start, end] = offsets[i];
    out.push(text.slice(at, start));
    const t = p.tags[i] ?? '?';
    out.push(
      el(
        'span',
        {
          class: 'hl tagged',
          'data-tag': t,
          'data-start': start,
          'data-end': end,
          style: `background:${TAG_COLOURS[t] ?? '#eee'}`,
          title: t,
        },
        text.slice(start, end),
        el('sub', { class: 'muted' }, ` ${t}`),
      ),
    );
    at = end;
  });
  out.push(text.slice(at));
  $('tagged').replaceChildren(...out);
  console.log(`finetune tag: ${words.map((w, i) => `${w}/${p.tags[i]}`).join(' ')}`);
}

// ---- QA ----
async function trainQa(): Promise<void> {
  const s = readSettings();
  showBase(s);
  qaRun?.run.dispose();
  qaRun = null;
  $<HTMLButtonElement>('answer').disabled = true;
  $('qa-verdict').replaceChildren();
  const task = bg.getTask('qa');
  const toText = (rows: ReturnType<typeof qaCorpus>) => rows.map((r) => JSON.stringify(r)).join('\n');
  const train = task.read(toText(qaCorpus(800, s.seed + 1)), 'qa-train.jsonl') as bg.QaExample[];
  const test = task.read(toText(qaCorpus(100, s.seed + 2)), 'qa-test.jsonl') as bg.QaExample[];
  const b = withWords(
    await base(s, allTexts),
    train.flatMap((ex) => `${ex.question} ${ex.context}`.split(/[^\p{L}]+/u)),
  );
  // baseline: for each question, the name (1st, 2nd or 3rd of the context) at the place most often right in training
  const places = new Map<string, number[]>();
  for (const ex of train) {
    const k = namesIn(ex.context).indexOf(ex.answers.text[0]);
    const n = places.get(ex.question) ?? [0, 0, 0];
    n[k]++;
    places.set(ex.question, n);
  }
  const place = (q: string) => {
    const n = places.get(q) ?? [1, 0, 0];
    return n.indexOf(Math.max(...n));
  };
  const rule = test.filter((ex) => namesIn(ex.context)[place(ex.question)] === ex.answers.text[0]).length / test.length;
  const model = await taskModel(b, task, undefined, s.seed);
  const run = bg.finetune({
    task: 'qa',
    model,
    tokenizer: b.tokenizer,
    train,
    eval: test,
    steps: s.qaSteps,
    batchSize: s.batch,
    lr: s.method === 'lora' ? 1e-2 : 5e-3,
    maxLength: 48,
    docStride: 16,
    // the answers are names of one or two words (whole tokens once added): longer spans are never right
    maxAnswerLength: 2,
    seed: s.seed,
    evalEvery: s.qaSteps,
    logEvery: Math.max(1, Math.floor(s.qaSteps / 6)),
    lora: s.method === 'lora' ? loraWithRows(b, s.seed) : undefined,
  });
  $('qa-info').textContent =
    `${train.length} training questions, ${test.length} held back; ${b.added.length} words of the training texts added to the base's vocabulary as whole tokens (${b.tokenizer.vocabSize} now).`;
  const t0 = performance.now();
  run.onLog = (r) => {
    $('qa-status').textContent = `Training: step ${r.step} / ${s.qaSteps}, loss ${r.loss.toFixed(4)}`;
    console.log(`finetune qa step ${r.step}/${s.qaSteps}: loss ${r.loss.toFixed(4)}`);
  };
  await run.run();
  qaRun = { run };
  const m = run.evals.at(-1)?.metrics ?? {};
  const em = (m.exact_match ?? NaN) / 100;
  const text = `held-back exact match ${pct(em)} (F1 ${(m.f1 ?? NaN).toFixed(1)}%) vs the best place rule ${pct(rule)} (after ${s.qaSteps} steps, ${((performance.now() - t0) / 1000).toFixed(0)} s)`;
  $('qa-status').textContent = 'Done.';
  panelVerdict('qa-verdict', em, rule, text);
  $<HTMLButtonElement>('answer').disabled = false;
  await answer();
}

async function answer(): Promise<void> {
  if (!qaRun) throw new Error('fine-tune for QA first');
  const context = $<HTMLTextAreaElement>('qa-context').value;
  const question = $<HTMLInputElement>('qa-question').value.trim();
  if (!context.trim() || !question) throw new Error('give a context and a question');
  const ex = { source: 'typed', line: 1, id: 'typed', question, context, answers: { text: [], answer_start: [] } } as bg.QaExample;
  const [p] = (await qaRun.run.predict([ex])) as bg.QaPrediction[];
  $('answered').replaceChildren(
    context.slice(0, p.start),
    el('mark', { id: 'answer-span', 'data-start': p.start, 'data-end': p.end }, context.slice(p.start, p.end)),
    context.slice(p.end),
    el('div', { class: 'muted', id: 'answer-info' }, `answer "${p.answer}", characters ${p.start}–${p.end}, score ${pct(p.score)}`),
  );
  console.log(`finetune answer: "${question}" -> "${p.answer}" [${p.start}, ${p.end}) score ${pct(p.score)}`);
}

// ---- buttons ----
action($<HTMLButtonElement>('train-sentiment'), 'fine-tuning', trainSentiment);
action($<HTMLButtonElement>('classify'), 'classify', classify);
action($<HTMLButtonElement>('download-sentiment'), 'download', downloadSentiment);
action($<HTMLButtonElement>('train-tag'), 'tagging', trainTagger);
action($<HTMLButtonElement>('tag'), 'tag', tag);
action($<HTMLButtonElement>('train-qa'), 'QA', trainQa);
action($<HTMLButtonElement>('answer'), 'answer', answer);
$('stop').addEventListener('click', () => {
  abort.aborted = true;
  $('sentiment-status').textContent = 'Stopping after this step…';
});
$('set-source').addEventListener('change', () => {
  try {
    showBase(readSettings());
  } catch (err) {
    showError(err, 'settings');
  }
});

async function startPage(): Promise<void> {
  const rt = await startWebGPU();
  if (!rt) {
    for (const id of ['train-sentiment', 'train-tag', 'train-qa']) $<HTMLButtonElement>(id).disabled = true;
    $('base').textContent = 'Fine-tuning needs WebGPU (see above).';
    return;
  }
  stored = await load<StoredModel>(MODEL_KEY);
  // without a stored model, the default start is a fresh one (and the page says so)
  if (!stored && params.get('source') === null) $<HTMLSelectElement>('set-source').value = 'fresh';
  showBase(readSettings());
  document.body.dataset.ready = 'true';
  // autostart=1 runs the three panels; autostart=sentiment the first alone
  const autostart = params.get('autostart');
  if (autostart === '1' || autostart === 'sentiment') {
    await trainSentiment();
    if (autostart === '1') {
      await trainTagger();
      await trainQa();
    }
    document.body.dataset.state = 'done';
  }
}

startPage().catch((err) => {
  showError(err, 'fine-tune page');
  document.body.dataset.state = 'failed';
});
