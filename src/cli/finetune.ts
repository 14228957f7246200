// `bertgpu finetune`: fine-tune any Hugging Face directory on a task (src/finetune): a fresh head
// where the checkpoint has none, the best model by a metric of --eval kept, --out a Hugging Face
// directory of the task class (or, with --lora, PEFT's adapter files).
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { init } from '../runtime.js';
import { writeAtomic } from '../io/files.js';
import { parseConfigJson } from '../models/config.js';
import type { LoraOptions } from '../nn/lora.js';
import { getTask, type TaskName } from '../finetune/tasks.js';
import { readTaskFile } from '../finetune/node-data.js';
import { DEFAULT_METRIC, PEFT_TASK, finetune as startRun, taskModelFrom, type EvalResult } from '../finetune/train.js';
import type { TextExample } from '../finetune/data.js';
import { fitTokenizer, loadTokenizer, maxTokens } from '../pipelines.js';
import { TASK_HEADS } from '../nn/lora.js';
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
Progress: a bar on a terminal, else a line per log step; --log FILE: JSON lines of train
records ({"step", "epoch", "loss", "lr", ...}) and eval records ({"eval": true, ...metrics}).
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

interface Options {
  task: TaskName;
  model: string;
  train: string;
  eval?: string;
  out: string;
  epochs: number;
  steps?: number;
  batch: number;
  lr: number;
  warmupRatio: number;
  weightDecay: number;
  maxLength?: number;
  docStride: number;
  labelAllTokens?: boolean;
  seed: number;
  freezeEncoder?: boolean;
  lora?: string;
  accumulation: number;
  evalEvery?: number;
  metric?: string;
  patience?: number;
  logEvery: number;
  log?: string;
  overwrite?: boolean;
  quiet?: boolean;
}

export const command: CliCommand = {
  name: 'finetune',
  gpu: true,
  build: (io) =>
    addVerbose(
      newCommand('finetune', 'fine-tune a Hugging Face model on a task: cls, pair, regression, choice, tag, qa', io, (cmd) =>
        finetune(cmd, io),
      )
        .addOption(new Option('--task <name>', 'the task').choices(TASK_NAMES).makeOptionMandatory())
        .requiredOption('--model <dir>', 'a Hugging Face directory (any checkpoint of the family; a missing head is made fresh)')
        .requiredOption('--train <file>', 'training data (JSON lines, .csv or .tsv)')
        .option('--eval <file>', 'held-back data: evaluated every epoch (or --eval-every steps) and at the end')
        .requiredOption('--out <dir>', 'output: the best model (Hugging Face directory), or the adapter with --lora')
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
        .option('--doc-stride <n>', 'qa: tokens shared by consecutive context windows', intArg(1), 128)
        .option('--label-all-tokens', 'tag: label every piece of a word, not only the first')
        .option('--seed <n>', 'seed of the fresh head, the batch order and dropout', intArg(0), 0)
        .option('--freeze-encoder', 'train the task head only (the encoder gets no gradient kernels)')
        .option('--lora <spec>', 'train LoRA adapters and the head, e.g. r=8,alpha=16,dropout=0.05,targets=query,value')
        .option('--accumulation <n>', 'micro-batches per optimizer step (the loss is the mean over all of them)', intArg(1), 1)
        .option('--eval-every <n>', 'evaluate --eval every N steps (default: once per epoch)', intArg(1))
        .option(
          '--metric <name>',
          'keep the best model by this metric of --eval (default: accuracy; regression pearson; tag f1 for IOB tags, else accuracy; qa f1)',
        )
        .option('--patience <n>', 'stop after N evaluations without a better --metric', intArg(0))
        .option('--log-every <n>', 'read the loss back every N steps', intArg(1), 10)
        .option('--log <file>', 'JSON-lines log: train and eval records')
        .option('--overwrite', 'replace a model already in --out')
        .option('--quiet', 'no progress output')
        .addHelpText('after', HELP_AFTER),
    ),
};

async function finetune(cmd: Command, io: Io): Promise<number> {
  const o = cmd.opts<Options>();
  // everything that can be checked without the GPU is checked first
  checkModelDir(o.model);
  checkDataFile(o.train, '--train');
  if (o.eval) checkDataFile(o.eval, '--eval');
  if (o.freezeEncoder && o.lora) throw new UsageError('--freeze-encoder and --lora are two ways to train fewer parameters; choose one');
  const lora = o.lora === undefined ? undefined : parseLoraSpec(o.lora);
  if (o.metric !== undefined && !METRICS[o.task].includes(o.metric))
    throw new UsageError(`--metric for --task ${o.task} must be one of ${METRICS[o.task].join(', ')}, got '${o.metric}'`);
  if ((o.metric !== undefined || o.patience !== undefined || o.evalEvery !== undefined) && !o.eval)
    throw new UsageError('--metric, --patience and --eval-every need --eval FILE');
  if (o.log && existsSync(o.log) && statSync(o.log).isDirectory()) throw new UsageError(`--log ${o.log} is a directory`);
  const { config, architecture } = parseConfigJson(readFileSync(join(o.model, 'config.json'), 'utf8'), `${o.model}/config.json`);
  if (o.maxLength !== undefined && o.maxLength > maxTokens(config))
    throw new UsageError(`--max-length ${o.maxLength} is more than the model's ${maxTokens(config)} positions (${o.model}/config.json)`);
  await checkOutDir(o.out, !!o.overwrite);
  // the data: a bad line stops here, before the GPU and before --out
  const task = getTask(o.task);
  const train = readTaskFile(task, o.train);
  const evalSet = o.eval ? readTaskFile(task, o.eval) : [];
  const labels = task.labelSet?.(train);
  let metric = o.metric ?? DEFAULT_METRIC[o.task];
  if (
    o.task === 'tag' &&
    o.metric === undefined &&
    evalSet.some((e: { tags?: string[] }) => e.tags!.some((t) => t !== 'O' && !/^[BI]-./.test(t)))
  )
    metric = 'accuracy';
  const quiet = !!o.quiet;
  const say = (line: string) => quiet || io.stdout.write(line + '\n');
  say(
    `${o.task}: ${train.length} training examples${labels ? ` (labels: ${labels.labels.join(', ')})` : ''}${evalSet.length ? `, ${evalSet.length} held back (${o.eval})` : ''}`,
  );

  const rt = await init();
  const { model, tokenizer: wordPiece, freshHead } = await taskModelFrom(o.model, o.task, labels, { seed: o.seed });
  try {
    const found = wordPiece ?? (await loadTokenizer(o.model));
    if (!found) throw new Error(`${o.model}: no tokenizer (vocab.txt, tokenizer.json, or vocab.json + merges.txt)`);
    const tokenizer = fitTokenizer(found, model.config);
    if (freshHead.length)
      io.stderr.write(
        `bertgpu finetune: ${o.model} is a ${architecture ?? 'model'}; ${model.architecture} gets a fresh head (seed ${o.seed}): ${freshHead.join(', ')}\n`,
      );
    const run = startRun({
      task: o.task,
      model,
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
      maxLength: o.maxLength,
      docStride: o.docStride,
      labelAllTokens: o.labelAllTokens,
      seed: o.seed,
      logEvery: o.logEvery,
      evalEvery: o.evalEvery,
      metric,
      patience: o.patience,
      // an adapter saves what the base lacked (e.g. a fresh pooler) with the head, or a later load would draw it anew
      freezeEncoder: o.freezeEncoder,
      lora: lora && {
        ...lora,
        baseModelNameOrPath: o.model,
        modulesToSave: [...new Set([...TASK_HEADS[PEFT_TASK[o.task]], ...freshHead.map((n) => n.replace(/\.[^.]+$/, ''))])],
      },
    });
    const steps = run.trainer.options.steps;
    const trained = run.trainer.optimizer.parameters.reduce((n, p) => n + p.tensor.size, 0);
    const total = model.namedParameters().reduce((n, [, t]) => n + t.size, 0);
    say(
      `training ${model.architecture}: ${steps} steps of ${o.batch * o.accumulation} examples, ${trained.toLocaleString('en')} of ${total.toLocaleString('en')} parameters trained${o.lora ? ' (LoRA)' : o.freezeEncoder ? ' (frozen encoder)' : ''}`,
    );
    if (o.log) await writeAtomic(o.log, '');
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
      log({ step: r.step, epoch: r.epoch, loss: r.loss, lr: r.lr, grad_norm: r.grad_norm, tokens_per_s: r.tokens_per_s });
    };
    run.onEval = (r) => {
      if (!bar) say(`eval at step ${r.step} (epoch ${r.epoch.toFixed(2)}): loss ${r.loss.toFixed(4)} ${metricsText(r.metrics)}`);
      log({ step: r.step, epoch: r.epoch, eval: true, loss: r.loss, ...r.metrics });
    };
    const signal = { aborted: false };
    const onSignal = () => {
      signal.aborted = true;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    bar?.start(steps, 0, { loss: '-', epoch: '0.00' });
    try {
      await run.run(signal);
    } finally {
      bar?.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (run.stopped === 'cancelled') {
      io.stderr.write(`bertgpu finetune: stopped at step ${run.trainer.step} of ${steps}; ${o.out} was not written\n`);
      run.dispose();
      return 130;
    }
    if (run.stopped === 'early') say(`early stop at step ${run.trainer.step}: ${o.patience} evaluations without a better ${metric}`);
    const best = run.best;
    if (evalSet.length) report(best ?? run.evals.at(-1)!, metric, o.task, train as TextExample[], evalSet as TextExample[], say, log);
    let files: Record<string, Uint8Array>;
    if (run.lora) files = { ...tokenizerFiles(o.model), ...(best?.adapter ?? (await run.adapterFiles())) };
    else {
      const modelFiles = best?.files ?? (await run.modelFiles());
      const tokFiles = tokenizerFiles(o.model);
      // the source's own tokenizer files, as they are (exportPretrained writes a vocab.txt only)
      if (Object.keys(tokFiles).length) delete modelFiles['vocab.txt'];
      files = { ...tokFiles, ...modelFiles };
    }
    await writeModelDir(o.out, files);
    const what = run.lora
      ? `a LoRA adapter (${Object.keys(files)
          .filter((n) => n.startsWith('adapter_'))
          .join(', ')}) for ${model.architecture} on ${o.model}`
      : model.architecture;
    say(`wrote ${o.out}: ${what}${best ? `, the best by ${metric} (step ${best.step})` : ', the final model'}`);
    run.dispose();
    return 0;
  } finally {
    model.dispose();
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
