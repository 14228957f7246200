// The fine-tune page's sentiment recipe under Node, over seeds and variants, against the bag of
// words on the same split (issue 17: does the demo's classifier beat the bag of words?). Bundles
// bench/finetune/sentiment-panel.ts with esbuild, runs one process per (variant, seed) and prints a
// table with the mean over seeds. The base is the demo's pre-trained model, which
// bench/continual/pretrain-small.mjs makes (the pre-train page's defaults through the library).
//
// Usage: node bench/continual/pretrain-small.mjs --lib dist   (writes .bench-out/continual/small-bert)
//   node bench/finetune/sentiment-panel.mjs [--base DIR] [--seeds 0,1,2,3] [--eval 1000]
//     [--variants "epochs=3;lr=5e-4;tapt-steps=400,tapt-lr=5e-4"] [--json FILE]
// A variant is knob=value pairs joined by commas (knobs: sentiment-panel.ts's options); ';' separates variants.
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const { values: o } = parseArgs({
  options: {
    base: { type: 'string', default: '.bench-out/continual/small-bert' },
    seeds: { type: 'string', default: '0,1,2,3' },
    eval: { type: 'string', default: '1000' },
    variants: { type: 'string', default: 'epochs=3' },
    json: { type: 'string' },
  },
});
const out = '.bench-out/sentiment-panel';
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: ['bench/finetune/sentiment-panel.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: `${out}/run.mjs`,
  external: ['webgpu'],
  loader: { '.wgsl': 'text' },
  logLevel: 'warning',
});
const seeds = o.seeds.split(',').map(Number);
const rows = [];
for (const variant of o.variants.split(';')) {
  const args = variant
    .split(',')
    .filter(Boolean)
    .flatMap((kv) => {
      const [k, v] = kv.split('=');
      if (v === undefined) throw new Error(`--variants: '${kv}' is not knob=value`);
      return [`--${k}`, v];
    });
  const runs = [];
  for (const seed of seeds) {
    const r = spawnSync(process.execPath, [`${out}/run.mjs`, '--base', o.base, '--eval', o.eval, '--seed', String(seed), ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`${variant} seed ${seed}: exit ${r.status}`);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1));
    console.log(`${variant} seed ${seed}: ${JSON.stringify(res)}`);
    runs.push(res);
  }
  rows.push({ variant, runs });
}
const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const f = (x) => (x * 100).toFixed(1);
console.log(`\n| variant | held-back yelp (${o.eval}), seeds ${o.seeds} | mean | bag of words | mean | McNemar p vs BoW |`);
console.log('|---|---|---|---|---|---|');
for (const { variant, runs } of rows)
  console.log(
    `| ${variant} | ${runs.map((r) => f(r.acc)).join(' / ')} | ${f(mean(runs.map((r) => r.acc)))} | ${runs.map((r) => f(r.bow)).join(' / ')} | ${f(mean(runs.map((r) => r.bow)))} | ${runs.map((r) => r.pBow.toFixed(2)).join(' / ')} |`,
  );
if (o.json) writeFileSync(o.json, JSON.stringify(rows, null, 2) + '\n');
