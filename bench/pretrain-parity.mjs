// Does PyTorch's training of bert-tiny learn the same as ours, given the same batches, the same
// initial weights and the same hyper-parameters?
//
//   node bench/pretrain-parity.mjs --objective mlm-nsp --steps 600 --eval-every 100
//   node bench/pretrain-parity.mjs --objective electra --steps 600 --eval-every 100
//   node bench/pretrain-parity.mjs --objective mlm-nsp --steps 5 --eval-every 0 --dropout 0   # first-steps parity
//   node bench/pretrain-parity.mjs --objective mlm-nsp --steps 5000 --eval-every 500 --torch-only   # torch alone
//
// 1. bundles bench/pretrain-parity/run.ts (esbuild) into tmp/pretrain-parity/run.mjs;
// 2. runs it: builds the Moby-Dick data as `bertgpu pretrain` does, dumps the initial weights and
//    every batch the trainer consumes, trains with our Trainer (--torch-only: dumps the data
//    without training: the batches do not depend on training);
// 3. runs bench/pretrain-parity/torch_ref.py with Debian's torch (/usr/bin/python3) on the dump;
// 4. prints, per evaluation step, ours vs torch (and their difference) next to the unigram-entropy
//    baseline of the held-back tokens and the NSP majority rate of the eval batches, then the
//    per-step training losses of the first steps and windowed training-loss means.
//
// Options: --objective mlm-nsp|electra  --steps N  --eval-every E  --dropout P (0.1)  --batch B (16)
//   --seq T (64)  --out DIR (tmp/pretrain-parity/<objective>-s<steps>-d<dropout>-b<B>t<T>)
//   --torch-only  --skip-ours (reuse DIR's dump and ours_* logs)  --torch-threads N (1)
//   --torch-dtype float32|float64  --first K (per-step rows shown, 5)  --window W (100)
//   --generator-size F (ELECTRA generator hidden fraction, 0.25)  --vocab-size N (WordPiece pieces, 4000)  --lr X (1e-3)
//   --extra-corpus DIR (each .txt there one more training document; held-back text stays Moby-Dick's)
//   --flags (electra: torch writes every held-back token its discriminator flags, decoded, to torch_flags.jsonl)
// Torch runs on OpenBLAS when /usr/lib/x86_64-linux-gnu/openblas-openmp exists (apt-get install
// libopenblas0-openmp; Debian's torch is ~12x slower on the reference BLAS); the system BLAS
// alternative is left as it is, only this process's LD_LIBRARY_PATH points there. OMP_WAIT_POLICY
// defaults to PASSIVE: spinning OpenMP threads crawl when the 2 cores are shared with other work.
import * as esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gpuEnv } from '../scripts/gpu-env.mjs';

const { values } = parseArgs({
  options: {
    objective: { type: 'string', default: 'mlm-nsp' },
    steps: { type: 'string', default: '600' },
    'eval-every': { type: 'string', default: '100' },
    dropout: { type: 'string', default: '0.1' },
    batch: { type: 'string', default: '16' },
    seq: { type: 'string', default: '64' },
    out: { type: 'string' },
    'torch-only': { type: 'boolean', default: false },
    'skip-ours': { type: 'boolean', default: false },
    'torch-threads': { type: 'string', default: '1' },
    'torch-dtype': { type: 'string', default: 'float32' },
    first: { type: 'string', default: '5' },
    window: { type: 'string', default: '100' },
    'generator-size': { type: 'string', default: '0.25' },
    'vocab-size': { type: 'string', default: '4000' },
    lr: { type: 'string', default: '1e-3' },
    'extra-corpus': { type: 'string' },
    flags: { type: 'boolean', default: false },
  },
});
const v = values;
const out =
  v.out ??
  `tmp/pretrain-parity/${v.objective}-s${v.steps}-d${v.dropout}-b${v.batch}t${v.seq}${v['vocab-size'] === '4000' ? '' : `-v${v['vocab-size']}`}${v.lr === '1e-3' ? '' : `-lr${v.lr}`}${v['generator-size'] === '0.25' ? '' : `-g${v['generator-size']}`}${v['extra-corpus'] ? '-extra' : ''}${v['torch-only'] ? '-torchonly' : ''}`;
mkdirSync(out, { recursive: true });

function run(cmd, args, env) {
  return new Promise((resolve, reject) => {
    console.log(`$ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const show = (chunk) =>
      process.stdout.write(
        chunk
          .toString()
          .split('\n')
          .filter((l) => l && !/artificially reduced/.test(l))
          .map((l) => `  ${l}\n`)
          .join(''),
      );
    child.stdout.on('data', show);
    child.stderr.on('data', show);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
  });
}

const bundle = 'tmp/pretrain-parity/run.mjs';
if (!v['skip-ours']) {
  await esbuild.build({
    entryPoints: ['bench/pretrain-parity/run.ts'],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'es2022',
    loader: { '.wgsl': 'text' },
    packages: 'external',
    logLevel: 'warning',
  });
  const args = [
    bundle,
    '--objective',
    v.objective,
    '--steps',
    v.steps,
    '--eval-every',
    v['eval-every'],
    '--dropout',
    v.dropout,
    '--batch',
    v.batch,
    '--seq',
    v.seq,
    '--out',
    out,
    '--generator-size',
    v['generator-size'],
    '--vocab-size',
    v['vocab-size'],
    '--lr',
    v.lr,
  ];
  if (v['extra-corpus']) args.push('--extra-corpus', v['extra-corpus']);
  if (v['torch-only']) args.push('--dump-only');
  await run(process.execPath, args, gpuEnv());
}
const openblas = '/usr/lib/x86_64-linux-gnu/openblas-openmp';
const torchEnv = {
  ...process.env,
  OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
  ...(existsSync(openblas) ? { LD_LIBRARY_PATH: [openblas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {}),
};
await run(
  '/usr/bin/python3',
  [
    'bench/pretrain-parity/torch_ref.py',
    out,
    '--threads',
    v['torch-threads'],
    '--dtype',
    v['torch-dtype'],
    '--eval-every',
    v['eval-every'],
    ...(v.flags ? ['--flags'] : []),
  ],
  torchEnv,
);

// ---- tables ----
const jsonl = (f) =>
  existsSync(join(out, f))
    ? readFileSync(join(out, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];
const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
const ours = { train: jsonl('ours_train.jsonl'), eval: jsonl('ours_eval.jsonl') };
const torch = { train: jsonl('torch_train.jsonl'), eval: jsonl('torch_eval.jsonl') };
const fmt = (x, d = 4) => (x === undefined ? '-' : x === null || Number.isNaN(x) ? 'nan' : x.toFixed(d));
const pad = (s, n) => String(s).padStart(n);

const keys =
  v.objective === 'electra'
    ? ['loss', 'generator', 'discriminator', 'mlm_accuracy', 'disc_accuracy', 'disc_all_original_accuracy', 'disc_precision', 'disc_recall']
    : ['loss', 'mlm', 'nsp', 'mlm_accuracy', 'nsp_accuracy'];
console.log(
  `\n${out}: ${v.objective}, bert-tiny, B${meta.batch} T${meta.seq}, ${meta.steps} steps, lr ${meta.trainer_options.lr} warmup ${meta.trainer_options.warmupSteps}, dropout ${meta.dropout}, ${meta.eval_batches} eval batches`,
);
console.log(
  `baselines: unigram entropy of held-back tokens ${fmt(meta.unigram_entropy)} nats` +
    (meta.nsp_majority_rate !== null
      ? `; NSP majority rate of eval batches ${fmt(meta.nsp_majority_rate)} (${meta.nsp_eval_ones}/${meta.nsp_eval_rows} random-next)`
      : ''),
);
console.log('\nheld-back evaluation (ours | torch | ours - torch):');
const evalSteps = [...new Set([...ours.eval, ...torch.eval].map((r) => r.step))].sort((a, b) => a - b);
const w = 26;
const kw = (k) => Math.max(w, k.length + 2);
console.log(pad('step', 6) + keys.map((k) => pad(k, kw(k))).join(''));
for (const s of evalSteps) {
  const o = ours.eval.find((r) => r.step === s) ?? {};
  const t = torch.eval.find((r) => r.step === s) ?? {};
  console.log(
    pad(s, 6) +
      keys
        .map((k) =>
          pad(
            `${fmt(o[k])} ${fmt(t[k])} ${typeof o[k] === 'number' && typeof t[k] === 'number' ? (o[k] - t[k] >= 0 ? '+' : '') + fmt(o[k] - t[k]) : '-'}`,
            kw(k),
          ),
        )
        .join(''),
  );
}

const trainKeys = v.objective === 'electra' ? ['loss', 'generator', 'discriminator', 'grad_norm'] : ['loss', 'mlm', 'nsp', 'grad_norm'];
const first = Number(v.first);
if (ours.train.length && torch.train.length) {
  console.log(`\ntraining, first ${first} steps (ours | torch | relative difference):`);
  console.log(pad('step', 6) + trainKeys.map((k) => pad(k, 36)).join(''));
  for (let s = 1; s <= first; s++) {
    const o = ours.train.find((r) => r.step === s);
    const t = torch.train.find((r) => r.step === s);
    if (!o || !t) continue;
    console.log(
      pad(s, 6) +
        trainKeys
          .map((k) => pad(`${o[k].toFixed(6)} ${t[k].toFixed(6)} ${((o[k] - t[k]) / Math.abs(t[k])).toExponential(1)}`, 36))
          .join(''),
    );
  }
}
const win = Number(v.window);
if (ours.train.length || torch.train.length) {
  console.log(`\ntraining-loss means over windows of ${win} steps (ours | torch):`);
  console.log(
    pad('steps', 12) +
      trainKeys
        .slice(0, 3)
        .map((k) => pad(k, 22))
        .join(''),
  );
  const n = Math.max(...[...ours.train, ...torch.train].map((r) => r.step));
  const mean = (rows, k, a, b) => {
    const sel = rows.filter((r) => r.step > a && r.step <= b);
    return sel.length ? sel.reduce((s, r) => s + r[k], 0) / sel.length : undefined;
  };
  for (let a = 0; a < n; a += win) {
    const b = Math.min(n, a + win);
    console.log(
      pad(`${a + 1}-${b}`, 12) +
        trainKeys
          .slice(0, 3)
          .map((k) => pad(`${fmt(mean(ours.train, k, a, b))} ${fmt(mean(torch.train, k, a, b))}`, 22))
          .join(''),
    );
  }
}
