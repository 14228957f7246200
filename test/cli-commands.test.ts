// The `bertgpu` command line as a new user meets it: usage, --version, --help with defaults on
// every command, unknown options named with a suggestion, Dawn's start-up warnings hidden unless
// --verbose, plain text into `tokenize`, JSON lines into `run` (and tokenize's output piped into
// it), SIGINT during `pretrain` writing a checkpoint that `--resume DIR` alone continues.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { buildCli, cli, start, tinyPretrainArgs, CORPUS } from './cli-helpers.js';
import { readSafetensors } from '../src/io/safetensors.js';

const COMMANDS = ['info', 'tokenize', 'run', 'pretrain'];
const DAWN = /artificially reduced/;

test('bare bertgpu prints the usage and exits 0; --version; every command has --help with its defaults', async () => {
  await buildCli();
  const bare = cli([]);
  assert.is(bare.status, 0);
  assert.match(bare.stdout, /^Usage: bertgpu \[options\] \[command\]/);
  for (const c of COMMANDS) assert.match(bare.stdout, new RegExp(`\\n  ${c} \\[options\\]`));
  const v = cli(['--version']);
  assert.is(v.status, 0);
  assert.is(v.stdout.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
  for (const c of COMMANDS) {
    const h = cli([c, '--help']);
    assert.is(h.status, 0, `${c} --help: ${h.stderr}`);
    assert.match(h.stdout, new RegExp(`^Usage: bertgpu ${c} \\[options\\]`));
    assert.not.match(h.stderr, DAWN);
  }
  const p = cli(['pretrain', '--help']).stdout;
  for (const d of [
    /--steps <n> +optimizer steps \(default: 1000\)/,
    /--batch <n> +sequences per micro-batch \(default: 16\)/,
    /--seq <n> +sequence length in tokens \(default: 128\)/,
  ])
    assert.match(p, d);
  assert.ok(cli(['tokenize', '--help']).stdout.includes('(default: "auto")'));
});

test('unknown commands and options are named with a suggestion (exit 2); bad values are refused before any work', async () => {
  await buildCli();
  const cmd = cli(['pretrian']);
  assert.is(cmd.status, 2);
  assert.match(cmd.stderr, /bertgpu: unknown command 'pretrian'\n\(Did you mean pretrain\?\)/);
  const opt = cli(['pretrain', '--stpes', '3']);
  assert.is(opt.status, 2);
  assert.match(
    opt.stderr,
    /^bertgpu pretrain: unknown option '--stpes'\n\(Did you mean --steps\?\)\n\(bertgpu pretrain --help lists the options\)/,
  );
  const run = cli(['run', '--model', 'm', '--inputs', 'i', '--grad']);
  assert.is(run.status, 2);
  assert.match(run.stderr, /Did you mean --grads\?/);
  const missing = cli(['run', '--inputs', 'x.jsonl']);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /required option '--model <dir>' not specified/);
  const steps = cli([
    'pretrain',
    '--objective',
    'mlm',
    '--corpus',
    join(CORPUS, 'chapter_1.txt'),
    '--train-vocab',
    '100',
    '--out',
    '/tmp/x',
    '--steps',
    'many',
  ]);
  assert.is(steps.status, 2);
  assert.match(steps.stderr, /--steps must be a non-negative integer, got 'many'/);
});

test("Dawn's two start-up warnings are filtered from stderr unless --verbose", async () => {
  await buildCli();
  const quiet = cli(['info']);
  assert.is(quiet.status, 0, quiet.stderr);
  const verbose = cli(['info', '--verbose']);
  assert.is(verbose.status, 0, verbose.stderr);
  const shown = verbose.stderr.split('\n').filter((l) => DAWN.test(l)).length;
  console.log(
    `Dawn warnings on stderr: ${quiet.stderr.split('\n').filter((l) => DAWN.test(l)).length} without --verbose, ${shown} with it`,
  );
  assert.not.match(quiet.stderr, DAWN);
  assert.equal(JSON.parse(quiet.stdout).adapter, JSON.parse(verbose.stdout).adapter);
  // lavapipe (the test machines' Vulkan) is where Dawn prints them; other adapters may print none
  if (/llvmpipe/.test(quiet.stdout)) assert.is(shown, 2);
});

/** The BertForMaskedLM fixture (vocabulary 99) with a vocab.txt, so that "text" inputs work. */
function modelWithVocab(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'bertgpu-cmd-')), 'model');
  mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join('test/fixtures/models/BertForMaskedLM', f), join(dir, f));
  const words = ['the', 'whale', 'sea', 'ship', 'call', 'me', 'ishmael', 'some', 'years', 'ago'];
  const vocab = [
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    ...words,
    ...'abcdefghijklmnopqrstuvwxyz'.split(''),
    ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => `##${c}`),
  ];
  while (vocab.length < 99) vocab.push(`[unused${vocab.length}]`);
  writeFileSync(join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  return dir;
}

test('tokenize takes plain text lines; run takes JSON lines (ids or text) and agrees with its safetensors path', async () => {
  await buildCli();
  const model = modelWithVocab();
  const tok = cli(['tokenize', '--vocab', join(model, 'vocab.txt')], {
    input: 'Call me Ishmael\n"the whale"\n{"text": "some years", "pair": "ago"}\n',
  });
  assert.is(tok.status, 0, tok.stderr);
  const lines = tok.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(
    lines.map((l) => l.tokens),
    [
      ['[CLS]', 'call', 'me', 'ishmael', '[SEP]'],
      ['[CLS]', 'the', 'whale', '[SEP]'],
      ['[CLS]', 'some', 'years', '[SEP]', 'ago', '[SEP]'],
    ],
  );

  // tokenize's lines, piped into run as [1, T] arrays, give what {"text"} gives
  const asBatch = lines.map((l) =>
    JSON.stringify({ input_ids: [l.input_ids], token_type_ids: [l.token_type_ids], attention_mask: [l.attention_mask], tokens: l.tokens }),
  );
  const fromIds = cli(['run', '--model', model, '--inputs', '-'], { input: asBatch.join('\n') + '\n' });
  assert.is(fromIds.status, 0, fromIds.stderr);
  const fromText = cli(['run', '--model', model, '--inputs', '-'], {
    input: '{"text": "Call me Ishmael"}\n{"text": "the whale"}\n{"text": "some years", "pair": "ago"}\n',
  });
  assert.is(fromText.status, 0, fromText.stderr);
  const a = fromIds.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(
    fromText.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l)),
    a,
  );
  assert.is(a[0].logits.length, 1);
  assert.is(a[0].logits[0].length, 5);
  assert.is(a[0].logits[0][0].length, 99);
  assert.not.ok('hidden_states.0' in a[0]);

  // the fixture's safetensors inputs as one JSON line: the same logits as the safetensors path
  const fixture = 'test/fixtures/models/BertForMaskedLM';
  const inputs = readSafetensors(new Uint8Array(readFileSync(join(fixture, 'inputs.safetensors'))), 'inputs').tensors;
  const line: Record<string, unknown> = {};
  for (const [name, t] of inputs) {
    const [B, T] = t.shape;
    line[name] = Array.from({ length: B }, (_, b) => Array.from(t.data.slice(b * T, (b + 1) * T)));
  }
  const dir = mkdtempSync(join(tmpdir(), 'bertgpu-cmd-'));
  writeFileSync(join(dir, 'in.jsonl'), JSON.stringify(line) + '\n');
  const st = cli(['run', '--model', fixture, '--inputs', join(fixture, 'inputs.safetensors'), '--out', join(dir, 'out.safetensors')]);
  assert.is(st.status, 0, st.stderr);
  const js = cli(['run', '--model', fixture, '--inputs', join(dir, 'in.jsonl'), '--out', join(dir, 'out.jsonl')]);
  assert.is(js.status, 0, js.stderr);
  const expected = readSafetensors(new Uint8Array(readFileSync(join(dir, 'out.safetensors'))), 'out').tensors.get('logits')!;
  const got = (JSON.parse(readFileSync(join(dir, 'out.jsonl'), 'utf8')).logits as number[][][]).flat(2);
  assert.equal(got, Array.from(expected.data));

  const bad = cli(['run', '--model', fixture, '--inputs', '-'], { input: '{"input_ids": [[1, 2], [3]]}\n' });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /bertgpu run: --inputs stdin line 1: input_ids\[1\] must be an array of 2/);
  const noTok = cli(['run', '--model', fixture, '--inputs', '-'], { input: '{"text": "hi"}\n' });
  assert.match(noTok.stderr, /line 1: "text" needs a tokenizer in test\/fixtures\/models\/BertForMaskedLM/);
});

test('SIGINT during pretrain: plain progress lines (stdout not a TTY), a checkpoint, exit 130; --resume DIR alone continues', async () => {
  await buildCli();
  const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-cmd-')), 'model');
  const run = start(tinyPretrainArgs(out, 1000, ['--log-every', '2']));
  // interrupt once the first progress line is out
  await new Promise<void>((resolve) => run.child.stdout!.on('data', (c: Buffer) => /step 2\/1000 loss \d/.test(c.toString()) && resolve()));
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.is(r.code, 130, r.stderr);
  const m = /stopped by SIGINT at step (\d+) of 1000: wrote .*checkpoint; continue with: bertgpu pretrain --resume /.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /\nstep 2\/1000 loss \d+\.\d{4} \(mlm \d+\.\d{3}\) lr \d\.\d\de-\d+ \d+ tok\/s, \d+s elapsed, \S+ left\n/);
  const step = Number(m[1]);
  assert.is(JSON.parse(readFileSync(join(out, 'checkpoint', 'trainer_state.json'), 'utf8')).step, step);
  const resumed = cli(['pretrain', '--resume', out, '--steps', String(step + 2), '--quiet']);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(
    resumed.stdout,
    `resuming ${join(out, 'checkpoint')} at step ${step} of ${step + 2}, with --steps ${step + 2} (the checkpoint's run: 1000)`,
  );
  assert.not.match(resumed.stderr, DAWN);
});

test('SIGKILL of the stderr-filtering parent takes its training child with it', async () => {
  await buildCli();
  const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-cmd-')), 'model');
  const run = start(tinyPretrainArgs(out, 1000, ['--log-every', '2']));
  await new Promise<void>((resolve) => run.child.stdout!.on('data', (c: Buffer) => /step 2\/1000/.test(c.toString()) && resolve()));
  const child = Number(execFileSync('pgrep', ['-P', String(run.child.pid)], { encoding: 'utf8' }).trim());
  assert.ok(child > 0);
  run.child.kill('SIGKILL');
  await run.done;
  const alive = () => {
    try {
      process.kill(child, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 200 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.not.ok(alive(), `the training child ${child} outlived its parent`);
});

test.run();
