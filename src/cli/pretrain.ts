// `bertgpu pretrain`: pre-train a BERT-family model from text files on WebGPU.
import { parseArgs } from 'node:util';
import { readFile, appendFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import cliProgress from 'cli-progress';
import { init, kernelTimeTable, type KernelTime } from '../runtime.js';
import { presetConfig, PRESETS } from '../models/config.js';
import { WordPieceTokenizer } from '../tokenizers/wordpiece.js';
import { trainWordPiece } from '../tokenizers/wordpiece-trainer.js';
import { PretrainingDataset } from '../data/dataset.js';
import { textToDocuments } from '../data/text.js';
import { OBJECTIVES, type ObjectiveName, type PretrainingBatch } from '../train/objectives.js';
import { Trainer, datasetSource, type LogRecord, type EvalRecord } from '../train/trainer.js';
import { unigramEntropy, nspMajorityAccuracy } from '../train/baselines.js';

const USAGE = `usage: bertgpu pretrain --objective mlm|mlm-nsp|roberta|electra --corpus FILE... (--vocab FILE | --train-vocab SIZE)
         --config ${Object.keys(PRESETS).join('|')} --out DIR
         [--steps N] [--batch B] [--seq T] [--lr X] [--warmup N] [--seed S] [--accumulate N]
         [--dupe-factor N] [--masking static|dynamic] [--whole-word-mask] [--generator-size F] [--dropout P] [--weight-decay W]
         [--log-every N] [--eval-every N] [--eval-fraction F] [--eval-batches N] [--checkpoint-every N] [--profile N]
         [--resume DIR] [--log FILE] [--quiet]
Each corpus file is one document (split into sentences); --out receives a Hugging Face directory
(for electra: the discriminator) and checkpoint/ (the whole training state, for --resume).
--dupe-factor (mlm, mlm-nsp; default 10 as google-research/bert) builds the instances that many times
over with different sentence pairings and masks; without it a long run memorises one fixed set.
--generator-size (electra; default 0.25 as ELECTRA's generator_hidden_size) is the generator's hidden
size as a fraction of the discriminator's.
--dropout (default 0.1, the preset's) sets hidden_dropout_prob and attention_probs_dropout_prob;
--weight-decay (default 0.01) is AdamW's, on all but biases and LayerNorm weights.
--profile N times every kernel of N training steps (after 2 warm-up steps) with GPU timestamp
queries and prints the GPU time per kernel at the end (needs the adapter's timestamp-query).`;

const MODE: Record<ObjectiveName, 'bert' | 'roberta' | 'electra'> = { mlm: 'bert', 'mlm-nsp': 'bert', roberta: 'roberta', electra: 'electra' };

function int(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${v}'`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, any>;
  try {
    let positionals: string[];
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        objective: { type: 'string' }, corpus: { type: 'string', multiple: true }, vocab: { type: 'string' }, 'train-vocab': { type: 'string' },
        config: { type: 'string', default: 'bert-tiny' }, steps: { type: 'string' }, batch: { type: 'string' }, seq: { type: 'string' },
        lr: { type: 'string' }, warmup: { type: 'string' }, seed: { type: 'string' }, accumulate: { type: 'string' },
        'log-every': { type: 'string' }, 'eval-every': { type: 'string' }, 'eval-fraction': { type: 'string' }, 'checkpoint-every': { type: 'string' },
        out: { type: 'string' }, resume: { type: 'string' }, log: { type: 'string' }, quiet: { type: 'boolean', default: false },
        'dupe-factor': { type: 'string' }, masking: { type: 'string' }, 'whole-word-mask': { type: 'boolean', default: false },
        'eval-batches': { type: 'string' }, 'generator-size': { type: 'string' }, profile: { type: 'string' },
        dropout: { type: 'string' }, 'weight-decay': { type: 'string' },
      },
    }));
    // `--corpus a.txt b.txt c.txt`: the files after --corpus arrive as positionals
    if (positionals.length) {
      if (!values.corpus) throw new Error(`unexpected argument '${positionals[0]}'`);
      values.corpus = [...values.corpus, ...positionals];
    }
  } catch (err) {
    console.error(`bertgpu pretrain: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const objective = values.objective as ObjectiveName;
  if (!OBJECTIVES.includes(objective)) {
    console.error(`bertgpu pretrain: --objective must be one of ${OBJECTIVES.join(', ')}${objective ? `, got '${objective}'` : ''}\n${USAGE}`);
    return 2;
  }
  if (!values.corpus?.length || !values.out) {
    console.error(`bertgpu pretrain: --corpus and --out are required\n${USAGE}`);
    return 2;
  }
  if (!values.vocab === !values['train-vocab']) {
    console.error(`bertgpu pretrain: give exactly one of --vocab FILE and --train-vocab SIZE\n${USAGE}`);
    return 2;
  }
  const steps = int('steps', values.steps, 1000);
  const batch = int('batch', values.batch, 16);
  const seq = int('seq', values.seq, 128);
  const seed = int('seed', values.seed, 0);
  const lr = values.lr === undefined ? 1e-3 : Number(values.lr);
  if (!(lr > 0)) throw new Error(`--lr must be a positive number, got '${values.lr}'`);
  const evalFraction = values['eval-fraction'] === undefined ? 0.05 : Number(values['eval-fraction']);
  if (!(evalFraction >= 0 && evalFraction < 1)) throw new Error(`--eval-fraction must be in [0, 1), got '${values['eval-fraction']}'`);
  const dupeFactor = int('dupe-factor', values['dupe-factor'], 10);
  if (dupeFactor < 1) throw new Error(`--dupe-factor must be at least 1, got '${values['dupe-factor']}'`);
  const masking = values.masking as 'static' | 'dynamic' | undefined;
  if (masking !== undefined && masking !== 'static' && masking !== 'dynamic') throw new Error(`--masking must be static or dynamic, got '${masking}'`);
  const evalBatchLimit = int('eval-batches', values['eval-batches'], 8);
  const generatorSize = values['generator-size'] === undefined ? 0.25 : Number(values['generator-size']);
  if (!(generatorSize > 0 && generatorSize <= 1)) throw new Error(`--generator-size must be a fraction in (0, 1], got '${values['generator-size']}'`);
  const dropout = values.dropout === undefined ? undefined : Number(values.dropout);
  if (dropout !== undefined && !(dropout >= 0 && dropout < 1)) throw new Error(`--dropout must be a probability in [0, 1), got '${values.dropout}'`);
  const weightDecay = values['weight-decay'] === undefined ? 0.01 : Number(values['weight-decay']);
  if (!(weightDecay >= 0)) throw new Error(`--weight-decay must be a non-negative number, got '${values['weight-decay']}'`);
  if (values['generator-size'] !== undefined && objective !== 'electra') throw new Error(`--generator-size applies to --objective electra only, got --objective ${objective}`);

  const texts: string[] = [];
  for (const file of values.corpus as string[]) {
    try {
      texts.push(await readFile(file, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read --corpus ${file}: ${(err as Error).message}`);
    }
  }
  const documents = textToDocuments(texts, { documents: 'file' });
  if (documents.length < 2) throw new Error(`--corpus gave ${documents.length} document(s); NSP and evaluation need at least 2 (one file = one document)`);
  // the last documents are held back for evaluation
  const heldBack = evalFraction > 0 ? Math.max(1, Math.round(documents.length * evalFraction)) : 0;
  const trainDocs = documents.slice(0, documents.length - heldBack);
  const evalDocs = documents.slice(documents.length - heldBack);

  let tokenizer: WordPieceTokenizer;
  if (values.vocab) {
    const text = await readFile(values.vocab, 'utf8').catch((e) => { throw new Error(`cannot read --vocab ${values.vocab}: ${e.message}`); });
    tokenizer = WordPieceTokenizer.fromVocabText(text);
  } else {
    tokenizer = trainWordPiece(trainDocs.flat(), { vocabSize: int('train-vocab', values['train-vocab'], 8000) });
  }

  const mode = MODE[objective];
  const wholeWordMask = values['whole-word-mask'] as boolean;
  const dataset = new PretrainingDataset({ tokenizer, mode, sentenceDocuments: trainDocs, maxSeqLength: seq, seed, dupeFactor, masking, wholeWordMask });
  const evalBatches: PretrainingBatch[] = [];
  if (evalDocs.length) {
    const evalSet = new PretrainingDataset({ tokenizer, mode, sentenceDocuments: mode === 'bert' ? [...evalDocs, ...trainDocs.slice(0, 1)] : evalDocs, maxSeqLength: seq, seed: seed + 7, masking: 'static', wholeWordMask });
    for (const b of evalSet.batches(batch, { epochs: 1 })) {
      evalBatches.push(b);
      if (evalBatches.length >= evalBatchLimit) break;
    }
  }

  // which files were held back depends on the order of --corpus (a shell glob sorts by locale)
  const files = values.corpus as string[];
  const heldBackFiles = documents.length === files.length ? files.slice(files.length - heldBack).map((f) => basename(f)) : [];
  const shown = heldBackFiles.length > 6 ? [...heldBackFiles.slice(0, 3), '...', ...heldBackFiles.slice(-2)] : heldBackFiles;
  console.log(`training data: ${dataset.instances.length} ${mode} instances from ${trainDocs.length} documents (dupe factor ${mode === 'bert' ? dupeFactor : 1}, ${dataset.masking} masking); held back: ${evalDocs.length} documents, ${evalBatches.length} batches${shown.length ? ` (${shown.join(' ')})` : ''}`);
  const rt = await init();
  const config = presetConfig(values.config, { vocab_size: tokenizer.vocab.length, max_position_embeddings: Math.max(512, seq + 2), pad_token_id: tokenizer.vocab.indexOf('[PAD]'),
    ...(dropout === undefined ? {} : { hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout }),
  });
  const options = {
    steps, lr, seed, weightDecay, warmupSteps: int('warmup', values.warmup, Math.round(steps * 0.1)), accumulationSteps: Math.max(1, int('accumulate', values.accumulate, 1)),
    logEvery: Math.max(1, int('log-every', values['log-every'], 10)), evalEvery: int('eval-every', values['eval-every'], 0), generatorSize,
  };
  const checkpointDir = join(values.out, 'checkpoint');
  const source = datasetSource(dataset, batch);
  let trainer: Trainer;
  if (values.resume) {
    const dir = existsSync(join(values.resume, 'checkpoint', 'trainer_state.json')) ? join(values.resume, 'checkpoint') : values.resume;
    trainer = await Trainer.resume(dir, source, evalBatches, { steps });
  } else trainer = Trainer.create(objective, config, source, options, evalBatches);

  const checkpointEvery = int('checkpoint-every', values['checkpoint-every'], 0);
  const profileSteps = int('profile', values.profile, 0);
  if (profileSteps && !rt.hasFeature('timestamp-query')) {
    throw new Error(`--profile needs the 'timestamp-query' feature, which this adapter (${rt.report.adapter.description || rt.report.adapter.device}) does not offer`);
  }
  // the profiled window: after two warm-up steps (pipelines compiled, pool filled)
  const profileStart = Math.min(steps, trainer.step + 2);
  const profileEnd = Math.min(steps, profileStart + profileSteps);
  let kernelTimes: KernelTime[] | null = null;
  const bar = values.quiet ? null : new cliProgress.SingleBar({
    format: 'step {value}/{total} |{bar}| loss {loss} {parts} | {tps} tok/s | ETA {eta_formatted}',
    hideCursor: true,
  }, cliProgress.Presets.shades_classic);
  bar?.start(steps, trainer.step, { loss: '-', parts: '', tps: '-' });
  if (values.log && !values.resume) await writeFile(values.log, '');
  trainer.onLog = (r: LogRecord) => {
    const parts = Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' ');
    bar?.update(r.step, { loss: r.loss.toFixed(3), parts: parts ? `(${parts})` : '', tps: Math.round(r.tokens_per_s) });
    if (values.log) void appendFile(values.log, JSON.stringify({ step: r.step, loss: r.loss, ...r.parts, ...r.metrics, lr: r.lr, grad_norm: r.grad_norm, tokens_per_s: r.tokens_per_s }) + '\n');
  };
  trainer.onEval = (r: EvalRecord) => {
    if (values.log) void appendFile(values.log, JSON.stringify({ step: r.step, eval: true, loss: r.loss, ...r.parts, ...r.metrics }) + '\n');
  };
  let nextCheckpoint = checkpointEvery ? Math.min(steps, trainer.step + checkpointEvery) : steps;
  while (trainer.step < steps) {
    let until = nextCheckpoint;
    if (profileSteps && !kernelTimes) {
      if (trainer.step === profileStart && profileStart < profileEnd) rt.startProfile();
      until = Math.min(until, trainer.step < profileStart ? profileStart : profileEnd);
    }
    await trainer.run(until);
    if (profileSteps && !kernelTimes && trainer.step === profileEnd && profileStart < profileEnd) kernelTimes = await rt.stopProfile();
    if (trainer.step === nextCheckpoint) {
      if (checkpointEvery) await trainer.saveCheckpoint(checkpointDir, tokenizer);
      nextCheckpoint = checkpointEvery ? Math.min(steps, trainer.step + checkpointEvery) : steps;
    }
  }
  bar?.stop();
  if (kernelTimes) printKernelTimes(kernelTimes, profileEnd - profileStart);
  else if (profileSteps) console.log(`--profile: no step was left to profile after the 2 warm-up steps (the run ended at step ${trainer.step})`);
  if (evalBatches.length) {
    const r = await trainer.evaluate();
    const baseline = unigramEntropy(evalBatches, new Set(['[CLS]', '[SEP]', '[PAD]', '[MASK]'].map((t) => tokenizer.vocab.indexOf(t))));
    console.log(`held-back evaluation (${evalBatches.length} batches): loss ${r.loss.toFixed(4)} ${JSON.stringify({ ...r.parts, ...r.metrics })}`);
    console.log(`unigram-entropy baseline of the held-back tokens: ${baseline.toFixed(4)} nats (an MLM loss below it uses context)`);
    const nspMajority = nspMajorityAccuracy(evalBatches);
    if (objective === 'mlm-nsp') console.log(`NSP majority-class baseline of the held-back pairs: ${nspMajority.toFixed(4)} (an NSP accuracy above it uses the sentences)`);
    if (objective === 'electra') {
      // the replacements are sampled anew in each evaluation, so this baseline is the evaluation's own
      const m = r.metrics;
      console.log(`discriminator accuracy ${m.disc_accuracy.toFixed(4)} against the all-original baseline ${m.disc_all_original_accuracy.toFixed(4)} of the same replacements (above it, the discriminator detects them)`);
    }
    if (values.log) await appendFile(values.log, JSON.stringify({ step: trainer.step, eval: true, final: true, loss: r.loss, ...r.parts, ...r.metrics, unigram_entropy: baseline, ...(objective === 'mlm-nsp' ? { nsp_majority_accuracy: nspMajority } : {}) }) + '\n');
  }
  await trainer.saveCheckpoint(checkpointDir, tokenizer);
  await trainer.savePretrained(values.out, tokenizer);
  console.log(`wrote ${values.out} (${objective === 'electra' ? 'ElectraForPreTraining discriminator' : trainer.objective.models.model.architecture}) and ${checkpointDir}`);
  trainer.dispose();
  rt.destroy();
  return 0;
}

/** The --profile report: GPU time per step, then the kernels, the largest first. */
function printKernelTimes(times: KernelTime[], steps: number): void {
  const total = times.reduce((a, t) => a + t.ms, 0);
  console.log(`GPU time per kernel over ${steps} profiled step(s) (timestamp queries, each dispatch in its own pass): ${(total / steps).toFixed(2)} ms per step`);
  for (const line of kernelTimeTable(times, steps)) console.log(line);
}
