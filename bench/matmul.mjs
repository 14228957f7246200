// npm run bench:matmul — GFLOPS of square f32 matmul (n = 256..2048) for every bertgpu kernel
// variant, for @tensorflow/tfjs-backend-webgpu in the same runtime and process, and for an
// FMA-only ceiling kernel; in Node (npm webgpu / Dawn, lavapipe here) and then in headless
// Chromium (SwiftShader here). Prints one table per runtime with ours/tfjs and ours/ceiling.
//
// Options: --runtime node|browser (repeatable; default both), --sizes 256,512,
//          --variants register16,register,tiled, --no-tfjs, --no-ceiling, --trial-seconds 0.4,
//          --max-seconds 60 (skip one of our variants at a size where a product would take longer),
//          --shapes 2048x128x512:nt,bert-tiny (MxKxN[:nn|nt|tn|tt] products instead of --sizes),
//          --rounds 3 (interleaved rounds of ceiling, variants and tfjs per shape),
//          --unsafe-fast (Chromium without robustness/validation, both libraries alike)
import * as esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gpuEnv } from '../scripts/gpu-env.mjs';
import { runInChromium } from '../scripts/chromium.mjs';

const { values } = parseArgs({
  options: {
    runtime: { type: 'string', multiple: true },
    sizes: { type: 'string' },
    variants: { type: 'string' },
    'no-tfjs': { type: 'boolean' },
    'no-ceiling': { type: 'boolean' },
    'trial-seconds': { type: 'string' },
    'unsafe-fast': { type: 'boolean' },
    'max-seconds': { type: 'string' },
    shapes: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const runtimes = values.runtime?.length ? values.runtime : ['node', 'browser'];
const opts = {
  sizes: values.sizes ? values.sizes.split(',').map(Number) : [256, 512, 1024, 2048],
  variants: values.variants ? values.variants.split(',') : ['register16', 'register', 'tiled'],
  trialSeconds: values['trial-seconds'] ? +values['trial-seconds'] : 0.4,
  tfjs: !values['no-tfjs'],
  ceiling: !values['no-ceiling'],
  maxSeconds: values['max-seconds'] ? +values['max-seconds'] : 60,
  shapes: values.shapes ? [values.shapes] : undefined,
  rounds: values.rounds ? +values.rounds : 3,
};

// Inside node_modules/ (ignored by git) so the Node bundle's external imports resolve.
mkdirSync('node_modules/.cache', { recursive: true });
const out = mkdtempSync('node_modules/.cache/bertgpu-bench-');
const common = { bundle: true, format: 'esm', target: 'es2022', loader: { '.wgsl': 'text' }, logLevel: 'warning' };
const started = performance.now();
let failed = false;
const tables = [];

try {
  if (runtimes.includes('node')) {
    await esbuild.build({
      ...common,
      platform: 'node',
      packages: 'external',
      entryPoints: ['bench/matmul-node.ts'],
      outfile: join(out, 'node.mjs'),
    });
    const text = await new Promise((resolve) => {
      const child = spawn(process.execPath, [join(out, 'node.mjs')], {
        env: { ...gpuEnv(), BERTGPU_BENCH_OPTS: JSON.stringify(opts) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      const keep = (chunk) => {
        const s = chunk.toString();
        text += s;
        process.stdout.write(
          s
            .split('\n')
            .filter((l) => !/artificially reduced|^\s*$/.test(l))
            .map((l) => l + '\n')
            .join(''),
        );
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('close', (code) => {
        if (code !== 0) failed = true;
        resolve(text);
      });
    });
    tables.push(text);
  }
  if (runtimes.includes('browser')) {
    await esbuild.build({
      ...common,
      platform: 'browser',
      external: ['webgpu'],
      entryPoints: ['bench/matmul-browser.ts'],
      outfile: join(out, 'browser', 'bench.js'),
      banner: { js: `globalThis.BERTGPU_BENCH_OPTS = ${JSON.stringify(opts)};` },
    });
    console.log('\n# headless Chromium');
    const { ok, text } = await runInChromium(join(out, 'browser'), 'bench.js', {
      until: /BENCH (DONE|FAILED)/,
      timeoutMs: 9 * 60_000,
      echo: false,
      extraArgs: values['unsafe-fast'] ? ['--enable-dawn-features=disable_robustness,disable_workgroup_init,skip_validation'] : [],
    });
    process.stdout.write(
      text
        .split('\n')
        .filter((l) => l && !/Failed to load resource/.test(l))
        .map((l) => l + '\n')
        .join(''),
    );
    if (!ok || /BENCH FAILED/.test(text)) failed = true;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(`\nbench:matmul finished in ${((performance.now() - started) / 1000).toFixed(0)} s${failed ? ' (FAILED)' : ''}`);
// runInChromium leaves its timeout timer pending; exit now rather than wait for it.
process.exit(failed ? 1 : 0);
