// npm run bench — ours, the peer and the ratio, each pair interleaved in one process or page:
//   matmul   GFLOPS vs @tensorflow/tfjs-backend-webgpu and vs an FMA-only ceiling kernel (Node and
//            Chromium; bench/matmul-core.ts, the code of `npm run bench:matmul`);
//   forward  BERT encoder forward latency vs onnxruntime-node (CPU EP) in Node and vs
//            onnxruntime-web's WebGPU and WASM EPs in one crossOriginIsolated Chromium page, on the
//            same weights (random init written by our exporter, ONNX by bench/ort/export_onnx.py
//            with Debian's python3-torch + python3-onnx, cached in tmp/bench/models/), outputs
//            compared first; and dispatches per encoder layer forward;
//   train    bert-tiny / bert-mini mlm-nsp step tokens/s vs plain torch CPU (bench/suite/torch_step.py),
//            with our dispatches, submits and peak live GPU bytes per step;
//   tokenize WordPiece tokens/s vs @huggingface/tokenizers.
// onnxruntime-node is installed on first use into tmp/bench/ort-node (npm, --ignore-scripts).
// Then a table with the issue's goals, met or not.
//
// Options: --only matmul,forward,train,tokenize  --runtime node|chromium (repeatable; default both)
//   --full (the whole grid: bert-base forward, matmul n=256..2048 and bert-base shapes, 5 rounds;
//   training stays at bert-tiny / bert-mini unless --models names more)
//   --rounds N  --models bert-tiny,bert-mini  --batches 1,8  --seq 128  --train-batch 16
//   --threads 2 (ORT WASM / ORT CPU / torch threads)  --json FILE  --python /usr/bin/python3
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gpuEnv } from '../scripts/gpu-env.mjs';

const SECTIONS = ['matmul', 'forward', 'train', 'tokenize'];
const RUNTIMES = ['node', 'chromium'];
const MODELS = ['bert-tiny', 'bert-mini', 'bert-small', 'bert-medium', 'bert-base'];
const USAGE = `usage: npm run bench -- [--only ${SECTIONS.join(',')}] [--runtime node|chromium] [--full] [--rounds N]
  [--models ${MODELS.slice(0, 2).join(',')}] [--batches 1,8] [--seq 128] [--train-batch 16] [--threads 2] [--json FILE] [--python PATH]`;

function fail(message) {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      only: { type: 'string' },
      runtime: { type: 'string', multiple: true },
      full: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      models: { type: 'string' },
      batches: { type: 'string' },
      seq: { type: 'string', default: '128' },
      'train-batch': { type: 'string', default: '16' },
      threads: { type: 'string', default: '2' },
      json: { type: 'string' },
      python: { type: 'string', default: '/usr/bin/python3' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  fail(err.message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const list = (s, name, allowed) => {
  const items = s.split(',').map((x) => x.trim());
  for (const x of items) if (!allowed.includes(x)) fail(`--${name}: unknown '${x}' (known: ${allowed.join(', ')})`);
  return items;
};
const int = (s, name, min = 1) => {
  if (!/^\d+$/.test(s) || Number(s) < min) fail(`--${name}: want an integer >= ${min}, got '${s}'`);
  return Number(s);
};
const sections = values.only ? list(values.only, 'only', SECTIONS) : SECTIONS;
const runtimes = values.runtime?.length ? values.runtime.flatMap((r) => list(r, 'runtime', RUNTIMES)) : RUNTIMES;
const full = values.full;
const rounds = values.rounds ? int(values.rounds, 'rounds') : full ? 5 : 3;
const models = values.models
  ? list(values.models, 'models', MODELS)
  : full
    ? ['bert-tiny', 'bert-mini', 'bert-base']
    : ['bert-tiny', 'bert-mini'];
const batches = values.batches ? values.batches.split(',').map((b) => int(b.trim(), 'batches')) : [1, 8];
const seq = int(values.seq, 'seq', 2);
if (seq > 512) fail(`--seq: at most 512 (max_position_embeddings), got ${seq}`);
const trainBatch = int(values['train-batch'], 'train-batch');
const threads = int(values.threads, 'threads');
if (values.json && existsSync(values.json)) fail(`--json: ${values.json} exists (not overwritten; remove it or name another file)`);

// Loaded after the arguments are checked, so a bad one is reported at once.
const esbuild = await import('esbuild');
const { runPage } = await import('./suite/page.mjs');

const MODEL_DIR = resolve('tmp/bench/models');
// onnxruntime-node is not a devDependency: its postinstall downloads CUDA binaries from outside the
// npm registry (and fails where only the registry is reachable); its npm tarball holds the CPU ones.
const ORT_NODE = { version: '1.30.0', dir: resolve('tmp/bench/ort-node') };

/** Installs onnxruntime-node (CPU) into tmp/bench/ort-node once, without its install script. */
function ensureOrtNode() {
  if (existsSync(join(ORT_NODE.dir, 'node_modules', 'onnxruntime-node', 'package.json'))) return true;
  console.log(`installing onnxruntime-node@${ORT_NODE.version} into ${ORT_NODE.dir} (--ignore-scripts: CPU binaries only)`);
  mkdirSync(ORT_NODE.dir, { recursive: true });
  const r = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      ORT_NODE.dir,
      '--no-save',
      '--no-package-lock',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      `onnxruntime-node@${ORT_NODE.version}`,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0)
    problems.push(`npm install onnxruntime-node@${ORT_NODE.version} failed (exit ${r.status}): the Node forward row is skipped`);
  return r.status === 0;
}
const started = performance.now();
const results = [];
const problems = [];
const loads = [loadavg()[0]];
const RESULT = 'BENCH-RESULT ';
const keep = (line) => {
  if (line.startsWith(RESULT)) {
    results.push(JSON.parse(line.slice(RESULT.length)));
    return;
  }
  if (line.trim() && !/artificially reduced|Failed to load resource|\[W:onnxruntime/.test(line)) console.log(line);
};

// Bundles go inside node_modules/ (ignored by git) so the Node bundles' external imports resolve.
mkdirSync('node_modules/.cache', { recursive: true });
const out = mkdtempSync('node_modules/.cache/bertgpu-bench-run-');
const common = { bundle: true, format: 'esm', target: 'es2022', loader: { '.wgsl': 'text' }, logLevel: 'warning' };

async function nodeEntry(entry, opts, env = {}) {
  const file = join(out, entry.replace(/[/.]/g, '_') + '.mjs');
  await esbuild.build({ ...common, platform: 'node', packages: 'external', entryPoints: [entry], outfile: file });
  const code = await new Promise((done) => {
    const child = spawn(process.execPath, [file], {
      env: { ...gpuEnv(), ...env, BERTGPU_BENCH_OPTS: JSON.stringify(opts) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let rest = '';
    const onData = (chunk) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop();
      lines.forEach(keep);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (c) => {
      if (rest) keep(rest);
      done(c);
    });
  });
  loads.push(loadavg()[0]);
  if (code !== 0) problems.push(`${entry} exited with ${code}`);
  return code === 0;
}

async function pageEntry(entry, opts, mounts = {}) {
  const dir = join(out, entry.replace(/[/.]/g, '_'));
  await esbuild.build({
    ...common,
    platform: 'browser',
    external: ['webgpu', '/ort/*'],
    entryPoints: [entry],
    outfile: join(dir, 'bench.js'),
    banner: { js: `globalThis.BERTGPU_BENCH_OPTS = ${JSON.stringify(opts)};` },
  });
  const { ok, text } = await runPage(dir, 'bench.js', {
    mounts,
    until: /BENCH (DONE|FAILED)/,
    timeoutMs: (full ? 120 : 45) * 60_000,
    onLine: keep,
  });
  loads.push(loadavg()[0]);
  if (!ok || /BENCH FAILED/.test(text)) problems.push(`${entry} in Chromium failed`);
}

/** config.json + model.safetensors (ours, random init) and model.onnx (torch export) per model, cached. */
async function prepareModels() {
  if (!(await nodeEntry('bench/ort/forward-node.ts', { mode: 'prepare', dir: MODEL_DIR, models }))) return false;
  const probe = spawnSync(values.python, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  for (const name of models) {
    const dir = join(MODEL_DIR, name);
    const onnx = join(dir, 'model.onnx');
    if (existsSync(onnx) && statSync(onnx).mtimeMs >= statSync(join(dir, 'model.safetensors')).mtimeMs) continue;
    if (probe.status !== 0) {
      problems.push(
        `forward: ${values.python} cannot import torch and onnx (apt-get install -y python3-torch python3-onnx): ${probe.stderr.trim().split('\n').pop()}`,
      );
      return false;
    }
    const r = spawnSync(values.python, ['bench/ort/export_onnx.py', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    keep(r.stdout.trim());
    if (r.status !== 0) {
      problems.push(`forward: export_onnx.py ${dir} failed:\n${r.stderr.trim()}`);
      return false;
    }
  }
  return true;
}

/** Debian's torch uses the libblas.so.3 alternative; point it at OpenBLAS when installed (reference BLAS is ~12x slower). */
function torchEnv() {
  const env = { OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE', OMP_NUM_THREADS: String(threads) };
  for (const d of ['openblas-pthread', 'openblas-openmp']) {
    const dir = `/usr/lib/x86_64-linux-gnu/${d}`;
    if (existsSync(dir)) {
      env.LD_LIBRARY_PATH = [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
      break;
    }
  }
  return env;
}

try {
  console.log(
    `npm run bench: ${sections.join(', ')} on ${runtimes.join(', ')}; ${rounds} rounds; ${cpus().length} CPUs (${cpus()[0]?.model}), load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  if (sections.includes('matmul')) {
    const opts = {
      shapes: full
        ? ['256x256x256,512x512x512,1024x1024x1024,2048x2048x2048', 'bert-tiny', 'bert-base']
        : ['512x512x512', '2048x128x512:nt', '2048x512x128'],
      rounds,
      trialSeconds: full ? 0.4 : 0.25,
    };
    console.log('\n# matmul');
    if (runtimes.includes('node')) await nodeEntry('bench/suite/matmul-node.ts', opts);
    if (runtimes.includes('chromium')) await pageEntry('bench/suite/matmul-page.ts', opts);
  }
  if (sections.includes('forward')) {
    console.log(`\n# BERT encoder forward (${models.join(', ')}; B = ${batches.join(', ')}; T = ${seq})`);
    if (await prepareModels()) {
      const opts = { models, batches, seq, rounds, threads };
      if (runtimes.includes('node') && ensureOrtNode())
        await nodeEntry('bench/ort/forward-node.ts', { ...opts, mode: 'compare', dir: MODEL_DIR, ortNodeDir: ORT_NODE.dir });
      if (runtimes.includes('chromium'))
        await pageEntry('bench/ort/forward-page.ts', opts, {
          '/ort/': resolve('node_modules/onnxruntime-web/dist'),
          '/models/': MODEL_DIR,
        });
    }
  }
  if (sections.includes('train')) {
    // the issue's training sizes; a larger model trains only when --models names it
    const trainModels = values.models ? models : models.filter((m) => m === 'bert-tiny' || m === 'bert-mini');
    console.log(`\n# training step (${trainModels.join(', ')}; mlm-nsp B${trainBatch} x T${seq}) vs plain torch CPU`);
    await nodeEntry('bench/suite/train-node.ts', {
      models: trainModels,
      batch: trainBatch,
      seq,
      rounds,
      threads,
      python: values.python,
      dir: resolve('tmp/bench/train'),
      env: torchEnv(),
    });
  }
  if (sections.includes('tokenize')) {
    console.log('\n# tokenizer');
    await nodeEntry('bench/suite/tokenize-node.ts', { rounds });
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}

// ---- the table and the goals ----
const timeRatio = (r) => (r.unit === 'ms' ? r.ratio : r.section === 'train' ? 1 / r.ratio : NaN);
function goal(r) {
  if (r.section === 'matmul' && r.peerName === 'FMA ceiling kernel') return { text: '>= 0.6 of ceiling', met: r.ratio >= 0.6 };
  if (r.section === 'forward' && r.peerName === 'ort-web webgpu') return { text: '<= 0.1x time', met: r.ratio <= 0.1 };
  if (r.section === 'forward' && r.peerName === 'ort-web wasm') return { text: '<= 3x time', met: r.ratio <= 3 };
  if (r.section === 'train') return { text: '<= 2.5x time', met: timeRatio(r) <= 2.5 };
  if (r.section === 'layer') return { text: '<= 10 per layer', met: r.ours <= 10 };
  return null;
}
const num = (x, unit) =>
  unit === 'dispatches' ? String(x) : unit === 'ms' ? x.toFixed(1) : x >= 1e4 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2);
const rows = results.map((r) => {
  const g = goal(r);
  const ratioText =
    r.section === 'layer'
      ? '-'
      : r.unit === 'ms'
        ? `${r.ratio.toFixed(2)}x time`
        : r.section === 'train'
          ? `${timeRatio(r).toFixed(2)}x time`
          : `${r.ratio.toFixed(2)}x rate`;
  return [
    r.section,
    r.runtime,
    r.case,
    `${num(r.ours, r.unit)} ${r.unit}`,
    r.section === 'layer' ? `training ${r.extra.training}` : `${r.peerName}: ${num(r.peer, r.unit)}`,
    ratioText,
    g ? `${g.text}: ${g.met ? 'met' : 'NOT met'}` : '',
  ];
});
const header = ['part', 'runtime', 'case', 'ours', 'peer', 'ours / peer', 'goal'];
const adapters = [...new Set(results.map((r) => `${r.runtime.split(' ')[0]}: ${r.adapter}`))];
console.log(`\n## npm run bench — ${rounds} interleaved rounds, medians; ratios are medians of per-round ratios`);
console.log(`adapters: ${adapters.join('; ')}`);
console.log(
  `load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} on ${cpus().length} CPUs`,
);
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
// one line per goal: how many of its rows meet it
const byGoal = new Map();
for (const r of results) {
  const g = goal(r);
  if (!g) continue;
  const key = `${r.section}${r.section === 'forward' ? ` vs ${r.peerName}` : ''}: ${g.text}`;
  const [met, all] = byGoal.get(key) ?? [0, 0];
  byGoal.set(key, [met + (g.met ? 1 : 0), all + 1]);
}
for (const [key, [met, all]] of byGoal) console.log(`goal ${key}: met in ${met} of ${all}`);
for (const r of results.filter((r) => r.section === 'train'))
  console.log(
    `train ${r.case}: ours ${r.extra.oursStepMs.toFixed(0)} ms/step, torch ${r.extra.torchStepMs.toFixed(0)} ms/step; ${r.extra.dispatchesPerStep} dispatches, ${r.extra.submitsPerStep} submits, peak live ${(r.extra.peakLiveBytes / 2 ** 20).toFixed(1)} MiB per step; torch BLAS: ${r.extra.torchBlas}`,
  );
for (const p of problems) console.log(`PROBLEM: ${p}`);
const seconds = (performance.now() - started) / 1000;
console.log(`\nnpm run bench finished in ${seconds.toFixed(0)} s${problems.length ? ` with ${problems.length} problem(s)` : ''}`);
if (values.json) {
  const doc = { date: new Date().toISOString(), seconds, cpus: cpus().length, loadAverage: loads, rounds, results, problems };
  writeFileSync(values.json + '.tmp', JSON.stringify(doc, null, 2) + '\n');
  renameSync(values.json + '.tmp', values.json);
  console.log(`wrote ${values.json}`);
}
// runInChromium-style timers may linger; exit now.
process.exit(problems.length ? 1 : 0);
