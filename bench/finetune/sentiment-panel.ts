// The fine-tune page's sentiment panel under Node (bench/finetune/sentiment-panel.mjs bundles and
// runs this): the page's recipe — the base's vocabulary plus the words seen `min` times in the
// training sentences as whole tokens (addWords), full fine-tuning on imdb + amazon, the last
// evaluation on held-back yelp — with knobs, and optionally task-adaptive pre-training (TAPT:
// MLM + NSP on the training sentences before fine-tuning). Prints one JSON line: the accuracy, the
// bag of words and majority class on the same split, and McNemar's test against the bag of words.
// Knobs: --base DIR --seed --per-file --eval --epochs --lr --batch --dropout --min --wd --tapt-steps --tapt-lr
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as bg from '../../src/index.js';

const { values: o } = parseArgs({
  options: Object.fromEntries(
    ['base', 'seed', 'per-file', 'eval', 'epochs', 'lr', 'batch', 'dropout', 'min', 'wd', 'max-length', 'tapt-steps', 'tapt-lr'].map(
      (k) => [k, { type: 'string' as const }],
    ),
  ),
});
const num = (k: string, d: number) => (o[k] !== undefined ? Number(o[k]) : d);
const perFile = num('per-file', 500),
  evalSize = num('eval', 500),
  epochs = num('epochs', 3),
  lr = num('lr', 1e-3);
const seed = num('seed', 0),
  dropout = num('dropout', 0),
  minCount = num('min', 2),
  wd = num('wd', 0.01),
  batch = num('batch', 8);
const maxLength = num('max-length', 64);
const dir = o.base ?? '.bench-out/continual/small-bert';
await bg.init();
const fx = 'node_modules/sentiment/test/fixtures';
const rows = (n: string) =>
  (JSON.parse(readFileSync(`${fx}/${n}.json`, 'utf8')) as { text: string; class: number | null }[])
    .filter((x) => x.class !== null)
    .map((x) => ({ text: x.text.trim(), label: x.class === 1 ? 'pos' : 'neg' }));
const sample = (n: string, k: number, m: number) => bg.seededShuffle(rows(n), seed * 10 + k).slice(0, m);
const train = [...sample('imdb', 1, perFile), ...sample('amazon', 2, perFile)];
const test = sample('yelp', 3, evalSize);
const task = bg.getTask('cls');
const read = (r: typeof train, s: string) => task.read(r.map((x) => JSON.stringify(x)).join('\n'), s);
const words =
  minCount > 0
    ? bg.repeatedWords(
        train.map((e) => e.text),
        minCount,
      )
    : [];
const x = bg.addWords(
  {
    vocab: readFileSync(`${dir}/vocab.txt`, 'utf8'),
    config: readFileSync(`${dir}/config.json`, 'utf8'),
    weights: new Uint8Array(readFileSync(`${dir}/model.safetensors`)),
  },
  words,
);
const tokenizer = bg.WordPieceTokenizer.fromVocabText(x.vocab, {}, 'vocab.txt');
const taptSteps = num('tapt-steps', 0),
  taptLr = num('tapt-lr', 1e-3);
if (taptSteps > 0) {
  // task-adaptive MLM (+NSP) on the training sentences, the heads kept, the decoder bias resized
  const orig = bg.readSafetensors(new Uint8Array(readFileSync(`${dir}/model.safetensors`)), 'orig').tensors;
  const ext = bg.readSafetensors(x.weights, 'ext').tensors;
  const out: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [n, t] of ext) out[n] = { data: t.data as Float32Array, shape: t.shape };
  const old = tokenizerOld();
  for (const [n, t] of orig) {
    if (!n.startsWith('cls.')) continue;
    if (n === 'cls.predictions.bias') {
      const V = t.shape[0];
      const data = new Float32Array(V + x.added.length);
      data.set(t.data);
      x.added.forEach((w, k) => {
        const ids = old.encode(w, null, { addSpecialTokens: false }).inputIds;
        for (const id of ids) data[V + k] += (t.data as Float32Array)[id] / ids.length;
      });
      out[n] = { data, shape: [V + x.added.length] };
    } else out[n] = { data: t.data as Float32Array, shape: t.shape };
  }
  const pre = (
    await bg.fromPretrained(
      { config: x.config, weights: bg.writeSafetensors(out, { format: 'pt' }) },
      { architecture: 'BertForPreTraining' },
    )
  ).model;
  const texts = bg.seededShuffle(
    train.map((e) => e.text),
    seed + 5,
  );
  const docs: string[][] = [];
  for (let i = 0; i < texts.length; i += 6) docs.push(texts.slice(i, i + 6));
  const dataset = new bg.PretrainingDataset({ tokenizer, mode: 'bert', sentenceDocuments: docs, maxSeqLength: 64, seed });
  const objective = bg.createObjective('mlm-nsp', pre.config, seed, { model: pre });
  const trainer = new bg.Trainer(objective, pre.config, bg.datasetSource(dataset, 16), {
    steps: taptSteps,
    lr: taptLr,
    warmupSteps: Math.ceil(taptSteps / 10),
    seed,
    logEvery: 50,
  });
  trainer.onLog = (r) => console.error(`tapt step ${r.step} loss ${r.loss.toFixed(3)}`);
  await trainer.run();
  const files = await bg.exportPretrained(pre);
  x.weights = new Uint8Array(files['model.safetensors']);
  pre.dispose?.();
}
function tokenizerOld() {
  return bg.WordPieceTokenizer.fromVocabText(readFileSync(`${dir}/vocab.txt`, 'utf8'), {}, 'vocab.txt');
}
const bow = bg.trainBowClassifier(
  train.map((e) => e.text),
  train.map((e) => e.label),
  { seed },
);
const bowAcc = test.filter((e) => bow.predict(e.text) === e.label).length / test.length;
const maj = bg.majorityBaseline(
  train.map((e) => e.label),
  test.map((e) => e.label),
);
const trainEx = read(train, 'train.jsonl'),
  testEx = read(test, 'yelp.jsonl');
const labels = task.labelSet!(trainEx);
const architecture = task.modelClass('bert');
const fields = { ...task.configFields(labels), hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout };
const model = (
  await bg.fromPretrained(
    { config: x.config, weights: x.weights },
    { architecture, allowMissing: true, config: fields, generator: new bg.Generator(seed) },
  )
).model;
const t0 = Date.now();
const run = bg.finetune({
  task: 'cls',
  model,
  tokenizer,
  train: trainEx,
  eval: testEx,
  labels,
  epochs,
  batchSize: batch,
  lr,
  maxLength,
  seed,
  weightDecay: wd,
  evalEvery: 1e9,
});
await run.run({ aborted: false });
const ev = run.evals.at(-1)!;
const preds = (await run.predict(testEx)) as bg.ClassPrediction[];
const vsBow = bg.metrics.mcnemar(
  preds.map((p, i) => p.label === test[i].label),
  test.map((e) => bow.predict(e.text) === e.label),
);
console.log(
  JSON.stringify({
    taptSteps,
    taptLr,
    perFile,
    evalSize,
    epochs,
    lr,
    seed,
    dropout,
    minCount,
    wd,
    batch,
    added: x.added.length,
    steps: run.trainer.step,
    acc: ev.metrics.accuracy,
    bow: bowAcc,
    pBow: vsBow.pValue,
    onlyModel: vsBow.onlyFirst,
    onlyBow: vsBow.onlySecond,
    maj: maj.accuracy,
    s: (Date.now() - t0) / 1000,
  }),
);
process.exit(0);
