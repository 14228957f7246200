// Pre-train live: a WordPiece vocabulary learned from the corpus in the page, then MLM + NSP,
// RoBERTa-style MLM or ELECTRA trained on WebGPU with the library's Trainer; live charts of the
// loss parts, held-back metrics against their baselines and tokens/s; pause / resume with the
// checkpoint kept in IndexedDB (a reload resumes it); the Hugging Face directory as a zip.
// Settings come from the form, or from the query string (?objective=electra&steps=50&autostart=1).
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
  clearError,
  dropZone,
  downloadZip,
} from './common.js';
import { chart, line, DOTS, DASHED } from './charts.js';
import { checkpointFiles, resumeFromFiles } from './checkpoint.js';
import { load, save, remove, RUN_KEY, MODEL_KEY, type Files, type StoredModel } from './store.js';

/** Model sizes: layers, hidden, heads (FFN 4 x hidden); 'demo' is the default `npm run demo` trains. */
const SIZES: Record<string, [number, number, number]> = { demo: [2, 64, 2], ...bg.PRESETS };

interface Settings {
  objective: bg.ObjectiveName;
  size: string;
  vocab: number;
  seq: number;
  batch: number;
  steps: number;
  lr: number;
  warmup: number;
  dropout: number;
  evalEvery: number;
  evalBatches: number;
  chapters: number;
  heldBack: number;
  seed: number;
}

const DEFAULTS: Settings = {
  objective: 'mlm-nsp',
  size: 'demo',
  vocab: 200,
  seq: 32,
  batch: 16,
  steps: 600,
  lr: 1e-3,
  warmup: 30,
  dropout: 0,
  evalEvery: 100,
  evalBatches: 16,
  chapters: 135,
  heldBack: 6,
  seed: 1,
};

const FIELDS: Field<keyof Settings>[] = [
  {
    key: 'objective',
    label: 'objective',
    options: ['mlm-nsp', 'roberta', 'electra', 'mlm'],
    title:
      'mlm-nsp: BERT (masked LM + next sentence); roberta: masked LM on packed full sentences, dynamic masks; electra: replaced-token detection with a small generator',
  },
  { key: 'size', label: 'model', options: Object.keys(SIZES), title: 'layers x hidden size; demo = 2 layers of 64' },
  { key: 'vocab', label: 'vocabulary', title: 'WordPiece vocabulary size, learned from the training chapters in the page' },
  { key: 'seq', label: 'sequence', title: 'tokens per sequence' },
  { key: 'batch', label: 'batch', title: 'sequences per step' },
  { key: 'steps', label: 'steps', title: 'optimizer steps' },
  { key: 'lr', label: 'learning rate', step: 'any', title: 'peak learning rate (linear warm-up, then linear decay)' },
  { key: 'warmup', label: 'warm-up', title: 'warm-up steps' },
  { key: 'dropout', label: 'dropout', step: 'any', title: 'hidden and attention dropout (BERT: 0.1; a short run learns faster without)' },
  { key: 'evalEvery', label: 'evaluate every', title: 'steps between held-back evaluations (and stored checkpoints)' },
  { key: 'evalBatches', label: 'held-back batches', title: 'batches of held-back text per evaluation' },
  { key: 'chapters', label: 'chapters', title: 'Moby-Dick chapters to use (1-135); ignored for dropped files' },
  { key: 'heldBack', label: 'held back', title: 'last chapters (documents) held back for evaluation' },
  { key: 'seed', label: 'seed', title: 'one seed for the vocabulary order, data, masks, initialisation and dropout' },
];

/** A point of the charts: a training log record or a held-back evaluation. */
interface LogPoint {
  step: number;
  loss: number;
  parts: Record<string, number>;
  tokens_per_s: number;
}
interface EvalPoint {
  step: number;
  parts: Record<string, number>;
  metrics: Record<string, number>;
}
interface Baselines {
  unigram: number;
  nspMajority: number;
}

/** What IndexedDB keeps of a run: enough to rebuild its data and resume its trainer. */
interface RunRecord {
  settings: Settings;
  corpusName: string;
  /** The dropped files' texts (the bundled corpus is fetched again). */
  texts: string[] | null;
  vocab: string;
  logs: LogPoint[];
  evals: EvalPoint[];
  baselines: Baselines;
  trainSeconds: number;
  checkpoint: Files;
  done: boolean;
}

const main = shell(
  'pretrain.html',
  'Pre-train live',
  'A WordPiece vocabulary and a BERT-family model trained from scratch in this tab on WebGPU. Held-back chapters are never trained on; the model beats its baselines when its held-back MLM loss is below the unigram entropy of those chapters (it uses context, not just word frequencies).',
);

const params = new URLSearchParams(location.search);
main.append(
  el(
    'section',
    {},
    el('h2', {}, 'Setup'),
    el('div', { class: 'row', id: 'settings' }, ...fieldInputs(FIELDS, DEFAULTS)),
    el(
      'div',
      { class: 'row drop', id: 'corpus-drop' },
      el('span', { id: 'corpus-name' }, 'Corpus: Moby-Dick (bundled, public domain; one chapter = one document)'),
      el(
        'label',
        { class: 'muted' },
        ' — or drop / pick text files (one file = one document; one file: blank lines separate documents) ',
        el('input', { type: 'file', id: 'corpus-files', multiple: true, accept: '.txt,text/plain' }),
      ),
      el('button', { id: 'corpus-reset', class: 'secondary', hidden: true }, 'use Moby-Dick'),
    ),
    el(
      'div',
      { class: 'row' },
      el('button', { id: 'start' }, 'Start'),
      el('button', { id: 'pause', class: 'secondary', disabled: true }, 'Pause'),
      el('button', { id: 'resume', class: 'secondary', disabled: true }, 'Resume'),
      el('button', { id: 'discard', class: 'secondary', disabled: true }, 'Discard stored run'),
      el('button', { id: 'download', class: 'secondary', disabled: true }, 'Download Hugging Face directory (.zip)'),
      el('span', { id: 'files', class: 'muted' }),
    ),
    el('div', { id: 'stored', class: 'muted' }),
  ),
  el(
    'section',
    {},
    el(
      'div',
      { class: 'row' },
      el('b', { id: 'status' }, 'Not started.'),
      el('span', {}, ' · training loss '),
      el('b', { id: 'loss', class: 'mono' }, '–'),
      el('span', { id: 'tps', class: 'muted' }),
    ),
    el('div', { id: 'data-info', class: 'muted' }),
    el(
      'div',
      { class: 'cols' },
      el('div', { id: 'chart-loss' }),
      el('div', { id: 'chart-second' }),
      el('div', { id: 'chart-acc' }),
      el('div', { id: 'chart-tps' }),
    ),
  ),
  el(
    'section',
    {},
    el('h2', {}, 'Held-back evaluation against baselines'),
    el('div', { id: 'heldback' }, el('span', { class: 'muted' }, 'After the first evaluation.')),
    el('p', { id: 'verdict' }),
  ),
);

fieldsFromQuery(FIELDS, params);

function readSettings(): Settings {
  const set = readFields<Settings>(FIELDS);
  for (const k of ['vocab', 'seq', 'batch', 'steps', 'evalEvery', 'evalBatches', 'chapters', 'heldBack'] as const)
    if (set[k] < 1) throw new Error(`${k}: must be at least 1, got ${set[k]}`);
  if (set.seq < 8) throw new Error(`sequence: at least 8 tokens, got ${set.seq}`);
  if (!(set.lr > 0)) throw new Error(`learning rate: must be > 0, got ${set.lr}`);
  if (!(set.dropout < 1)) throw new Error(`dropout: must be below 1, got ${set.dropout}`);
  return set;
}

// ---- corpus ----
let dropped: { name: string; texts: string[] } | null = null;

async function mobyDick(chapters: number): Promise<string[]> {
  const files: string[] = await (await fetch('corpus/files.json')).json();
  const n = Math.min(chapters, files.length);
  return Promise.all(
    files.slice(0, n).map(async (f) => {
      const r = await fetch(`corpus/${f}`);
      if (!r.ok) throw new Error(`corpus/${f}: HTTP ${r.status}`);
      return r.text();
    }),
  );
}

dropZone($('corpus-drop'), $<HTMLInputElement>('corpus-files'), async (files) => {
  if (!files.length) return;
  const texts = await Promise.all(files.map((f) => f.text()));
  dropped = { name: files.length === 1 ? files[0].name : `${files.length} files`, texts };
  $('corpus-name').textContent = `Corpus: ${dropped.name} (${texts.reduce((a, t) => a + t.length, 0).toLocaleString('en')} characters)`;
  $('corpus-reset').hidden = false;
});
$('corpus-reset').addEventListener('click', () => {
  dropped = null;
  $('corpus-name').textContent = 'Corpus: Moby-Dick (bundled)';
  $('corpus-reset').hidden = true;
});

// ---- the run ----
interface Live {
  record: RunRecord;
  trainer: bg.Trainer;
  tokenizer: bg.WordPieceTokenizer;
  evalBatches: bg.ObjectiveBatch[];
}
let live: Live | null = null;
let state: 'idle' | 'preparing' | 'running' | 'pausing' | 'paused' | 'done' = 'idle';

function setState(s: typeof state): void {
  state = s;
  document.body.dataset.state = s;
  $<HTMLButtonElement>('start').disabled = s === 'preparing' || s === 'running' || s === 'pausing';
  $<HTMLButtonElement>('pause').disabled = s !== 'running';
  $<HTMLButtonElement>('resume').disabled = s !== 'paused';
  $<HTMLButtonElement>('discard').disabled = !(s === 'paused' || s === 'done');
  $<HTMLButtonElement>('download').disabled = !(s === 'paused' || s === 'done');
}

function say(line: string): void {
  console.log(line);
}

/** Documents, vocabulary, data sets and baselines of a run (from its settings and texts). */
async function prepare(settings: Settings, texts: string[], vocab: string | null) {
  const docs = bg.textToDocuments(texts, { documents: texts.length > 1 ? 'file' : 'blank-line' });
  if (docs.length < 2)
    throw new Error(
      `the corpus gave ${docs.length} document(s); training with a held-back part needs at least 2 (several files, or blank lines between documents)`,
    );
  const held = Math.min(settings.heldBack, docs.length - 1);
  const trainDocs = docs.slice(0, docs.length - held);
  const evalDocs = docs.slice(docs.length - held);
  const t0 = performance.now();
  const tokenizer =
    vocab !== null
      ? bg.WordPieceTokenizer.fromVocabText(vocab, {}, 'stored vocab.txt')
      : bg.trainWordPiece(trainDocs.flat(), { vocabSize: settings.vocab });
  const vocabSeconds = (performance.now() - t0) / 1000;
  const mode = settings.objective === 'roberta' ? 'roberta' : settings.objective === 'electra' ? 'electra' : 'bert';
  const dataset = new bg.PretrainingDataset({
    tokenizer,
    mode,
    sentenceDocuments: trainDocs,
    maxSeqLength: settings.seq,
    seed: settings.seed,
  });
  // as `bertgpu pretrain`: NSP's random next sentences of held-back pairs may come from a training document
  const evalSet = new bg.PretrainingDataset({
    tokenizer,
    mode,
    sentenceDocuments: mode === 'bert' ? [...evalDocs, trainDocs[0]] : evalDocs,
    maxSeqLength: settings.seq,
    seed: settings.seed + 7,
    masking: 'static',
  });
  const evalBatches: bg.ObjectiveBatch[] = [];
  for (const b of evalSet.batches(settings.batch, { epochs: 1 })) {
    evalBatches.push(b);
    if (evalBatches.length >= settings.evalBatches) break;
  }
  const special = new Set(['[CLS]', '[SEP]', '[PAD]', '[MASK]'].map((t) => tokenizer.tokenToId(t) ?? -1));
  const baselines: Baselines = { unigram: bg.unigramEntropy(evalBatches, special), nspMajority: bg.nspMajorityAccuracy(evalBatches) };
  const info = `${trainDocs.length} training documents → ${dataset.instances.length} sequences of ≤ ${settings.seq} tokens; ${evalDocs.length} held back → ${evalBatches.length} batches; vocabulary ${tokenizer.vocabSize} pieces${vocab === null ? ` (learned in ${vocabSeconds.toFixed(1)} s)` : ' (stored)'}`;
  return { tokenizer, dataset, evalBatches, baselines, info };
}

function modelConfig(settings: Settings, tokenizer: bg.WordPieceTokenizer): bg.BertConfig {
  const [layers, hidden, heads] = SIZES[settings.size];
  return bg.bertConfig({
    num_hidden_layers: layers,
    hidden_size: hidden,
    num_attention_heads: heads,
    intermediate_size: 4 * hidden,
    vocab_size: tokenizer.vocabSize,
    pad_token_id: tokenizer.tokenToId('[PAD]') ?? 0,
    max_position_embeddings: Math.max(512, settings.seq + 2),
    hidden_dropout_prob: settings.dropout,
    attention_probs_dropout_prob: settings.dropout,
  });
}

async function startRun(): Promise<void> {
  const settings = readSettings();
  setState('preparing');
  const texts = dropped?.texts ?? (await mobyDick(settings.chapters));
  const corpusName = dropped?.name ?? `Moby-Dick, ${Math.min(settings.chapters, 135)} chapters`;
  $('status').textContent = 'Learning the vocabulary and building the data…';
  await new Promise((r) => setTimeout(r, 0)); // let the status show before the CPU work
  const p = await prepare(settings, texts, null);
  const config = modelConfig(settings, p.tokenizer);
  const trainer = bg.Trainer.create(
    settings.objective,
    config,
    bg.datasetSource(p.dataset, settings.batch),
    {
      steps: settings.steps,
      lr: settings.lr,
      warmupSteps: Math.min(settings.warmup, settings.steps),
      logEvery: logEvery(settings),
      seed: settings.seed,
    },
    p.evalBatches,
  );
  const record: RunRecord = {
    settings,
    corpusName,
    texts: dropped?.texts ?? null,
    vocab: p.tokenizer.toVocabText(),
    logs: [],
    evals: [],
    baselines: p.baselines,
    trainSeconds: 0,
    checkpoint: {},
    done: false,
  };
  live = { record, trainer, tokenizer: p.tokenizer, evalBatches: p.evalBatches };
  $('data-info').textContent =
    `${corpusName}: ${p.info}. Model: ${settings.size} (${config.num_hidden_layers} layers, hidden ${config.hidden_size}), ${countParameters(trainer)} parameters.`;
  say(
    `pretrain: ${settings.objective}, ${corpusName}: ${p.info}; model ${settings.size}, ${countParameters(trainer)} parameters; held-back baselines: unigram entropy ${p.baselines.unigram.toFixed(3)} nats${settings.objective === 'mlm-nsp' ? `, NSP majority ${(p.baselines.nspMajority * 100).toFixed(1)}%` : ''}`,
  );
  resetCharts();
  await train();
}

function logEvery(s: Settings): number {
  return Math.max(1, Math.min(10, Math.floor(s.evalEvery / 2)));
}

function countParameters(trainer: bg.Trainer): string {
  const n = trainer.objective.namedParameters().reduce((a, [, t]) => a + t.size, 0);
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(0)} K`;
}

async function train(): Promise<void> {
  const l = live!;
  const { trainer, record } = l;
  const s = record.settings;
  setState('running');
  trainer.stopRequested = false;
  trainer.onLog = (r) => {
    record.logs.push({ step: r.step, loss: r.loss, parts: r.parts, tokens_per_s: r.tokens_per_s });
    showProgress();
  };
  let since = performance.now();
  const clock = () => {
    const t = performance.now();
    record.trainSeconds += (t - since) / 1000;
    since = t;
  };
  try {
    while (trainer.step < s.steps && !trainer.stopRequested) {
      const next = Math.min(s.steps, (Math.floor(trainer.step / s.evalEvery) + 1) * s.evalEvery);
      await trainer.run(next);
      if (trainer.step !== next) break; // paused
      const e = await trainer.evaluateOn(...l.evalBatches);
      record.evals.push({ step: e.step, parts: e.parts, metrics: e.metrics });
      clock();
      showHeldBack();
      say(`held-back at step ${e.step}: ${heldBackLine(e)}`);
      if (trainer.step < s.steps) await persist();
    }
  } catch (err) {
    setState('paused');
    throw err;
  }
  clock();
  if (trainer.step >= s.steps) {
    record.done = true;
    await persist();
    await storeModel();
    setState('done');
    const v = verdict();
    say(`${v.pass ? 'VERDICT PASS' : 'VERDICT FAIL'}: ${v.text}`);
  } else {
    await persist();
    setState('paused');
    say(`paused at step ${trainer.step}; the checkpoint is stored in this browser (IndexedDB)`);
  }
  showProgress();
}

/** Keeps the run in IndexedDB: settings, history and the whole trainer checkpoint. */
async function persist(): Promise<void> {
  const l = live!;
  l.record.checkpoint = await checkpointFiles(l.trainer, l.tokenizer);
  await save(RUN_KEY, l.record);
  $('stored').textContent =
    `Stored in this browser at step ${l.trainer.step} (${(Object.values(l.record.checkpoint).reduce((a, b) => a + b.length, 0) / 1e6).toFixed(1)} MB): a reload resumes from here.`;
}

/** The model the fill-mask page uses (ELECTRA: the generator, the one that fills masks). */
async function storeModel(): Promise<void> {
  const l = live!;
  const models = l.trainer.objective.models;
  const model = models.generator ?? models.model;
  const files = await bg.exportPretrained(model, l.tokenizer);
  const last = l.record.evals.at(-1);
  const mlm = last ? (last.parts.mlm ?? last.parts.generator) : NaN;
  const stored: StoredModel = {
    name: `${model.architecture} from ${l.record.corpusName}`,
    files,
    summary: `${l.record.settings.objective}, ${l.trainer.step} steps, held-back MLM ${mlm.toFixed(3)} vs unigram ${l.record.baselines.unigram.toFixed(3)}`,
  };
  await save(MODEL_KEY, stored);
}

/** The Hugging Face directory (ELECTRA: the discriminator, with the generator in generator/). */
async function hfFiles(): Promise<Files> {
  const l = live!;
  const models = l.trainer.objective.models;
  const out: Files = {};
  for (const [f, b] of Object.entries(await bg.exportPretrained(models.discriminator ?? models.model, l.tokenizer))) out[f] = b;
  if (models.generator)
    for (const [f, b] of Object.entries(await bg.exportPretrained(models.generator, l.tokenizer))) out[`generator/${f}`] = b;
  return out;
}

$('download').addEventListener('click', () => void download());
async function download(): Promise<void> {
  try {
    const files = await hfFiles();
    const name = `bertgpu-${live!.record.settings.objective}-step${live!.trainer.step}`;
    const listing = downloadZip(name, files);
    $('files').textContent = listing;
    say(`download: ${listing}`);
  } catch (err) {
    showError(err, 'download');
  }
}

// ---- display ----
let charts: (uPlot | null)[] = [];

/** The series of the four charts for an objective: [label, value at a step, style]. */
function chartSpecs(o: bg.ObjectiveName) {
  const { logs, evals, baselines } = live!.record;
  const logAt = new Map(logs.map((r) => [r.step, r]));
  const evalAt = new Map(evals.map((r) => [r.step, r]));
  const [a, b] = o === 'electra' ? ['generator', 'discriminator'] : ['mlm', 'nsp'];
  type Spec = [string, (step: number) => number | undefined, Partial<uPlot.Series>?];
  const [dots, dashed] = [DOTS, DASHED];
  const m = (k: string) => (s: number) => evalAt.get(s)?.metrics[k];
  const mlm: Spec[] = [
    [`train ${a}`, (s) => logAt.get(s)?.parts[a]],
    [`held-back ${a}`, (s) => evalAt.get(s)?.parts[a], dots],
    ['unigram entropy (held-back)', () => baselines.unigram, dashed],
  ];
  const second: Spec[] =
    o === 'mlm-nsp' || o === 'electra'
      ? [
          [`train ${b}`, (s) => logAt.get(s)?.parts[b]],
          [`held-back ${b}`, (s) => evalAt.get(s)?.parts[b], dots],
        ]
      : [];
  const acc: Spec[] =
    o === 'electra'
      ? [
          ['discriminator', m('disc_accuracy'), dots],
          ['all-original', m('disc_all_original_accuracy'), dashed],
        ]
      : o === 'mlm-nsp'
        ? [
            ['NSP accuracy', m('nsp_accuracy'), dots],
            ['majority class', () => baselines.nspMajority, dashed],
          ]
        : [['MLM accuracy', m('mlm_accuracy'), dots]];
  const tps: Spec[] = [['tokens/s', (s) => logAt.get(s)?.tokens_per_s]];
  return [
    { id: 'chart-loss', title: o === 'electra' ? 'Generator MLM loss (nats)' : 'MLM loss (nats)', y: 'nats', specs: mlm },
    { id: 'chart-second', title: o === 'electra' ? 'Discriminator loss' : o === 'mlm-nsp' ? 'NSP loss' : '', y: 'nats', specs: second },
    {
      id: 'chart-acc',
      title: o === 'electra' ? 'Held-back discriminator accuracy' : o === 'mlm-nsp' ? 'Held-back NSP accuracy' : 'Held-back MLM accuracy',
      y: 'accuracy',
      specs: acc,
    },
    { id: 'chart-tps', title: 'Tokens / s (training)', y: 'tokens/s', specs: tps },
  ];
}

function resetCharts(): void {
  for (const c of charts) c?.destroy();
  charts = chartSpecs(live!.record.settings.objective).map((c) => {
    $(c.id).hidden = !c.specs.length;
    return c.specs.length
      ? chart(
          c.id,
          c.title,
          c.specs.map(([label, , style], i) => line(label, i, style)),
          c.y,
        )
      : null;
  });
  updateCharts();
}

function updateCharts(): void {
  if (!live || !charts.length) return;
  const { logs, evals } = live.record;
  const steps = [...new Set([...logs.map((r) => r.step), ...evals.map((r) => r.step)])].sort((x, y) => x - y);
  chartSpecs(live.record.settings.objective).forEach((c, i) => {
    charts[i]?.setData([steps, ...c.specs.map(([, f]) => steps.map((s) => f(s) ?? null))] as uPlot.AlignedData);
  });
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function showProgress(): void {
  if (!live) return;
  const { record, trainer } = live;
  const last = record.logs.at(-1);
  const running = state === 'running' || state === 'pausing';
  const done = trainer.step - (record.logs[0]?.step ?? 0);
  const perStep = done > 0 ? record.trainSeconds / done : 0;
  $('status').textContent =
    `${state === 'done' ? 'Done' : running ? 'Training' : 'Paused'}: step ${trainer.step} / ${record.settings.steps}` +
    (record.trainSeconds ? ` · ${duration(record.trainSeconds)} training` : '') +
    (running && perStep ? ` · ~${duration(perStep * (record.settings.steps - trainer.step))} left` : '');
  if (last) {
    $('loss').textContent = last.loss.toFixed(3);
    $('tps').textContent = ` (${Object.entries(last.parts)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(', ')}) · ${Math.round(last.tokens_per_s)} tokens/s`;
    if (running)
      say(
        `step ${last.step}/${record.settings.steps}: loss ${last.loss.toFixed(3)} (${Object.entries(last.parts)
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(', ')}) ${Math.round(last.tokens_per_s)} tok/s`,
      );
  }
  updateCharts();
}

function heldBackLine(e: { parts: Record<string, number>; metrics: Record<string, number> }): string {
  const { unigram, nspMajority } = live!.record.baselines;
  const o = live!.record.settings.objective;
  const mlm = e.parts.mlm ?? e.parts.generator;
  const parts = [`MLM ${mlm.toFixed(3)} vs unigram ${unigram.toFixed(3)}`];
  if (o === 'mlm-nsp') parts.push(`NSP acc ${(e.metrics.nsp_accuracy * 100).toFixed(1)}% vs majority ${(nspMajority * 100).toFixed(1)}%`);
  if (o === 'electra')
    parts.push(
      `discriminator acc ${(e.metrics.disc_accuracy * 100).toFixed(2)}% vs all-original ${(e.metrics.disc_all_original_accuracy * 100).toFixed(2)}%`,
    );
  return parts.join(', ');
}

function showHeldBack(): void {
  if (!live) return;
  const e = live.record.evals.at(-1);
  if (!e) return;
  const { unigram, nspMajority } = live.record.baselines;
  const o = live.record.settings.objective;
  const rows: [string, number, number, boolean, string][] = [];
  const mlm = e.parts.mlm ?? e.parts.generator;
  rows.push([
    o === 'electra' ? 'generator MLM loss (nats)' : 'MLM loss (nats)',
    mlm,
    unigram,
    mlm < unigram,
    'unigram entropy of the held-back tokens: lower uses context',
  ]);
  if (o === 'mlm-nsp')
    rows.push([
      'NSP accuracy',
      e.metrics.nsp_accuracy,
      nspMajority,
      e.metrics.nsp_accuracy > nspMajority,
      'majority class of the held-back pairs',
    ]);
  if (o === 'electra')
    rows.push([
      'discriminator accuracy',
      e.metrics.disc_accuracy,
      e.metrics.disc_all_original_accuracy,
      e.metrics.disc_accuracy > e.metrics.disc_all_original_accuracy,
      'all tokens called original, on the same replacements',
    ]);
  rows.push(['MLM accuracy (masked tokens)', e.metrics.mlm_accuracy, NaN, false, '']);
  const fmt = (v: number, name: string) => (Number.isNaN(v) ? '–' : name.includes('loss') ? v.toFixed(4) : `${(v * 100).toFixed(2)}%`);
  $('heldback').replaceChildren(
    el(
      'table',
      { id: 'heldback-table' },
      el(
        'tr',
        {},
        el('th', {}, `at step ${e.step}`),
        el('th', {}, 'model'),
        el('th', {}, 'baseline'),
        el('th', {}, 'beats it?'),
        el('th', {}, 'baseline is'),
      ),
      ...rows.map(([name, v, base, beats, what]) =>
        el(
          'tr',
          {},
          el('td', {}, name),
          el('td', { class: 'num' }, fmt(v, name)),
          el('td', { class: 'num' }, fmt(base, name)),
          el('td', { class: Number.isNaN(base) ? '' : beats ? 'good' : 'bad' }, Number.isNaN(base) ? '' : beats ? 'yes' : 'not yet'),
          el('td', { class: 'muted' }, what),
        ),
      ),
    ),
  );
  if (state === 'done' || live.trainer.step >= live.record.settings.steps) showVerdict();
}

/** The run's verdict: its held-back MLM loss (ELECTRA: the generator's) below the unigram entropy. */
function verdict(): { pass: boolean; text: string } {
  const e = live!.record.evals.at(-1);
  if (!e) return { pass: false, text: 'no held-back evaluation' };
  const mlm = e.parts.mlm ?? e.parts.generator;
  const u = live!.record.baselines.unigram;
  const pass = mlm < u;
  return {
    pass,
    text: `held-back MLM loss ${mlm.toFixed(4)} ${pass ? '<' : '≥'} unigram entropy ${u.toFixed(4)} nats after ${e.step} steps (${heldBackLine(e)})`,
  };
}

function showVerdict(): void {
  const v = verdict();
  const p = $('verdict');
  p.dataset.verdict = v.pass ? 'pass' : 'fail';
  p.replaceChildren(
    el(
      'span',
      { id: 'verdict-text' },
      el(
        'b',
        { class: v.pass ? 'good' : 'bad' },
        v.pass ? 'Beats its baseline on held-back text: ' : 'Does not beat its baseline on held-back text: ',
      ),
      v.text,
    ),
    el('br'),
    el('a', { href: 'fill-mask.html' }, 'Fill masks with this model →'),
  );
}

// ---- buttons and the stored run ----
function guard(fn: () => Promise<void>, what: string): () => void {
  const run = async () => {
    clearError();
    try {
      await fn();
    } catch (err) {
      showError(err, what);
      if (state === 'preparing') setState(live ? 'paused' : 'idle');
    }
  };
  return () => void run();
}

$('start').addEventListener(
  'click',
  guard(async () => {
    if (live && (state === 'paused' || state === 'done')) {
      live.trainer.dispose();
      live = null;
    }
    await startRun();
  }, 'pre-training'),
);
$('pause').addEventListener('click', () => {
  if (!live || state !== 'running') return;
  live.trainer.stopRequested = true;
  setState('pausing');
  $('status').textContent = `Pausing after step ${live.trainer.step + 1}…`;
});
$('resume').addEventListener(
  'click',
  guard(async () => {
    if (live) await train();
  }, 'resuming'),
);
$('discard').addEventListener(
  'click',
  guard(async () => {
    await remove(RUN_KEY);
    live?.trainer.dispose();
    live = null;
    $('stored').textContent = 'The stored run was discarded.';
    setState('idle');
  }, 'discard'),
);

/** After a reload: the stored run is rebuilt (same data, same vocabulary) and its trainer resumed, paused. */
async function restore(record: RunRecord): Promise<void> {
  setState('preparing');
  $('status').textContent =
    `Restoring the run stored at step ${JSON.parse(new TextDecoder().decode(record.checkpoint['trainer_state.json'])).step}…`;
  for (const f of FIELDS) $<HTMLInputElement>(`set-${f.key}`).value = String(record.settings[f.key]);
  const texts = record.texts ?? (await mobyDick(record.settings.chapters));
  const p = await prepare(record.settings, texts, record.vocab);
  const trainer = await resumeFromFiles(record.checkpoint, bg.datasetSource(p.dataset, record.settings.batch), p.evalBatches);
  live = { record, trainer, tokenizer: p.tokenizer, evalBatches: p.evalBatches };
  $('data-info').textContent = `${record.corpusName}: ${p.info}. Model: ${record.settings.size}, ${countParameters(trainer)} parameters.`;
  $('stored').textContent = `Restored from this browser's storage at step ${trainer.step}.`;
  resetCharts();
  showHeldBack();
  setState(record.done ? 'done' : 'paused');
  if (record.done) showVerdict();
  showProgress();
  say(`restored the stored run at step ${trainer.step} of ${record.settings.steps}`);
}

async function startPage(): Promise<void> {
  setState('idle');
  const rt = await startWebGPU();
  if (!rt) {
    $<HTMLButtonElement>('start').disabled = true;
    return;
  }
  const stored = await load<RunRecord>(RUN_KEY);
  if (stored && params.get('fresh') !== '1') await restore(stored);
  else if (stored) await remove(RUN_KEY);
  document.body.dataset.ready = 'true';
  if (params.get('autostart') === '1' && state === 'idle') $('start').click();
  else if (params.get('autostart') === '1' && state === 'paused') $('resume').click();
}

startPage().catch((err) => showError(err, 'pre-train page'));
