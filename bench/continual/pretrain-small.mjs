// The continual-learning table's small encoder: the demo's pre-training (demos/pages/pretrain.ts
// defaults) through the library, because `bertgpu pretrain` offers presets from bert-tiny up
// only: a 2 x 64 BERT (2 heads, FFN 256), a 200-piece WordPiece vocabulary
// learned from Moby-Dick's first 129 chapters, MLM + NSP on 16 x 32 tokens, lr 1e-3, 30 warm-up
// steps, no dropout, seed 1; the last 6 chapters held back. Writes a Hugging Face directory
// (BertForPreTraining) to --out and prints the held-back MLM loss next to the unigram entropy.
//
// Usage: node bench/continual/pretrain-small.mjs --lib .bench-out/continual/dist
//   [--out .bench-out/continual/small-bert] [--steps 400]
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadLib, mobyDickChapters } from '../finetune/common.mjs';

const { values: o } = parseArgs({
  options: {
    lib: { type: 'string', default: '.bench-out/continual/dist' },
    out: { type: 'string', default: '.bench-out/continual/small-bert' },
    steps: { type: 'string', default: '400' },
    vocab: { type: 'string', default: '200' },
    seed: { type: 'string', default: '1' },
    overwrite: { type: 'boolean', default: false },
  },
});
if (existsSync(`${o.out}/model.safetensors`) && !o.overwrite) {
  console.error(`${o.out} holds a model already (--overwrite to train it again)`);
  process.exit(0);
}
const [steps, seed, seq, batch, heldBack] = [+o.steps, +o.seed, 32, 16, 6];
const bg = await loadLib(o.lib);
await bg.init();
const texts = mobyDickChapters().map((f) => readFileSync(f, 'utf8'));
const docs = bg.textToDocuments(texts, { documents: 'file' });
const trainDocs = docs.slice(0, docs.length - heldBack);
const evalDocs = docs.slice(docs.length - heldBack);
const tokenizer = bg.trainWordPiece(trainDocs.flat(), { vocabSize: +o.vocab });
const dataset = new bg.PretrainingDataset({ tokenizer, mode: 'bert', sentenceDocuments: trainDocs, maxSeqLength: seq, seed });
// as `bertgpu pretrain`: NSP's random next sentences of held-back pairs may come from a training document
const evalSet = new bg.PretrainingDataset({
  tokenizer,
  mode: 'bert',
  sentenceDocuments: [...evalDocs, trainDocs[0]],
  maxSeqLength: seq,
  seed: seed + 7,
  masking: 'static',
});
const evalBatches = [];
for (const b of evalSet.batches(batch, { epochs: 1 })) {
  evalBatches.push(b);
  if (evalBatches.length >= 16) break;
}
const special = new Set(['[CLS]', '[SEP]', '[PAD]', '[MASK]'].map((t) => tokenizer.tokenToId(t) ?? -1));
const config = bg.bertConfig({
  num_hidden_layers: 2,
  hidden_size: 64,
  num_attention_heads: 2,
  intermediate_size: 256,
  vocab_size: tokenizer.vocabSize,
  pad_token_id: tokenizer.tokenToId('[PAD]') ?? 0,
  max_position_embeddings: 512,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
});
const trainer = bg.Trainer.create(
  'mlm-nsp',
  config,
  bg.datasetSource(dataset, batch),
  { steps, lr: 1e-3, warmupSteps: Math.min(30, steps), logEvery: 50, seed },
  evalBatches,
);
const t0 = Date.now();
trainer.onLog = (r) => console.error(`step ${r.step}/${steps} loss ${r.loss.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
await trainer.run();
const ev = await trainer.evaluate();
await trainer.savePretrained(o.out, tokenizer);
console.log(
  JSON.stringify({
    out: o.out,
    steps,
    seconds: (Date.now() - t0) / 1000,
    heldBack: { loss: ev.loss, parts: ev.parts, metrics: ev.metrics },
    unigram: bg.unigramEntropy(evalBatches, special),
    nspMajority: bg.nspMajorityAccuracy(evalBatches),
  }),
);
