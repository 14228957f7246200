// Pre-training in a browser tab: WordPiece vocabulary learned in the page, then a bert-tiny
// BERT (MLM + NSP) trained on WebGPU, with losses shown as they come. Served by
// demos/browser.mjs; also works from any static server with the bundle and corpus/ beside it.
import * as bg from '../../src/index.js';
import { PretrainingDataset } from '../../src/data/dataset.js';
import { textToDocuments } from '../../src/data/text.js';
import { Trainer, datasetSource } from '../../src/train/trainer.js';

const params = new URLSearchParams(location.search);
const steps = Number(params.get('steps') ?? 60);
const out = document.createElement('pre');
document.body.append(out);
function say(line: string) {
  out.textContent += line + '\n';
  console.log(line);
}

async function main() {
  const rt = await bg.init();
  say(`adapter: ${rt.report.adapter.description || rt.report.adapter.vendor} (${rt.report.runtime})`);
  const files: string[] = await (await fetch('corpus/files.json')).json();
  const texts = await Promise.all(files.map(async (f) => (await fetch(`corpus/${f}`)).text()));
  const docs = textToDocuments(texts, { documents: 'file' });
  const evalDocs = docs.slice(-2);
  const trainDocs = docs.slice(0, -2);
  const tokenizer = bg.trainWordPiece(trainDocs.flat(), { vocabSize: 2000 });
  say(`corpus: ${docs.length} chapters, vocabulary ${tokenizer.vocab.length} WordPiece tokens (learned in the page)`);
  const seq = 64;
  const batch = 8;
  const dataset = new PretrainingDataset({ tokenizer, mode: 'bert', sentenceDocuments: trainDocs, maxSeqLength: seq, seed: 1 });
  const evalSet = new PretrainingDataset({ tokenizer, mode: 'bert', sentenceDocuments: [...evalDocs, trainDocs[0]], maxSeqLength: seq, seed: 2 });
  const evalBatches = [...evalSet.batches(batch, { epochs: 1 })].slice(0, 2);
  const config = bg.presetConfig('bert-tiny', { vocab_size: tokenizer.vocab.length, pad_token_id: 0 });
  const trainer = Trainer.create('mlm-nsp', config, datasetSource(dataset, batch), { steps, lr: 2e-3, warmupSteps: Math.round(steps / 10), logEvery: 10, seed: 1 }, evalBatches);
  const before = await trainer.evaluate();
  say(`held-back before training: mlm ${before.parts.mlm.toFixed(3)} nsp ${before.parts.nsp.toFixed(3)}`);
  trainer.onLog = (r) => say(`step ${r.step}: loss ${r.loss.toFixed(3)} (mlm ${r.parts.mlm.toFixed(3)}, nsp ${r.parts.nsp.toFixed(3)}) mlm acc ${(r.metrics.mlm_accuracy * 100).toFixed(1)}% ${Math.round(r.tokens_per_s)} tok/s`);
  await trainer.run();
  const after = await trainer.evaluate();
  say(`held-back after ${steps} steps: mlm ${after.parts.mlm.toFixed(3)} nsp ${after.parts.nsp.toFixed(3)} mlm acc ${(after.metrics.mlm_accuracy * 100).toFixed(1)}% nsp acc ${(after.metrics.nsp_accuracy * 100).toFixed(1)}%`);
  const special = new Set(['[CLS]', '[SEP]', '[PAD]', '[MASK]'].map((t) => tokenizer.vocab.indexOf(t)));
  say(`baselines of the held-back batches: unigram entropy ${bg.unigramEntropy(evalBatches, special).toFixed(3)} nats (MLM below it uses context), NSP majority class ${(bg.nspMajorityAccuracy(evalBatches) * 100).toFixed(1)}% (a short run stays above the first and at the second)`);
  const files2 = await bg.exportPretrained(trainer.objective.models.model, tokenizer);
  say(`exported a Hugging Face directory in memory: ${Object.entries(files2).map(([k, v]) => `${k} (${v.length} bytes)`).join(', ')}`);
  say(after.parts.mlm < before.parts.mlm ? 'DEMO OK' : 'DEMO FAILED: the held-back MLM loss did not go down');
}

main().catch((err) => say(`DEMO FAILED: ${err?.stack ?? err}`));
