// Fine-tuning on the shared Trainer: a run learns a task from data and beats its majority class,
// keeps the best model by its metric and stops early; gradient accumulation averages over every
// labelled token of the accumulated batch (not per micro-batch); a resumed run repeats the
// uninterrupted losses; a frozen encoder and LoRA train the head / adapter only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { device, rng, tinyBertConfig } from './helpers.js';

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'good',
  'bad',
  'great',
  'awful',
  'film',
  'plot',
  'the',
  'a',
  'was',
  'john',
  'smith',
  'paris',
  'in',
  'lives',
  'mary',
];
const tok = new bg.WordPieceTokenizer(VOCAB);
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n');

/** Sentiment from one word: good / great -> pos, bad / awful -> neg, among fillers. */
function sentiment(n: number, seed: number) {
  const rows: object[] = [];
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  for (let i = 0; i < n; i++) {
    const word = pick(['good', 'great', 'bad', 'awful']);
    const filler = Array.from({ length: 1 + (i % 4) }, () => pick(['the', 'film', 'plot', 'was', 'a']));
    rows.push({ text: [...filler, word].join(' '), label: word === 'good' || word === 'great' ? 'pos' : 'neg' });
  }
  return jsonl(rows);
}

function tiny(family: bg.BaseName, task: bg.AnyTask, labels?: bg.LabelSet, dropout = 0) {
  const config = tinyBertConfig({ model_type: family, vocab_size: VOCAB.length, ...task.configFields(labels) }, dropout);
  return bg.createModel(task.modelClass(family), config, { generator: new bg.Generator(11) });
}

test('cls: fine-tuning learns held-back sentiment above the majority class; the best model is kept; early stopping stops', async () => {
  await device();
  const task = bg.getTask('cls');
  const train = task.read(sentiment(48, 1), 'train.jsonl');
  const evalSet = task.read(sentiment(24, 2), 'eval.jsonl');
  const labels = task.labelSet!(train);
  const model = tiny('bert', task, labels);
  const run = bg.finetune({ task: 'cls', model, tokenizer: tok, train, eval: evalSet, labels, epochs: 8, batchSize: 8, lr: 1e-2, seed: 1 });
  const losses: number[] = [];
  run.onLog = (r) => losses.push(r.loss);
  await run.run();
  const majority = Math.max(...['pos', 'neg'].map((l) => evalSet.filter((e: any) => e.label === l).length)) / evalSet.length;
  const last = run.evals.at(-1)!;
  console.log(
    `\n  cls: loss ${losses[0].toFixed(3)} -> ${losses.at(-1)!.toFixed(3)}; held-back accuracy ${last.metrics.accuracy} vs majority ${majority.toFixed(3)} (${run.evals.length} evaluations)`,
  );
  assert.is(run.evals.length, 8, 'one evaluation per epoch');
  assert.ok(last.metrics.accuracy! > majority + 0.2, `accuracy ${last.metrics.accuracy} vs majority ${majority}`);
  assert.ok(
    run.best && run.best.metrics.accuracy === Math.max(...run.evals.map((e) => e.metrics.accuracy!)),
    'best = the highest accuracy',
  );
  const preds = (await run.predict(
    task.read(jsonl([{ text: 'the film was great' }, { text: 'awful plot' }]), 'in.jsonl', { labelled: false }),
  )) as bg.ClassPrediction[];
  assert.equal(
    preds.map((p) => p.label),
    ['pos', 'neg'],
  );
  // the best model's files load as a Hugging Face directory of the task class, labels included
  const loaded = await bg.fromPretrained({
    config: new TextDecoder().decode(run.best.files['config.json']),
    weights: run.best.files['model.safetensors'],
  });
  assert.is(loaded.model.architecture, 'BertForSequenceClassification');
  assert.equal(loaded.config.id2label, { 0: 'neg', 1: 'pos' });
  loaded.model.dispose();
  run.dispose();
  // patience 0: stops at the first evaluation that does not improve
  const m2 = tiny('bert', task, labels);
  const early = bg.finetune({
    task: 'cls',
    model: m2,
    tokenizer: tok,
    train,
    eval: evalSet,
    labels,
    epochs: 30,
    batchSize: 8,
    lr: 1e-2,
    seed: 1,
    patience: 0,
    metric: 'accuracy',
  });
  await early.run();
  assert.is(early.stopped, 'early');
  assert.ok(early.evals.length < 30);
  early.dispose();
  model.dispose();
  m2.dispose();
});

test('gradient accumulation: 2 micro-batches of 2 give the update of one batch of 4 (mean over all labelled tokens), not a mean of means', async () => {
  await device();
  const task = bg.getTask('tag');
  // different numbers of labelled tokens per sentence: micro-batch means would weigh them wrongly
  const data = jsonl([
    { tokens: ['john'], tags: ['B-PER'] },
    { tokens: ['mary', 'smith', 'lives', 'in', 'paris'], tags: ['B-PER', 'I-PER', 'O', 'O', 'B-LOC'] },
    { tokens: ['paris'], tags: ['B-LOC'] },
    { tokens: ['john', 'smith', 'lives', 'in', 'paris', 'the', 'a'], tags: ['B-PER', 'I-PER', 'O', 'O', 'B-LOC', 'O', 'O'] },
  ]);
  const train = task.read(data, 'tags.jsonl');
  const labels = task.labelSet!(train);
  const after = async (batchSize: number, accumulationSteps: number, meanOfMeans = false) => {
    const model = tiny('bert', task, labels);
    const run = bg.finetune({
      task: 'tag',
      model,
      tokenizer: tok,
      train,
      labels,
      steps: 1,
      batchSize,
      accumulationSteps,
      lr: 1e-2,
      warmupRatio: 0,
      maxGradNorm: 1e9,
      weightDecay: 0,
    });
    if (meanOfMeans) (run.trainer.objective as { targetCount?: unknown }).targetCount = undefined;
    await run.run();
    const w = [
      ...(await model
        .namedParameters()
        .find(([n]) => n === 'classifier.weight')![1]
        .toArray()),
    ];
    run.dispose();
    model.dispose();
    return w;
  };
  const whole = await after(4, 1);
  const accumulated = await after(2, 2);
  const naive = await after(2, 2, true);
  const diff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  console.log(
    `\n  classifier after one step: |accumulated - whole| = ${diff(accumulated, whole).toExponential(2)}, |mean of means - whole| = ${diff(naive, whole).toExponential(2)}`,
  );
  assert.ok(diff(accumulated, whole) < 1e-6, `accumulated vs whole batch: ${diff(accumulated, whole)}`);
  assert.ok(diff(naive, whole) > 1e-4, 'the mean of per-micro-batch means differs (the test can fail)');
});

test('a resumed fine-tuning run continues with exactly the losses of an uninterrupted one', async () => {
  await device();
  const task = bg.getTask('cls');
  const train = task.read(sentiment(16, 3), 'train.jsonl');
  const labels = task.labelSet!(train);
  const options = { task: 'cls' as const, tokenizer: tok, train, labels, steps: 6, batchSize: 4, lr: 1e-3, seed: 4, logEvery: 1 };
  const straight = bg.finetune({ ...options, model: tiny('bert', task, labels, 0.1) });
  const want: number[] = [];
  straight.onLog = (r) => want.push(r.loss);
  await straight.run();
  const first = bg.finetune({ ...options, model: tiny('bert', task, labels, 0.1) });
  const got: number[] = [];
  first.onLog = (r) => got.push(r.loss);
  for (let i = 0; i < 3; i++) await first.trainer.trainStep();
  const dir = join(mkdtempSync(join(tmpdir(), 'bertgpu-ft-')), 'checkpoint');
  await first.saveCheckpoint(dir);
  const resumed = await bg.FineTuneRun.resume(dir, options);
  resumed.onLog = (r) => got.push(r.loss);
  await resumed.run();
  assert.equal(got, want);
  for (const r of [straight, first, resumed]) {
    r.dispose();
    r.options.model.dispose();
  }
});

test('a frozen encoder trains the head only (no gradient kernels for the encoder); LoRA trains the adapter and head', async () => {
  const rt = await device();
  const task = bg.getTask('cls');
  const train = task.read(sentiment(16, 5), 'train.jsonl');
  const labels = task.labelSet!(train);
  const dispatches = async (extra: Partial<bg.FineTuneOptions>) => {
    const model = tiny('bert', task, labels);
    const run = bg.finetune({ task: 'cls', model, tokenizer: tok, train, labels, steps: 3, batchSize: 4, lr: 1e-3, ...extra });
    await run.trainer.trainStep();
    await rt.sync();
    const d0 = rt.dispatchCount;
    await run.trainer.trainStep();
    const per = rt.dispatchCount - d0;
    const trained = run.trainer.optimizer.parameters.map((p) => p.name);
    const encoderGrads = model.namedParameters().filter(([n, p]) => n.startsWith('bert.') && p.grad).length;
    run.dispose();
    model.dispose();
    return { per, trained, encoderGrads };
  };
  const full = await dispatches({});
  const frozen = await dispatches({ freezeEncoder: true });
  const lora = await dispatches({ lora: { r: 2, alpha: 4 } });
  console.log(`\n  dispatches per step: full ${full.per}, frozen encoder ${frozen.per}, LoRA ${lora.per}`);
  assert.equal(frozen.trained, ['classifier.weight', 'classifier.bias']);
  assert.is(frozen.encoderGrads, 0);
  assert.ok(frozen.per < lora.per && lora.per < full.per, `frozen ${frozen.per} < LoRA ${lora.per} < full ${full.per}`);
  assert.ok(
    lora.trained.every((n) => n.includes('.lora_') || n.startsWith('base_model.model.classifier.')),
    lora.trained.join(', '),
  );
});

test('frozen features: a scalar mix / the last four layers feed a new head; the encoder gets no gradient and does not change', async () => {
  const rt = await device();
  const task = bg.getTask('cls');
  const train = task.read(sentiment(48, 1), 'train.jsonl');
  const evalSet = task.read(sentiment(24, 2), 'eval.jsonl');
  const labels = task.labelSet!(train);
  const majority = Math.max(...['pos', 'neg'].map((l) => evalSet.filter((e: any) => e.label === l).length)) / evalSet.length;
  for (const features of ['scalar-mix', 'concat-last-4'] as const) {
    const encoder = tiny('bert', task, labels);
    const before = [...(await encoder.namedParameters()[0][1].toArray())];
    const run = bg.finetune({
      task: 'cls',
      model: encoder,
      tokenizer: tok,
      train,
      eval: evalSet,
      labels,
      epochs: 8,
      batchSize: 8,
      lr: 3e-2,
      seed: 1,
      features,
    });
    await run.trainer.trainStep();
    await rt.sync();
    const d0 = rt.dispatchCount;
    await run.trainer.trainStep();
    const per = rt.dispatchCount - d0;
    await run.run();
    const acc = run.evals.at(-1)!.metrics.accuracy!;
    const names = run.trainer.optimizer.parameters.map((p) => p.name);
    console.log(
      `\n  ${features}: ${per} dispatches per step, trains ${names.join(', ')}; held-back accuracy ${acc.toFixed(3)} vs majority ${majority.toFixed(3)}${features === 'scalar-mix' ? `; layer weights ${(await (run.model as bg.FeatureClassifier).layerWeights()).map((w) => w.toFixed(2)).join(' ')}` : ''}`,
    );
    assert.equal(
      names,
      features === 'scalar-mix'
        ? ['scalar_mix.weights', 'scalar_mix.gamma', 'classifier.weight', 'classifier.bias']
        : ['classifier.weight', 'classifier.bias'],
    );
    assert.ok(acc > majority, `accuracy ${acc} vs majority ${majority}`);
    assert.ok(
      encoder.namedParameters().every(([, p]) => p.grad === null),
      'no encoder gradient',
    );
    assert.equal([...(await encoder.namedParameters()[0][1].toArray())], before, 'the encoder is unchanged');
    run.dispose();
    encoder.dispose();
  }
});

test('qa: maxAnswerLength bounds the spans of evaluation and predict (HF run_qa --max_answer_length)', async () => {
  await device();
  const task = bg.getTask('qa');
  // the answer is always two words ("john smith"), so a model that learned it gives two-token spans
  const rows = ['john smith lives in paris', 'the film was mary smith', 'a plot in paris was john smith', 'mary smith was a film'].map(
    (context, i) => {
      const answer = /(john|mary) smith/.exec(context)!;
      return { id: `q${i}`, question: 'who ?', context, answers: { text: [answer[0]], answer_start: [answer.index] } };
    },
  );
  const examples = task.read(jsonl(rows), 'qa.jsonl');
  const spans = async (maxAnswerLength?: number) => {
    // same seed, same data: the same trained weights, decoded with or without the bound
    const model = tiny('bert', task);
    const run = bg.finetune({
      task: 'qa',
      model,
      tokenizer: tok,
      train: examples,
      eval: examples,
      steps: 60,
      batchSize: 4,
      lr: 1e-2,
      seed: 1,
      maxAnswerLength,
    });
    await run.run();
    const preds = (await run.predict(examples)) as bg.QaPrediction[];
    const em = run.evals.at(-1)!.metrics.exact_match;
    run.dispose();
    model.dispose();
    return { em, tokens: preds.map((p) => tok.encode(p.answer, null, { addSpecialTokens: false }).inputIds.length) };
  };
  const free = await spans();
  assert.is(free.em, 100, `unbounded: exact match ${free.em}, spans of ${free.tokens} tokens`);
  const bounded = await spans(1);
  assert.ok(Math.max(...bounded.tokens) <= 1, `spans of ${bounded.tokens} tokens with maxAnswerLength 1`);
  assert.is(bounded.em, 0, 'evaluation decodes with the bound too');
});

test('run() measures the matmul kernels of its shapes after the first step, once (matmulTuning in memory)', async () => {
  const rt = await device();
  const saved = rt.options.matmulTuning;
  const task = bg.getTask('cls');
  const train = task.read(sentiment(16, 5), 'train.jsonl');
  const labels = task.labelSet!(train);
  const model = tiny('bert', task, labels);
  try {
    rt.options.matmulTuning = 'memory';
    rt.matmulChoices.clear();
    const run = bg.finetune({ task: 'cls', model, tokenizer: tok, train, labels, steps: 2, batchSize: 4, lr: 1e-3 });
    await run.run();
    const chosen = rt.matmulChoices.size;
    assert.ok(chosen >= 3, `${chosen} shape classes measured`);
    assert.is(rt.matmulUntuned.size, 0, 'every product of the step was measured');
    const before = new Map(rt.matmulChoices);
    await run.trainer.tuneKernels(); // once per trainer
    assert.equal([...rt.matmulChoices], [...before]);
    run.dispose();
  } finally {
    rt.options.matmulTuning = saved;
    rt.matmulChoices.clear();
    model.dispose();
  }
});

test.run();
