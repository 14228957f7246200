// Matmul part of `npm run bench`, for Node (npm webgpu) and Chromium alike: bench/matmul-core.ts's
// runBench (the code of `npm run bench:matmul`) on the shapes asked for, with our default variant
// per shape, tfjs-backend-webgpu and the FMA ceiling kernel; its per-shape lines become results.
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
  const pick = new Map(cases.map((c) => [c.label, rt.matmulVariant(c.M, c.N, c.K)]));
  const variants = [...new Set(pick.values())];
  const lines: string[] = [];
  await runBench(
    title,
    tf,
    (l) => {
      lines.push(l);
      log(l);
    },
    { ...DEFAULTS, variants, shapes: opts.shapes, rounds: opts.rounds, trialSeconds: opts.trialSeconds, tfjs: true, ceiling: true },
  );
  // runBench's per-shape line: '  <label> (MxKxN[ tA][ tB]): <name> <GFLOPS>, ... GFLOPS; <a>/<b> <ratio>, ...'
  for (const c of cases) {
    const line = lines.find((l) => l.startsWith(`  ${c.label} (`) && l.includes(' GFLOPS; '));
    if (!line) throw new Error(`matmul bench: no result line for ${c.label}`);
    const [gPart, rPart] = line.slice(line.indexOf('): ') + 3).split(' GFLOPS; ');
    const pairs = (s: string) =>
      new Map(s.split(', ').map((kv) => [kv.slice(0, kv.lastIndexOf(' ')), Number(kv.slice(kv.lastIndexOf(' ') + 1))]));
    const g = pairs(gPart);
    const r = pairs(rPart);
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
