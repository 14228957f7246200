// Pair classification (issue 14, must-show 4): Clough & Stevenson's short answers against the
// Wikipedia text they were written from (95 pairs, 5 source texts, 4 labels: not plagiarised
// (38), heavy revision, light revision, cut & paste (19 each)). Leave one source text out: 5
// folds, each trains on the answers to 4 topics and tests on the 19 answers to the fifth; the
// figure is the accuracy over all 95 held-out predictions. Baselines: the training folds'
// majority class, and a logistic regression on word n-gram containment (the share of the
// answer's 1..4-grams found in the source, Clough & Stevenson's own measure).
// The model input is the pair [CLS] answer [SEP] source [SEP], truncated longest-first.
//
// Data: python3-pattern's corpora (see tagging.mjs). Usage: node bench/finetune/pairs.mjs
//   --lib .test-build-exp/dist [--corpora DIR] [--work DIR] [--epochs 3] [--rows ...] [--json FILE]
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
  randomModelDir,
  saveRow,
  table,
  taskModel,
  trainBowLogReg,
  words,
  writeJson,
} from './common.mjs';

const ROWS = ['majority', 'containment-logreg', 'random-full', 'bert-full'];
const LABELS = { 0: 'not plagiarised', 1: 'heavy revision', 2: 'light revision', 3: 'cut & paste' };
const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist' },
    corpora: { type: 'string', default: '/tmp/pattern/usr/share/doc/python3-pattern/test/corpora' },
    work: { type: 'string', default: '.test-build-exp/runs' },
    'pretrain-steps': { type: 'string', default: '100' },
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '8' },
    lr: { type: 'string', default: '5e-4' },
    'max-length': { type: 'string', default: '128' },
    seed: { type: 'string', default: '0' },
    rows: { type: 'string', default: ROWS.join(',') },
    via: { type: 'string', default: 'cli' },
    json: { type: 'string' },
  },
});
const rows = o.rows.split(',');
for (const r of rows) if (!ROWS.includes(r)) throw new Error(`--rows: unknown row '${r}' (rows: ${ROWS.join(', ')})`);
const [epochs, batchSize, lr, maxLength, seed] = [+o.epochs, +o.batch, +o.lr, +o['max-length'], +o.seed];

const bg = await loadLib(o.lib);
const file = 'plagiarism-clough&stevenson.csv';
const records = bg.parseDelimited(readFileSync(`${o.corpora}/${file}`, 'utf8'), file, { columns: ['answer', 'source', 'label'] });
const task = bg.getTask('pair');
const examples = task.read(
  records.map((r) => JSON.stringify({ text: r.value.answer, pair: r.value.source, label: LABELS[r.value.label] })).join('\n'),
  'clough-stevenson.jsonl',
);
const topics = [...new Set(examples.map((e) => e.pair))];
const labels = task.labelSet(examples);
const hyper = { epochs, batchSize, lr, maxLength, seed };
const settings = { ...hyper, pairs: examples.length, folds: topics.length };
// the fine-tuning rows run through `bertgpu finetune` / `bertgpu evaluate` (--via cli) or the library (--via api)
if (!['cli', 'api'].includes(o.via)) throw new Error(`--via must be cli or api, got '${o.via}'`);
const out = `${o.work}/pairs${o.via === 'cli' ? '-cli' : ''}`;

/** n-gram containment of the answer in the source, n = 1..4 (Clough & Stevenson). */
function containment(e) {
  const grams = (ws, n) => new Set(ws.slice(0, ws.length - n + 1).map((_, i) => ws.slice(i, i + n).join(' ')));
  const [a, s] = [words(e.text), words(e.pair)];
  return [1, 2, 3, 4].map((n) => {
    const ga = grams(a, n);
    const gs = grams(s, n);
    return [`c${n}`, ga.size ? [...ga].filter((g) => gs.has(g)).length / ga.size : 0];
  });
}

const pretrained = {};
if (rows.some((r) => r.endsWith('-full')))
  pretrained.bert = {
    dir: `${o.work}/bert`,
    ...pretrain({ lib: o.lib, objective: 'mlm-nsp', out: `${o.work}/bert`, steps: +o['pretrain-steps'] }),
  };

await bg.init();
for (const row of rows) {
  const t0 = Date.now();
  let right = 0;
  const folds = [];
  for (const topic of topics) {
    const train = examples.filter((e) => e.pair !== topic);
    const test = examples.filter((e) => e.pair === topic);
    let p;
    if (row === 'majority') {
      const { label } = majority(
        train.map((e) => e.label),
        [],
      );
      p = test.map(() => label);
    } else if (row === 'containment-logreg') {
      const model = trainBowLogReg(
        train,
        train.map((e) => e.label),
        { epochs: 200, lr: 0.5, l2: 1e-4, seed, features: containment },
      );
      p = test.map((e) => model.predict(e));
    } else if (o.via === 'cli') {
      const modelDir =
        row === 'random-full' ? await randomModelDir(bg, pretrained.bert.dir, `${o.work}/bert-random`, seed) : pretrained.bert.dir;
      const name = `${row} fold ${folds.length + 1}`;
      const r = cliFineTuneRow({ lib: o.lib, dir: out, name, task: 'pair', modelDir, train, test, ...hyper });
      folds.push({ topic: topic.slice(0, 40), ...r });
    } else {
      const { model, tokenizer } = await taskModel(bg, {
        dir: pretrained.bert.dir,
        task: 'pair',
        labels,
        seed,
        random: row === 'random-full',
      });
      const r = await fineTuneRow(bg, {
        name: `${row} fold ${folds.length + 1}`,
        task: 'pair',
        model,
        tokenizer,
        train,
        test,
        labels,
        epochs,
        batchSize,
        lr,
        maxLength,
        seed,
      });
      folds.push({ topic: topic.slice(0, 40), ...r });
      model.dispose();
    }
    right += p
      ? accuracy(
          p,
          test.map((e) => e.label),
        ) * test.length
      : folds.at(-1).metrics.accuracy * test.length;
  }
  const result = {
    name: row,
    metrics: { accuracy: right / examples.length },
    folds: folds.length
      ? folds.map((f) => ({
          topic: f.topic,
          metrics: f.metrics,
          perEpoch: f.perEpoch,
          commands: f.commands,
          losses: f.losses,
          seconds: f.seconds,
        }))
      : undefined,
  };
  saveRow(out, result, settings, t0);
}

const all = loadRows(out, ROWS);
const DESCRIPTIONS = {
  majority: 'majority class (training folds)',
  'containment-logreg': 'logistic regression on 1..4-gram containment',
  'random-full': 'random init, full fine-tuning',
  'bert-full': 'pre-trained BERT (mlm-nsp), full fine-tuning',
};
console.log(`Clough & Stevenson: ${examples.length} pairs, leave one of ${topics.length} source texts out`);
console.log(
  table(
    all.map((r) => ({ row: DESCRIPTIONS[r.name], 'held-out accuracy (95)': r.metrics.accuracy, 'wall s': Math.round(r.seconds) })),
    ['row', 'held-out accuracy (95)', 'wall s'],
  ),
);
if (o.json) writeJson(o.json, { experiment: 'pairs', settings, pretrained, rows: all, machine: machine() });
