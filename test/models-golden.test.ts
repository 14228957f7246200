// Every task class against PyTorch (test/fixtures/models, made by gen.py with Hugging Face's
// names): outputs within 1e-4 and gradients within 1e-3 of the reference's scale, through the
// library API and through `bertgpu run`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, existsSync, mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as esbuild from 'esbuild';
import * as bg from '../src/index.js';
import { fromPretrained } from '../src/io/pretrained.js';
import { runModel, type NamedArrays } from '../src/models/run.js';
import { device } from './helpers.js';
import { compareOutputs } from './golden.js';

const ROOT = 'test/fixtures/models';
const DIRS = readdirSync(ROOT)
  .filter((d) => existsSync(join(ROOT, d, 'config.json')))
  .sort();

function load(path: string): NamedArrays {
  const st = bg.readSafetensors(readFileSync(path), path);
  return new Map([...st.tensors].map(([k, v]) => [k, { data: v.data, shape: v.shape }]));
}

const worst: Record<string, number> = {};

for (const dir of DIRS) {
  test(`${dir}: outputs and gradients match PyTorch (library API)`, async () => {
    await device();
    const { model, missing, unexpected } = await fromPretrained(join(ROOT, dir));
    assert.equal(missing, []);
    assert.equal(unexpected, []);
    const config = JSON.parse(readFileSync(join(ROOT, dir, 'config.json'), 'utf8'));
    assert.is(model.architecture, config.architectures[0]);
    const actual = await runModel(model, load(join(ROOT, dir, 'inputs.safetensors')), { grads: true });
    compareOutputs(dir, actual, load(join(ROOT, dir, 'outputs.safetensors')), worst);
    model.dispose();
  });
}

test('every task class the library builds has a PyTorch fixture', () => {
  const fixtured = new Set(DIRS.map((d) => JSON.parse(readFileSync(join(ROOT, d, 'config.json'), 'utf8')).architectures[0]));
  const missing = Object.keys(bg.ARCHITECTURES).filter((name) => !fixtured.has(name));
  assert.equal(missing, [], `no fixture for ${missing.join(', ')} (add it to gen.py)`);
});

test('worst errors across all classes (printed for the notes)', () => {
  console.log(
    `\n  worst output error ${worst.output?.toExponential(2)}, worst gradient error ${worst.grad?.toExponential(2)} (relative to scale)`,
  );
  assert.ok(worst.output !== undefined && worst.grad !== undefined);
});

let cli = '';
async function cliPath(): Promise<string> {
  if (cli) return cli;
  // inside the project, so the bundle's npm imports resolve from node_modules
  cli = join(process.cwd(), process.env.TEST_BUILD_DIR ?? '.test-build', 'cli', 'cli.mjs');
  await esbuild.build({
    entryPoints: ['src/cli.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    loader: { '.wgsl': 'text' },
    outfile: cli,
    logLevel: 'error',
  });
  return cli;
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: process.env, cwd: process.cwd() });
}

for (const dir of ['BertForPreTraining', 'ElectraForPreTraining', 'RobertaForSequenceClassification', 'BertForQuestionAnswering']) {
  test(`bertgpu run ${dir} --grads matches PyTorch`, async () => {
    await cliPath();
    const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-run-')), 'out.safetensors');
    const r = runCli(['run', '--model', join(ROOT, dir), '--inputs', join(ROOT, dir, 'inputs.safetensors'), '--out', out, '--grads']);
    assert.is(r.status, 0, r.stderr);
    compareOutputs(dir, load(out), load(join(ROOT, dir, 'outputs.safetensors')), {});
  });
}

test('bertgpu run under Deno (its own WebGPU) matches PyTorch', async () => {
  await cliPath();
  const dir = 'ElectraForMaskedLM';
  const out = join(mkdtempSync(join(tmpdir(), 'bertgpu-run-')), 'out.safetensors');
  const r = spawnSync(
    'node_modules/.bin/deno',
    ['run', '-A', cli, 'run', '--model', join(ROOT, dir), '--inputs', join(ROOT, dir, 'inputs.safetensors'), '--out', out, '--grads'],
    {
      encoding: 'utf8',
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' },
    },
  );
  assert.is(r.status, 0, r.stderr);
  compareOutputs(dir, load(out), load(join(ROOT, dir, 'outputs.safetensors')), {});
});

test('bertgpu run: bad input -> exit != 0, one clear line, no output file', async () => {
  await cliPath();
  const tmp = mkdtempSync(join(tmpdir(), 'bertgpu-bad-'));
  const out = join(tmp, 'out.safetensors');
  const dir = join(ROOT, 'BertForMaskedLM');
  // a .safetensors file that is not one: its header is JSON text, not a length
  const bad = join(tmp, 'bad.safetensors');
  copyFileSync(join(dir, 'config.json'), bad);
  const cases: [string[], RegExp][] = [
    [['run', '--model', dir], /required option '--inputs <file>' not specified/],
    [['run', '--model', join(tmp, 'nope'), '--inputs', join(dir, 'inputs.safetensors'), '--out', out], /no config.json/],
    [['run', '--model', dir, '--inputs', join(tmp, 'missing.safetensors'), '--out', out], /--inputs .*missing.safetensors: no such file/],
    [['run', '--model', dir, '--inputs', bad, '--out', out], /header/i],
  ];
  for (const [args, message] of cases) {
    const r = runCli(args);
    assert.not.equal(r.status, 0, args.join(' '));
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !/artificially reduced/.test(l));
    assert.match(lines[0] ?? '', message);
    assert.not.ok(existsSync(out), 'no output file');
  }
});

test.run();
