// `bertgpu finetune`: fine-tune any Hugging Face directory on a task (src/finetune): a fresh head
// where the checkpoint has none, the best model by a metric of --eval kept, --out a Hugging Face
// directory of the task class (or, with --lora, PEFT's adapter files).
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { init } from '../runtime.js';
import { writeAtomic } from '../io/files.js';
import { parseConfigJson } from '../models/config.js';
import type { LoraOptions } from '../nn/lora.js';
import { getTask, type TaskName } from '../finetune/tasks.js';
import { readTaskFile } from '../finetune/node-data.js';
import { DEFAULT_METRIC, FineTuneRun, taskModelFrom, type EvalResult, type FineTuneOptions } from '../finetune/train.js';
import type { TextExample } from '../finetune/data.js';
import { addWords, exampleTexts, repeatedWords } from '../finetune/add-words.js';
import { WordPieceTokenizer } from '../tokenizers/wordpiece.js';
import { wordPieceOptionsFromTokenizerConfig } from '../tokenizers/tokenizer-config.js';
import type { PreTrainedModel } from '../models/tasks.js';
import { FEATURE_CONFIG_FILE, FeatureClassifier, featureConfig, sha256Hex } from '../finetune/features.js';
import { readCheckpointState, recoverCheckpoint } from '../train/trainer.js';
import { fitTokenizer, loadTokenizer, loadWordPiece, maxTokens } from '../pipelines.js';
import { UsageError, addVerbose, newCommand, type CliCommand, type Io } from './program.js';
import { checkDataFile, checkModelDir, checkOutDir, intArg, numberArg, tokenizerFiles, writeModelDir } from './task-io.js';

export const TASK_NAMES: TaskName[] = ['cls', 'pair', 'regression', 'choice', 'tag', 'qa'];

/** The metrics a run can keep its best model by (higher is better), per task. */
const METRICS: Record<TaskName, string[]> = {
  cls: ['accuracy', 'f1', 'macro_f1', 'mcc'],
  pair: ['accuracy', 'f1', 'macro_f1', 'mcc'],
  regression: ['pearson', 'spearman'],
  choice: ['accuracy'],
  tag: ['f1', 'accuracy', 'precision', 'recall'],
  qa: ['f1', 'exact_match'],
};

const HELP_AFTER = `
Data (--train, --eval): JSON lines, or .csv / .tsv files with named columns:
  cls         {"text": "...", "label": "pos"}
  pair        {"text": "...", "pair": "...", "label": "entailment"}
  regression  {"text": "...", "pair": "..." (optional), "label": 3.8}
  choice      {"text": "...", "choices": ["...", "..."], "label": 1}
  tag         {"tokens": ["John", "lives"], "tags": ["B-PER", "O"]} or {"text": "...", "entities": [{"start", "end", "label"}]}
  qa          {"question": "...", "context": "...", "answers": {"text": ["..."], "answer_start": [12]}}
A bad line stops the run before training, naming its file and line.
--model may be any Hugging Face directory: a checkpoint without the task's head (e.g. a
...ForPreTraining or ...ForMaskedLM) gets a fresh one, listed on stderr. --out receives the
best model by --metric on --eval (else the final one) as a Hugging Face directory of the task
class with id2label / label2id and the tokenizer files; with --lora, PEFT's adapter_config.json
and adapter_model.safetensors (the head among its saved modules) and the tokenizer files, not
the base. --lora takes r=N,alpha=X,dropout=P,targets=NAME,NAME...,rslora (defaults r=8,
alpha=8, dropout=0, targets=query,value, as PEFT). An --out that holds a model needs --overwrite.
--add-words MIN: the words (runs of letters) of the training texts seen at least MIN times that
vocab.txt lacks become whole tokens, each new embedding row the mean of its word's pieces; --out
then holds the larger vocab.txt. With --lora those rows are PEFT trainable tokens
(trainable_token_indices), saved with the adapter: predict / evaluate --adapter OUT widen the
base's embeddings to the adapter's vocab.txt and take its rows.
Progress: a bar on a terminal, else a line per log step; --log FILE: JSON lines of train
records ({"step", "epoch", "loss", "lr", ...}) and eval records ({"eval": true, ...metrics}).
--features trains a small head on a frozen encoder (the encoder gets no gradient kernels). --out
then holds feature_head.safetensors, feature_config.json (the base: --model's absolute path as
base_model_name_or_path and the SHA-256 of its model.safetensors; mode, task, labels, max length)
and the tokenizer files, not the encoder: predict / evaluate --model OUT run it on that base
(or --model BASE --adapter OUT on another copy of it).
Checkpoints: --checkpoint-every N writes OUT/checkpoint/ (model or adapter, optimizer, data
position, dropout streams, best model so far, these arguments) every N steps and on Ctrl-C;
--resume OUT continues it with the same losses as an uninterrupted run. With --resume, only
--out, --log, --log-every and --checkpoint-every may be given anew; others must match.
Ctrl-C stops without writing --out (exit 130).`;

/** Parses --lora r=8,alpha=16,dropout=0.05,targets=query,value[,rslora]. */
export function parseLoraSpec(spec: string): LoraOptions {
  const out: LoraOptions = {};
  let targets: string[] | null = null;
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (part === 'rslora') out.useRslora = true;
      else if (targets) targets.push(part);
      else throw new UsageError(`--lora: '${part}' is not key=value (keys: r, alpha, dropout, targets, rslora)`);
      continue;
    }
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    const num = Number(value);
    const bad = (want: string) => new UsageError(`--lora ${key} must be ${want}, got '${value}'`);
    if (key === 'r') {
      if (!/^\d+$/.test(value) || num < 1) throw bad('a positive integer');
      out.r = num;
    } else if (key === 'alpha') {
      if (value.trim() === '' || !Number.isFinite(num) || num <= 0) throw bad('a positive number');
      out.alpha = num;
    } else if (key === 'dropout') {
      if (value.trim() === '' || !(num >= 0 && num < 1)) throw bad('a probability in [0, 1)');
      out.dropout = num;
    } else if (key === 'targets') {
      if (!value) throw bad('module names');
      targets = [value];
    } else throw new UsageError(`--lora: unknown key '${key}' (keys: r, alpha, dropout, targets, rslora)`);
  }
  if (targets) out.targetModules = targets;
  return out;
}

/**
 * --add-words: the base's files with the training texts' repeated words added as whole tokens,
 * the tokenizer that knows them, the tokenizer files to write (vocab.txt replaced; a
 * tokenizer.json would be stale, so it goes) and the new token ids.
 */
function withAddedWords(modelDir: string, train: object[], min: number, trainFile: string, say: (line: string) => void) {
  const read = (name: string) => (existsSync(join(modelDir, name)) ? readFileSync(join(modelDir, name)) : null);
  const vocab = read('vocab.txt')?.toString('utf8');
  if (vocab === undefined) throw new UsageError(`--add-words needs a WordPiece vocabulary: ${modelDir} has no vocab.txt`);
  const weights = read('model.safetensors');
  if (!weights) throw new UsageError(`--add-words: ${modelDir} has no model.safetensors`);
  const tokenizerConfig = read('tokenizer_config.json')?.toString('utf8');
  const options = tokenizerConfig ? wordPieceOptionsFromTokenizerConfig(tokenizerConfig, `${modelDir}/tokenizer_config.json`) : {};
  const config = read('config.json')!.toString('utf8');
  let x;
  try {
    x = addWords({ vocab, config, weights: new Uint8Array(weights) }, repeatedWords(exampleTexts(train), min), {
      lowercase: options.lowercase ?? true,
    });
  } catch (e) {
    throw new UsageError(`--add-words: ${modelDir}: ${(e as Error).message}`);
  }
  const V = JSON.parse(config).vocab_size as number;
  say(
    `--add-words ${min}: ${x.added.length} words seen ${min}+ times in ${trainFile} added as whole tokens (vocabulary ${V} -> ${V + x.added.length})`,
  );
  const files = tokenizerFiles(modelDir);
  delete files['tokenizer.json'];
  files['vocab.txt'] = new TextEncoder().encode(x.vocab);
  return {
    files: { config: x.config, weights: x.weights, vocab: x.vocab, tokenizerConfig },
    tokenizer: WordPieceTokenizer.fromVocabText(x.vocab, options, `${modelDir}/vocab.txt with the added words`),
    tokenizerFiles: files,
    ids: x.ids,
  };
}

interface Options {
  task?: TaskName;
  model?: string;
  train?: string;
  eval?: string;
  out?: string;
  epochs: number;
  steps?: number;
  batch: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  maxLength?: number;
  docStride?: number;
  maxAnswerLength?: number;
  labelAllTokens?: boolean;
  seed: number;
  freezeEncoder?: boolean;
  lora?: string;
  addWords?: number;
  features?: 'scalar-mix' | 'concat-last-4';
  accumulation: number;
  precision: 'f32' | 'f16';
  evalEvery?: number;
  metric?: string;
  patience?: number;
  logEvery: number;
  log?: string;
  checkpointEvery?: number;
  resume?: string;
  overwrite?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** Options that a resumed run may set anew; any other given with --resume must equal the checkpoint's. */
const RESETTABLE = new Set(['out', 'log', 'logEvery', 'checkpointEvery', 'resume', 'overwrite', 'quiet', 'verbose']);

/** Test hook (the resume test): stop as Ctrl-C would once this step is done. */
const STOP_AT_STEP = Number(process.env.BERTGPU_TEST_FINETUNE_STOP_AT ?? 0);

export const command: CliCommand = {
  name: 'finetune',
  gpu: true,
  build: (io) =>
    addVerbose(
      newCommand('finetune', 'fine-tune a Hugging Face model on a task: cls, pair, regression, choice, tag, qa', io, (cmd) =>
        finetune(cmd, io),
      )
        .addOption(new Option('--task <name>', 'the task (required unless --resume)').choices(TASK_NAMES))
        .option(
          '--model <dir>',
          'a Hugging Face directory (any checkpoint of the family; a missing head is made fresh; required unless --resume)',
        )
        .option('--train <file>', 'training data (JSON lines, .csv or .tsv; required unless --resume)')
        .option('--eval <file>', 'held-back data: evaluated every epoch (or --eval-every steps) and at the end')
        .option('--out <dir>', 'output: the best model (Hugging Face directory), or the adapter with --lora (required unless --resume)')
        .option('--epochs <n>', 'passes over the training data', intArg(1), 3)
        .option('--steps <n>', 'optimizer steps (overrides --epochs)', intArg(1))
        .option('--batch <n>', 'examples per micro-batch', intArg(1), 16)
        .option(
          '--lr <x>',
          'peak learning rate (AdamW)',
          numberArg((v) => v > 0, 'a positive number'),
          5e-5,
        )
        .option(
          '--warmup-ratio <x>',
          'share of the steps that warm the learning rate up (then linear decay)',
          numberArg((v) => v >= 0 && v <= 1, 'in [0, 1]'),
          0.1,
        )
        .option(
          '--weight-decay <x>',
          'AdamW weight decay (not on biases and LayerNorm weights)',
          numberArg((v) => v >= 0, 'a non-negative number'),
          0.01,
        )
        .option(
          '--max-length <n>',
          "tokens per sequence, special tokens included (default: 128, qa 384; at most the model's positions)",
          intArg(8),
        )
        .option(
          '--doc-stride <n>',
          'qa: tokens shared by consecutive context windows (default: 128, at most half of --max-length, as predict)',
          intArg(1),
        )
        .option(
          '--max-answer-length <n>',
          'qa: the longest answer span in tokens when --eval is decoded (default: 30, as HF run_qa)',
          intArg(1),
        )
        .option('--label-all-tokens', 'tag: label every piece of a word, not only the first')
        .option('--seed <n>', 'seed of the fresh head, the batch order and dropout', intArg(0), 0)
        .option('--freeze-encoder', 'train the task head only (the encoder gets no gradient kernels)')
        .option('--lora <spec>', 'train LoRA adapters and the head, e.g. r=8,alpha=16,dropout=0.05,targets=query,value')
        .option(
          '--add-words <min>',
          "add the training texts' words seen at least MIN times and missing from vocab.txt as whole tokens (HF add_tokens + resize_token_embeddings; with --lora their rows train with the adapter)",
          intArg(1),
        )
        .addOption(
          new Option(
            '--features <mode>',
            "cls, pair, regression: freeze the encoder, train a head on ELMo's scalar mix of every layer or on the last 4 layers concatenated",
          ).choices(['scalar-mix', 'concat-last-4']),
        )
        .option('--accumulation <n>', 'micro-batches per optimizer step (the loss is the mean over all of them)', intArg(1), 1)
        .addOption(
          new Option(
            '--precision <p>',
            "f16: the linear layers' matmuls on f16 operands (f32 accumulation) with a dynamic loss scale; needs the adapter feature shader-f16",
          )
            .choices(['f32', 'f16'])
            .default('f32'),
        )
        .option('--eval-every <n>', 'evaluate --eval every N steps (default: once per epoch)', intArg(1))
        .option(
          '--metric <name>',
          'keep the best model by this metric of --eval (default: accuracy; regression pearson; tag f1 for IOB tags, else accuracy; qa f1)',
        )
        .option('--patience <n>', 'stop after N evaluations without a better --metric', intArg(0))
        .option('--log-every <n>', 'read the loss back every N steps', intArg(1), 10)
        .option('--log <file>', 'JSON-lines log: train and eval records')
        .option('--checkpoint-every <n>', 'write OUT/checkpoint (the whole run state) every N steps, and on Ctrl-C', intArg(1))
        .option('--resume <dir>', 'continue the run of OUT/checkpoint (or DIR itself): it holds the arguments, so DIR alone is enough')
        .option('--overwrite', 'replace a model already in --out')
        .option('--quiet', 'no progress output')
        .addHelpText('after', HELP_AFTER),
    ),
};

/** The checkpoint of --resume DIR: DIR/checkpoint or DIR itself, made whole first. */
async function findCheckpoint(dir: string): Promise<string> {
  for (const candidate of [join(dir, 'checkpoint'), dir]) {
    await recoverCheckpoint(candidate);
    if (existsSync(join(candidate, 'trainer_state.json'))) return candidate;
  }
  throw new UsageError(`--resume ${dir}: no checkpoint there (no trainer_state.json in ${dir}/checkpoint or ${dir})`);
}

/** The options of a resumed run: the checkpoint's, with those given now that may change (others must agree). */
function resumedOptions(cmd: Command, saved: Options, checkpoint: string): Options {
  const given = cmd.opts<Options>();
  const out: Options = { ...saved };
  for (const o of cmd.options) {
    const key = o.attributeName() as keyof Options;
    if (cmd.getOptionValueSource(key) !== 'cli') continue;
    const now = given[key];
    if (!RESETTABLE.has(key) && JSON.stringify(now) !== JSON.stringify(saved[key]) && !samePath(key, now, saved[key]))
      throw new UsageError(
        `${o.long} ${String(now)} conflicts with the checkpoint ${checkpoint}, which has ${saved[key] === undefined ? 'none' : String(saved[key])}`,
      );
    (out as unknown as Record<string, unknown>)[key] = now;
  }
  if (cmd.getOptionValueSource('out') !== 'cli' && basename(checkpoint) === 'checkpoint') out.out = dirname(checkpoint);
  return out;
}

const PATHS = new Set(['model', 'train', 'eval']);
const samePath = (key: string, a: unknown, b: unknown) =>
  PATHS.has(key) && typeof a === 'string' && typeof b === 'string' && resolve(a) === resolve(b);

/** The arguments a checkpoint keeps: everything of the run, its files as absolute paths. */
function argsToKeep(o: Options): Options {
  const kept: Options = { ...o, resume: undefined, overwrite: undefined, quiet: undefined, verbose: undefined };
  for (const key of ['model', 'train', 'eval'] as const) if (kept[key]) kept[key] = resolve(kept[key]);
  return JSON.parse(JSON.stringify(kept)) as Options;
}

/** Cuts a --log back to the records up to the checkpoint's step (the resumed run writes the steps after it once). */
function cutLog(path: string, step: number): string {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return text
    .split('\n')
    .filter((line) => {
      const r = line ? (JSON.parse(line) as { step?: number; final?: boolean }) : null;
      return r !== null && typeof r.step === 'number' && r.step <= step && !r.final;
    })
    .map((line) => line + '\n')
    .join('');
}

async function finetune(cmd: Command, io: Io): Promise<number> {
  let o = cmd.opts<Options>();
  let checkpoint: string | null = null;
  if (o.resume) {
    checkpoint = await findCheckpoint(o.resume);
    const meta = (await readCheckpointState(checkpoint)).meta as { command?: string; args?: Options } | undefined;
    if (meta?.command !== 'finetune' || !meta.args)
      throw new UsageError(`--resume ${o.resume}: ${checkpoint} is not a checkpoint of bertgpu finetune (it keeps no finetune arguments)`);
    o = resumedOptions(cmd, meta.args, checkpoint);
  }
  const missing = (['task', 'model', 'train', 'out'] as const).filter((k) => o[k] === undefined);
  if (missing.length)
    throw new UsageError(
      `${missing.map((k) => `--${k}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} required (unless --resume DIR continues a checkpointed run)`,
    );
  const [taskName, modelDir, trainFile, outDir] = [o.task!, o.model!, o.train!, o.out!];
  // everything that can be checked without the GPU is checked first
  checkModelDir(modelDir);
  checkDataFile(trainFile, '--train');
  if (o.eval) checkDataFile(o.eval, '--eval');
  if ([o.freezeEncoder, o.lora, o.features].filter(Boolean).length > 1)
    throw new UsageError('--freeze-encoder, --lora and --features are three ways to train fewer parameters; choose one');
  if (o.addWords !== undefined && (o.features || o.freezeEncoder))
    throw new UsageError('--add-words needs rows that train: it goes with full fine-tuning or --lora, not a frozen encoder');
  if (o.features && !['cls', 'pair', 'regression'].includes(taskName))
    throw new UsageError(`--features serves sequence tasks (cls, pair, regression), not --task ${taskName}`);
  const lora = o.lora === undefined ? undefined : parseLoraSpec(o.lora);
  if (o.metric !== undefined && !METRICS[taskName].includes(o.metric))
    throw new UsageError(`--metric for --task ${taskName} must be one of ${METRICS[taskName].join(', ')}, got '${o.metric}'`);
  if ((o.metric !== undefined || o.patience !== undefined || o.evalEvery !== undefined) && !o.eval)
    throw new UsageError('--metric, --patience and --eval-every need --eval FILE');
  if (o.log && existsSync(o.log) && statSync(o.log).isDirectory()) throw new UsageError(`--log ${o.log} is a directory`);
  const { config, architecture } = parseConfigJson(readFileSync(join(modelDir, 'config.json'), 'utf8'), `${modelDir}/config.json`);
  if (o.maxLength !== undefined && o.maxLength > maxTokens(config))
    throw new UsageError(`--max-length ${o.maxLength} is more than the model's ${maxTokens(config)} positions (${modelDir}/config.json)`);
  const checkpointDir = join(outDir, 'checkpoint');
  const resumingHere = checkpoint !== null && resolve(checkpoint) === resolve(checkpointDir);
  if (!resumingHere) {
    await checkOutDir(outDir, !!o.overwrite);
    if (existsSync(checkpointDir) && !o.overwrite)
      throw new UsageError(
        `--out ${outDir} holds a run's checkpoint; pass --resume ${outDir} to continue it, or --overwrite to start afresh`,
      );
  }
  // the data: a bad line stops here, before the GPU and before --out
  const task = getTask(taskName);
  const train = readTaskFile(task, trainFile);
  const evalSet = o.eval ? readTaskFile(task, o.eval) : [];
  const labels = task.labelSet?.(train);
  let metric = o.metric ?? DEFAULT_METRIC[taskName];
  if (
    taskName === 'tag' &&
    o.metric === undefined &&
    evalSet.some((e: { tags?: string[] }) => e.tags!.some((t) => t !== 'O' && !/^[BI]-./.test(t)))
  )
    metric = 'accuracy';
  const quiet = !!o.quiet;
  const say = (line: string) => quiet || io.stdout.write(line + '\n');
  say(
    `${taskName}: ${train.length} training examples${labels ? ` (labels: ${labels.labels.join(', ')})` : ''}${evalSet.length ? `, ${evalSet.length} held back (${o.eval})` : ''}`,
  );

  // --add-words: the wider vocabulary and weights, before the GPU starts (a bad base stops here)
  const words = o.addWords === undefined ? null : withAddedWords(modelDir, train, o.addWords, trainFile, say);
  if (words?.ids.length && lora) lora.trainableTokenIndices = words.ids;

  const rt = await init();
  let model: PreTrainedModel | null = null;
  try {
    // a full run's model comes from its checkpoint; a LoRA or feature run's base is built as the first run's was
    let found = null;
    let freshHead: string[] = [];
    if (!checkpoint || lora || o.features) {
      const made = await taskModelFrom(words?.files ?? modelDir, taskName, labels, { seed: o.seed });
      model = made.model;
      found = made.tokenizer;
      freshHead = made.freshHead;
    }
    if (words) found = words.tokenizer;
    found ??= (await loadWordPiece(modelDir)) ?? (await loadTokenizer(modelDir));
    if (!found) throw new Error(`${modelDir}: no tokenizer (vocab.txt, tokenizer.json, or vocab.json + merges.txt)`);
    const tokenizer = fitTokenizer(found, config);
    if (freshHead.length && !checkpoint)
      io.stderr.write(
        `bertgpu finetune: ${modelDir} is a ${architecture ?? 'model'}; ${model!.architecture} gets a fresh head (seed ${o.seed}): ${freshHead.join(', ')}\n`,
      );
    const options: Omit<FineTuneOptions, 'model'> = {
      task: taskName,
      tokenizer,
      train,
      eval: evalSet,
      labels,
      epochs: o.epochs,
      steps: o.steps,
      batchSize: o.batch,
      lr: o.lr,
      warmupRatio: o.warmupRatio,
      weightDecay: o.weightDecay,
      accumulationSteps: o.accumulation,
      precision: o.precision,
      maxLength: o.maxLength,
      docStride: o.docStride ?? Math.min(128, Math.floor((o.maxLength ?? 384) / 2)),
      maxAnswerLength: o.maxAnswerLength,
      labelAllTokens: o.labelAllTokens,
      seed: o.seed,
      logEvery: o.logEvery,
      evalEvery: o.evalEvery,
      metric,
      patience: o.patience,
      freezeEncoder: o.freezeEncoder,
      features: o.features,
      // the run saves the head and every module the base lacked (e.g. a fresh pooler) with the adapter
      lora: lora && { ...lora, baseModelNameOrPath: modelDir },
    };
    const run = checkpoint
      ? await FineTuneRun.resume(checkpoint, { ...options, model: model ?? undefined })
      : new FineTuneRun({ ...options, model: model! });
    model = run.options.model;
    const steps = run.trainer.options.steps;
    if (checkpoint) say(`resuming ${checkpoint} at step ${run.trainer.step} of ${steps}`);
    const trained = run.trainer.optimizer.parameters.reduce((n, p) => n + p.tensor.size, 0);
    const total = [...new Set([...model.namedParameters(), ...run.model.namedParameters()].map(([, t]) => t))].reduce(
      (n, t) => n + t.size,
      0,
    );
    const kind = o.lora ? ' (LoRA)' : o.freezeEncoder ? ' (frozen encoder)' : o.features ? ` (frozen encoder, ${o.features} head)` : '';
    say(
      `training ${run.model.architecture}: ${steps} steps of ${o.batch * o.accumulation} examples, ${trained.toLocaleString('en')} of ${total.toLocaleString('en')} parameters trained${kind}`,
    );
    if (o.log) await writeAtomic(o.log, checkpoint ? cutLog(o.log, run.trainer.step) : '');
    const log = (record: object) => o.log && appendFileSync(o.log, JSON.stringify(record) + '\n');
    const bar =
      quiet || !process.stdout.isTTY
        ? null
        : new cliProgress.SingleBar(
            {
              format: 'step {value}/{total} |{bar}| loss {loss} | epoch {epoch} | ETA {eta_formatted}',
              hideCursor: true,
              stream: process.stdout,
            },
            cliProgress.Presets.shades_classic,
          );
    run.onLog = (r) => {
      bar?.update(r.step, { loss: r.loss.toFixed(4), epoch: r.epoch.toFixed(2) });
      if (!bar)
        say(
          `step ${r.step}/${steps} epoch ${r.epoch.toFixed(2)} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)} ${Math.round(r.tokens_per_s)} tok/s`,
        );
      log({
        step: r.step,
        epoch: r.epoch,
        loss: r.loss,
        lr: r.lr,
        grad_norm: r.grad_norm,
        tokens_per_s: r.tokens_per_s,
        ...(r.loss_scale !== undefined ? { loss_scale: r.loss_scale } : {}),
      });
    };
    run.onEval = (r) => {
      if (!bar) say(`eval at step ${r.step} (epoch ${r.epoch.toFixed(2)}): loss ${r.loss.toFixed(4)} ${metricsText(r.metrics)}`);
      log({ step: r.step, epoch: r.epoch, eval: true, loss: r.loss, ...r.metrics });
    };
    const checkpointEvery = o.checkpointEvery;
    const saveCheckpoint = () => run.saveCheckpoint(checkpointDir, { meta: { command: 'finetune', args: argsToKeep(o) } });
    if (checkpointEvery && o.overwrite && !resumingHere) await rm(checkpointDir, { recursive: true, force: true });
    const signal = { aborted: false };
    const onSignal = () => {
      signal.aborted = true;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    bar?.start(steps, run.trainer.step, { loss: '-', epoch: run.epoch.toFixed(2) });
    try {
      // in legs of --checkpoint-every steps (the test hook stops at its step as Ctrl-C would)
      while (run.trainer.step < steps && !run.stopped) {
        const every = checkpointEvery ?? steps;
        let until = Math.min(steps, (Math.floor(run.trainer.step / every) + 1) * every);
        if (STOP_AT_STEP > run.trainer.step) until = Math.min(until, STOP_AT_STEP);
        await run.run(signal, until);
        if (STOP_AT_STEP && run.trainer.step === STOP_AT_STEP) signal.aborted = true;
        if (signal.aborted) run.stopped = 'cancelled';
        if (checkpointEvery && (run.trainer.step % checkpointEvery === 0 || run.stopped === 'cancelled')) await saveCheckpoint();
      }
    } finally {
      bar?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (run.stopped === 'cancelled') {
      io.stderr.write(
        `bertgpu finetune: stopped at step ${run.trainer.step} of ${steps}; ${outDir} was not written${checkpointEvery ? `; ${checkpointDir} was: continue with bertgpu finetune --resume ${outDir}` : ''}\n`,
      );
      run.dispose();
      return 130;
    }
    if (run.stopped === 'early') say(`early stop at step ${run.trainer.step}: ${o.patience} evaluations without a better ${metric}`);
    const best = run.best;
    if (evalSet.length) report(best ?? run.evals.at(-1)!, metric, taskName, train as TextExample[], evalSet as TextExample[], say, log);
    let files: Record<string, Uint8Array>;
    const baseTokenizerFiles = words?.tokenizerFiles ?? tokenizerFiles(modelDir);
    if (run.lora) files = { ...baseTokenizerFiles, ...(best?.adapter ?? (await run.adapterFiles())) };
    else if (o.features) {
      // the head, the config naming its base (the encoder is --model, unchanged) and the tokenizer
      const head = best?.files ?? (await run.modelFiles());
      const weights = join(modelDir, 'model.safetensors');
      const fc = featureConfig(run.model as FeatureClassifier, {
        task: taskName as 'cls' | 'pair' | 'regression',
        base: resolve(modelDir),
        baseSha256: existsSync(weights) ? await sha256Hex(readFileSync(weights)) : null,
        maxLength: o.maxLength ?? Math.min(128, maxTokens(config)),
        labelFields: task.configFields(labels),
      });
      files = { ...tokenizerFiles(modelDir), ...head, [FEATURE_CONFIG_FILE]: new TextEncoder().encode(JSON.stringify(fc, null, 2) + '\n') };
    } else {
      const modelFiles = best?.files ?? (await run.modelFiles());
      const tokFiles = baseTokenizerFiles;
      // the source's own tokenizer files, as they are (exportPretrained writes vocab.txt and tokenizer_config.json only)
      if (Object.keys(tokFiles).length) for (const name of ['vocab.txt', 'tokenizer_config.json']) delete modelFiles[name];
      files = { ...tokFiles, ...modelFiles };
    }
    await writeModelDir(outDir, files);
    const what = run.lora
      ? `a LoRA adapter (${Object.keys(files)
          .filter((n) => n.startsWith('adapter_'))
          .join(', ')}) for ${model.architecture} on ${modelDir}`
      : o.features
        ? `a ${o.features} head (${Object.keys(files).join(', ')}) on the frozen encoder of ${modelDir}`
        : run.model.architecture;
    say(`wrote ${outDir}: ${what}${best ? `, the best by ${metric} (step ${best.step})` : ', the final model'}`);
    run.dispose();
    return 0;
  } finally {
    model?.dispose();
    rt.destroy();
  }
}

function metricsText(m: Record<string, number | null>): string {
  return Object.entries(m)
    .map(([k, v]) => `${k} ${v === null ? 'n/a' : Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(' ');
}

/** The held-back result kept, and for classification the majority-class baseline next to it. */
function report(
  r: EvalResult,
  metric: string,
  task: TaskName,
  train: TextExample[],
  evalSet: TextExample[],
  say: (s: string) => void,
  log: (r: object) => void,
): void {
  say(`held-back (step ${r.step}): ${metricsText(r.metrics)}`);
  const record: Record<string, unknown> = { step: r.step, eval: true, final: true, metric, ...r.metrics };
  if (task === 'cls' || task === 'pair') {
    const counts = new Map<string, number>();
    for (const e of train) counts.set(String(e.label), (counts.get(String(e.label)) ?? 0) + 1);
    const majority = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0];
    const baseline = evalSet.filter((e) => String(e.label) === majority).length / evalSet.length;
    const acc = r.metrics.accuracy ?? 0;
    say(`majority-class baseline (always "${majority}", the commonest training label): accuracy ${baseline.toFixed(4)}`);
    say(
      acc > baseline
        ? `the model beats it by ${(acc - baseline).toFixed(4)}`
        : `the model does NOT beat the majority class (accuracy ${acc.toFixed(4)} <= ${baseline.toFixed(4)})`,
    );
    record.majority_accuracy = baseline;
  }
  log(record);
}
