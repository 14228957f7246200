// Extractive QA (issue 14, must-show 3) on a generated cloze set: no SQuAD-style set is reachable
// here, so questions are made from OANC's POS-tagged sentences (python3-pattern's corpora).
// How: the context is two consecutive OANC lines (at most 50 words, joined with spaces); one of
// its nouns (NN / NNS / NNP / NNPS, letters only, 3+ characters, occurring once in the context)
// is the answer; the question is the line holding it (at most 25 words) with that word replaced by "what".
// Each line pair gives at most one question (seeded choice). Train and test come from disjoint
// line ranges (--train-lines from line 2001 on, then --test-lines after them). The question
// repeats its line of the context, so a lexical matcher solves it: the rule "the context word
// aligned with 'what' in the best-matching line" is reported next to the first-sentence and
// random-word baselines, so the model's figure can be read against what plain matching gets.
//
// Usage: node bench/finetune/qa.mjs --lib .test-build-exp/dist [--corpora DIR] [--work DIR]
//   [--train-lines 1600] [--test-lines 600] [--epochs 2] [--rows ...] [--json FILE]
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
  rng,
  saveRow,
  table,
  taskModel,
  writeJson,
} from './common.mjs';

const ROWS = ['first-sentence', 'random-word', 'lexical-match', 'random-full', 'bert-full'];
const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: 'dist' },
    corpora: { type: 'string', default: '/tmp/pattern/usr/share/doc/python3-pattern/test/corpora' },
    work: { type: 'string', default: '.test-build-exp/runs' },
    'pretrain-steps': { type: 'string', default: '100' },
    'train-lines': { type: 'string', default: '1600' },
    'test-lines': { type: 'string', default: '600' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '1e-3' },
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
const file = 'tagged-en-oanc.txt';
const lines = bg.parseSlashTagged(readFileSync(`${o.corpora}/${file}`, 'utf8'), file).map((r) => r.value);

/** Cloze questions from lines [from, to), as SQuAD-style JSON lines. */
function cloze(from, to, pick) {
  const out = [];
  for (let i = from; i + 1 < to; i += 2) {
    const pair = [lines[i], lines[i + 1]];
    const words = pair.flatMap((l) => l.tokens);
    if (words.length > 50) continue;
    const count = (w) => words.filter((x) => x === w).length;
    const candidates = pair
      .flatMap((l, s) => l.tokens.map((w, k) => ({ s, k, w, tag: l.tags[k] })))
      .filter((c) => pair[c.s].tokens.length <= 25 && /^NN/.test(c.tag) && /^[A-Za-z]{3,}$/.test(c.w) && count(c.w) === 1);
    if (!candidates.length) continue;
    const c = candidates[Math.floor(pick() * candidates.length)];
    const context = pair.map((l) => l.tokens.join(' ')).join(' ');
    const answerStart =
      (c.s === 0 ? 0 : pair[0].tokens.join(' ').length + 1) + pair[c.s].tokens.slice(0, c.k).join(' ').length + (c.k ? 1 : 0);
    if (context.slice(answerStart, answerStart + c.w.length) !== c.w) throw new Error(`cloze: offset of ${c.w} at line ${i + 1}`);
    const question = pair[c.s].tokens.map((w, k) => (k === c.k ? 'what' : w)).join(' ');
    out.push(
      JSON.stringify({
        id: `oanc-${i + 1}`,
        question,
        context,
        answers: { text: [c.w], answer_start: [answerStart] },
        sentences: pair.map((l) => l.tokens),
      }),
    );
  }
  return out.join('\n');
}
const task = bg.getTask('qa');
const pick = rng(seed + 7);
const trainEnd = 2000 + +o['train-lines'];
const trainText = cloze(2000, trainEnd, pick);
const testText = cloze(trainEnd, trainEnd + +o['test-lines'], pick);
const train = task.read(trainText, 'oanc-cloze-train.jsonl');
const test = task.read(testText, 'oanc-cloze-test.jsonl');
const testSentences = testText.split('\n').map((l) => JSON.parse(l).sentences);
const settings = {
  epochs,
  batchSize,
  lr,
  maxLength,
  seed,
  train: train.length,
  test: test.length,
  lines: { train: [2001, trainEnd], test: [trainEnd + 1, trainEnd + +o['test-lines']] },
};
if (!['cli', 'api'].includes(o.via)) throw new Error(`--via must be cli or api, got '${o.via}'`);
const out = `${o.work}/qa${o.via === 'cli' ? '-cli' : ''}`;

/** The rule: the line of the context sharing most words with the question; its word where the question says "what". */
function lexicalMatch(q, sentences) {
  const qw = q.question.split(' ');
  const at = qw.indexOf('what');
  const best = sentences.map((s) => s.filter((w) => qw.includes(w)).length).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);
  const s = sentences[best];
  return s.length === qw.length ? s[at] : (s.find((w) => !qw.includes(w)) ?? '');
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
  let result;
  if (!row.endsWith('-full')) {
    const r = rng(seed + 11);
    const answers = test.map((q, i) => {
      const words = q.context.split(' ');
      if (row === 'first-sentence') return testSentences[i][0].join(' ');
      if (row === 'random-word') return words[Math.floor(r() * words.length)];
      return lexicalMatch(q, testSentences[i]);
    });
    result = {
      name: row,
      metrics: bg.metrics.squadScores(
        answers,
        test.map((q) => q.answers.text),
      ),
    };
  } else if (o.via === 'cli') {
    // through `bertgpu finetune` / `bertgpu evaluate`
    const modelDir =
      row === 'random-full' ? await randomModelDir(bg, pretrained.bert.dir, `${o.work}/bert-random`, seed) : pretrained.bert.dir;
    const hyper = { epochs, batchSize, lr, maxLength, seed };
    result = cliFineTuneRow({ lib: o.lib, dir: out, name: row, task: 'qa', modelDir, train, test, ...hyper });
  } else {
    const { model, tokenizer } = await taskModel(bg, {
      dir: pretrained.bert.dir,
      task: 'qa',
      labels: undefined,
      seed,
      random: row === 'random-full',
    });
    result = await fineTuneRow(bg, {
      name: row,
      task: 'qa',
      model,
      tokenizer,
      train,
      test,
      epochs,
      batchSize,
      lr,
      maxLength,
      seed,
      metric: 'f1',
    });
    model.dispose();
  }
  saveRow(out, result, settings, t0);
}

const all = loadRows(out, ROWS);
const DESCRIPTIONS = {
  'first-sentence': 'first sentence of the context',
  'random-word': 'a random word of the context',
  'lexical-match': 'lexical match (the aligned word)',
  'random-full': 'random init, full fine-tuning',
  'bert-full': 'pre-trained BERT (mlm-nsp), full fine-tuning',
};
console.log(`OANC cloze QA: ${train.length} training, ${test.length} test questions`);
console.log(
  table(
    all.map((r) => ({ row: DESCRIPTIONS[r.name], EM: r.metrics.exact_match, F1: r.metrics.f1, 'wall s': Math.round(r.seconds) })),
    ['row', 'EM', 'F1', 'wall s'],
  ),
);
if (o.json) writeJson(o.json, { experiment: 'qa', settings, pretrained, rows: all, machine: machine() });
