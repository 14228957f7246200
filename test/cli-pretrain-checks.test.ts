// `bertgpu pretrain` refuses what it cannot do well before doing any work, and says what
// happened: an --out holding a model, an --out that is a file, a flag that conflicts with the
// checkpoint it resumes, a diverging run (--lr 1e30), a binary corpus, a stub trainer_state.json.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, cli, CORPUS } from './cli-helpers.js';

const corpus = [join(CORPUS, 'chapter_1.txt'), join(CORPUS, 'chapter_2.txt')];
const tiny = [
  '--objective',
  'mlm',
  '--corpus',
  ...corpus,
  '--train-vocab',
  '200',
  '--batch',
  '2',
  '--seq',
  '32',
  '--eval-fraction',
  '0',
  '--dupe-factor',
  '1',
  '--quiet',
];
const pretrain = (args: string[]) => cli(['pretrain', ...args]);
const dir = () => mkdtempSync(join(tmpdir(), 'bertgpu-checks-'));
const noWork = (r: { stdout: string }) => assert.not.match(r.stdout, /training data:/, 'refused before the data was built');

test('--out holding a model is refused without --overwrite; a file as --out is refused before any training', async () => {
  await buildCli();
  const out = join(dir(), 'model');
  mkdirSync(out);
  writeFileSync(join(out, 'config.json'), '{}');
  const r = pretrain([...tiny, '--steps', '1', '--out', out]);
  assert.is(r.status, 1, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(
      `--out ${out} already holds a model \\(config.json\\); pass --overwrite to replace it, or --resume ${out} to continue its run`,
    ),
  );
  noWork(r);
  assert.is(readFileSync(join(out, 'config.json'), 'utf8'), '{}');
  const ok = pretrain([...tiny, '--steps', '1', '--out', out, '--overwrite']);
  assert.is(ok.status, 0, ok.stderr);
  assert.is(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).architectures[0], 'BertForMaskedLM');

  const file = join(dir(), 'file');
  writeFileSync(file, 'x');
  for (const target of [file, join(file, 'model')]) {
    const bad = pretrain([...tiny, '--steps', '1', '--out', target]);
    assert.is(bad.status, 1);
    assert.match(bad.stderr, /--out .* is a file/);
    noWork(bad);
  }
});

test('--resume: a conflicting flag is refused, an override is reported, the log keeps each step once', async () => {
  await buildCli();
  const out = join(dir(), 'model');
  const log = `${out}.jsonl`;
  const first = pretrain([...tiny, '--steps', '2', '--log-every', '1', '--out', out, '--log', log]);
  assert.is(first.status, 0, first.stderr);
  for (const [flag, value, saved] of [
    ['--config', 'bert-mini', 'bert-tiny'],
    ['--batch', '4', '2'],
    ['--objective', 'electra', 'mlm'],
  ]) {
    const r = pretrain(['--resume', out, flag, value]);
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, `${flag} ${value} conflicts with the run in ${join(out, 'checkpoint')} (${flag} ${saved})`);
    noWork(r);
  }
  // a kill after step 3's log line but before its checkpoint, and a line cut short
  appendFileSync(log, JSON.stringify({ step: 3, loss: 9 }) + '\n{"step": 4, "lo');
  const r = pretrain(['--resume', out, '--steps', '3']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, `resuming ${join(out, 'checkpoint')} at step 2 of 3, with --steps 3 (the checkpoint's run: 2)`);
  const steps = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((l) => !l.eval);
  assert.equal(
    steps.map((l) => l.step),
    [1, 2, 3],
  );
  assert.ok(steps[2].loss < 9, "step 3 is the resumed run's");
  // a checkpoint from before runs kept their arguments (no "meta"): its config still refuses another preset
  const statePath = join(out, 'checkpoint', 'trainer_state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8'));
  delete state.meta;
  writeFileSync(statePath, JSON.stringify(state));
  const old = pretrain([...tiny, '--steps', '4', '--out', out, '--resume', out, '--config', 'bert-mini']);
  assert.is(old.status, 2, old.stderr);
  assert.match(old.stderr, `--config bert-mini conflicts with the checkpoint ${join(out, 'checkpoint')}: 2 layers of hidden size 128`);
});

test('--lr 1e30: skipped steps are reported as they are found, the run fails and writes no model', async () => {
  await buildCli();
  const out = join(dir(), 'model');
  const r = pretrain([...tiny, '--steps', '12', '--log-every', '2', '--lr', '1e30', '--out', out]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /bertgpu pretrain: step 4: [12] of steps 3-4 skipped: gradient norm not finite \(NaN or inf\)/);
  assert.match(
    r.stderr,
    /training diverged at step 10: \d+ of the 10 steps of this run were skipped because the gradient norm was not finite/,
  );
  assert.not.ok(existsSync(join(out, 'model.safetensors')), 'no weights written as a model');
});

test('a binary corpus is refused, a little invalid UTF-8 is warned about; a stub trainer_state.json names the missing field; --config bert-huge is refused first', async () => {
  await buildCli();
  const d = dir();
  const binary = join(d, 'binary.txt');
  writeFileSync(
    binary,
    Uint8Array.from({ length: 3000 }, (_, i) => (i * 37) % 256),
  );
  const r = pretrain([...tiny, '--corpus', binary, corpus[0], '--steps', '1', '--out', join(d, 'a')]);
  assert.is(r.status, 1);
  assert.match(r.stderr, `--corpus ${binary}: not a text file (`);
  noWork(r);
  const latin1 = join(d, 'latin1.txt');
  writeFileSync(latin1, Buffer.concat([readFileSync(corpus[1]), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])]));
  const noMore = pretrain([...tiny, '--corpus', latin1, corpus[0], '--steps', '1', '--out', join(d, 'b'), '--config', 'bert-huge']);
  assert.is(noMore.status, 2);
  assert.match(noMore.stderr, /--config must be one of bert-tiny, .*, got 'bert-huge'/);
  noWork(noMore);
  const warned = pretrain([...tiny, '--corpus', latin1, corpus[0], '--steps', '1', '--out', join(d, 'b')]);
  assert.is(warned.status, 0, warned.stderr);
  assert.match(warned.stderr, `warning: --corpus ${latin1}: 1 invalid UTF-8 byte sequence(s), read as U+FFFD`);

  const stub = join(d, 'stub');
  mkdirSync(stub);
  writeFileSync(join(stub, 'trainer_state.json'), JSON.stringify({ version: 1, objective: 'mlm', step: 3 }));
  const s = pretrain(['--resume', stub]);
  assert.is(s.status, 1);
  assert.match(s.stderr, `${join(stub, 'trainer_state.json')}: missing field 'options' (expected an object)`);
  writeFileSync(join(stub, 'trainer_state.json'), '{"version": 1, ');
  assert.match(pretrain(['--resume', stub]).stderr, `${join(stub, 'trainer_state.json')}: not valid JSON`);
});

test.run();
