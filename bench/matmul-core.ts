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
  /** Products to time instead of the square `sizes` (parseCases syntax: '2048x128x512:nt', 'bert-tiny'). */
  shapes?: string[];
  /** Interleaved rounds per shape (default 3). */
  rounds?: number;
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

const fmt = (x: number | undefined, w: number, d = 2) => (x === undefined || !isFinite(x) ? '-' : x.toFixed(d)).padStart(w);

/** One product of the bench: op(A) [M, K] times op(B) [K, N]; transA / transB as bg.matmul's. */
export interface MatmulCase {
  label: string;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
}

/**
 * Parses 'MxKxN' (op(A) is M x K, op(B) K x N) with an optional ':nn' / ':nt' / ':tn' / ':tt'
 * (transA, transB as bg.matmul's), or 'bert-tiny' / 'bert-base': the six products of one
 * encoder layer's FFN linears at B*T = 2048 rows, forward (x W^T), dx (g W) and dW (g^T x).
 */
export function parseCases(spec: string): MatmulCase[] {
  const out: MatmulCase[] = [];
  for (const item of spec
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const preset = /^bert-(tiny|base)$/.exec(item);
    if (preset) {
      const [h, f] = preset[1] === 'tiny' ? [128, 512] : [768, 3072];
      const rows = 2048;
      for (const [inF, outF] of [
        [h, f],
        [f, h],
      ])
        out.push(
          { label: `fwd ${inF}->${outF}`, M: rows, K: inF, N: outF, transA: false, transB: true },
          { label: `dx ${inF}->${outF}`, M: rows, K: outF, N: inF, transA: false, transB: false },
          { label: `dW ${inF}->${outF}`, M: outF, K: rows, N: inF, transA: true, transB: false },
        );
      continue;
    }
    const m = /^(\d+)x(\d+)x(\d+)(?::([nt])([nt]))?$/.exec(item);
    if (!m) throw new Error(`bench:matmul: bad shape '${item}' (want MxKxN, MxKxN:nt, bert-tiny or bert-base)`);
    out.push({ label: item, M: +m[1], K: +m[2], N: +m[3], transA: m[4] === 't', transB: m[5] === 't' });
  }
  return out;
}

const square = (n: number): MatmulCase => ({ label: `n=${n}`, M: n, K: n, N: n, transA: false, transB: false });

/** The ceiling kernel as a timed trial of about `seconds` (GFLOPS); `iters` adapts to the speed seen. */
function ceilingTrials() {
  const rt = bg.runtime();
  const groups = 256;
  const invocations = groups * 64;
  const out = bg.zeros([invocations]);
  let iters = 256;
  const run = async (n: number) => {
    const start = now();
    rt.dispatch(CEILING, 'fma_ceiling', { out, p: { iters: n, m: 0.999, c: 1e-3, pad: 0 } }, { workgroups: [groups, 1, 1] });
    await out.toArray();
    return (now() - start) / 1000;
  };
  return {
    async warm() {
      await run(16);
      const t = await run(iters);
      iters = Math.max(256, Math.round((iters * 0.3) / t));
    },
    async trial(seconds: number) {
      const n = Math.max(64, Math.round((iters * seconds) / 0.3));
      const t = await run(n);
      iters = Math.max(64, Math.round((n * 0.3) / t));
      return (invocations * n * 64) / t / 1e9;
    },
    dispose: () => out.dispose(),
  };
}

/** `enqueue` (one product, not waited for) k times, then one readback: GFLOPS of the batch. */
function productTrials(flops: number, enqueue: () => Product) {
  let one = 0;
  return {
    /** Compiles the pipeline (lavapipe / SwiftShader compile on first dispatch); seconds of one product. */
    async warm() {
      const t0 = now();
      await enqueue().done();
      const t1 = now();
      await enqueue().done();
      one = (now() - t1) / 1000;
      return Math.max(one, (t1 - t0) / 1000 / 50);
    },
    async trial(seconds: number) {
      const reps = Math.max(1, Math.min(50, Math.round(seconds / Math.max(one, 1e-4))));
      const start = now();
      for (let r = 0; r < reps - 1; r++) enqueue().drop();
      await enqueue().done();
      const sec = (now() - start) / 1000 / reps;
      one = sec;
      return flops / sec / 1e9;
    },
  };
}

/**
 * Runs the whole benchmark on the current bertgpu runtime (bg.init must have been called)
 * and, when `tf` is given (tfjs-core with the webgpu backend set), on tfjs too. Prints a table.
 * Each round times the ceiling kernel, every variant and tfjs back to back, so a machine whose
 * load changes moves all of them alike; ratios are medians of the per-round ratios.
 */
/** One shape's medians: GFLOPS per name (variants, 'tfjs', 'ceiling') and ratios ('register/ceil', 'register/tfjs', ...). */
export interface BenchRow {
  c: MatmulCase;
  g: Map<string, number>;
  r: Map<string, number>;
}

export async function runBench(title: string, tf: any | null, log: Log, opts: BenchOptions = DEFAULTS): Promise<BenchRow[]> {
  const rt = bg.runtime();
  const a0 = rt.report.adapter;
  log(
    `\n## ${title}: ${[a0.vendor, a0.architecture, a0.description || a0.device].filter(Boolean).join(' / ')}${a0.isFallbackAdapter ? ' (fallback adapter)' : ''}`,
  );
  const cases = opts.shapes?.length ? opts.shapes.flatMap(parseCases) : opts.sizes.map(square);
  const rounds = opts.rounds ?? 3;
  log(`default variant per shape: ${cases.map((c) => `${c.label}: ${rt.matmulVariant(c.M, c.N, c.K)}`).join(', ')}`);
  const ceil = opts.ceiling ? ceilingTrials() : null;
  if (ceil) await ceil.warm();
  const rows: BenchRow[] = [];
  const names = [...opts.variants, ...(tf ? ['tfjs'] : [])];
  for (const c of cases) {
    const flops = 2 * c.M * c.N * c.K;
    const aShape = c.transA ? [c.K, c.M] : [c.M, c.K];
    const bShape = c.transB ? [c.N, c.K] : [c.K, c.N];
    const a = bg.randn(aShape);
    const b = bg.randn(bShape);
    const trials = new Map<string, ReturnType<typeof productTrials>>();
    let ref: Float32Array | null = null;
    let refName = '';
    for (const variant of opts.variants) {
      const t = productTrials(flops, () => {
        const out = bg.matmul(a, b, { variant, transA: c.transA, transB: c.transB });
        return {
          done: async () => {
            await out.toArray();
            out.dispose();
          },
          drop: () => out.dispose(),
        };
      });
      const one = await t.warm();
      if (one > opts.maxSeconds) {
        log(`  ${c.label} ${variant}: skipped (${one.toFixed(0)} s per product)`);
        continue;
      }
      trials.set(variant, t);
      if (c.M * c.N * c.K <= 512 ** 3) {
        const out = bg.matmul(a, b, { variant, transA: c.transA, transB: c.transB });
        const v = (await out.toArray()) as Float32Array;
        out.dispose();
        if (!ref) [ref, refName] = [v, variant];
        else checkClose(ref, v, `${variant} vs ${refName} at ${c.label}`, log);
      }
    }
    let ta: any = null;
    let tb: any = null;
    if (tf) {
      ta = tf.tensor(await a.toArray(), aShape);
      tb = tf.tensor(await b.toArray(), bShape);
      const t = productTrials(flops, () => {
        const out = tf.matMul(ta, tb, c.transA, c.transB);
        return {
          done: async () => {
            await out.data();
            out.dispose();
          },
          drop: () => out.dispose(),
        };
      });
      await t.warm();
      trials.set('tfjs', t);
      if (ref) {
        const out = tf.matMul(ta, tb, c.transA, c.transB);
        checkClose(ref, (await out.data()) as Float32Array, `tfjs vs ${refName} at ${c.label}`, log);
        out.dispose();
      }
    }
    const samples = new Map<string, number[]>();
    const ratios = new Map<string, number[]>();
    const push = (m: Map<string, number[]>, k: string, x: number) => m.set(k, [...(m.get(k) ?? []), x]);
    for (let r = 0; r < rounds; r++) {
      const before = ceil ? await ceil.trial(opts.trialSeconds / 2) : NaN;
      const got = new Map<string, number>();
      for (const [name, t] of trials) got.set(name, await t.trial(opts.trialSeconds));
      const after = ceil ? await ceil.trial(opts.trialSeconds / 2) : NaN;
      const cr = (before + after) / 2;
      push(samples, 'ceiling', cr);
      for (const [name, g] of got) {
        push(samples, name, g);
        push(ratios, `${name}/ceil`, g / cr);
        if (got.has('tfjs') && name !== 'tfjs') push(ratios, `${name}/tfjs`, g / got.get('tfjs')!);
      }
    }
    const g = new Map([...samples].map(([k, xs]) => [k, median(xs)]));
    const rr = new Map([...ratios].map(([k, xs]) => [k, median(xs)]));
    log(
      `  ${c.label} (${c.M}x${c.K}x${c.N}${c.transA ? ' tA' : ''}${c.transB ? ' tB' : ''}): ` +
        [...g].map(([k, x]) => `${k} ${x.toFixed(2)}`).join(', ') +
        ` GFLOPS; ` +
        [...rr].map(([k, x]) => `${k} ${x.toFixed(2)}`).join(', '),
    );
    rows.push({ c, g, r: rr });
    ta?.dispose();
    tb?.dispose();
    a.dispose();
    b.dispose();
  }
  ceil?.dispose();
  // Table.
  const cols: string[] = [...names, ...(opts.ceiling ? ['ceiling'] : [])];
  const ratioCols: string[] = [];
  for (const v of opts.variants) {
    if (tf) ratioCols.push(`${v}/tfjs`);
    if (opts.ceiling) ratioCols.push(`${v}/ceil`);
  }
  const w = 17;
  const lw = Math.max(6, ...cases.map((c) => c.label.length + 2));
  log(
    `\n${title} — GFLOPS, f32 (median of ${rounds} rounds; ceiling = FMA-only kernel timed around each round; ratios = medians of per-round ratios; '-' = skipped)`,
  );
  log(['shape'.padEnd(lw), ...cols.map((c) => c.padStart(w)), ...ratioCols.map((c) => c.padStart(w))].join(''));
  for (const { c, g, r } of rows) {
    log([c.label.padEnd(lw), ...cols.map((k) => fmt(g.get(k), w)), ...ratioCols.map((k) => fmt(r.get(k), w))].join(''));
  }
  return rows;
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
