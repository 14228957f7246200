// `bertgpu predict`: a fine-tuned model (or a base + --adapter) on JSON lines, one JSON line out
// per input line, in order, shaped as the task's predictions (see HELP_AFTER).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { init } from '../runtime.js';
import { getTask, type AnyTask, type ClassPrediction, type TagPrediction, type TaskName } from '../finetune/tasks.js';
import { readRecords, type TagExample } from '../finetune/data.js';
import type { QaPrediction } from '../finetune/qa.js';
import type { AggregationStrategy } from '../finetune/tagging.js';
import { loadTaskModel, type TaskPredictor } from '../pipelines.js';
import { FEATURE_CONFIG_FILE, FEATURE_HEAD_FILE, parseFeatureConfig } from '../finetune/features.js';
import { UsageError, addVerbose, newCommand, type CliCommand, type Io } from './program.js';
import { checkAdapterDir, checkDataFile, checkModelDir, intArg, readInput, writeJsonLines } from './task-io.js';
import { TASK_NAMES } from './finetune.js';

const HELP_AFTER = `
Input: JSON lines shaped as the training data, labels not needed (plain text lines are
taken as {"text": ...} for cls, regression and tag), or .csv / .tsv files with named columns.
Output, one JSON line per input line, in order:
  cls, pair   {"label": "pos", "score": 0.93}  (--top-k K: a list of the K likeliest)
  regression  {"score": 3.71}
  choice      {"label": 1, "scores": [0.2, 0.8]}
  tag         {"tags": ["B-PER", "O"]} for {"tokens": [...]} input,
              {"entities": [{"entity_group", "word", "start", "end", "score"}]} for text input
  qa          {"answer": "...", "start": 12, "end": 19, "score": 0.8}  ("" with --allow-impossible)
The task comes from the model's class (...ForSequenceClassification: cls, or regression when
problem_type says so; lines with "pair" read as pair) or from the adapter; --task overrides.
--adapter DIR (PEFT's files) goes on --model, which may lack the task head (e.g. a ...ForMaskedLM).
A frozen-feature directory (finetune --features: feature_config.json + feature_head.safetensors)
is --model itself, run on the base its feature_config.json names (base_model_name_or_path), or
--adapter on a --model BASE given instead (the SHA-256 of the base's weights must match).`;

export interface TaskModelFlags {
  model: string;
  adapter?: string;
  task?: TaskName;
  maxLength?: number;
  batch: number;
}

/** The options predict and evaluate share. */
export function addTaskModelOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--model <dir>', 'a fine-tuned Hugging Face directory or frozen-feature directory, or the base of --adapter')
    .option(
      '--adapter <dir>',
      "a LoRA adapter (PEFT's adapter_config.json + adapter_model.safetensors) or a frozen-feature head (finetune --features) on --model",
    )
    .addOption(new Option('--task <name>', "the task (default: from the model's class or the adapter)").choices(TASK_NAMES))
    .option('--allow-impossible', 'qa: answer "" when no span beats the null answer (SQuAD v2.0)')
    .option('--max-answer-length <n>', 'qa: the longest answer span in tokens (default: 30, as HF run_qa)', intArg(1))
    .option(
      '--max-length <n>',
      "tokens per sequence (default: a feature directory's max_length, else 128, qa 384; at most the model's positions)",
      intArg(8),
    )
    .option('--batch <n>', 'examples per forward', intArg(1), 16);
}

/** Checks --model / --adapter before any work (a frozen-feature directory: its files and the base it names). */
export function checkTaskModelFlags(o: TaskModelFlags): void {
  if (existsSync(join(o.model, FEATURE_CONFIG_FILE))) {
    if (o.adapter)
      throw new UsageError(`--model ${o.model} is a frozen-feature directory; it takes no --adapter (give the base as --model)`);
    const file = join(o.model, FEATURE_CONFIG_FILE);
    const base = checkFeatureDir(o.model, '--model').base_model_name_or_path;
    if (base === null) throw new UsageError(`--model ${o.model}: ${file} names no base model; give it: --model BASE --adapter ${o.model}`);
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(base) && !existsSync(join(base, 'config.json')))
      throw new UsageError(
        `--model ${o.model}: ${file} names the base model ${base} (base_model_name_or_path), but ${join(base, 'config.json')} does not exist; put the base there, or give it: --model BASE --adapter ${o.model}`,
      );
    return;
  }
  checkModelDir(o.model);
  if (o.adapter && existsSync(join(o.adapter, FEATURE_CONFIG_FILE))) checkFeatureDir(o.adapter, '--adapter');
  else if (o.adapter) checkAdapterDir(o.adapter);
}

/** A frozen-feature directory's config, read and checked, and its head present. */
function checkFeatureDir(dir: string, flag: string) {
  const file = join(dir, FEATURE_CONFIG_FILE);
  let config;
  try {
    config = parseFeatureConfig(readFileSync(file, 'utf8'), file);
  } catch (err) {
    throw new UsageError(`${flag} ${dir}: ${(err as Error).message}`);
  }
  if (!existsSync(join(dir, FEATURE_HEAD_FILE)))
    throw new UsageError(`${flag} ${dir}: no ${FEATURE_HEAD_FILE} (its ${FEATURE_CONFIG_FILE} says it holds a frozen-feature head)`);
  return config;
}

/** Runs `fn` on the task model of the flags, on a runtime opened for it; both are freed after. */
export async function withTaskModel<T>(o: TaskModelFlags, fn: (tm: TaskPredictor) => Promise<T>): Promise<T> {
  const rt = await init();
  try {
    const tm = await loadTaskModel(o.model, { task: o.task, adapter: o.adapter, maxLength: o.maxLength, batchSize: o.batch });
    try {
      return await fn(tm);
    } finally {
      tm.dispose();
    }
  } finally {
    rt.destroy();
  }
}

/**
 * The task whose reader takes the input: the model's, except that a sequence classifier given
 * lines with a "pair" (and no --task) reads them as pairs.
 */
export function inputTask(tm: TaskPredictor, given: TaskName | undefined, text: string, source: string): AnyTask {
  if (given || tm.task.name !== 'cls') return tm.task;
  const hasPair = readRecords(text, source, { plainText: true }).some((r) => r.value.pair !== undefined);
  return hasPair ? getTask('pair') : tm.task;
}

export const command: CliCommand = {
  name: 'predict',
  gpu: true,
  build: (io) =>
    addVerbose(
      addTaskModelOptions(
        newCommand(
          'predict',
          'predictions of a fine-tuned model (or base + LoRA adapter, or frozen-feature head) for JSON lines, one JSON line out per input',
          io,
          (cmd) => predict(cmd, io),
        ),
      )
        .option('--input <file>', 'input lines (- for stdin)', '-')
        .option('--top-k <k>', 'cls, pair: the K likeliest labels, as a list', intArg(1))
        .addOption(
          new Option('--aggregation <strategy>', "tag, text input: how tokens group into entities (the HF pipeline's aggregation_strategy)")
            .choices(['simple', 'first', 'average', 'max', 'none'])
            .default('simple'),
        )
        .addHelpText('after', HELP_AFTER),
    ),
};

interface PredictOptions extends TaskModelFlags {
  input: string;
  topK?: number;
  allowImpossible?: boolean;
  maxAnswerLength?: number;
  aggregation: AggregationStrategy;
}

async function predict(cmd: Command, io: Io): Promise<number> {
  const o = cmd.opts<PredictOptions>();
  checkTaskModelFlags(o);
  checkDataFile(o.input, '--input');
  const { text, source } = await readInput(o.input, io);
  return withTaskModel(o, async (tm) => {
    if (o.topK !== undefined && !['cls', 'pair'].includes(tm.task.name))
      throw new UsageError(`--top-k applies to cls and pair models; this one is ${tm.task.name}`);
    const task = inputTask(tm, o.task, text, source);
    const examples = task.read(text, source, { labelled: false, plainText: ['cls', 'regression', 'tag'].includes(task.name) });
    const preds = await tm.predict(examples, {
      task,
      aggregation: o.aggregation,
      allowImpossible: o.allowImpossible,
      maxAnswerLength: o.maxAnswerLength,
    });
    writeJsonLines(
      io,
      preds.map((p, i) => shape(task.name, p, examples[i], o.topK)),
    );
    return 0;
  });
}

/** One prediction as its output line. */
function shape(task: TaskName, p: unknown, example: unknown, topK?: number): unknown {
  switch (task) {
    case 'cls':
    case 'pair': {
      const c = p as ClassPrediction;
      return topK ? c.ranked.slice(0, topK).map((r) => ({ label: r.label, score: r.score })) : { label: c.label, score: c.score };
    }
    case 'tag': {
      const t = p as TagPrediction;
      return (example as TagExample).text !== undefined ? { entities: t.entities } : { tags: t.tags };
    }
    case 'qa': {
      const q = p as QaPrediction;
      return { answer: q.answer, start: q.start, end: q.end, score: q.score };
    }
    default:
      return p;
  }
}
