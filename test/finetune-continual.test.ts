// Continual learning (src/finetune/continual.ts): the matrix metrics on a hand-made matrix, the
// L2-SP penalty's value and gradient (by hand and against finite differences), the extraLoss hook
// of a fine-tuning run, a run with a mixIn task of another head on the same base (loss and
// gradients the mean over every unit of the batch), a tiny two-task run of every method in which
// the adapter method forgets nothing (the first task's adapter and head bit-identical after the
// second stage, its accuracy unchanged), replay across heads (the first head trained in the
// second stage only with replay), and `bertgpu continual --plan` on a tiny plan and on bad plans.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { assertClose, device, rng, tinyBertConfig } from './helpers.js';
import { buildCli, cli } from './cli-helpers.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'great', 'awful', 'film', 'plot', 'the', 'a', 'was', 'meal'];
const tok = new bg.WordPieceTokenizer(VOCAB);

/** Sentiment from one word among fillers: `positive` / `negative` words decide the label. */
function sentiment(n: number, seed: number, positive: string, negative: string): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const word = pick([positive, negative]);
    const filler = Array.from({ length: 1 + (i % 3) }, () => pick(['the', 'film', 'plot', 'was', 'a', 'meal']));
    return JSON.stringify({ text: [...filler, word].join(' '), label: word === positive ? 'pos' : 'neg' });
  }).join('\n');
}

/** Tagging on the same vocabulary: sentiment words ADJ, the rest X. */
function tagging(n: number, seed: number): string {
  const r = rng(seed);
  const words = ['the', 'film', 'plot', 'was', 'a', 'meal', 'good', 'bad', 'great', 'awful'];
  return Array.from({ length: n }, (_, i) => {
    const tokens = Array.from({ length: 2 + (i % 4) }, () => words[Math.floor(r.next() * words.length)]);
    return JSON.stringify({ tokens, tags: tokens.map((w) => (['good', 'bad', 'great', 'awful'].includes(w) ? 'ADJ' : 'X')) });
  }).join('\n');
}

/** Checks that `p` fails with a message matching `pattern`. */
const rejects = (p: Promise<unknown>, pattern: RegExp) =>
  p.then(
    () => assert.unreachable(`expected an error matching ${pattern}`),
    (e: Error) => assert.match(e.message, pattern),
  );

const cls = bg.getTask('cls');
const tag = bg.getTask('tag');
const DATA = {
  film: { train: sentiment(32, 1, 'good', 'bad'), test: sentiment(16, 2, 'good', 'bad') },
  meal: { train: sentiment(32, 3, 'great', 'awful'), test: sentiment(16, 4, 'great', 'awful') },
};

/** A tiny pre-trained-looking encoder directory (random weights, the test vocabulary). */
async function modelDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'continual-model-'));
  const labels = cls.labelSet!(cls.read(DATA.film.train, 'film.jsonl'));
  const config = tinyBertConfig({ vocab_size: VOCAB.length, ...cls.configFields(labels) });
  const model = bg.createModel('BertForSequenceClassification', config, { generator: new bg.Generator(5) });
  for (const [name, bytes] of Object.entries(await bg.exportPretrained(model, tok))) writeFileSync(join(dir, name), bytes);
  model.dispose();
  return dir;
}

const tasks = (): bg.ContinualTask[] =>
  (['film', 'meal'] as const).map((name) => ({
    name,
    task: 'cls',
    head: 'sentiment',
    train: cls.read(DATA[name].train, `${name}.train.jsonl`),
    test: cls.read(DATA[name].test, `${name}.test.jsonl`),
  }));

const SETTINGS = { epochs: 8, batchSize: 8, lr: 3e-2, maxLength: 16, replayPerTask: 8, l2spLambda: 0.1, lora: { r: 2, alpha: 4 } };

test('continualMetrics: average accuracy, BWT, forgetting and per-stage averages of a hand-made matrix', () => {
  const R = [
    [0.5, 0.9, 0.6],
    [null, 0.8, 0.5],
    [null, null, 0.7],
  ];
  const m = bg.continualMetrics(R);
  assertClose([m.averageAccuracy], [0.6], { what: 'average accuracy (0.6 + 0.5 + 0.7) / 3' });
  assertClose([m.justLearned], [(0.5 + 0.8 + 0.7) / 3], { what: 'just learned' });
  assertClose([m.backwardTransfer!], [-0.1], { what: 'BWT ((0.6 - 0.5) + (0.5 - 0.8)) / 2' });
  assertClose([m.forgetting!], [0.3], { what: 'forgetting ((0.9 - 0.6) + (0.8 - 0.5)) / 2' });
  assertClose(m.averagePerStage, [0.5, 0.85, 0.6], { what: 'per stage' });
  const one = bg.continualMetrics([[0.7]]);
  assert.is(one.backwardTransfer, null);
  assert.is(one.forgetting, null);
  assert.throws(
    () =>
      bg.continualMetrics([
        [0.5, 0.6],
        [null, null],
      ]),
    /R\[1\]\[1\].*must be a number, got null/,
  );
  assert.throws(() => bg.continualMetrics([[0.5], [0.4, 0.3]]), /row 0 has 1 stages, expected 2/);
});

test('l2spPenalty: (lambda / 2) ||p - anchor||^2 with gradient lambda (p - anchor), by hand and against finite differences', async () => {
  await device();
  const p = bg.tensor(Float32Array.from([1, 2, 3]), [3]).setRequiresGrad();
  const anchor = bg.tensor(Float32Array.from([0.5, 2, 1]), [3]);
  const q = bg.tensor(Float32Array.from([0.25, -1, 0, 2]), [2, 2]).setRequiresGrad();
  const qAnchor = bg.tensor(Float32Array.from([0, -1, 1, 1]), [2, 2]);
  const loss = bg.l2spPenalty(
    [
      [p, anchor],
      [q, qAnchor],
    ],
    0.2,
  );
  // 0.1 * ((0.25 + 0 + 4) + (0.0625 + 0 + 1 + 1)) = 0.63125
  assertClose([await loss.item()], [0.63125], { what: 'penalty' });
  loss.backward();
  assertClose(await p.grad!.toArray(), [0.1, 0, 0.4], { what: 'dP' });
  assertClose(await q.grad!.toArray(), [0.05, 0, -0.2, 0.2], { what: 'dQ' });
  // finite differences on random values
  const r = rng(7);
  const x = Float32Array.from(r.uniform(6));
  const x0 = Float32Array.from(r.uniform(6));
  const lambda = 0.37;
  const value = async (v: Float32Array) => {
    const t = bg.tensor(v, [2, 3]);
    const a = bg.tensor(x0, [2, 3]);
    const out = bg.l2spPenalty([[t, a]], lambda);
    const y = await out.item();
    for (const z of [t, a, out]) z.dispose();
    return y;
  };
  const t = bg.tensor(x, [2, 3]).setRequiresGrad();
  const out = bg.l2spPenalty([[t, bg.tensor(x0, [2, 3])]], lambda);
  out.backward();
  const grad = await t.grad!.toArray();
  const h = 1e-2;
  const numeric: number[] = [];
  for (let i = 0; i < 6; i++) {
    const up = Float32Array.from(x);
    const down = Float32Array.from(x);
    up[i] += h;
    down[i] -= h;
    numeric.push(((await value(up)) - (await value(down))) / (2 * h));
  }
  assertClose(grad, numeric, { rtol: 1e-3, atol: 1e-4, what: 'gradient vs central differences' });
  assert.throws(() => bg.l2spPenalty([], 1), /no parameters/);
  assert.throws(() => bg.l2spPenalty([[p, anchor]], -1), /lambda must be a number >= 0, got -1/);
});

test('finetune extraLoss: the term is added to every step and logged as parts.task / parts.extra', async () => {
  await device();
  const train = cls.read(DATA.film.train, 'film.jsonl');
  const labels = cls.labelSet!(train);
  const { model } = await bg.taskModelFrom(await modelDir(), 'cls', labels);
  const run = bg.finetune({
    task: 'cls',
    model,
    tokenizer: tok,
    train,
    labels,
    steps: 2,
    batchSize: 8,
    logEvery: 1,
    extraLoss: () => bg.tensor(Float32Array.from([5]), [1]),
  });
  const logs: bg.LogRecord[] = [];
  run.onLog = (r) => logs.push(r);
  await run.run();
  assert.is(logs.length, 2);
  for (const r of logs) {
    assertClose([r.parts.extra], [5], { what: 'extra' });
    assertClose([r.loss], [r.parts.task + 5], { what: 'loss = task + extra' });
  }
  run.dispose();
  model.dispose();
});

test('finetune mixIn: a second head on the same base; loss and gradients are the mean over every unit of the batch', async () => {
  await device();
  const dir = await modelDir();
  const train = cls.read(DATA.film.train, 'film.jsonl').slice(0, 6);
  const labels = cls.labelSet!(train);
  const tagTrain = tag.read(tagging(5, 9), 'tags.jsonl');
  const tagLabels = tag.labelSet!(tagTrain);
  const { model: a } = await bg.taskModelFrom(dir, 'cls', labels);
  const { model: b } = await bg.taskModelFrom(dir, 'tag', tagLabels, { base: a.base });
  assert.ok(b.base === a.base, 'one base');
  const run = bg.finetune({
    task: 'cls',
    model: a,
    tokenizer: tok,
    train,
    labels,
    steps: 1,
    batchSize: 64,
    mixIn: [{ task: 'tag', model: b, train: tagTrain, labels: tagLabels }],
  });
  const batch = run.trainer.data.nextBatch() as bg.MixedBatch;
  assert.equal(
    batch.parts.map((p) => [p.task, p.batch.input_ids.shape[0]]),
    [
      [0, 6],
      [1, 5],
    ],
  );
  const units = [6, Array.from(batch.parts[1].batch.labels!.data).filter((v) => v !== -100).length];
  const N = units[0] + units[1];
  assert.is(run.trainer.objective.targetCount!(batch), N);
  const pa = new Map(a.namedParameters());
  const pb = new Map(b.namedParameters());
  const watched = [pa.get('bert.encoder.layer.0.attention.self.query.weight')!, pa.get('classifier.weight')!, pb.get('classifier.weight')!];
  // the run trains both heads and the base once each
  const trained = run.trainer.objective.namedParameters().map(([, t]) => t);
  for (const t of watched) assert.is(trained.filter((u) => u === t).length, 1);
  const grads = async () =>
    Promise.all(watched.map(async (t) => (t.grad ? Array.from(await t.grad.toArray()) : new Array(t.size).fill(0))));
  const zero = () => trained.forEach((t) => t.zeroGrad());
  zero();
  const st = run.trainer.objective.step(batch, false);
  st.loss.backward();
  const mixed = { loss: await st.loss.item(), grads: await grads() };
  const alone: { loss: number; grads: number[][] }[] = [];
  for (const [i, model] of [a, b].entries()) {
    zero();
    const out = model.forward(bg.batchInputs(batch.parts[i].batch));
    out.loss!.backward();
    alone.push({ loss: await out.loss!.item(), grads: await grads() });
  }
  const weigh = (x: number, y: number) => (units[0] * x + units[1] * y) / N;
  assertClose([mixed.loss], [weigh(alone[0].loss, alone[1].loss)], { what: 'loss' });
  for (const [k, what] of ['the shared encoder', 'the cls head', 'the tag head'].entries()) {
    const want = mixed.grads[k].map((_, j) => weigh(alone[0].grads[k][j], alone[1].grads[k][j]));
    assert.ok(
      mixed.grads[k].some((v) => v !== 0),
      `${what} gets a gradient`,
    );
    assertClose(mixed.grads[k], want, { rtol: 1e-4, atol: 1e-7, what: `gradient of ${what}` });
  }
  zero();
  await rejects(run.saveCheckpoint(join(mkdtempSync(join(tmpdir(), 'mixin-')), 'ckpt')), /mixIn tasks is not checkpointed/);
  run.dispose();
  const { model: c } = await bg.taskModelFrom(dir, 'tag', tagLabels);
  assert.throws(
    () =>
      bg.finetune({
        task: 'cls',
        model: a,
        tokenizer: tok,
        train,
        labels,
        mixIn: [{ task: 'tag', model: c, train: tagTrain, labels: tagLabels }],
      }),
    /mixIn\[0\]'s model must be built on the run's model's base/,
  );
  assert.throws(
    () => bg.finetune({ task: 'cls', model: a, tokenizer: tok, train, labels, lora: { r: 2 }, mixIn: [] }),
    /mixIn tasks train the shared encoder in full/,
  );
  await rejects(bg.taskModelFrom(dir, 'cls', labels, { base: c.base }), /shared base model has no pooler/);
  for (const m of [a, b, c]) m.dispose();
});

test('runContinual: every method on two tasks; the adapter method forgets nothing (first adapter and head bit-identical, accuracy unchanged)', async () => {
  await device();
  const dir = await modelDir();
  const results: Record<string, bg.ContinualResult> = {};
  for (const method of bg.CONTINUAL_METHODS)
    results[method] = await bg.runContinual({ model: dir, tasks: tasks(), method, settings: SETTINGS });
  for (const [method, r] of Object.entries(results)) {
    assert.is(r.matrix[1][0], null, `${method}: task 2 is not evaluated before its stage`);
    for (const v of [r.matrix[0][0], r.matrix[0][1], r.matrix[1][1]])
      assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${method}: accuracy ${v}`);
    assertClose([r.summary.backwardTransfer!], [r.matrix[0][1]! - r.matrix[0][0]!], { what: `${method} BWT` });
    assert.is(r.stages.length, 2);
  }
  const lora = results.lora;
  for (const name of ['adapter_config.json', 'adapter_model.safetensors']) {
    const before = lora.files.afterStage.film[name];
    const after = lora.files.atEnd.film[name];
    assert.ok(before.length > 0 && after.length === before.length, name);
    assert.ok(
      before.every((b, i) => b === after[i]),
      `${name} of the first task changed in the second stage`,
    );
  }
  assert.ok(
    !lora.files.atEnd.meal['adapter_model.safetensors'].every((b, i) => b === lora.files.atEnd.film['adapter_model.safetensors'][i]),
    'the two tasks have different adapters',
  );
  assert.is(lora.matrix[0][1], lora.matrix[0][0], 'the first task is answered as right after its stage');
  assert.is(results.features.matrix[0][1], results.features.matrix[0][0], 'a frozen encoder and per-task heads forget nothing');
  assert.ok(lora.summary.forgetting === 0 && lora.summary.backwardTransfer === 0);
  // costs: the adapter and feature heads train a small share; full fine-tuning everything
  const full = results.full.stages[0];
  assert.is(full.trainableParameters, full.totalParameters);
  for (const m of ['lora', 'features'] as const) assert.ok(results[m].stages[0].trainableParameters < full.trainableParameters / 4, m);
  assert.ok(results.replay.stages[0].bytesStored > results.full.stages[0].bytesStored, 'replay keeps its buffer');
  assert.is(
    results.lora.stages[0].bytesStored,
    Object.values(lora.files.afterStage.film).reduce((a, f) => a + f.length, 0),
  );
  // the adapter method reaches the task: above chance on the first task
  assert.ok(lora.matrix[0][0]! > 0.6, `lora first task ${lora.matrix[0][0]}`);
});

test("runContinual with addWords: words missing from the vocabulary become tokens; each lora adapter trains its own words' rows and forgets nothing", async () => {
  await device();
  const dir = await modelDir();
  // the sentiment words are not in the vocabulary ([UNK] to the base)
  const data = {
    film: { train: sentiment(32, 11, 'superb', 'dreadful'), test: sentiment(16, 12, 'superb', 'dreadful') },
    meal: { train: sentiment(32, 13, 'lovely', 'boring'), test: sentiment(16, 14, 'lovely', 'boring') },
  };
  const words = (['film', 'meal'] as const).map((name) => ({
    name,
    task: 'cls' as const,
    head: 'sentiment',
    train: cls.read(data[name].train, `${name}.train.jsonl`),
    test: cls.read(data[name].test, `${name}.test.jsonl`),
  }));
  const r = await bg.runContinual({ model: dir, tasks: words, method: 'lora', settings: { ...SETTINGS, addWords: 2 } });
  assert.equal(r.addedWords, { count: 4, vocabSize: VOCAB.length + 4 });
  const config = (name: string) => JSON.parse(new TextDecoder().decode(r.files.atEnd[name]['adapter_config.json']));
  const [film, meal] = [config('film').trainable_token_indices as number[], config('meal').trainable_token_indices as number[]];
  assert.is(film.length, 2);
  assert.is(meal.length, 2);
  assert.ok(
    film.every((id) => id >= VOCAB.length && !meal.includes(id)),
    `each task's own words: ${film} / ${meal}`,
  );
  const before = r.files.afterStage.film['adapter_model.safetensors'];
  const after = r.files.atEnd.film['adapter_model.safetensors'];
  assert.ok(
    before.length === after.length && before.every((b, i) => b === after[i]),
    "the first task's adapter (its rows included) is bit-identical after the second stage",
  );
  assert.is(r.matrix[0][1], r.matrix[0][0]);
  const majority = (name: 'film' | 'meal') => r.tasks.find((t) => t.name === name)!.majority!;
  assert.ok(r.matrix[0][0]! > majority('film') && r.matrix[1][1]! > majority('meal'), `accuracy ${r.matrix[0][0]}, ${r.matrix[1][1]}`);
  assert.throws(
    () =>
      bg.parseContinualPlan(
        JSON.stringify({ model: 'm', tasks: [{ name: 'a', task: 'cls', train: 't', test: 'e' }], addWords: 1.5 }),
        'p.json',
      ),
    /p.json: addWords must be an integer >= 0 \(0: none\), got 1.5/,
  );
});

test('runContinual replay across heads: the first head trains in the second stage with replay, stays bit-identical without', async () => {
  await device();
  const dir = await modelDir();
  const two: bg.ContinualTask[] = [
    tasks()[0],
    { name: 'tags', task: 'tag', train: tag.read(tagging(24, 11), 'tags.jsonl'), test: tag.read(tagging(8, 12), 'tags.test.jsonl') },
  ];
  const settings = { ...SETTINGS, epochs: 2 };
  const full = await bg.runContinual({ model: dir, tasks: two, method: 'full', settings });
  const replay = await bg.runContinual({ model: dir, tasks: two, method: 'replay', settings });
  const same = (r: bg.ContinualResult) => {
    const [x, y] = [r.files.afterStage.film['head.safetensors'], r.files.atEnd.film['head.safetensors']];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  };
  assert.ok(same(full), 'full: the film head gets no gradient in the tagging stage');
  assert.ok(!same(replay), 'replay: the film head trains on its replayed examples in the tagging stage');
  // the film buffer (8 examples) is stored; the second stage trains the film head too
  assert.ok(replay.stages[0].bytesStored > full.stages[0].bytesStored, 'the buffer is counted');
  const filmHead = 16 * 2 + 2;
  assert.is(replay.stages[1].trainableParameters, full.stages[1].trainableParameters + filmHead);
  assert.is(replay.stages[1].steps, Math.ceil((24 + 8) / 8) * 2);
  assert.is(full.stages[1].steps, Math.ceil(24 / 8) * 2);
  for (const r of [full, replay]) assert.ok(r.matrix[1][1]! >= 0 && r.matrix[1][1]! <= 1);
});

test('bertgpu continual --plan: a tiny plan end to end; bad plans name the file and the field', async () => {
  await buildCli();
  const dir = mkdtempSync(join(tmpdir(), 'continual-plan-'));
  const model = await modelDir();
  for (const [name, d] of Object.entries(DATA)) {
    writeFileSync(join(dir, `${name}.train.jsonl`), d.train);
    writeFileSync(join(dir, `${name}.test.jsonl`), d.test);
  }
  const planTasks = ['film', 'meal'].map((name) => ({
    name,
    task: 'cls',
    head: 'sentiment',
    train: `${name}.train.jsonl`,
    test: `${name}.test.jsonl`,
  }));
  const plan = {
    model,
    tasks: planTasks,
    epochs: 1,
    batchSize: 8,
    lr: 1e-2,
    maxLength: 16,
    methods: ['full', { method: 'lora', lora: { r: 2 } }],
  };
  const planFile = join(dir, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const jsonFile = join(dir, 'out.json');
  const ok = cli(['continual', '--plan', planFile, '--json', jsonFile, '--quiet']);
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /\| full: task \(metric\) \| after 1 \(film\) \| after 2 \(meal\) \| majority \|/);
  assert.match(ok.stdout, /\| method \| average accuracy \| BWT \| forgetting \|/);
  assert.match(ok.stdout, /\| lora \| [01]\.\d{3} \| \+0\.000 \| 0\.000 \|/);
  const saved = JSON.parse(readFileSync(jsonFile, 'utf8'));
  assert.equal(
    saved.results.map((r: bg.ContinualResult) => r.method),
    ['full', 'lora'],
  );
  assert.is(saved.results[1].settings.lora.r, 2);

  const bad = (body: object, pattern: RegExp, code = 1) => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify(body));
    const r = cli(['continual', '--plan', f]);
    assert.is(r.status, code, r.stderr);
    assert.match(r.stderr, pattern);
  };
  bad({ ...plan, tasks: [{ ...planTasks[0], train: 5 }] }, /bad\.json: tasks\[0\]\.train must be a non-empty string, got 5/);
  bad({ ...plan, methods: [{ method: 'full', lr: -1 }] }, /bad\.json: methods\[0\]\.lr must be a positive number, got -1/);
  bad({ ...plan, methods: ['ewc'] }, /bad\.json: methods\[0\]\.method must be one of full, replay, l2sp, lora, features, got "ewc"/);
  bad({ ...plan, tasks: [{ ...planTasks[0], test: 'missing.jsonl' }] }, /bad\.json: tasks\[0\]\.test 'missing\.jsonl' .* is not a file/);
  bad({ ...plan, epoch: 2 }, /bad\.json: the plan: unknown field 'epoch'/);
  const notJson = join(dir, 'broken.json');
  writeFileSync(notJson, '{"model": ');
  const r = cli(['continual', '--plan', notJson]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /broken\.json: not JSON/);
});

test.run();
