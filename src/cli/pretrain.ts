// `bertgpu pretrain`: pre-train a BERT-family model from text files on WebGPU.
import type { Command } from 'commander';
import { readFile, stat, access } from 'node:fs/promises';
import { appendFileSync, existsSync, constants } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { init, kernelTimeTable, type KernelTime } from '../runtime.js';
import { presetConfig, PRESETS } from '../models/config.js';
import { WordPieceTokenizer } from '../tokenizers/wordpiece.js';
import { trainWordPiece } from '../tokenizers/wordpiece-trainer.js';
import { PretrainingDataset, type PretrainingDatasetOptions } from '../data/dataset.js';
import { StreamedPretrainingDataset, type ShardReport } from '../data/stream.js';
import { OBJECTIVES, type ObjectiveName, type PretrainingBatch } from '../train/objectives.js';
import {
  Trainer,
  datasetSource,
  readCheckpointState,
  recoverCheckpoint,
  type BatchSource,
  type LogRecord,
  type EvalRecord,
} from '../train/trainer.js';
import { writeAtomic } from '../io/files.js';
import type { DocumentSplit, SentenceSplit } from '../data/corpus.js';
import { corpusFiles, holdBack, loadCorpus, openCorpusStream, shouldStream } from './corpus.js';
import { PRETRAIN_FLAGS, argsToKeep, flagOption, parseFlag, resolveArgs, type PretrainValues } from './pretrain-args.js';
import { UsageError, addVerbose, givenOptions, newCommand, type CliCommand } from './program.js';
import { unigramEntropy, nspMajorityAccuracy } from '../train/baselines.js';

const HELP_AFTER = `
--corpus takes files and directories (their .txt and .jsonl files). A .jsonl line is one
document ({"text": "..."}). Text files: --documents auto reads one file as documents separated
by blank lines (google-research/bert's format) and several files as one document each;
--sentences line takes one sentence per line (that format's), split finds sentences in prose.
The last documents are held back (--eval-fraction); more than half of the sentences is refused
unless --allow-large-held-back. A corpus over 32 MiB (or any, with --stream always) is streamed:
cut into shards of --shard-bytes, each read, made into instances (the dupe factor and random next
sentences within the shard) and shuffled when training reaches it, the shards in a new order every
epoch; documents and sentences are counted as shards are read; the held-back documents are those
whose hash of (file, start offset) falls below --eval-fraction; --train-vocab counts the words of
--vocab-sample-bytes of shards spread over the corpus. --out receives a Hugging Face
directory (for electra: the discriminator) and checkpoint/: the whole training state and these
arguments, so --resume DIR alone continues the run. A flag given again with --resume either
overrides (--steps, --out, --log, --log-every, --eval-every, --eval-batches,
--checkpoint-every; reported) or must equal the checkpoint's (refused otherwise). An --out
that already holds a model needs --overwrite.
--dupe-factor builds the mlm / mlm-nsp instances that many times over with different sentence
pairings and masks (google-research/bert); without it a long run memorises one fixed set.
Steps skipped for a non-finite gradient norm are reported at the next log step; a run with more
than half of its steps (after 10), or 20 in a row, skipped fails (exit 1) and writes no model.
Ctrl-C (SIGINT) or SIGTERM stops at the end of the step, writes checkpoint/ and exits 130 / 143.
--profile N times every kernel of N steps (after 2 warm-up steps) with GPU timestamp queries.`;

const MODE: Record<ObjectiveName, 'bert' | 'roberta' | 'electra'> = {
  mlm: 'bert',
  'mlm-nsp': 'bert',
  roberta: 'roberta',
  electra: 'electra',
};

/** Test hook (the kill test): SIGKILL this process between the renames of the Nth checkpoint write. */
const KILL_BETWEEN_RENAMES = Number(process.env.BERTGPU_TEST_KILL_BETWEEN_RENAMES ?? 0);

export const command: CliCommand = {
  name: 'pretrain',
  gpu: true,
  build: (io) => {
    const cmd = newCommand('pretrain', 'pre-train a BERT-family model on text files (mlm, mlm-nsp, roberta, electra)', io, pretrain);
    for (const [name, flag] of Object.entries(PRETRAIN_FLAGS)) cmd.addOption(flagOption(name, flag));
    return addVerbose(cmd).addHelpText('after', HELP_AFTER);
  },
};

async function pretrain(cmd: Command): Promise<number> {
  const given: PretrainValues = {};
  for (const [name, raw] of Object.entries(givenOptions(cmd)))
    if (PRETRAIN_FLAGS[name]) given[name] = parseFlag(name, raw as string | boolean | string[]);
  // on resume, the checkpoint's arguments fill in what the command line leaves out
  let checkpoint: string | null = null;
  let saved: PretrainValues | null = null;
  if (given.resume) {
    checkpoint = await findCheckpoint(given.resume as string);
    const state = await readCheckpointState(checkpoint);
    const meta = state.meta as { command?: string; args?: PretrainValues } | undefined;
    saved = meta?.command === 'pretrain' && meta.args ? meta.args : null;
    if (!saved && given.objective !== undefined && given.objective !== state.objective) {
      throw new UsageError(`--objective ${given.objective} conflicts with the checkpoint ${checkpoint}, which trains ${state.objective}`);
    }
    // a checkpoint from before runs kept their arguments: its config still tells the preset apart
    const preset = !saved && given.config !== undefined ? PRESETS[given.config as string] : null;
    if (preset && (preset[0] !== state.config.num_hidden_layers || preset[1] !== state.config.hidden_size)) {
      throw new UsageError(
        `--config ${given.config} conflicts with the checkpoint ${checkpoint}: ${state.config.num_hidden_layers} layers of hidden size ${state.config.hidden_size}`,
      );
    }
    if (saved && given.out === undefined) saved = { ...saved, out: checkpoint.endsWith('/checkpoint') ? dirname(checkpoint) : saved.out };
  }
  const { values, overridden } = resolveArgs(given, saved, checkpoint);
  if (!OBJECTIVES.includes(values.objective as ObjectiveName)) {
    throw new UsageError(`--objective must be one of ${OBJECTIVES.join(', ')}${values.objective ? `, got '${values.objective}'` : ''}`);
  }
  if (!(values.corpus as string[] | undefined)?.length || !values.out) throw new UsageError('--corpus and --out are required');
  if (!values.vocab === (values['train-vocab'] === undefined))
    throw new UsageError('give exactly one of --vocab FILE and --train-vocab SIZE');
  const objective = values.objective as ObjectiveName;
  if (values['generator-size'] !== undefined && objective !== 'electra')
    throw new UsageError(`--generator-size applies to --objective electra only, got --objective ${objective}`);
  const out = values.out as string;
  await checkOut(out, {
    overwrite: values.overwrite as boolean,
    resuming: checkpoint !== null && resolve(checkpoint) === resolve(out, 'checkpoint'),
  });
  const steps = values.steps as number;
  const batch = values.batch as number;
  const seq = values.seq as number;
  const seed = values.seed as number;
  const lr = values.lr as number;
  const evalFraction = values['eval-fraction'] as number;
  const dupeFactor = values['dupe-factor'] as number;
  const masking = values.masking as 'static' | 'dynamic' | undefined;
  const evalBatchLimit = values['eval-batches'] as number;
  const generatorSize = (values['generator-size'] as number | undefined) ?? 0.25;
  const dropout = values.dropout as number | undefined;
  const weightDecay = values['weight-decay'] as number;
  const logFile = values.log as string | undefined;

  const data = (await shouldStream(values.stream as string, await corpusFiles(values.corpus as string[])))
    ? await streamedCorpusData(values, { objective, batch, seq, seed, dupeFactor, masking, evalFraction, evalBatchLimit })
    : await wholeCorpusData(values, given, { objective, batch, seq, seed, dupeFactor, masking, evalFraction, evalBatchLimit });
  const { tokenizer, evalBatches } = data;
  const rt = await init();
  const config = presetConfig(values.config as string, {
    vocab_size: tokenizer.vocab.length,
    max_position_embeddings: Math.max(512, seq + 2),
    pad_token_id: tokenizer.vocab.indexOf('[PAD]'),
    ...(dropout === undefined ? {} : { hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout }),
  });
  const logEvery = values['log-every'] as number;
  const evalEvery = values['eval-every'] as number;
  const options = {
    steps,
    lr,
    seed,
    weightDecay,
    warmupSteps: (values.warmup as number | undefined) ?? Math.round(steps * 0.1),
    accumulationSteps: values.accumulate as number,
    precision: values.precision as 'f32' | 'f16',
    logEvery,
    evalEvery,
    generatorSize,
  };
  const checkpointDir = join(out, 'checkpoint');
  const source = data.source;
  const trainer = checkpoint
    ? await Trainer.resume(checkpoint, source, evalBatches, { steps, logEvery, evalEvery })
    : Trainer.create(objective, config, source, options, evalBatches);
  if (checkpoint)
    console.log(`resuming ${checkpoint} at step ${trainer.step} of ${steps}${overridden.length ? `, with ${overridden.join(', ')}` : ''}`);
  const checkpointEvery = values['checkpoint-every'] as number;
  const profileSteps = values.profile as number;
  if (profileSteps && !rt.hasFeature('timestamp-query')) {
    throw new Error(
      `--profile needs the 'timestamp-query' feature, which this adapter (${rt.report.adapter.description || rt.report.adapter.device}) does not offer`,
    );
  }
  let checkpointWrites = 0;
  const saveCheckpoint = () =>
    trainer.saveCheckpoint(checkpointDir, tokenizer, {
      meta: { command: 'pretrain', args: argsToKeep(values) },
      betweenRenames: () => {
        if (++checkpointWrites === KILL_BETWEEN_RENAMES) process.kill(process.pid, 'SIGKILL');
      },
    });
  // the profiled window: after two warm-up steps (pipelines compiled, pool filled)
  const profileStart = Math.min(steps, trainer.step + 2);
  const profileEnd = Math.min(steps, profileStart + profileSteps);
  let kernelTimes: KernelTime[] | null = null;
  // progress: a bar on a terminal, else a plain line per log record (every --log-every steps)
  const bar =
    values.quiet || !process.stdout.isTTY
      ? null
      : new cliProgress.SingleBar(
          {
            format: 'step {value}/{total} |{bar}| loss {loss} {parts} | {tps} tok/s | ETA {eta_formatted}',
            hideCursor: true,
            stream: process.stdout,
          },
          cliProgress.Presets.shades_classic,
        );
  const progressLines = !values.quiet && !process.stdout.isTTY;
  // the log holds each step once: a resumed run cuts it back to the checkpoint's step
  if (logFile) await (checkpoint ? truncateLog(logFile, trainer.step) : writeAtomic(logFile, ''));
  const log = (record: object) => {
    if (logFile) appendFileSync(logFile, JSON.stringify(record) + '\n');
  };
  const startStep = trainer.step;
  let lastLogged = trainer.step;
  trainer.onLog = (r: LogRecord) => {
    const parts = Object.entries(r.parts)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(' ');
    bar?.update(r.step, { loss: r.loss.toFixed(3), parts: parts ? `(${parts})` : '', tps: Math.round(r.tokens_per_s) });
    if (progressLines) {
      const left = (r.elapsed_s / Math.max(1, r.step - startStep)) * (steps - r.step);
      console.log(
        `step ${r.step}/${steps} loss ${r.loss.toFixed(4)}${parts ? ` (${parts})` : ''} lr ${r.lr.toExponential(2)} ${Math.round(r.tokens_per_s)} tok/s, ${duration(r.elapsed_s)} elapsed, ${duration(left)} left`,
      );
    }
    if (r.skipped_steps) {
      const window = r.step - lastLogged === 1 ? `step ${r.step}` : `steps ${lastLogged + 1}-${r.step}`;
      console.error(
        `bertgpu pretrain: step ${r.step}: ${r.skipped_steps} of ${window} skipped: gradient norm not finite (NaN or inf); parameters and optimizer state left as they were`,
      );
    }
    lastLogged = r.step;
    log({
      step: r.step,
      loss: r.loss,
      ...r.parts,
      ...r.metrics,
      lr: r.lr,
      grad_norm: r.grad_norm,
      tokens_per_s: r.tokens_per_s,
      ...(r.skipped_steps ? { skipped_steps: r.skipped_steps } : {}),
      ...(r.loss_scale !== undefined ? { loss_scale: r.loss_scale } : {}),
    });
  };
  trainer.onEval = (r: EvalRecord) => log({ step: r.step, eval: true, loss: r.loss, ...r.parts, ...r.metrics });
  // SIGINT / SIGTERM: finish the step in flight, write the checkpoint, exit 128 + signal number
  let stoppedBy: NodeJS.Signals | null = null;
  let stopTime = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stoppedBy) {
      stoppedBy = signal;
      stopTime = Date.now();
      trainer.stopRequested = true;
      bar?.stop();
      console.error(`bertgpu pretrain: ${signal}: stopping after this step to write a checkpoint (again to stop at once)`);
    } else if (Date.now() - stopTime > 1000) process.exit(128 + (signal === 'SIGINT' ? 2 : 15)); // not the same Ctrl-C seen twice (terminal + wrapper)
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  bar?.start(steps, trainer.step, { loss: '-', parts: '', tps: '-' });
  try {
    let nextCheckpoint = checkpointEvery ? Math.min(steps, trainer.step + checkpointEvery) : steps;
    while (trainer.step < steps && !stoppedBy) {
      let until = nextCheckpoint;
      if (profileSteps && !kernelTimes) {
        if (trainer.step === profileStart && profileStart < profileEnd) rt.startProfile();
        until = Math.min(until, trainer.step < profileStart ? profileStart : profileEnd);
      }
      await trainer.run(until);
      if (profileSteps && !kernelTimes && trainer.step === profileEnd && profileStart < profileEnd) kernelTimes = await rt.stopProfile();
      if (trainer.step === nextCheckpoint) {
        if (checkpointEvery) await saveCheckpoint();
        nextCheckpoint = checkpointEvery ? Math.min(steps, trainer.step + checkpointEvery) : steps;
      }
    }
    if (stoppedBy) {
      await saveCheckpoint();
      console.log(
        `stopped by ${stoppedBy} at step ${trainer.step} of ${steps}: wrote ${checkpointDir}; continue with: bertgpu pretrain --resume ${out}`,
      );
      if (data.summary) console.log(data.summary());
      data.close?.();
      trainer.dispose();
      rt.destroy();
      return 128 + (stoppedBy === 'SIGINT' ? 2 : 15);
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (kernelTimes) printKernelTimes(kernelTimes, profileEnd - profileStart);
  else if (profileSteps)
    console.log(`--profile: no step was left to profile after the 2 warm-up steps (the run ended at step ${trainer.step})`);
  if (evalBatches.length) {
    const r = await trainer.evaluate();
    const baseline = unigramEntropy(evalBatches, new Set(['[CLS]', '[SEP]', '[PAD]', '[MASK]'].map((t) => tokenizer.vocab.indexOf(t))));
    console.log(
      `held-back evaluation (${evalBatches.length} batches): loss ${r.loss.toFixed(4)} ${JSON.stringify({ ...r.parts, ...r.metrics })}`,
    );
    console.log(`unigram-entropy baseline of the held-back tokens: ${baseline.toFixed(4)} nats (an MLM loss below it uses context)`);
    const nspMajority = nspMajorityAccuracy(evalBatches);
    if (objective === 'mlm-nsp')
      console.log(
        `NSP majority-class baseline of the held-back pairs: ${nspMajority.toFixed(4)} (an NSP accuracy above it uses the sentences)`,
      );
    if (objective === 'electra') {
      // the replacements are sampled anew in each evaluation, so this baseline is the evaluation's own
      const m = r.metrics;
      console.log(
        `discriminator accuracy ${m.disc_accuracy.toFixed(4)} against the all-original baseline ${m.disc_all_original_accuracy.toFixed(4)} of the same replacements (above it, the discriminator detects them)`,
      );
    }
    log({
      step: trainer.step,
      eval: true,
      final: true,
      loss: r.loss,
      ...r.parts,
      ...r.metrics,
      unigram_entropy: baseline,
      ...(objective === 'mlm-nsp' ? { nsp_majority_accuracy: nspMajority } : {}),
    });
  }
  await saveCheckpoint();
  await trainer.savePretrained(out, tokenizer);
  console.log(
    `wrote ${out} (${objective === 'electra' ? 'ElectraForPreTraining discriminator' : trainer.objective.models.model.architecture}) and ${checkpointDir}`,
  );
  if (data.summary) console.log(data.summary());
  data.close?.();
  trainer.dispose();
  rt.destroy();
  return 0;
}

interface DataSettings {
  objective: ObjectiveName;
  batch: number;
  seq: number;
  seed: number;
  dupeFactor: number;
  masking: 'static' | 'dynamic' | undefined;
  evalFraction: number;
  evalBatchLimit: number;
}

interface TrainingData {
  tokenizer: WordPieceTokenizer;
  source: BatchSource;
  evalBatches: PretrainingBatch[];
  /** What the corpus gave, said at the end of the run (a streamed corpus: the shards read). */
  summary?: () => string;
  close?: () => void;
}

const warn = (line: string) => console.error(`bertgpu pretrain: ${line}`);

async function readVocab(path: string, cased: boolean): Promise<WordPieceTokenizer> {
  const text = await readFile(path, 'utf8').catch((e) => {
    throw new Error(`cannot read --vocab ${path}: ${e.message}`);
  });
  return WordPieceTokenizer.fromVocabText(text, { lowercase: !cased }, path);
}

/** The corpus read whole: the last documents held back, instances created once. */
async function wholeCorpusData(values: PretrainValues, given: PretrainValues, settings: DataSettings): Promise<TrainingData> {
  const { objective, batch, seq, seed, dupeFactor, masking, evalFraction, evalBatchLimit } = settings;
  const loaded = await loadCorpus(
    values.corpus as string[],
    values.documents as DocumentSplit | 'auto',
    values.sentences as SentenceSplit,
    warn,
  );
  const split = holdBack(loaded, evalFraction, {
    explicit: given['eval-fraction'] !== undefined,
    allowLarge: values['allow-large-held-back'] as boolean,
    needsPairs: objective === 'mlm-nsp',
  });
  console.log(split.report);
  const trainDocs = split.train;
  const evalDocs = split.eval;

  const tokenizer = values.vocab
    ? await readVocab(values.vocab as string, values.cased as boolean)
    : trainWordPiece(trainDocs.flat(), { vocabSize: values['train-vocab'] as number, lowercase: !values.cased });
  const mode = MODE[objective];
  const wholeWordMask = values['whole-word-mask'] as boolean;
  const dataset = new PretrainingDataset({
    tokenizer,
    mode,
    sentenceDocuments: trainDocs,
    maxSeqLength: seq,
    seed,
    dupeFactor,
    masking,
    wholeWordMask,
  });
  const evalBatches = heldBackBatches(
    mode === 'bert' && evalDocs.length ? [...evalDocs, ...trainDocs.slice(0, 1)] : evalDocs,
    tokenizer,
    { mode, maxSeqLength: seq, seed: seed + 7, wholeWordMask },
    batch,
    evalBatchLimit,
  );

  // which documents are held back depends on the order of --corpus (a shell glob sorts by locale)
  const shown = split.names.length > 6 ? [...split.names.slice(0, 3), '...', ...split.names.slice(-2)] : split.names;
  console.log(
    `training data: ${dataset.instances.length} ${mode} instances from ${trainDocs.length} documents (dupe factor ${mode === 'bert' ? dupeFactor : 1}, ${dataset.masking} masking); held back: ${evalDocs.length} documents, ${evalBatches.length} batches${shown.length ? ` (${shown.join(' ')})` : ''}`,
  );
  return { tokenizer, source: datasetSource(dataset, batch), evalBatches };
}

/**
 * The corpus streamed (src/data/stream.ts): held-back documents by hash, the vocabulary from a
 * sample of shards, instances built per shard as training reaches it; a line per shard read.
 */
async function streamedCorpusData(values: PretrainValues, settings: DataSettings): Promise<TrainingData> {
  const { objective, batch, seq, seed, dupeFactor, masking, evalFraction, evalBatchLimit } = settings;
  if (evalFraction > 0.5 && !values['allow-large-held-back'])
    throw new UsageError(
      `--eval-fraction ${evalFraction} holds back more than half of the data; lower it (0 holds nothing back), or pass --allow-large-held-back`,
    );
  const stream = openCorpusStream(await corpusFiles(values.corpus as string[]), {
    documents: values.documents as DocumentSplit | 'auto',
    sentences: values.sentences as SentenceSplit,
    shardBytes: values['shard-bytes'] as number,
    heldBack: evalFraction,
    warn,
  });
  try {
    const { corpus } = stream;
    console.log(stream.report);
    const mode = MODE[objective];
    const options = { mode, maxSeqLength: seq, seed, dupeFactor, masking, wholeWordMask: values['whole-word-mask'] as boolean };
    let tokenizer: WordPieceTokenizer;
    if (values.vocab) tokenizer = await readVocab(values.vocab as string, values.cased as boolean);
    else {
      const sample = corpus.sampleSentences(values['vocab-sample-bytes'] as number);
      tokenizer = trainWordPiece(sample.sentences, { vocabSize: values['train-vocab'] as number, lowercase: !values.cased });
      console.log(
        `vocabulary: ${tokenizer.vocab.length} WordPiece pieces trained on the ${sample.read.sentences} training sentences of ${sample.shards} of the ${corpus.shards.length} shards, spread over the corpus (${(sample.bytes / 1048576).toFixed(1)} MiB: --vocab-sample-bytes ${values['vocab-sample-bytes']} caps the bytes sampled)`,
      );
    }
    const evalDocs = corpus.heldBackDocuments(
      (docs) => heldBackBatches(docs, tokenizer, { ...options, seed: seed + 7 }, batch, evalBatchLimit).length >= evalBatchLimit,
    );
    const evalBatches = heldBackBatches(evalDocs, tokenizer, { ...options, seed: seed + 7 }, batch, evalBatchLimit);
    const totals = { shards: new Set<number>(), documents: 0, sentences: 0, heldBack: 0, instances: 0 };
    const onShard = (r: ShardReport) => {
      if (!totals.shards.has(r.shard)) {
        totals.shards.add(r.shard);
        totals.documents += r.documents;
        totals.sentences += r.sentences;
        totals.heldBack += r.heldBackDocuments;
        totals.instances += r.instances;
      }
      if (!values.quiet)
        console.log(
          `shard ${r.shard} (${r.position + 1} of ${corpus.shards.length} in epoch ${r.epoch}): ${r.documents} documents, ${r.sentences} sentences, ${r.heldBackDocuments} held back; ${r.instances} ${mode} instances`,
        );
    };
    const dataset = new StreamedPretrainingDataset({ corpus, tokenizer, ...options, onShard });
    console.log(
      `training data: ${mode} instances built per shard as training reaches it (dupe factor ${mode === 'bert' ? dupeFactor : 1} within each shard, ${masking ?? (mode === 'bert' ? 'static' : 'dynamic')} masking; the shards and each shard's instances shuffled every epoch); held back: ${evalDocs.length} documents from the first shards, ${evalBatches.length} batches`,
    );
    return {
      tokenizer,
      source: datasetSource(dataset, batch),
      evalBatches,
      summary: () =>
        `corpus read so far: ${totals.shards.size} of ${corpus.shards.length} shards, ${totals.documents} documents (${totals.heldBack} held back), ${totals.sentences} sentences, ${totals.instances} training instances`,
      close: stream.close,
    };
  } catch (err) {
    stream.close();
    throw err;
  }
}

/** Up to `limit` batches of held-back instances (static masks, so every evaluation sees the same). */
function heldBackBatches(
  docs: string[][],
  tokenizer: WordPieceTokenizer,
  options: Omit<PretrainingDatasetOptions, 'tokenizer'>,
  batch: number,
  limit: number,
): PretrainingBatch[] {
  const batches: PretrainingBatch[] = [];
  if (!docs.length) return batches;
  const evalSet = new PretrainingDataset({ tokenizer, ...options, sentenceDocuments: docs, masking: 'static', dupeFactor: 1 });
  for (const b of evalSet.batches(batch, { epochs: 1 })) {
    batches.push(b);
    if (batches.length >= limit) break;
  }
  return batches;
}

/** The checkpoint directory of --resume DIR: DIR/checkpoint or DIR itself, made whole first. */
async function findCheckpoint(dir: string): Promise<string> {
  const inner = join(dir, 'checkpoint');
  await recoverCheckpoint(inner);
  if (existsSync(join(inner, 'trainer_state.json'))) return inner;
  await recoverCheckpoint(dir);
  return dir;
}

/**
 * Refuses an --out that cannot take the result, before any work: a file, under a file, not
 * writable, or holding a model (unless --overwrite, or this run continues the checkpoint in it).
 */
async function checkOut(out: string, { overwrite, resuming }: { overwrite: boolean; resuming: boolean }): Promise<void> {
  let info = await stat(out).catch(() => null);
  if (info && !info.isDirectory()) throw new Error(`--out ${out} is a file; it must be a directory (new or holding a model of this run)`);
  if (info) {
    const held = ['config.json', 'model.safetensors', 'checkpoint'].filter((n) => existsSync(join(out, n)));
    if (held.length && !overwrite && !resuming) {
      throw new Error(
        `--out ${out} already holds a model (${held.join(', ')}); pass --overwrite to replace it, or --resume ${out} to continue its run`,
      );
    }
  }
  let dir = out;
  while (!info) {
    dir = dirname(dir);
    info = await stat(dir).catch(() => null);
  }
  if (!info.isDirectory()) throw new Error(`--out ${out}: ${dir} is a file, not a directory`);
  await access(dir, constants.W_OK).catch(() => {
    throw new Error(`--out ${out}: ${dir} is not writable`);
  });
}

/**
 * Cuts a JSON-lines log back to the records of steps <= `step` (a resumed run repeats the steps
 * after its checkpoint), atomically; a line cut short by a kill goes too.
 */
async function truncateLog(path: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return writeAtomic(path, '');
    throw err;
  }
  const kept = text.split('\n').filter((line) => {
    try {
      const r = JSON.parse(line);
      return typeof r?.step === 'number' && r.step <= step && !r.final;
    } catch {
      return false;
    }
  });
  await writeAtomic(path, kept.map((l) => l + '\n').join(''));
}

/** Seconds as 1h02m, 3m05s or 12s. */
function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** The --profile report: GPU time per step, then the kernels, the largest first. */
function printKernelTimes(times: KernelTime[], steps: number): void {
  const total = times.reduce((a, t) => a + t.ms, 0);
  console.log(
    `GPU time per kernel over ${steps} profiled step(s) (timestamp queries, each dispatch in its own pass): ${(total / steps).toFixed(2)} ms per step`,
  );
  for (const line of kernelTimeTable(times, steps)) console.log(line);
}
