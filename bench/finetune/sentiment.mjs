// Sentiment (issue 14, must-show 1): what pre-training on Moby-Dick buys a bert-tiny on UCI
// sentiment sentences. Pre-trains bert-tiny (mlm-nsp) and ELECTRA-tiny on the bundled book
// through `bertgpu pretrain` (one learned 1000-piece vocabulary), fine-tunes on imdb + amazon
// (2000 sentences) and tests on yelp (1000), against the majority class and a bag-of-words
// logistic regression trained here on the same split. Every row trains a fixed number of epochs;
// the figure is its last epoch's (nothing is chosen on the test set). The transformer rows run
// through the CLI by default (--via cli: `bertgpu finetune` [--features scalar-mix] without
// --eval, then `bertgpu evaluate` on yelp); --via api runs them through the library, with the
// test accuracy after every epoch.
//
// Data: npm sentiment@5.0.2's test/fixtures/{imdb,amazon,yelp}.json, e.g.
//   npm install --prefix /tmp/exp --no-save sentiment@5.0.2
// Usage: node scripts/build.mjs --no-types --outdir .test-build-exp/dist
//   node bench/finetune/sentiment.mjs --lib .test-build-exp/dist --data /tmp/exp/node_modules/sentiment/test/fixtures
//     [--work DIR] [--pretrain-steps 100] [--epochs 2] [--rows a,b,...] [--json FILE] [--limit N (a seeded sample of N per file)]
//     [--via cli|api]
// Rows run in this process are written to WORK/sentiment[-limitN][-cli]/<row>.json; the table shows every row
// there, so rows can run in separate processes (--rows) and be tabled together.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  accuracy,
  cliFineTuneRow,
  fineTuneRow,
  loadLib,
  loadRows,
  machine,
  majority,
  pretrain,
  pretrainSummary,
  randomModelDir,
  saveRow,
  shuffled,
  table,
  taskModel,
  trainBowLogReg,
  writeJson,
} from './common.mjs';

const ROWS = ['majority', 'bow-logreg', 'random-full', 'random-scalar-mix', 'bert-scalar-mix', 'bert-full', 'electra-full'];
const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist' },
    data: { type: 'string', default: 'node_modules/sentiment/test/fixtures' },
    work: { type: 'string', default: '.test-build-exp/runs' },
    'pretrain-steps': { type: 'string', default: '100' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '5e-4' },
    'head-lr': { type: 'string', default: '5e-3' },
    'max-length': { type: 'string', default: '64' },
    seed: { type: 'string', default: '0' },
    limit: { type: 'string' },
    rows: { type: 'string', default: ROWS.join(',') },
    via: { type: 'string', default: 'cli' },
    json: { type: 'string' },
  },
});
if (!['cli', 'api'].includes(o.via)) throw new Error(`--via must be cli or api, got '${o.via}'`);
const rows = o.rows.split(',');
for (const r of rows) if (!ROWS.includes(r)) throw new Error(`--rows: unknown row '${r}' (rows: ${ROWS.join(', ')})`);
const [epochs, batchSize, lr, headLr, maxLength, seed] = [+o.epochs, +o.batch, +o['lr'], +o['head-lr'], +o['max-length'], +o.seed];

const bg = await loadLib(o.lib);
const read = (name) => {
  const file = `${o.data}/${name}.json`;
  // the fixtures end with an empty {"text": "", "class": null} entry
  const rows = JSON.parse(readFileSync(file, 'utf8')).filter((r) => r.class !== null);
  return rows.map((r) => JSON.stringify({ text: r.text.trim(), label: r.class === 1 ? 'pos' : 'neg' })).join('\n');
};
const task = bg.getTask('cls');
// --limit N: a seeded sample of N sentences of each file (a shorter run on a slow machine)
const sample = (name, k) => {
  const exs = task.read(read(name), `${name}.jsonl`);
  return o.limit && +o.limit < exs.length ? shuffled(exs, seed * 10 + k).slice(0, +o.limit) : exs;
};
const train = [...sample('imdb', 1), ...sample('amazon', 2)];
const test = sample('yelp', 3);
const labels = task.labelSet(train);
const out = `${o.work}/sentiment${o.limit ? `-limit${o.limit}` : ''}${o.via === 'cli' ? '-cli' : ''}`;
const count = (exs, l) => exs.filter((e) => e.label === l).length;
const settings = {
  epochs,
  batchSize,
  lr,
  headLr,
  maxLength,
  seed,
  pretrainSteps: +o['pretrain-steps'],
  via: o.via,
  train: train.length,
  test: test.length,
  testPositive: count(test, 'pos'),
  trainPositive: count(train, 'pos'),
};

const needs = (m) => rows.some((r) => r.startsWith(m)) || (m === 'bert' && rows.some((r) => r.startsWith('random')));
const pretrained = {};
for (const [name, objective] of [
  ['bert', 'mlm-nsp'],
  ['electra', 'electra'],
]) {
  if (!needs(name)) continue;
  const dir = `${o.work}/${name}`;
  pretrained[name] = { dir, ...pretrain({ lib: o.lib, objective, out: dir, steps: +o['pretrain-steps'] }), summary: pretrainSummary(dir) };
}

await bg.init();
for (const row of rows) {
  const t0 = Date.now();
  let result;
  if (row === 'majority') {
    const m = majority(
      train.map((e) => e.label),
      test.map((e) => e.label),
    );
    result = { name: row, metrics: { accuracy: m.accuracy }, label: m.label };
  } else if (row === 'bow-logreg') {
    const model = trainBowLogReg(
      train.map((e) => e.text),
      train.map((e) => e.label),
      { epochs: 5, lr: 0.1, l2: 1e-4, seed },
    );
    result = {
      name: row,
      metrics: {
        accuracy: accuracy(
          test.map((e) => model.predict(e.text)),
          test.map((e) => e.label),
        ),
      },
      vocabulary: model.vocabSize,
      settings: 'word presence, L2 1e-4, SGD lr 0.1, 5 epochs',
    };
  } else if (o.via === 'cli') {
    const [source, mode] = [row.split('-')[0], row.slice(row.indexOf('-') + 1)];
    const modelDir =
      source === 'random' ? await randomModelDir(bg, pretrained.bert.dir, `${o.work}/bert-random`, seed) : pretrained[source].dir;
    const features = mode === 'scalar-mix' ? ['--features', 'scalar-mix'] : [];
    result = cliFineTuneRow({
      lib: o.lib,
      dir: out,
      name: row,
      task: 'cls',
      modelDir,
      train,
      test,
      epochs,
      batchSize,
      lr: features.length ? headLr : lr,
      maxLength,
      seed,
      flags: features,
    });
    if (features.length) result.layerWeights = layerWeights(`${out}/${row}/model/feature_head.safetensors`);
  } else {
    const [source, mode] = [row.split('-')[0], row.slice(row.indexOf('-') + 1)];
    const { model, tokenizer } = await taskModel(bg, {
      dir: pretrained[source === 'random' ? 'bert' : source].dir,
      task: 'cls',
      labels,
      seed,
      random: source === 'random',
    });
    const features = mode === 'scalar-mix' ? 'scalar-mix' : undefined;
    result = await fineTuneRow(bg, {
      name: row,
      task: 'cls',
      model,
      tokenizer,
      train,
      test,
      labels,
      epochs,
      batchSize,
      lr: features ? headLr : lr,
      maxLength,
      seed,
      features,
    });
    model.dispose();
  }
  saveRow(out, result, settings, t0);
}

/** The scalar mix's layer weights (softmax of the saved logits) of a feature head file. */
function layerWeights(file) {
  const w = [...bg.readSafetensors(readFileSync(file)).tensors.get('scalar_mix.weights').data];
  const m = Math.max(...w);
  const z = w.reduce((a, v) => a + Math.exp(v - m), 0);
  return w.map((v) => +(Math.exp(v - m) / z).toFixed(3));
}

const all = loadRows(out, ROWS);
const DESCRIPTIONS = {
  majority: 'majority class (of the training labels)',
  'bow-logreg': 'bag-of-words logistic regression',
  'random-full': 'random init, full fine-tuning',
  'random-scalar-mix': 'random init, frozen, scalar mix',
  'bert-scalar-mix': 'pre-trained BERT, frozen, scalar mix',
  'bert-full': 'pre-trained BERT (mlm-nsp), full fine-tuning',
  'electra-full': 'pre-trained ELECTRA, full fine-tuning',
};
console.log(
  table(
    all.map((r) => ({
      row: DESCRIPTIONS[r.name],
      'yelp accuracy': r.metrics.accuracy,
      'yelp F1': r.metrics.f1 ?? null,
      'per epoch': r.perEpoch?.map((e) => e.accuracy.toFixed(3)).join(' '),
      'wall s': Math.round(r.seconds),
      'load at end': r.machine?.loadavg?.[0] ?? null,
    })),
    ['row', 'yelp accuracy', 'yelp F1', 'per epoch', 'wall s', 'load at end'],
  ),
);
if (o.json) writeJson(o.json, { experiment: 'sentiment', settings, pretrained, rows: all, machine: machine() });
