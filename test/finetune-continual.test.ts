// Continual learning (src/finetune/continual.ts): the matrix metrics on a hand-made matrix, the
// L2-SP penalty's value and gradient (by hand and against finite differences), the extraLoss hook
// of a fine-tuning run, a tiny two-task run of every method in which the adapter method forgets
// nothing (the first task's adapter and head bit-identical after the second stage, its accuracy
// unchanged), and `bertgpu continual --plan` on a tiny plan and on bad plans.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { assertClose, device, rng } from './helpers.js';
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

const cls = bg.getTask('cls');
const DATA = {
  film: { train: sentiment(32, 1, 'good', 'bad'), test: sentiment(16, 2, 'good', 'bad') },
  meal: { train: sentiment(32, 3, 'great', 'awful'), test: sentiment(16, 4, 'great', 'awful') },
};

/** A tiny pre-trained-looking encoder directory (random weights, the test vocabulary). */
async function modelDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'continual-model-'));
  const labels = cls.labelSet!(cls.read(DATA.film.train, 'film.jsonl'));
  const config = bg.bertConfig({
    vocab_size: VOCAB.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 32,
    initializer_range: 0.2,
    hidden_dropout_prob: 0,
    attention_probs_dropout_prob: 0,
    ...cls.configFields(labels),
  });
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
