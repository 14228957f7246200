// Shared body of `npm run bench:matmul` (bundled once for Node, once for the browser):
// GFLOPS of every bertgpu matmul variant, of @tensorflow/tfjs-backend-webgpu on the same
// WebGPU implementation in the same process, and of an FMA-bound ceiling kernel.
import * as bg from '../src/index.js';

export interface BenchOptions {
  sizes: number[];
  variants: bg.MatmulVariant[];
  /** Target seconds for one timed trial (k repetitions + one readback). */
  trialSeconds: number;
  tfjs: boolean;
  ceiling: boolean;
  /** Skip one of our variants at a size where one product would take longer (tfjs always runs). */
  maxSeconds: number;
}

export const DEFAULTS: BenchOptions = {
  sizes: [256, 512, 1024, 2048],
  variants: ['register16', 'register', 'tiled'],
  trialSeconds: 0.4,
  tfjs: true,
  ceiling: true,
  maxSeconds: 60,
};

type Log = (line: string) => void;
const now = () => performance.now();
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Only register FMAs: 8 independent vec4 accumulator chains per invocation (enough to hide FMA
// latency on a SIMD CPU), inputs from a uniform so nothing folds, one store per invocation.
// FLOPs = invocations * iters * 8 chains * 4 lanes * 2.
const CEILING = bg.defineShader(
  'bench_fma_ceiling',
  /* wgsl */ `
struct P { iters: u32, m: f32, c: f32, pad: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: P;
@compute @workgroup_size(64)
fn fma_ceiling(@builtin(global_invocation_id) gid: vec3u) {
  let x = f32(gid.x) * 1e-7;
  var a0 = vec4f(x, x + 0.1, x + 0.2, x + 0.3);
  var a1 = a0 + 1.0; var a2 = a0 + 2.0; var a3 = a0 + 3.0;
  var a4 = a0 + 4.0; var a5 = a0 + 5.0; var a6 = a0 + 6.0; var a7 = a0 + 7.0;
  let m = vec4f(p.m);
  let c = vec4f(p.c);
  for (var i = 0u; i < p.iters; i++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  let s = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
  out[gid.x] = s.x + s.y + s.z + s.w;
}
`,
);

interface Product {
  done: () => Promise<void>;
  drop: () => void;
}

/** Times `enqueue` (one product, not waited for) k times, then one readback; median over trials. */
async function measure(
  name: string,
  n: number,
  opts: BenchOptions,
  log: Log,
  enqueue: () => Product,
): Promise<{ gflops: number; trials: number; reps: number }> {
  const flops = 2 * n * n * n;
  // Warm-up compiles the pipeline (lavapipe/SwiftShader compile on first dispatch) and tells
  // how long one product takes; big sizes get fewer trials so the whole bench stays short.
  const t0 = now();
  await enqueue().done();
  let one = (now() - t0) / 1000;
  // A product this slow was compiled at a smaller size already: the warm-up is the one trial.
  if (one > 5) return { gflops: flops / one / 1e9, trials: 1, reps: 1 };
  if (one < 1) {
    const t1 = now();
    await enqueue().done();
    one = (now() - t1) / 1000;
  }
  const reps = Math.max(1, Math.min(50, Math.round(opts.trialSeconds / Math.max(one, 1e-4))));
  const trials = one > 3 ? 1 : one > 0.5 ? 3 : 5;
  const times: number[] = [];
  for (let t = 0; t < trials; t++) {
    const start = now();
    for (let r = 0; r < reps - 1; r++) enqueue().drop();
    // Reading the last product back waits for every queued one.
    await enqueue().done();
    times.push((now() - start) / 1000 / reps);
  }
  const sec = median(times);
  return { gflops: flops / sec / 1e9, trials, reps };
}

async function ceiling(): Promise<number> {
  const rt = bg.runtime();
  const groups = 256;
  const invocations = groups * 64;
  const out = bg.zeros([invocations]);
  const run = async (iters: number) => {
    const start = now();
    rt.dispatch(CEILING, 'fma_ceiling', { out, p: { iters, m: 0.999, c: 1e-3, pad: 0 } }, { workgroups: [groups, 1, 1] });
    await out.toArray();
    return (now() - start) / 1000;
  };
  await run(16);
  const t = await run(256);
  const iters = Math.max(256, Math.round((256 * 0.4) / t));
  const times: number[] = [];
  for (let i = 0; i < 3; i++) times.push(await run(iters));
  out.dispose();
  return (invocations * iters * 64) / median(times) / 1e9;
}

const fmt = (x: number | undefined, w: number, d = 2) => (x === undefined || !isFinite(x) ? '-' : x.toFixed(d)).padStart(w);

/**
 * Runs the whole benchmark on the current bertgpu runtime (bg.init must have been called)
 * and, when `tf` is given (tfjs-core with the webgpu backend set), on tfjs too. Prints a table.
 */
export async function runBench(title: string, tf: any | null, log: Log, opts: BenchOptions = DEFAULTS): Promise<void> {
  const rt = bg.runtime();
  const a0 = rt.report.adapter;
  log(
    `\n## ${title}: ${[a0.vendor, a0.architecture, a0.description || a0.device].filter(Boolean).join(' / ')}${a0.isFallbackAdapter ? ' (fallback adapter)' : ''}`,
  );
  log(`default variant per size: ${opts.sizes.map((n) => `${n}: ${rt.matmulVariant(n, n, n)}`).join(', ')}`);
  const results = new Map<string, Map<number, number>>();
  const put = (k: string, n: number, g: number) => {
    if (!results.has(k)) results.set(k, new Map());
    results.get(k)!.set(n, g);
  };
  // Seconds one n x n product would take at the speed measured at the previous size.
  const estimate = (k: string, n: number) => {
    const g = [...(results.get(k)?.entries() ?? [])].at(-1);
    return g ? (2 * n ** 3) / (g[1] * 1e9) : 0;
  };
  let ceil = NaN;
  if (opts.ceiling) {
    ceil = await ceiling();
    log(`ceiling (register vec4 FMAs only): ${ceil.toFixed(2)} GFLOPS`);
  }
  for (const n of opts.sizes) {
    const a = bg.randn([n, n]);
    const b = bg.randn([n, n]);
    // Correctness spot check against tfjs at the smallest size (and variants against each other).
    let ref: Float32Array | null = null;
    for (const variant of opts.variants) {
      const est = estimate(variant, n);
      if (est > opts.maxSeconds) {
        log(`  n=${n} ${variant}: skipped (about ${est.toFixed(0)} s per product at its speed at n=${n / 2})`);
        continue;
      }
      const r = await measure(variant, n, opts, log, () => {
        const c = bg.matmul(a, b, { variant });
        return {
          done: async () => {
            await c.toArray();
            c.dispose();
          },
          drop: () => c.dispose(),
        };
      });
      put(variant, n, r.gflops);
      log(`  n=${n} ${variant}: ${r.gflops.toFixed(2)} GFLOPS (${r.trials} trial(s) x ${r.reps} rep(s))`);
      if (n <= 512) {
        const c = bg.matmul(a, b, { variant });
        const v = (await c.toArray()) as Float32Array;
        c.dispose();
        if (!ref) ref = v;
        else checkClose(ref, v, `${variant} vs ${opts.variants[0]} at n=${n}`, log);
      }
    }
    if (tf) {
      const ad = (await a.toArray()) as Float32Array;
      const bd = (await b.toArray()) as Float32Array;
      const ta = tf.tensor2d(ad, [n, n]);
      const tb = tf.tensor2d(bd, [n, n]);
      const r = await measure('tfjs', n, opts, log, () => {
        const c = tf.matMul(ta, tb);
        return {
          done: async () => {
            await c.data();
            c.dispose();
          },
          drop: () => c.dispose(),
        };
      });
      put('tfjs', n, r.gflops);
      log(`  n=${n} tfjs: ${r.gflops.toFixed(2)} GFLOPS (${r.trials} trial(s) x ${r.reps} rep(s))`);
      if (ref) {
        const c = tf.matMul(ta, tb);
        checkClose(ref, (await c.data()) as Float32Array, `tfjs vs ${opts.variants[0]} at n=${n}`, log);
        c.dispose();
      }
      ta.dispose();
      tb.dispose();
    }
    a.dispose();
    b.dispose();
  }
  // Table.
  const cols: string[] = [...opts.variants, ...(tf ? ['tfjs'] : []), ...(opts.ceiling ? ['ceiling'] : [])];
  const ratioCols: string[] = [];
  for (const v of opts.variants) {
    if (tf) ratioCols.push(`${v}/tfjs`);
    if (opts.ceiling) ratioCols.push(`${v}/ceil`);
  }
  const w = 17;
  log(`\n${title} — GFLOPS, n x n x n f32 (median of trials; ceiling = FMA-only kernel; '-' = skipped as too slow)`);
  log(['n'.padStart(6), ...cols.map((c) => c.padStart(w)), ...ratioCols.map((c) => c.padStart(w))].join(''));
  for (const n of opts.sizes) {
    const cells = cols.map((c) => fmt(c === 'ceiling' ? ceil : results.get(c)?.get(n), w));
    const ratios: string[] = [];
    for (const v of opts.variants) {
      const g = results.get(v)?.get(n);
      if (tf) ratios.push(fmt(g !== undefined ? g / results.get('tfjs')!.get(n)! : undefined, w) + '');
      if (opts.ceiling) ratios.push(fmt(g !== undefined ? g / ceil : undefined, w));
    }
    log([String(n).padStart(6), ...cells, ...ratios].join(''));
  }
}

function checkClose(ref: Float32Array, got: Float32Array, what: string, log: Log) {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(ref[i] - got[i]) / (1 + Math.abs(ref[i]));
    if (!(e <= worst)) worst = e;
  }
  const ok = worst < 1e-3;
  log(`  check ${what}: max rel diff ${worst.toExponential(2)}${ok ? '' : '  <-- MISMATCH'}`);
  if (!ok) throw new Error(`matmul bench: results differ (${what})`);
}

export function parseList(s: string | undefined | null): string[] | null {
  return s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : null;
}
