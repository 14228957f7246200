// Continual learning (issue 15, the deck's five approaches): a sequence of tasks trained one after
// another on one pre-trained encoder; after each stage every task seen so far is evaluated, which
// gives the accuracy matrix R[task][stage] and from it the average accuracy, backward transfer
// and forgetting. Methods:
//   full      representation-based: the whole model fine-tuned on each task in turn (the
//             forgetting baseline);
//   replay    full fine-tuning with a small buffer of every earlier task's examples mixed into
//             each stage (a task with another head through its own head: FineTuneOptions.mixIn);
//   l2sp      full fine-tuning plus (lambda / 2) * ||theta - theta_start||^2 over the encoder,
//             theta_start the weights the stage began from (L2-SP, Li et al. 2018; EWC with the
//             Fisher set to 1: exact, and no Fisher pass over old data);
//   lora      adapter-based: one LoRA adapter + head per task on the frozen base;
//   features  feature-based: the frozen encoder, a scalar mix and one head per task.
// Where the encoder is shared and trained (full, replay, l2sp), one task model per head, all on
// the very same base tensors (ModelInit.base); tasks with the same `head` share that task head
// (domain shifts of one task). Adapters and features keep one head per task.
// Runs in any runtime: the model is a Hugging Face directory, the data already-read examples.
import { Tensor } from '../tensor.js';
import { runtime } from '../runtime.js';
import * as ops from '../ops/index.js';
import { LoraModel, type LoraOptions } from '../nn/lora.js';
import { writeSafetensors } from '../io/safetensors.js';
import { joinPath, readBytes, readText } from '../io/files.js';
import type { PretrainedFiles } from '../io/pretrained.js';
import { wordPieceOptionsFromTokenizerConfig } from '../tokenizers/tokenizer-config.js';
import { addWords, exampleTexts, repeatedWords } from './add-words.js';
import type { PreTrainedModel } from '../models/tasks.js';
import type { FeatureMode } from './features.js';
import type { LabelSet, Located } from './data.js';
import type { TaskTokenizer } from './encoding.js';
import { getTask, type TaskName } from './tasks.js';
import {
  DEFAULT_METRIC,
  PEFT_TASK,
  evaluateExamples,
  finetune,
  taskModelFrom,
  type FineTuneRun,
  type MixedTask,
  type TaskModel,
} from './train.js';

export type ContinualMethod = 'full' | 'replay' | 'l2sp' | 'lora' | 'features';
export const CONTINUAL_METHODS: ContinualMethod[] = ['full', 'replay', 'l2sp', 'lora', 'features'];

export interface ContinualTask {
  name: string;
  task: TaskName;
  /** Tasks with the same head share one task head where the encoder is shared (default: the task's name). */
  head?: string;
  train: Located[];
  test: Located[];
  /** The metric of the matrix (default: accuracy when the task has it, else the task's default). */
  metric?: string;
}

export interface ContinualSettings {
  epochs: number;
  batchSize: number;
  lr: number;
  maxLength: number;
  seed: number;
  warmupRatio: number;
  weightDecay: number;
  /** LoRA's r, alpha, dropout, target modules (method lora). */
  lora: LoraOptions;
  /** Examples kept per earlier task (method replay). */
  replayPerTask: number;
  /** The L2-SP penalty's lambda (method l2sp). */
  l2spLambda: number;
  /** The frozen-feature head (method features). */
  features: FeatureMode;
  /**
   * Words seen at least this many times in the tasks' training texts and missing from the
   * vocabulary become whole tokens before the first stage (addWords; 0: none). Method lora
   * trains, in each task's adapter, the rows of the words its own training texts repeat (PEFT
   * trainable tokens); the other methods train them as any row, or (features) not at all.
   */
  addWords: number;
}

export const DEFAULT_CONTINUAL_SETTINGS: ContinualSettings = {
  epochs: 2,
  batchSize: 16,
  lr: 5e-5,
  maxLength: 128,
  seed: 0,
  warmupRatio: 0.1,
  weightDecay: 0.01,
  lora: { r: 8, alpha: 16, dropout: 0, targetModules: ['query', 'value'] },
  replayPerTask: 50,
  l2spLambda: 0.01,
  features: 'scalar-mix',
  addWords: 0,
};

/** The summary of an accuracy matrix R[task][stage] (defined for stage >= task). */
export interface ContinualMetrics {
  /** Mean over the tasks of R[i][T-1]: how well every task is done at the end. */
  averageAccuracy: number;
  /** Mean of R[i][i] (each task just after its own stage). */
  justLearned: number;
  /** Backward transfer (Lopez-Paz & Ranzato 2017): mean over i < T-1 of R[i][T-1] - R[i][i]; negative = forgetting. */
  backwardTransfer: number | null;
  /** Forgetting (Chaudhry et al. 2018): mean over i < T-1 of max_{i <= j < T-1} R[i][j] - R[i][T-1]. */
  forgetting: number | null;
  /** After each stage, the mean over the tasks seen so far. */
  averagePerStage: number[];
}

/** Average accuracy, backward transfer and forgetting of R[task][stage]; throws on a missing entry. */
export function continualMetrics(R: readonly (readonly (number | null)[])[]): ContinualMetrics {
  const T = R.length;
  if (!T) throw new Error('continualMetrics: the matrix has no tasks');
  const at = (i: number, j: number): number => {
    const v = R[i]?.[j];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`continualMetrics: R[${i}][${j}] (task ${i} after stage ${j}) must be a number, got ${String(v)}`);
    return v;
  };
  for (let i = 0; i < T; i++)
    if (R[i].length !== T) throw new Error(`continualMetrics: row ${i} has ${R[i].length} stages, expected ${T} (one per task)`);
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
  const idx = (n: number) => Array.from({ length: n }, (_, i) => i);
  const earlier = idx(T - 1);
  return {
    averageAccuracy: mean(idx(T).map((i) => at(i, T - 1))),
    justLearned: mean(idx(T).map((i) => at(i, i))),
    backwardTransfer: T > 1 ? mean(earlier.map((i) => at(i, T - 1) - at(i, i))) : null,
    forgetting: T > 1 ? mean(earlier.map((i) => Math.max(...idx(T - 1 - i).map((k) => at(i, i + k))) - at(i, T - 1))) : null,
    averagePerStage: idx(T).map((j) => mean(idx(j + 1).map((i) => at(i, j)))),
  };
}

/**
 * The L2-SP penalty (lambda / 2) * sum_p ||p - anchor_p||^2 as a scalar tensor on the tape; its
 * gradient with respect to p is lambda * (p - anchor_p). Anchors need no gradient.
 */
export function l2spPenalty(pairs: readonly (readonly [Tensor, Tensor])[], lambda: number): Tensor {
  if (!(Number.isFinite(lambda) && lambda >= 0)) throw new Error(`l2spPenalty: lambda must be a number >= 0, got ${lambda}`);
  if (!pairs.length) throw new Error('l2spPenalty: no parameters to anchor');
  let total: Tensor | null = null;
  for (const [p, anchor] of pairs) {
    const d = ops.sub(p, anchor);
    const sq = ops.mul(d, d);
    const s = ops.sum(sq);
    const next: Tensor = total ? ops.add(total, s) : s;
    for (const t of [d, sq, ...(total ? [total, s] : [])]) t.dispose();
    total = next;
  }
  const out = ops.mulScalar(total!, lambda / 2);
  total!.dispose();
  return out;
}

/** What one run of a method on a task sequence measured. */
export interface ContinualResult {
  method: ContinualMethod;
  settings: ContinualSettings;
  tasks: { name: string; task: TaskName; head: string; metric: string; train: number; test: number; majority: number | null }[];
  /** matrix[i][j]: task i's metric after stage j (null before its stage). */
  matrix: (number | null)[][];
  summary: ContinualMetrics;
  stages: {
    task: string;
    steps: number;
    seconds: number;
    /** Parameters the stage trained, and all parameters of the model it trained (base + head). */
    trainableParameters: number;
    totalParameters: number;
    /** Bytes kept for this task alone (adapter / head files, replay buffer), beyond the shared base. */
    bytesStored: number;
  }[];
  /** Bytes of the encoder every task shares (full, replay, l2sp: overwritten by each stage). */
  sharedBytes: number;
  /** The words added to the vocabulary (settings.addWords), and the vocabulary size after. */
  addedWords: { count: number; vocabSize: number } | null;
  /**
   * Each task's own files right after its stage, and at the end: its PEFT adapter (lora), its
   * feature head (features), its head's parameters as head.safetensors (full, replay, l2sp; the
   * same for tasks that share a head).
   */
  files: { afterStage: Record<string, Record<string, Uint8Array>>; atEnd: Record<string, Record<string, Uint8Array>> };
}

export interface ContinualOptions {
  /** The pre-trained encoder: a Hugging Face directory (any class; each task gets its head fresh). */
  model: string;
  tasks: ContinualTask[];
  method: ContinualMethod;
  settings?: Partial<ContinualSettings>;
  onProgress?: (message: string) => void;
}

const countOf = (ps: readonly [string, Tensor][]) => ps.reduce((a, [, t]) => a + t.size, 0);
const filesBytes = (files: Record<string, Uint8Array>) => Object.values(files).reduce((a, f) => a + f.byteLength, 0);

/** The base model's parameters (embeddings, encoder, pooler) of a task model. */
function baseParameters(model: PreTrainedModel): [string, Tensor][] {
  return model.namedParameters().filter(([n]) => n.startsWith(`${model.baseName}.`));
}

/** A task model's parameters beyond the base (its head), as a safetensors file. */
async function headFiles(model: PreTrainedModel): Promise<Record<string, Uint8Array>> {
  const base = new Set(baseParameters(model).map(([, t]) => t));
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [n, t] of model.namedParameters())
    if (!base.has(t)) tensors[n] = { data: (await t.toArray()) as Float32Array, shape: t.shape };
  return { 'head.safetensors': writeSafetensors(tensors) };
}

function copyOf(t: Tensor): Tensor {
  const c = Tensor.empty(t.shape, t.dtype, `${t.name} anchor`).keep();
  runtime().copy(t.buffer, 0, c.buffer, 0, t.size * 4);
  return c;
}

/** A seeded sample of k items (mulberry32 shuffle), for replay buffers. */
function sample<T>(xs: readonly T[], k: number, seed: number): T[] {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.slice(0, k);
}

/** An example's bytes as a JSON line without its file position (what a replay buffer keeps). */
const exampleBytes = (ex: Located) =>
  new TextEncoder().encode(JSON.stringify(ex, (k, v: unknown) => (k === 'source' || k === 'line' ? undefined : v))).byteLength + 1;

interface Loaded {
  model: PreTrainedModel;
  tokenizer: TaskTokenizer;
}

/** The base's files with every task's repeated words added, and per task the token ids of its own repeated words. */
async function withTaskWords(dir: string, tasks: ContinualTask[], min: number) {
  const read = (name: string) => readText(joinPath(dir, name));
  const [vocab, config, weights, tokenizerConfig] = [
    await read('vocab.txt'),
    await read('config.json'),
    await readBytes(joinPath(dir, 'model.safetensors')),
    await read('tokenizer_config.json'),
  ];
  if (vocab === null || config === null || weights === null)
    throw new Error(`continual: addWords needs ${dir}/vocab.txt, config.json and model.safetensors (a WordPiece model)`);
  const lowercase =
    (tokenizerConfig ? wordPieceOptionsFromTokenizerConfig(tokenizerConfig, `${dir}/tokenizer_config.json`) : {}).lowercase ?? true;
  const x = addWords({ vocab, config, weights }, repeatedWords(exampleTexts(tasks.flatMap((t) => t.train)), min), { lowercase });
  const idOf = new Map(x.added.map((w, k) => [w, x.ids[k]]));
  const rows = new Map<string, number[]>();
  for (const t of tasks) {
    const ids = repeatedWords(exampleTexts(t.train), min).map((w) => idOf.get(w));
    rows.set(
      t.name,
      [...new Set(ids.filter((id): id is number => id !== undefined))].sort((a, b) => a - b),
    );
  }
  const files: PretrainedFiles = { config: x.config, weights: x.weights, vocab: x.vocab, tokenizerConfig: tokenizerConfig ?? undefined };
  return { files, rows, count: x.added.length, vocabSize: JSON.parse(x.config).vocab_size as number };
}

/** Trains the tasks of `options` in order with one method, evaluating every task seen after each stage. */
export async function runContinual(options: ContinualOptions): Promise<ContinualResult> {
  const s: ContinualSettings = { ...DEFAULT_CONTINUAL_SETTINGS, ...options.settings };
  const { method, tasks } = options;
  if (!CONTINUAL_METHODS.includes(method))
    throw new Error(`continual: unknown method '${String(method)}' (methods: ${CONTINUAL_METHODS.join(', ')})`);
  if (!tasks.length) throw new Error('continual: no tasks');
  const names = new Set<string>();
  for (const t of tasks) {
    if (names.has(t.name)) throw new Error(`continual: two tasks are named '${t.name}'`);
    names.add(t.name);
  }
  const log = options.onProgress ?? (() => {});
  const headOf = (t: ContinualTask) => t.head ?? t.name;
  // one label set per head, over the training data of every task that shares it
  const labels = new Map<string, LabelSet | undefined>();
  for (const t of tasks) {
    const same = tasks.filter((u) => headOf(u) === headOf(t));
    const kinds = new Set(same.map((u) => u.task));
    if (kinds.size > 1)
      throw new Error(`continual: tasks sharing the head '${headOf(t)}' must be of one kind, got ${[...kinds].join(', ')}`);
    const task = getTask(t.task);
    labels.set(headOf(t), task.labelSet ? task.labelSet(same.flatMap((u) => u.train) as never) : undefined);
  }
  const metricOf = (t: ContinualTask) => {
    if (t.metric) return t.metric;
    return ['cls', 'pair', 'tag', 'choice'].includes(t.task) ? 'accuracy' : DEFAULT_METRIC[t.task];
  };
  const result: ContinualResult = {
    method,
    settings: s,
    tasks: tasks.map((t) => ({
      name: t.name,
      task: t.task,
      head: headOf(t),
      metric: metricOf(t),
      train: t.train.length,
      test: t.test.length,
      majority: majority(t),
    })),
    matrix: tasks.map(() => tasks.map(() => null)),
    summary: null as unknown as ContinualMetrics,
    stages: [],
    sharedBytes: 0,
    addedWords: null,
    files: { afterStage: {}, atEnd: {} },
  };
  const widened = s.addWords > 0 ? await withTaskWords(options.model, tasks, s.addWords) : null;
  const source = widened?.files ?? options.model;
  if (widened) {
    result.addedWords = { count: widened.count, vocabSize: widened.vocabSize };
    log(`${widened.count} words seen ${s.addWords}+ times in the training texts added as whole tokens (vocabulary ${widened.vocabSize})`);
  }

  // models: per head (full, replay, l2sp: all on one base), per head with one LoraModel holding an
  // adapter per task (lora), one encoder (features)
  const models = new Map<string, Loaded & { lora?: LoraModel }>();
  const featureHeads = new Map<string, FineTuneRun>();
  const buffers = new Map<string, Located[]>();
  const shared = method === 'full' || method === 'replay' || method === 'l2sp';
  const load = async (t: ContinualTask, key: string): Promise<Loaded & { lora?: LoraModel }> => {
    let m = models.get(key);
    if (!m) {
      const base = shared ? [...models.values()][0]?.model.base : undefined;
      const loaded = await taskModelFrom(source, t.task, labels.get(headOf(t)), { seed: s.seed, base });
      if (!loaded.tokenizer) {
        loaded.model.dispose();
        throw new Error(`continual: ${options.model} has no tokenizer files (vocab.txt or tokenizer.json)`);
      }
      m = { model: loaded.model, tokenizer: loaded.tokenizer };
      models.set(key, m);
    }
    return m;
  };
  const context = (t: ContinualTask, m: Loaded) => ({
    labels: labels.get(headOf(t)),
    tokenizer: m.tokenizer,
    maxLength: s.maxLength,
    batchSize: s.batchSize,
  });

  /** The model that answers task t now (adapter made active, shared encoder moved in). */
  const modelFor = async (t: ContinualTask): Promise<{ model: TaskModel; loaded: Loaded }> => {
    if (method === 'features') {
      const run = featureHeads.get(t.name)!;
      return { model: run.model, loaded: models.get('encoder')! };
    }
    const m = await load(t, headOf(t));
    if (method === 'lora') m.lora!.setAdapter(t.name);
    return { model: m.model, loaded: m };
  };

  try {
    // every head's model before any training (loading one puts the checkpoint's encoder into the
    // shared base); heads on the pooled output first, so that the base has a pooler
    if (shared) {
      const pooled = (t: ContinualTask) => ['cls', 'pair', 'regression', 'choice'].includes(t.task);
      for (const t of [...tasks.filter(pooled), ...tasks.filter((u) => !pooled(u))]) await load(t, headOf(t));
    }
    for (let k = 0; k < tasks.length; k++) {
      const t = tasks[k];
      const t0 = Date.now();
      const common = {
        task: t.task,
        labels: labels.get(headOf(t)),
        epochs: s.epochs,
        batchSize: s.batchSize,
        lr: s.lr,
        maxLength: s.maxLength,
        seed: s.seed + k,
        warmupRatio: s.warmupRatio,
        weightDecay: s.weightDecay,
        logEvery: 10,
      };
      let run: FineTuneRun;
      let bytesStored = 0;
      let totalParameters = 0;
      const anchors: [Tensor, Tensor][] = [];
      if (method === 'features') {
        const m = await load(t, 'encoder');
        run = finetune({ ...common, model: m.model, tokenizer: m.tokenizer, train: t.train, features: s.features });
        totalParameters = countOf(m.model.namedParameters()) + countOf(run.model.namedParameters());
      } else if (method === 'lora') {
        const m = await load(t, headOf(t));
        const rows = widened?.rows.get(t.name) ?? [];
        const adapter = { ...s.lora, taskType: PEFT_TASK[t.task], seed: s.seed + k, ...(rows.length && { trainableTokenIndices: rows }) };
        if (!m.lora) m.lora = new LoraModel(m.model, adapter, t.name);
        else m.lora.addAdapter(t.name, adapter);
        m.lora.setAdapter(t.name);
        run = finetune({ ...common, model: m.model, tokenizer: m.tokenizer, train: t.train, lora: m.lora });
        totalParameters = countOf(m.model.namedParameters());
      } else {
        const m = await load(t, headOf(t));
        const train = [...t.train];
        // replay: the buffers of the earlier tasks with this head join the data, those of other
        // heads are trained through their own heads in the same batches
        const replayed: MixedTask[] = [];
        if (method === 'replay')
          for (const u of tasks.slice(0, k)) {
            const kept = buffers.get(u.name) ?? [];
            if (headOf(u) === headOf(t)) train.push(...kept);
            else {
              const other = replayed.find((x) => x.model === models.get(headOf(u))!.model);
              if (other) other.train.push(...kept);
              else replayed.push({ task: u.task, model: models.get(headOf(u))!.model, train: [...kept], labels: labels.get(headOf(u)) });
            }
          }
        let extraLoss: (() => Tensor) | undefined;
        if (method === 'l2sp') {
          for (const [, p] of baseParameters(m.model)) anchors.push([p, copyOf(p)]);
          extraLoss = () => l2spPenalty(anchors, s.l2spLambda);
        }
        const mixIn = replayed.filter((x) => x.train.length);
        // (mixIn, even empty: the shared base may hold a pooler this head does not train)
        run = finetune({ ...common, model: m.model, tokenizer: m.tokenizer, train, extraLoss, mixIn });
        totalParameters =
          countOf(m.model.namedParameters()) +
          mixIn.reduce((a, x) => a + countOf(x.model.namedParameters()) - countOf(baseParameters(x.model)), 0);
        result.sharedBytes = countOf(baseParameters(m.model)) * 4;
        // a head's bytes count for the first task that uses it
        if (!tasks.slice(0, k).some((u) => headOf(u) === headOf(t)))
          bytesStored += (countOf(m.model.namedParameters()) - countOf(baseParameters(m.model))) * 4;
        if (method === 'replay' && k < tasks.length - 1) {
          const kept = sample(t.train, s.replayPerTask, s.seed * 1000 + k);
          buffers.set(t.name, kept);
          bytesStored += kept.reduce((a, ex) => a + exampleBytes(ex), 0);
        }
      }
      run.onLog = (r) =>
        log(`${method} stage ${k + 1}/${tasks.length} (${t.name}): step ${r.step}/${run.trainer.options.steps} loss ${r.loss.toFixed(4)}`);
      await run.run();
      const trainableParameters = countOf(run.trainer.objective.namedParameters());
      run.dispose();
      for (const [, a] of anchors) a.dispose();
      if (method === 'features') {
        featureHeads.set(t.name, run);
        result.files.afterStage[t.name] = await run.modelFiles();
        bytesStored = filesBytes(result.files.afterStage[t.name]);
      } else if (method === 'lora') {
        const files = await models.get(headOf(t))!.lora!.saveAdapter(t.name);
        result.files.afterStage[t.name] = files;
        bytesStored = filesBytes(files);
      } else result.files.afterStage[t.name] = await headFiles(models.get(headOf(t))!.model);
      const seconds = (Date.now() - t0) / 1000;
      result.stages.push({ task: t.name, steps: run.trainer.step, seconds, trainableParameters, totalParameters, bytesStored });
      for (let i = 0; i <= k; i++) {
        const u = tasks[i];
        const { model, loaded } = await modelFor(u);
        const r = await evaluateExamples(getTask(u.task), model, u.test, context(u, loaded));
        const v = r.metrics[metricOf(u)];
        if (v === undefined)
          throw new Error(
            `continual: task '${u.name}' (${u.task}) has no metric '${metricOf(u)}' (it has ${Object.keys(r.metrics).join(', ')})`,
          );
        result.matrix[i][k] = v;
      }
      log(
        `${method} after stage ${k + 1} (${t.name}, ${run.trainer.step} steps, ${seconds.toFixed(0)} s): ${tasks
          .slice(0, k + 1)
          .map((u, i) => `${u.name} ${result.matrix[i][k]?.toFixed(3)}`)
          .join(', ')}`,
      );
    }
    for (const t of tasks) {
      if (method === 'features') result.files.atEnd[t.name] = await featureHeads.get(t.name)!.modelFiles();
      else if (method === 'lora') result.files.atEnd[t.name] = await models.get(headOf(t))!.lora!.saveAdapter(t.name);
      else result.files.atEnd[t.name] = await headFiles(models.get(headOf(t))!.model);
    }
    if (method === 'lora' || method === 'features') result.sharedBytes = countOf(baseParameters([...models.values()][0].model)) * 4;
  } finally {
    for (const run of featureHeads.values()) run.model.dispose();
    for (const m of models.values()) {
      m.lora?.dispose();
      m.model.dispose();
    }
  }
  result.summary = continualMetrics(result.matrix);
  return result;
}

/** The accuracy of always answering the training data's most frequent label (cls, pair; else null). */
function majority(t: ContinualTask): number | null {
  if (t.task !== 'cls' && t.task !== 'pair') return null;
  const label = (e: Located) => String((e as Located & { label?: unknown }).label);
  const counts = new Map<string, number>();
  for (const e of t.train) counts.set(label(e), (counts.get(label(e)) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
  return t.test.length ? t.test.filter((e) => label(e) === top).length / t.test.length : null;
}

/** A plan file's task: data files as the plan names them (the CLI resolves them beside the plan). */
export interface PlanTask {
  name: string;
  task: TaskName;
  head?: string;
  train: string;
  test: string;
  metric?: string;
}

/** `bertgpu continual --plan FILE`: the model, the tasks in order, default settings, and the methods (each may override settings). */
export interface ContinualPlan {
  model: string;
  tasks: PlanTask[];
  defaults: Partial<ContinualSettings>;
  methods: { method: ContinualMethod; settings: Partial<ContinualSettings> }[];
}

const TASK_NAMES: TaskName[] = ['cls', 'pair', 'regression', 'choice', 'tag', 'qa'];
const SETTING_FIELDS = [
  'epochs',
  'batchSize',
  'lr',
  'maxLength',
  'seed',
  'warmupRatio',
  'weightDecay',
  'lora',
  'replayPerTask',
  'l2spLambda',
  'features',
  'addWords',
];

/** Parses and checks a continual-learning plan (JSON); errors name the file and the field. */
export function parseContinualPlan(text: string, source: string): ContinualPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const fail = (field: string, want: string, got: unknown) =>
    new Error(`${source}: ${field} must be ${want}, got ${(JSON.stringify(got) ?? 'nothing').slice(0, 60)}`);
  const object = (v: unknown, field: string): Record<string, unknown> => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw fail(field, 'an object', v);
    return v as Record<string, unknown>;
  };
  const known = (o: Record<string, unknown>, field: string, fields: string[]) => {
    for (const k of Object.keys(o))
      if (!fields.includes(k)) throw new Error(`${source}: ${field}: unknown field '${k}' (fields: ${fields.join(', ')})`);
  };
  const string = (v: unknown, field: string) => {
    if (typeof v !== 'string' || !v) throw fail(field, 'a non-empty string', v);
    return v;
  };
  const top = object(raw, 'the plan');
  known(top, 'the plan', ['model', 'tasks', 'methods', ...SETTING_FIELDS]);
  const model = string(top.model, 'model');
  if (!Array.isArray(top.tasks) || !top.tasks.length) throw fail('tasks', 'a non-empty list of tasks', top.tasks);
  const tasks = top.tasks.map((v, i): PlanTask => {
    const f = `tasks[${i}]`;
    const t = object(v, f);
    known(t, f, ['name', 'task', 'head', 'train', 'test', 'metric']);
    if (!TASK_NAMES.includes(t.task as TaskName)) throw fail(`${f}.task`, `one of ${TASK_NAMES.join(', ')}`, t.task);
    return {
      name: string(t.name, `${f}.name`),
      task: t.task as TaskName,
      ...(t.head !== undefined ? { head: string(t.head, `${f}.head`) } : {}),
      train: string(t.train, `${f}.train`),
      test: string(t.test, `${f}.test`),
      ...(t.metric !== undefined ? { metric: string(t.metric, `${f}.metric`) } : {}),
    };
  });
  const seen = new Set<string>();
  tasks.forEach((t, i) => {
    if (seen.has(t.name)) throw fail(`tasks[${i}].name`, 'unique', t.name);
    seen.add(t.name);
  });
  const settings = (o: Record<string, unknown>, field: string): Partial<ContinualSettings> => {
    const out: Partial<ContinualSettings> = {};
    const num = (k: string, ok: (v: number) => boolean, want: string) => {
      if (o[k] === undefined) return undefined;
      const v = o[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw fail(`${field}${k}`, want, v);
      return v;
    };
    const int = (v: number) => Number.isInteger(v);
    const set = <K extends keyof ContinualSettings>(k: K, v: ContinualSettings[K] | undefined) => {
      if (v !== undefined) out[k] = v;
    };
    set(
      'epochs',
      num('epochs', (v) => v > 0, 'a positive number'),
    );
    set(
      'batchSize',
      num('batchSize', (v) => int(v) && v > 0, 'a positive integer'),
    );
    set(
      'lr',
      num('lr', (v) => v > 0, 'a positive number'),
    );
    set(
      'maxLength',
      num('maxLength', (v) => int(v) && v >= 8, 'an integer >= 8'),
    );
    set(
      'seed',
      num('seed', (v) => int(v) && v >= 0, 'an integer >= 0'),
    );
    set(
      'warmupRatio',
      num('warmupRatio', (v) => v >= 0 && v <= 1, 'a number in [0, 1]'),
    );
    set(
      'weightDecay',
      num('weightDecay', (v) => v >= 0, 'a number >= 0'),
    );
    set(
      'replayPerTask',
      num('replayPerTask', (v) => int(v) && v >= 0, 'an integer >= 0'),
    );
    set(
      'l2spLambda',
      num('l2spLambda', (v) => v >= 0, 'a number >= 0'),
    );
    set(
      'addWords',
      num('addWords', (v) => int(v) && v >= 0, 'an integer >= 0 (0: none)'),
    );
    if (o.features !== undefined) {
      if (o.features !== 'scalar-mix' && o.features !== 'concat-last-4')
        throw fail(`${field}features`, '"scalar-mix" or "concat-last-4"', o.features);
      out.features = o.features;
    }
    if (o.lora !== undefined) {
      const l = object(o.lora, `${field}lora`);
      known(l, `${field}lora`, ['r', 'alpha', 'dropout', 'targets', 'rslora']);
      const lora: LoraOptions = {};
      const lnum = (k: string, ok: (v: number) => boolean, want: string) => {
        const v = l[k];
        if (v === undefined) return undefined;
        if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw fail(`${field}lora.${k}`, want, v);
        return v;
      };
      lora.r = lnum('r', (v) => int(v) && v > 0, 'a positive integer');
      lora.alpha = lnum('alpha', (v) => v > 0, 'a positive number');
      lora.dropout = lnum('dropout', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
      if (l.targets !== undefined) {
        const ok =
          typeof l.targets === 'string' ||
          (Array.isArray(l.targets) && l.targets.length && l.targets.every((x) => typeof x === 'string' && x));
        if (!ok) throw fail(`${field}lora.targets`, 'a list of module names or a regular expression', l.targets);
        lora.targetModules = l.targets as string[] | string;
      }
      if (l.rslora !== undefined) {
        if (typeof l.rslora !== 'boolean') throw fail(`${field}lora.rslora`, 'true or false', l.rslora);
        lora.useRslora = l.rslora;
      }
      out.lora = Object.fromEntries(Object.entries(lora).filter(([, v]) => v !== undefined));
    }
    return out;
  };
  const defaults = settings(top, '');
  if (!Array.isArray(top.methods) || !top.methods.length)
    throw fail('methods', `a non-empty list (of ${CONTINUAL_METHODS.join(', ')})`, top.methods);
  const methods = top.methods.map((v, i) => {
    const f = `methods[${i}]`;
    // "lora" alone, or {"method": "lora", ...settings}
    const m = typeof v === 'string' ? { method: v } : object(v, f);
    known(m, f, ['method', ...SETTING_FIELDS]);
    if (!CONTINUAL_METHODS.includes(m.method as ContinualMethod))
      throw fail(`${f}.method`, `one of ${CONTINUAL_METHODS.join(', ')}`, m.method);
    const own = settings(m, `${f}.`);
    // a method's lora fields refine the plan's
    if (own.lora && defaults.lora) own.lora = { ...defaults.lora, ...own.lora };
    return { method: m.method as ContinualMethod, settings: { ...defaults, ...own } };
  });
  return { model, tasks, defaults, methods };
}
