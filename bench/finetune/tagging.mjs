// Tagging (issue 14, must-show 2): Penn POS tags, trained on the WSJ sample and tested on OANC
// sentences (another corpus: news -> mixed American English), token accuracy against the
// most-frequent-tag-per-word baseline (unknown words get the most frequent tag overall).
// Lines longer than --chunk words are cut into pieces of at most that many, so that no word is
// lost to the model's max length (the baseline sees the same pieces).
//
// Data: Debian python3-pattern's test corpora (personal-use licence: extract, never commit):
//   cd /tmp/pattern && apt-get download python3-pattern && dpkg -x python3-pattern_*.deb .
// Usage: node bench/finetune/tagging.mjs --lib .test-build-exp/dist
//   --corpora /tmp/pattern/usr/share/doc/python3-pattern/test/corpora [--test-lines 1000]
//   [--work DIR] [--epochs 2] [--rows baseline,random-full,bert-full] [--json FILE] [--limit N (WSJ lines; a quick check)]
// The pre-trained BERT is sentiment.mjs's (WORK/bert; pre-trained here if missing).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  cliFineTuneRow,
  fineTuneRow,
  loadLib,
  loadRows,
  machine,
  pretrain,
  randomModelDir,
  saveRow,
  table,
  taskModel,
  writeJson,
} from './common.mjs';

const ROWS = ['baseline', 'random-full', 'bert-full', 'electra-full'];
const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist' },
    corpora: { type: 'string', default: '/tmp/pattern/usr/share/doc/python3-pattern/test/corpora' },
    work: { type: 'string', default: '.test-build-exp/runs' },
    'pretrain-steps': { type: 'string', default: '100' },
    'test-lines': { type: 'string', default: '1000' },
    chunk: { type: 'string', default: '40' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '1e-3' },
    'max-length': { type: 'string', default: '128' },
    seed: { type: 'string', default: '0' },
    limit: { type: 'string' },
    rows: { type: 'string', default: 'baseline,random-full,bert-full' },
    via: { type: 'string', default: 'cli' },
    json: { type: 'string' },
  },
});
const rows = o.rows.split(',');
for (const r of rows) if (!ROWS.includes(r)) throw new Error(`--rows: unknown row '${r}' (rows: ${ROWS.join(', ')})`);
const [epochs, batchSize, lr, maxLength, seed, chunk] = [+o.epochs, +o.batch, +o.lr, +o['max-length'], +o.seed, +o.chunk];

const bg = await loadLib(o.lib);
/** word/TAG lines -> {tokens, tags} JSON lines of at most `chunk` words. */
function sentences(file, maxLines) {
  const text = readFileSync(`${o.corpora}/${file}`, 'utf8').split('\n').slice(0, maxLines).join('\n');
  return bg
    .parseSlashTagged(text, file)
    .flatMap(({ value: { tokens, tags } }) => {
      const pieces = [];
      for (let i = 0; i < tokens.length; i += chunk)
        pieces.push(JSON.stringify({ tokens: tokens.slice(i, i + chunk), tags: tags.slice(i, i + chunk) }));
      return pieces;
    })
    .join('\n');
}
const task = bg.getTask('tag');
const train = task.read(sentences('tagged-en-wsj.txt', o.limit ? +o.limit : Infinity), 'wsj.jsonl');
const test = task.read(sentences('tagged-en-oanc.txt', +o['test-lines']), 'oanc.jsonl');
// the tag inventory of both files (Penn's): a test tag never seen in training simply cannot be predicted
const labels = task.labelSet([...train, ...test]);
const words = (exs) => exs.reduce((n, e) => n + e.words.length, 0);
const settings = {
  epochs,
  batchSize,
  lr,
  maxLength,
  chunk,
  seed,
  train: { pieces: train.length, words: words(train) },
  test: { lines: +o['test-lines'], pieces: test.length, words: words(test) },
  tags: labels.labels.length,
};
// the fine-tuning rows run through `bertgpu finetune` / `bertgpu predict` (--via cli; scored here, as OANC's '"'
// tag is not among WSJ's and `bertgpu evaluate` refuses a tag the model does not have) or the library (--via api)
if (!['cli', 'api'].includes(o.via)) throw new Error(`--via must be cli or api, got '${o.via}'`);
const out = `${o.work}/tagging-test${o['test-lines']}${o.via === 'cli' ? `-cli-e${epochs}` : ''}`;

const pretrained = {};
for (const [name, objective] of [
  ['bert', 'mlm-nsp'],
  ['electra', 'electra'],
]) {
  if (!rows.some((r) => r.startsWith(name) || (name === 'bert' && r.startsWith('random')))) continue;
  const dir = `${o.work}/${name}`;
  pretrained[name] = { dir, ...pretrain({ lib: o.lib, objective, out: dir, steps: +o['pretrain-steps'] }) };
}

await bg.init();
for (const row of rows) {
  const t0 = Date.now();
  let result;
  if (row === 'baseline') {
    const counts = new Map();
    const overall = new Map();
    for (const e of train)
      e.words.forEach((w, i) => {
        const c = counts.get(w) ?? new Map();
        counts.set(w, c.set(e.tags[i], (c.get(e.tags[i]) ?? 0) + 1));
        overall.set(e.tags[i], (overall.get(e.tags[i]) ?? 0) + 1);
      });
    const top = (m) => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0][0];
    const fallback = top(overall);
    let right = 0,
      n = 0,
      unknown = 0,
      unknownRight = 0;
    for (const e of test)
      e.words.forEach((w, i) => {
        const known = counts.has(w);
        const tag = known ? top(counts.get(w)) : fallback;
        n++;
        if (tag === e.tags[i]) right++;
        if (!known) {
          unknown++;
          if (tag === e.tags[i]) unknownRight++;
        }
      });
    result = { name: row, metrics: { accuracy: right / n }, unknownWords: unknown / n, unknownAccuracy: unknownRight / unknown, fallback };
  } else if (o.via === 'cli') {
    const [source] = row.split('-');
    const modelDir =
      source === 'random' ? await randomModelDir(bg, pretrained.bert.dir, `${o.work}/bert-random`, seed) : pretrained[source].dir;
    // the training pieces only: the label set is WSJ's, as `bertgpu finetune` finds it
    const hyper = { epochs, batchSize, lr, maxLength, seed };
    const r = cliFineTuneRow({ lib: o.lib, dir: out, name: row, task: 'tag', modelDir, train, test, ...hyper, predictOnly: true });
    let right = 0;
    let n = 0;
    test.forEach((e, i) =>
      e.tags.forEach((t, k) => {
        n++;
        if (r.predictions[i].tags[k] === t) right++;
      }),
    );
    const { predictions: _p, ...kept } = r;
    result = { ...kept, metrics: { accuracy: right / n } };
  } else {
    const [source] = row.split('-');
    const { model, tokenizer } = await taskModel(bg, {
      dir: pretrained[source === 'random' ? 'bert' : source].dir,
      task: 'tag',
      labels,
      seed,
      random: source === 'random',
    });
    result = await fineTuneRow(bg, {
      name: row,
      task: 'tag',
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
      metric: 'accuracy',
    });
    model.dispose();
  }
  saveRow(out, result, settings, t0);
}

const all = loadRows(out, ROWS);
const DESCRIPTIONS = {
  baseline: 'most frequent tag per word (unknown: overall)',
  'random-full': 'random init, full fine-tuning',
  'bert-full': 'pre-trained BERT (mlm-nsp), full fine-tuning',
  'electra-full': 'pre-trained ELECTRA, full fine-tuning',
};
console.log(
  `train: WSJ ${settings.train.words} words (${train.length} pieces); test: OANC's first ${o['test-lines']} lines, ${settings.test.words} words`,
);
console.log(
  table(
    all.map((r) => ({
      row: DESCRIPTIONS[r.name],
      'OANC token accuracy': r.metrics.accuracy,
      'per epoch': r.perEpoch?.map((e) => e.accuracy.toFixed(3)).join(' '),
      'wall s': Math.round(r.seconds),
    })),
    ['row', 'OANC token accuracy', 'per epoch', 'wall s'],
  ),
);
if (o.json) writeJson(o.json, { experiment: 'tagging', settings, pretrained, rows: all, machine: machine() });
