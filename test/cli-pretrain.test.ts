// `bertgpu pretrain` end to end on a small corpus: each objective runs, logs JSON lines,
// writes a loadable Hugging Face directory (ELECTRA: the discriminator alone) and resumes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli as build, cli, CORPUS } from './cli-helpers.js';

const files = ['chapter_1.txt', 'chapter_2.txt', 'chapter_3.txt', 'chapter_4.txt'].map((f) => join(CORPUS, f));

function pretrain(args: string[]) {
  return cli(['pretrain', ...args]);
}

for (const objective of ['mlm', 'mlm-nsp', 'roberta', 'electra']) {
  test(`pretrain --objective ${objective}: runs, logs, writes a Hugging Face directory`, async () => {
    await build();
    const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-pt-')), 'model');
    const log = `${out}.jsonl`;
    const r = pretrain([
      '--objective',
      objective,
      '--corpus',
      ...files,
      '--train-vocab',
      '300',
      '--config',
      'bert-tiny',
      '--steps',
      '4',
      '--batch',
      '4',
      '--seq',
      '32',
      '--log-every',
      '2',
      '--eval-fraction',
      '0.25',
      '--out',
      out,
      '--log',
      log,
      '--quiet',
    ]);
    assert.is(r.status, 0, r.stderr);
    const lines = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const steps = lines.filter((l) => !l.eval);
    assert.equal(
      steps.map((l) => l.step),
      [2, 4],
    );
    for (const l of steps) {
      assert.ok(Number.isFinite(l.loss) && l.loss > 0 && l.tokens_per_s > 0, JSON.stringify(l));
      if (objective === 'electra') assert.ok('generator' in l && 'discriminator' in l && 'disc_accuracy' in l);
      if (objective === 'mlm-nsp') assert.ok('nsp' in l && 'nsp_accuracy' in l);
    }
    assert.ok(lines.some((l) => l.final && l.unigram_entropy > 0));
    if (objective === 'electra')
      assert.match(r.stdout, /discriminator accuracy 0\.\d{4} against the all-original baseline 0\.\d{4} of the same replacements/);
    if (objective === 'mlm-nsp') assert.ok(lines.some((l) => l.final && l.nsp_majority_accuracy >= 0.5 && l.nsp_majority_accuracy <= 1));
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    const expected = {
      mlm: 'BertForMaskedLM',
      'mlm-nsp': 'BertForPreTraining',
      roberta: 'RobertaForMaskedLM',
      electra: 'ElectraForPreTraining',
    }[objective];
    assert.equal(config.architectures, [expected]);
    assert.equal(readdirSync(out).sort(), ['checkpoint', 'config.json', 'model.safetensors', 'vocab.txt']);
    // resume to 6 steps from the checkpoint
    const r2 = pretrain([
      '--objective',
      objective,
      '--corpus',
      ...files,
      '--train-vocab',
      '300',
      '--config',
      'bert-tiny',
      '--steps',
      '6',
      '--batch',
      '4',
      '--seq',
      '32',
      '--log-every',
      '2',
      '--eval-fraction',
      '0.25',
      '--out',
      out,
      '--resume',
      out,
      '--log',
      log,
      '--quiet',
    ]);
    assert.is(r2.status, 0, r2.stderr);
    const after = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => !l.eval);
    assert.equal(
      after.map((l) => l.step),
      [2, 4, 6],
    );
  });
}

test('pretrain --dupe-factor builds the BERT instances that many times over', async () => {
  await build();
  const counts: number[] = [];
  for (const dupe of ['1', '3']) {
    const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-pt-')), 'model');
    const r = pretrain([
      '--objective',
      'mlm-nsp',
      '--corpus',
      ...files,
      '--train-vocab',
      '300',
      '--steps',
      '1',
      '--batch',
      '2',
      '--seq',
      '32',
      '--eval-fraction',
      '0.25',
      '--eval-batches',
      '1',
      '--dupe-factor',
      dupe,
      '--out',
      out,
      '--quiet',
    ]);
    assert.is(r.status, 0, r.stderr);
    const m =
      /training data: (\d+) bert instances from 3 documents \(dupe factor (\d), static masking\); held back: 1 documents, 1 batches \(chapter_4.txt\)/.exec(
        r.stdout,
      );
    assert.ok(m, r.stdout);
    assert.is(m[2], dupe);
    counts.push(Number(m[1]));
  }
  // each pass re-draws targets and pairings, so the counts are close to, not exactly, 1 : 3
  assert.ok(counts[1] > 2.5 * counts[0] && counts[1] < 3.5 * counts[0], `instances ${counts}`);
});

test('pretrain --generator-size sets the ELECTRA generator hidden size as a fraction of the discriminator; --dropout and --weight-decay reach both models and AdamW', async () => {
  await build();
  const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-pt-')), 'model');
  const r = pretrain([
    '--objective',
    'electra',
    '--corpus',
    ...files,
    '--train-vocab',
    '300',
    '--config',
    'bert-tiny',
    '--steps',
    '1',
    '--batch',
    '2',
    '--seq',
    '32',
    '--eval-fraction',
    '0.25',
    '--eval-batches',
    '1',
    '--generator-size',
    '0.125',
    '--dropout',
    '0.25',
    '--weight-decay',
    '0.05',
    '--out',
    out,
    '--quiet',
  ]);
  assert.is(r.status, 0, r.stderr);
  const gen = JSON.parse(readFileSync(join(out, 'checkpoint', 'generator', 'config.json'), 'utf8'));
  const disc = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.is(disc.hidden_size, 128);
  // bert-tiny's 128 x 0.125: hidden 16, intermediate 4 x 16, max(1, 16 / 64) = 1 head; embeddings stay the discriminator's
  assert.equal([gen.hidden_size, gen.intermediate_size, gen.num_attention_heads, gen.embedding_size], [16, 64, 1, 128]);
  for (const c of [disc, gen]) assert.equal([c.hidden_dropout_prob, c.attention_probs_dropout_prob], [0.25, 0.25]);
  assert.is(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')).options.weightDecay, 0.05);
});

test('pretrain --precision f16 trains under autocast with a dynamic loss scale, kept in the log and the checkpoint', async () => {
  await build();
  const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-pt-')), 'model');
  const log = join(out, '..', 'log.jsonl');
  const r = pretrain([
    '--objective',
    'mlm',
    '--corpus',
    ...files,
    '--train-vocab',
    '300',
    '--config',
    'bert-tiny',
    '--steps',
    '2',
    '--batch',
    '2',
    '--seq',
    '32',
    '--eval-fraction',
    '0',
    '--log-every',
    '1',
    '--log',
    log,
    '--precision',
    'f16',
    '--out',
    out,
    '--quiet',
  ]);
  assert.is(r.status, 0, r.stderr);
  const records = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((x) => 'loss_scale' in x);
  assert.is(records.length, 2, 'every train record carries the loss scale');
  assert.ok(
    records.every((x) => x.loss_scale === 65536 && Number.isFinite(x.loss)),
    JSON.stringify(records),
  );
  const state = JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8'));
  assert.is(state.options.precision, 'f16');
  assert.equal(state.optimizer.lossScale, { scale: 65536, growthTracker: 2 });
});

test('pretrain --profile prints the GPU time per kernel of the profiled steps', async () => {
  await build();
  const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-pt-')), 'model');
  const r = pretrain([
    '--objective',
    'mlm',
    '--corpus',
    ...files,
    '--train-vocab',
    '300',
    '--config',
    'bert-tiny',
    '--steps',
    '5',
    '--batch',
    '2',
    '--seq',
    '32',
    '--eval-fraction',
    '0.25',
    '--eval-batches',
    '1',
    '--profile',
    '2',
    '--checkpoint-every',
    '2',
    '--out',
    out,
    '--quiet',
  ]);
  assert.is(r.status, 0, r.stderr);
  const m = /GPU time per kernel over 2 profiled step\(s\) \(timestamp queries, each dispatch in its own pass\): ([\d.]+) ms per step/.exec(
    r.stdout,
  );
  assert.ok(m, r.stdout);
  assert.ok(Number(m[1]) > 0, r.stdout);
  // a table row per kernel, e.g. the matmuls and the grouped AdamW update
  assert.match(r.stdout, /\nmatmul(_subgroup)?:matmul_\w+\s+\d+\.\d\s+\d+\.\d{3}\s+\d+\.\d%/);
  assert.match(r.stdout, /\nadamw:adamw_pair4?\s+/);
  // checkpoints still land at their steps around the profiled window
  assert.ok(existsSync(join(out, 'checkpoint', 'trainer_state.json')));
  assert.is(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')).step, 5);
});

test('pretrain: bad arguments give one clear line and exit 2', async () => {
  await build();
  const cases: [string[], RegExp][] = [
    [['--objective', 'gpt'], /--objective must be one of mlm, mlm-nsp, roberta, electra, got 'gpt'/],
    [['--objective', 'mlm', '--out', '/tmp/x'], /--corpus and --out are required/],
    [['--objective', 'mlm', '--corpus', files[0], '--out', '/tmp/x'], /exactly one of --vocab FILE and --train-vocab SIZE/],
  ];
  for (const [args, message] of cases) {
    const r = pretrain(args);
    assert.is(r.status, 2);
    assert.match(r.stderr.split('\n')[0], message);
  }
  const r = pretrain(['--objective', 'mlm', '--corpus', '/nonexistent.txt', '--train-vocab', '100', '--out', '/tmp/x']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /cannot read --corpus \/nonexistent.txt/);
  for (const [args, message] of [
    [['--masking', 'sometimes'], /--masking must be static or dynamic, got 'sometimes'/],
    [['--dupe-factor', '0'], /--dupe-factor must be at least 1, got '0'/],
    [['--eval-batches', 'x'], /--eval-batches must be a non-negative integer, got 'x'/],
    [['--generator-size', '0'], /--generator-size must be a fraction in \(0, 1\], got '0'/],
    [['--generator-size', '1.5'], /--generator-size must be a fraction in \(0, 1\], got '1.5'/],
    [['--generator-size', '0.5'], /--generator-size applies to --objective electra only, got --objective mlm/],
    [['--profile', 'x'], /--profile must be a non-negative integer, got 'x'/],
    [['--dropout', '1'], /--dropout must be a probability in \[0, 1\), got '1'/],
    [['--weight-decay=-0.1'], /--weight-decay must be a non-negative number, got '-0.1'/],
    [['--precision', 'bf16'], /--precision must be f32 or f16, got 'bf16'/],
  ] as [string[], RegExp][]) {
    const bad = pretrain(['--objective', 'mlm', '--corpus', files[0], files[1], '--train-vocab', '100', '--out', '/tmp/x', ...args]);
    assert.is(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, message);
  }
});

test.run();
