// The continual-learning table's data and plan (issue 15): sentiment as three domain shifts
// (imdb -> yelp -> amazon, UCI sentences from npm sentiment@5.0.2, one shared head), then a
// different task, Clough & Stevenson's plagiarism pairs (4 labels, python3-pattern's corpora).
// Writes WORK/<task>.{train,test}.jsonl and WORK/plan.json; `bertgpu continual --plan
// WORK/plan.json` runs it. The encoder is --model: by default the demo's 2 x 64 BERT
// pre-trained on Moby-Dick by bench/continual/pretrain-small.mjs (run when the directory is missing).
//
// Data: npm install --prefix /tmp/exp --no-save sentiment@5.0.2
//       apt-get download python3-pattern && dpkg -x python3-pattern_*.deb /tmp/pattern
// Usage: node scripts/build.mjs --no-types --outdir .bench-out/continual/dist
//   node bench/continual/prepare.mjs --lib .bench-out/continual/dist [--work DIR] [--train 160] [--test 100]
//     [--pairs-test 35] [--epochs 2] [--lr 1e-3] [--max-length 64] [--add-words 2]
//   node .bench-out/continual/dist/cli.js continual --plan DIR/plan.json --json DIR/result.json
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadLib, shuffled, writeJson } from '../finetune/common.mjs';

const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: '.bench-out/continual/dist' },
    sentiment: { type: 'string', default: '/tmp/exp/node_modules/sentiment/test/fixtures' },
    corpora: { type: 'string', default: '/tmp/pattern/usr/share/doc/python3-pattern/test/corpora' },
    model: { type: 'string', default: '.bench-out/continual/small-bert' },
    work: { type: 'string', default: '.bench-out/continual/table' },
    train: { type: 'string', default: '160' },
    test: { type: 'string', default: '100' },
    'pairs-test': { type: 'string', default: '35' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '1e-3' },
    'lora-lr': { type: 'string', default: '5e-3' },
    'head-lr': { type: 'string', default: '1e-2' },
    'max-length': { type: 'string', default: '64' },
    replay: { type: 'string', default: '32' },
    lambda: { type: 'string', default: '0.1' },
    seed: { type: 'string', default: '0' },
    // the plan's addWords: words the training texts repeat this often become whole tokens (0: none)
    'add-words': { type: 'string', default: '0' },
  },
});
const [nTrain, nTest, seed] = [+o.train, +o.test, +o.seed];
const bg = await loadLib(o.lib);
mkdirSync(o.work, { recursive: true });
const lines = (rows) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const write = (name, train, test) => {
  writeFileSync(`${o.work}/${name}.train.jsonl`, lines(train));
  writeFileSync(`${o.work}/${name}.test.jsonl`, lines(test));
  return { name, train: train.length, test: test.length };
};

const written = [];
// sentiment: a seeded shuffle of each file, the first nTrain for training and the next nTest for testing
for (const [k, name] of ['imdb', 'yelp', 'amazon'].entries()) {
  // the fixtures end with an empty {"text": "", "class": null} entry
  const rows = JSON.parse(readFileSync(`${o.sentiment}/${name}.json`, 'utf8'))
    .filter((r) => r.class !== null)
    .map((r) => ({ text: r.text.trim(), label: r.class === 1 ? 'pos' : 'neg' }));
  const s = shuffled(rows, seed * 10 + k + 1);
  written.push(write(name, s.slice(0, nTrain), s.slice(nTrain, nTrain + nTest)));
}
// Clough & Stevenson: a seeded split of the 95 answers (topics mixed), answer paired with its source
const LABELS = { 0: 'not plagiarised', 1: 'heavy revision', 2: 'light revision', 3: 'cut & paste' };
const file = 'plagiarism-clough&stevenson.csv';
const pairs = bg
  .parseDelimited(readFileSync(`${o.corpora}/${file}`, 'utf8'), file, { columns: ['answer', 'source', 'label'] })
  .map((r) => ({ text: r.value.answer, pair: r.value.source, label: LABELS[r.value.label] }));
const p = shuffled(pairs, seed * 10 + 9);
const nPairsTest = +o['pairs-test'];
written.push(write('clough', p.slice(nPairsTest), p.slice(0, nPairsTest)));

const model = resolve(o.model);
const reused = existsSync(`${model}/model.safetensors`);
if (!reused) {
  const script = resolve(dirname(fileURLToPath(import.meta.url)), 'pretrain-small.mjs');
  const r = spawnSync(process.execPath, [script, '--lib', o.lib, '--out', model], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`pretrain-small exited ${r.status}`);
}
const task = (name, kind, head) => ({
  name,
  task: kind,
  ...(head ? { head } : {}),
  train: `${name}.train.jsonl`,
  test: `${name}.test.jsonl`,
});
const plan = {
  model,
  tasks: [task('imdb', 'cls', 'sentiment'), task('yelp', 'cls', 'sentiment'), task('amazon', 'cls', 'sentiment'), task('clough', 'pair')],
  epochs: +o.epochs,
  batchSize: +o.batch,
  lr: +o.lr,
  maxLength: +o['max-length'],
  seed,
  ...(+o['add-words'] > 0 ? { addWords: +o['add-words'] } : {}),
  methods: [
    'full',
    { method: 'replay', replayPerTask: +o.replay },
    { method: 'l2sp', l2spLambda: +o.lambda },
    { method: 'lora', lr: +o['lora-lr'], lora: { r: 8, alpha: 16, dropout: 0, targets: ['query', 'value'] } },
    { method: 'features', lr: +o['head-lr'], features: 'scalar-mix' },
  ],
};
writeJson(`${o.work}/plan.json`, plan);
console.error(`wrote ${o.work}/plan.json: ${JSON.stringify(written)}; model ${model} (${reused ? 'reused' : 'pre-trained now'})`);
