// Matmul part of `npm run bench`, for Node (npm webgpu) and Chromium alike: bench/matmul-core.ts's
// runBench (the code of `npm run bench:matmul`) on the shapes asked for, with our default variant
// per shape, tfjs-backend-webgpu and the FMA ceiling kernel; its rows become results.
import * as bg from '../../src/index.js';
import { parseCases, runBench, DEFAULTS } from '../matmul-core.js';
import { adapterName, emit } from './common.js';

export interface MatmulEntryOptions {
  shapes: string[];
  rounds: number;
  trialSeconds: number;
}

export async function runMatmul(
  title: string,
  runtime: string,
  tf: any,
  opts: MatmulEntryOptions,
  log: (l: string) => void,
): Promise<void> {
  const rt = bg.runtime();
  const cases = opts.shapes.flatMap(parseCases);
  const pick = new Map(cases.map((c) => [c.label, rt.matmulVariant(c.M, c.N, c.K, c.transA, c.transB)]));
  const variants = [...new Set(pick.values())];
  const rows = await runBench(title, tf, log, {
    ...DEFAULTS,
    variants,
    shapes: opts.shapes,
    rounds: opts.rounds,
    trialSeconds: opts.trialSeconds,
    tfjs: true,
    ceiling: true,
  });
  for (const { c, g, r } of rows) {
    const v = pick.get(c.label)!;
    const shape = `${c.label} (${c.M}x${c.K}x${c.N}${c.transA ? ' tA' : ''}${c.transB ? ' tB' : ''})`;
    for (const [peer, peerName] of [
      ['tfjs', 'tfjs-backend-webgpu'],
      ['ceil', 'FMA ceiling kernel'],
    ]) {
      emit(
        {
          section: 'matmul',
          runtime,
          adapter: adapterName(),
          case: shape,
          ours: g.get(v)!,
          peer: g.get(peer === 'ceil' ? 'ceiling' : 'tfjs')!,
          peerName,
          unit: 'GFLOPS',
          ratio: r.get(`${v}/${peer}`)!,
          rounds: opts.rounds,
          extra: { variant: v },
        },
        log,
      );
    }
  }
}
