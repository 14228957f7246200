// Replaced-token detection on held-back Moby-Dick by a Bayes detector with bigram knowledge of the
// training text (bench/rtd/ceiling.py): how much signal there is for an ELECTRA discriminator, and
// how sharp its knowledge must be, at the split `bertgpu pretrain --eval-fraction 0.1` makes.
//   node bench/rtd/ceiling.mjs [--vocab-size 4000] [--eval-fraction 0.1] [--rows 12000]
// Needs Debian's python3-numpy (/usr/bin/python3); ~3 min on 2 cores.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: v } = parseArgs({
  options: {
    'vocab-size': { type: 'string', default: '4000' },
    'eval-fraction': { type: 'string', default: '0.1' },
    rows: { type: 'string', default: '12000' },
  },
});
mkdirSync('tmp/rtd', { recursive: true });
await esbuild.build({
  entryPoints: ['bench/rtd/tokens.ts'],
  outfile: 'tmp/rtd/tokens.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  loader: { '.wgsl': 'text' },
  packages: 'external',
  logLevel: 'warning',
});
const tokens = `tmp/rtd/tokens-${v['vocab-size']}-${v['eval-fraction']}.json`;
execFileSync(process.execPath, ['tmp/rtd/tokens.mjs', tokens, v['vocab-size'], v['eval-fraction']], { stdio: 'inherit' });
execFileSync('/usr/bin/python3', ['bench/rtd/ceiling.py', tokens, v.rows], { stdio: 'inherit' });
