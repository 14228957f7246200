// Frozen-feature heads (finetune --features) as a user meets them: --out holds the head, a
// feature_config.json naming the base (path and SHA-256 of its weights), mode, task, labels and
// max length, and the tokenizer; predict / evaluate --model OUT (the base as named) and
// --model BASE --adapter OUT, and the library's pipeline / loadTaskModel, give what the trained
// model gave at the end of training; a missing or changed base is refused, naming file and path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as bg from '../src/index.js';
import { buildCli, cli, sentimentLines as sentiment } from './cli-helpers.js';
import { device } from './helpers.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'great', 'awful', 'film', 'plot', 'the', 'a', 'was'];
const root = mkdtempSync(join(tmpdir(), 'bertgpu-ftfeat-'));
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const file = (name: string, text: string) => {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
};

/** A saved random BertForMaskedLM (the "pre-trained" base), 2 layers: 3 hidden states to mix. */
async function saveBase(name: string, seed: number): Promise<string> {
  const config = bg.bertConfig({
    vocab_size: VOCAB.length,
    hidden_size: 16,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 24,
    initializer_range: 0.5,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0,
  });
  const model = bg.createModel('BertForMaskedLM', config, { generator: new bg.Generator(seed) });
  const dir = join(root, name);
  await bg.savePretrained(model, dir, new bg.WordPieceTokenizer(VOCAB));
  model.dispose();
  return dir;
}

let base = '';
let out = '';
let evalFile = '';
let predicted: { label: string; score: number }[] = [];

test('scalar mix: --out holds head, feature_config.json and tokenizer; evaluate --model OUT = the kept eval of the run; predict agrees, also as --model BASE --adapter OUT', async () => {
  await buildCli();
  await device();
  base = await saveBase('base', 5);
  const train = file('train.jsonl', sentiment(40, 1));
  evalFile = file('eval.jsonl', sentiment(20, 2));
  out = join(root, 'feat');
  const log = join(root, 'feat-log.jsonl');
  const ft = cli([
    ...['finetune', '--task', 'cls', '--model', base, '--train', train, '--eval', evalFile, '--out', out],
    ...['--features', 'scalar-mix', '--epochs', '4', '--batch', '8', '--lr', '5e-2', '--max-length', '16', '--seed', '3', '--log', log],
  ]);
  assert.is(ft.status, 0, ft.stderr);
  assert.match(ft.stdout, /wrote .*feat: a scalar-mix head \(.*feature_head\.safetensors.*feature_config\.json\) on the frozen encoder/);
  assert.not.ok(existsSync(join(out, 'model.safetensors')) || existsSync(join(out, 'config.json')), 'the encoder is not copied');
  assert.is(readFileSync(join(out, 'vocab.txt'), 'utf8'), readFileSync(join(base, 'vocab.txt'), 'utf8'));
  const fc = JSON.parse(readFileSync(join(out, 'feature_config.json'), 'utf8'));
  const sha = createHash('sha256')
    .update(readFileSync(join(base, 'model.safetensors')))
    .digest('hex');
  assert.equal(
    [fc.architectures, fc.base_model_name_or_path, fc.base_model_sha256, fc.base_architecture],
    [['FeatureClassifier'], resolve(base), sha, 'BertForSequenceClassification'],
  );
  assert.equal([fc.task, fc.mode, fc.layers, fc.max_length, fc.num_labels], ['cls', 'scalar-mix', 3, 16, 2]);
  assert.equal(
    [fc.id2label, fc.label2id],
    [
      { 0: 'neg', 1: 'pos' },
      { neg: 0, pos: 1 },
    ],
  );
  // evaluate: the metrics and loss of the evaluation the run kept its head by
  const kept = Number(ft.stdout.match(/held-back \(step (\d+)\)/)![1]);
  const record = lines(readFileSync(log, 'utf8')).find((r) => r.eval && !r.final && r.step === kept);
  const ev = cli(['evaluate', '--model', out, '--data', evalFile]);
  assert.is(ev.status, 0, ev.stderr);
  const m = JSON.parse(ev.stdout);
  for (const k of ['accuracy', 'f1', 'macro_f1', 'mcc']) assert.is(m[k], record[k], k);
  assert.ok(Math.abs(m.loss - record.loss) < 1e-5, `loss ${m.loss} vs ${record.loss} in training`);
  // predict: one line per input; its accuracy is evaluate's; the explicit base gives the same
  const input = readFileSync(evalFile, 'utf8');
  const pred = cli(['predict', '--model', out, '--input', evalFile]);
  assert.is(pred.status, 0, pred.stderr);
  predicted = lines(pred.stdout);
  const gold = lines(input).map((r) => r.label);
  assert.is(predicted.length, gold.length);
  assert.is(predicted.filter((p, i) => p.label === gold[i]).length / gold.length, m.accuracy);
  const viaBase = cli(['predict', '--model', base, '--adapter', out], { input });
  assert.is(viaBase.status, 0, viaBase.stderr);
  assert.equal(lines(viaBase.stdout), predicted);
});

test('library: pipeline and loadTaskModel on the features directory (and as an adapter on the base) give predict scores', async () => {
  await device();
  const cls = await bg.pipeline('text-classification', out);
  const texts = lines(readFileSync(evalFile, 'utf8')).map((r) => r.text as string);
  const got = (await cls(texts)) as bg.LabelScore[];
  got.forEach((g, i) => {
    assert.is(g.label, predicted[i].label);
    assert.ok(Math.abs(g.score - predicted[i].score) < 1e-6, `${g.score} vs ${predicted[i].score}`);
  });
  cls.dispose();
  const files = Object.fromEntries(
    ['feature_config.json', 'feature_head.safetensors'].map((n) => [n, new Uint8Array(readFileSync(join(out, n)))]),
  );
  const tm = await bg.loadTaskModel(base, { adapter: files });
  assert.ok(tm.features instanceof bg.FeatureClassifier && tm.task.name === 'cls' && tm.maxLength === 16);
  const preds = (await tm.predict(tm.task.read(texts.join('\n'), 'texts', { labelled: false, plainText: true }))) as bg.ClassPrediction[];
  assert.equal(
    preds.map((p) => p.label),
    predicted.map((p) => p.label),
  );
  tm.dispose();
});

test('a missing base names feature_config.json and the path looked for; a changed base is refused by its SHA-256; a missing head is named', async () => {
  await device();
  const moved = join(root, 'moved');
  cpSync(out, moved, { recursive: true });
  const fcFile = join(moved, 'feature_config.json');
  const fc = JSON.parse(readFileSync(fcFile, 'utf8'));
  writeFileSync(fcFile, JSON.stringify({ ...fc, base_model_name_or_path: join(root, 'gone') }));
  for (const cmd of [
    ['predict', '--model', moved],
    ['evaluate', '--model', moved, '--data', evalFile],
  ]) {
    const r = cli(cmd, { input: 'good film\n' });
    assert.is(r.status, 2, r.stderr);
    assert.ok(
      r.stderr.includes(
        `${fcFile} names the base model ${join(root, 'gone')} (base_model_name_or_path), but ${join(root, 'gone', 'config.json')} does not exist`,
      ),
      r.stderr,
    );
    assert.match(r.stderr, /--model BASE --adapter /);
  }
  try {
    await bg.loadTaskModel(moved);
    assert.unreachable('a features directory without its base loads');
  } catch (err) {
    assert.ok((err as Error).message.includes(`${join(root, 'gone')}/config.json does not exist`), (err as Error).message);
  }
  // another encoder (same shapes, other weights): the head would get other features
  const other = await saveBase('other', 6);
  const r = cli(['predict', '--model', other, '--adapter', out], { input: 'good film\n' });
  assert.is(r.status, 1);
  assert.match(
    r.stderr,
    /model\.safetensors is not the encoder the head was trained on \(SHA-256 [0-9a-f]{64}; .*feature_config\.json has [0-9a-f]{64}\)/,
  );
  rmSync(join(moved, 'feature_head.safetensors'));
  const noHead = cli(['predict', '--model', moved], { input: 'good film\n' });
  assert.is(noHead.status, 2);
  assert.match(noHead.stderr, /moved: no feature_head\.safetensors/);
});

test('concat-last-4 on pairs: the directory says so, and evaluate equals the last evaluation of the run', async () => {
  await device();
  const pairs = lines(sentiment(24, 4)).map((r, i) => ({ text: r.text, pair: i % 2 ? 'the film' : 'a plot', label: r.label }));
  const train = file('pairs.jsonl', jsonl(pairs));
  const dir = join(root, 'concat');
  const log = join(root, 'concat-log.jsonl');
  const ft = cli([
    ...['finetune', '--task', 'pair', '--model', base, '--train', train, '--eval', train, '--out', dir, '--features', 'concat-last-4'],
    ...['--steps', '6', '--eval-every', '6', '--batch', '8', '--lr', '5e-2', '--log', log, '--quiet'],
  ]);
  assert.is(ft.status, 0, ft.stderr);
  const fc = JSON.parse(readFileSync(join(dir, 'feature_config.json'), 'utf8'));
  assert.equal([fc.task, fc.mode, fc.layers, fc.max_length], ['pair', 'concat-last-4', 3, 24]);
  const last = lines(readFileSync(log, 'utf8')).filter((r) => r.eval && !r.final)[0];
  const ev = cli(['evaluate', '--model', dir, '--data', train]);
  assert.is(ev.status, 0, ev.stderr);
  const m = JSON.parse(ev.stdout);
  assert.is(m.accuracy, last.accuracy);
  assert.ok(Math.abs(m.loss - last.loss) < 1e-5, `loss ${m.loss} vs ${last.loss}`);
});

test.run();
