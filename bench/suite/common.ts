// Shared by the entries of `npm run bench` (bench/run.mjs bundles each for Node or the browser):
// interleaved timing and the result lines run.mjs collects.
import * as bg from '../../src/index.js';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One comparison: ours vs a peer on the same work, in the same process, interleaved. */
export interface BenchResult {
  section: 'matmul' | 'forward' | 'layer' | 'train' | 'tokenize';
  /** 'node' (Dawn, lavapipe here) or 'chromium' (SwiftShader here), or the peer's process. */
  runtime: string;
  adapter: string;
  case: string;
  ours: number;
  peer: number;
  peerName: string;
  /** 'ms' (lower is better) or a rate such as 'GFLOPS', 'tokens/s' (higher is better). */
  unit: string;
  /** ours / peer of the times (unit ms) or of the rates: the median of the per-round ratios. */
  ratio: number;
  rounds: number;
  extra?: Record<string, number | string>;
}

export const RESULT = 'BENCH-RESULT ';
export function emit(r: BenchResult, log: (line: string) => void = console.log): void {
  log(RESULT + JSON.stringify(r));
}

export function adapterName(): string {
  const a = bg.runtime().report.adapter;
  return [a.vendor, a.architecture, a.description || a.device].filter(Boolean).join(' / ') + (a.isFallbackAdapter ? ' (fallback)' : '');
}

/**
 * Runs every runner once per round, in order, for `rounds` rounds after one warm-up call each;
 * returns each runner's median ms and the median of per-round ratios of each to the first.
 */
export async function interleave(
  runners: { name: string; run: () => Promise<unknown> }[],
  rounds: number,
): Promise<{ ms: Map<string, number>; ratioToFirst: Map<string, number>; samples: Map<string, number[]> }> {
  for (const r of runners) await r.run();
  const samples = new Map(runners.map((r) => [r.name, [] as number[]]));
  for (let i = 0; i < rounds; i++) {
    for (const r of runners) {
      const t = performance.now();
      await r.run();
      samples.get(r.name)!.push(performance.now() - t);
    }
  }
  const first = samples.get(runners[0].name)!;
  return {
    ms: new Map([...samples].map(([k, xs]) => [k, median(xs)])),
    ratioToFirst: new Map([...samples].map(([k, xs]) => [k, median(xs.map((x, i) => first[i] / x))])),
    samples,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`output lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}
