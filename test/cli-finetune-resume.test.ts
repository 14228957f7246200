// bertgpu finetune --checkpoint-every / --resume: a run stopped after a checkpoint and resumed
// from the checkpoint's own arguments logs exactly the losses (and writes exactly the files) of
// the uninterrupted run, for full fine-tuning, LoRA (adapter + head + optimizer, dropout on) and
// frozen features (--features); the LoRA adapter saves the fresh pooler (modules_to_save);
// integer labels come back from predict as numbers; an unknown option is reported before a
// missing required one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { buildCli, cli } from './cli-helpers.js';
import { device, rng } from './helpers.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'great', 'awful', 'film', 'plot', 'the', 'a', 'was'];
const root = mkdtempSync(join(tmpdir(), 'bertgpu-ftresume-'));

/** Sentences labelled 1 (good, great) or 0 (bad, awful): integer labels. */
function sentiment(n: number, seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  return Array.from({ length: n }, (_, i) => {
    const word = pick(['good', 'great', 'bad', 'awful']);
    const filler = Array.from({ length: 1 + (i % 4) }, () => pick(['the', 'film', 'plot', 'was', 'a']));
    return JSON.stringify({ text: [...filler, word].join(' '), label: word === 'good' || word === 'great' ? 1 : 0 }) + '\n';
  }).join('');
}

const train = join(root, 'train.jsonl');
const evalFile = join(root, 'eval.jsonl');
let base = '';

/** The train and eval records of a --log, without the wall-clock fields. */
function logged(path: string): object[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { tokens_per_s: _t, ...r } = JSON.parse(l) as Record<string, unknown>;
      return r;
    });
}

const MODES: [string, string[], string][] = [
  ['full', [], 'model.safetensors'],
  ['lora', ['--lora', 'r=2,alpha=4,dropout=0.1'], 'adapter_model.safetensors'],
  ['features', ['--features', 'scalar-mix'], 'feature_head.safetensors'],
];

test.before(async () => {
  await device();
  await buildCli();
  writeFileSync(train, sentiment(24, 1));
  writeFileSync(evalFile, sentiment(8, 2));
  const config = bg.bertConfig({
    vocab_size: VOCAB.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    max_position_embeddings: 24,
    initializer_range: 0.2,
  });
  const model = bg.createModel('BertForMaskedLM', config, { generator: new bg.Generator(3) });
  base = join(root, 'base');
  await bg.savePretrained(model, base, new bg.WordPieceTokenizer(VOCAB));
  model.dispose();
});

for (const [mode, flags, weights] of MODES) {
  test(`${mode}: stopped after step 5 (checkpoints every 3) and resumed from the checkpoint alone = the uninterrupted run, bit for bit`, () => {
    const args = (out: string) => [
      'finetune',
      '--task',
      'cls',
      '--model',
      base,
      '--train',
      train,
      '--eval',
      evalFile,
      '--eval-every',
      '4',
      '--steps',
      '8',
      '--batch',
      '4',
      '--lr',
      '5e-2',
      '--seed',
      '1',
      '--log-every',
      '1',
      '--log',
      `${out}.jsonl`,
      '--out',
      out,
      '--quiet',
      ...flags,
    ];
    const straight = join(root, `${mode}-straight`);
    const a = cli(args(straight));
    assert.is(a.status, 0, a.stderr);
    const stopped = join(root, `${mode}-stopped`);
    const b = cli([...args(stopped), '--checkpoint-every', '3'], { env: { BERTGPU_TEST_FINETUNE_STOP_AT: '5' } });
    assert.is(b.status, 130, b.stderr);
    assert.match(b.stderr, `stopped at step 5 of 8`);
    assert.match(b.stderr, `--resume ${stopped}`);
    assert.ok(!existsSync(join(stopped, weights)), 'no --out model yet');
    if (mode === 'full') {
      // a flag that would change the run is refused; the checkpoint's arguments are enough
      const conflict = cli(['finetune', '--resume', stopped, '--lr', '1e-3']);
      assert.is(conflict.status, 2);
      assert.match(conflict.stderr, /--lr 0\.001 conflicts with the checkpoint .*which has 0\.05/);
    }
    const c = cli(['finetune', '--resume', stopped]);
    assert.is(c.status, 0, c.stderr);
    assert.match(c.stdout, 'resuming');
    assert.match(c.stdout, 'at step 5 of 8');
    const want = logged(`${straight}.jsonl`);
    assert.ok(want.filter((r) => !('eval' in r)).length === 8 && want.some((r) => 'eval' in r), 'train and eval records');
    assert.equal(logged(`${stopped}.jsonl`), want);
    const losses = want.filter((r) => !('eval' in r)).map((r) => (r as { loss: number }).loss);
    assert.ok(losses.every(Number.isFinite), losses.join(' '));
    // (a feature head learns slowly: finetune-train tests that it learns)
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    if (mode !== 'features') assert.ok(mean(losses.slice(-3)) < mean(losses.slice(0, 3)), `loss falls: ${losses.join(' ')}`);
    assert.equal(readFileSync(join(stopped, weights)), readFileSync(join(straight, weights)), `${weights}: the same bytes`);
    if (mode === 'lora') {
      // the masked-LM base has no pooler: the fresh one is saved with the adapter, or a later load would draw another
      const saved = JSON.parse(readFileSync(join(straight, 'adapter_config.json'), 'utf8')) as { modules_to_save: string[] };
      assert.ok(saved.modules_to_save.includes('bert.pooler.dense'), saved.modules_to_save.join(', '));
      assert.ok(saved.modules_to_save.includes('classifier'));
    }
  });
}

test('predict gives integer training labels back as numbers (config.json keeps their type)', () => {
  const dir = join(root, 'full-straight');
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config.id2label, { 0: '0', 1: '1' });
  assert.is(config[bg.LABEL_TYPE_KEY], 'number');
  const p = cli(['predict', '--model', dir, '--input', evalFile]);
  assert.is(p.status, 0, p.stderr);
  const labels = p.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { label: unknown }).label);
  assert.is(labels.length, 8);
  assert.ok(
    labels.every((l) => l === 0 || l === 1),
    JSON.stringify(labels),
  );
  // and through a LoRA adapter's metadata
  const q = cli(['predict', '--model', base, '--adapter', join(root, 'lora-straight'), '--input', evalFile, '--top-k', '2']);
  assert.is(q.status, 0, q.stderr);
  const ranked = JSON.parse(q.stdout.split('\n')[0]) as { label: unknown }[];
  assert.equal(
    ranked.map((r) => typeof r.label),
    ['number', 'number'],
  );
});

test('an unknown option is named (with its suggestion) before a missing required option', () => {
  const r = cli(['predict', '--modle', base]);
  assert.is(r.status, 2);
  assert.match(r.stderr, "unknown option '--modle'");
  assert.match(r.stderr, 'Did you mean --model?');
  assert.not.match(r.stderr, 'required');
  const f = cli(['finetune', '--task', 'cls', '--trian', train]);
  assert.is(f.status, 2);
  assert.match(f.stderr, "unknown option '--trian'");
  const missing = cli(['finetune', '--task', 'cls', '--train', train]);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, '--model, --out are required (unless --resume DIR');
});

test.run();
