// Fine-tuning on the pre-training Trainer (src/train/trainer.ts): a task (src/finetune/tasks.ts)
// becomes an Objective over collated batches, epochs of seeded length-bucketed batches become the
// BatchSource; evaluation decodes the model's outputs into predictions and the task's metrics.
// AdamW (no decay on biases / LayerNorm), warmup + linear decay, gradient accumulation whose
// loss is the mean over every labelled unit of the accumulated batch, evaluation every epoch or
// N steps, the best model kept by a chosen metric, early stopping, checkpoints with exact resume.
import { Tensor, noGrad, scopeAsync } from '../tensor.js';
import { runtime } from '../runtime.js';
import { Generator } from '../ops/creation.js';
import { add, mulScalar } from '../ops/index.js';
import {
  Trainer,
  readCheckpointState,
  recoverCheckpoint,
  type BatchSource,
  type CheckpointWriteOptions,
  type LogRecord,
  type TrainerOptions,
} from '../train/trainer.js';
import { Dropout, Linear } from '../nn/module.js';
import { defaultGenerator } from '../ops/creation.js';
import type { Objective, StepTensors } from '../train/objectives.js';
import { exportPretrained, fromPretrained, type PretrainedFiles } from '../io/pretrained.js';
import type { PreTrainedModel } from '../models/tasks.js';
import type { BertModel } from '../models/bert.js';
import { parseConfigJson } from '../models/config.js';
import { joinPath, readBytes, readText } from '../io/files.js';
import type { WordPieceTokenizer } from '../tokenizers/wordpiece.js';
import { LoraModel, TASK_HEADS, type LoraOptions, type PeftTaskType } from '../nn/lora.js';
import { FeatureClassifier, type FeatureMode } from './features.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { bucketedBatches, type Batch } from './collate.js';
import { batchInputs } from './inputs.js';
import {
  getTask,
  splitBatchOutputs,
  type AnyTask,
  type FeatureOutput,
  type TaskName,
  type DecodeContext,
  type EncodeContext,
} from './tasks.js';
import type { LabelSet, Located } from './data.js';
import type { TaskTokenizer } from './encoding.js';

/** The metric a run keeps its best model by, when none is given (higher is better). */
export const DEFAULT_METRIC: Record<TaskName, string> = {
  cls: 'accuracy',
  pair: 'accuracy',
  regression: 'pearson',
  choice: 'accuracy',
  tag: 'f1',
  qa: 'f1',
};

/** Keys of adapter_model.safetensors' metadata that say which task (and labels) an adapter's head is for. */
export const ADAPTER_TASK_KEY = 'bertgpu.task';
export const ADAPTER_LABELS_KEY = 'bertgpu.id2label';

export const PEFT_TASK: Record<TaskName, PeftTaskType> = {
  cls: 'SEQ_CLS',
  pair: 'SEQ_CLS',
  regression: 'SEQ_CLS',
  choice: 'SEQ_CLS',
  tag: 'TOKEN_CLS',
  qa: 'QUESTION_ANS',
};

/** The heads that a frozen encoder or an adapter leaves trainable, per task class. */
const HEADS = ['classifier', 'qa_outputs', 'sequence_summary', 'score'];

export interface FineTuneOptions {
  task: TaskName;
  model: PreTrainedModel;
  tokenizer: TaskTokenizer;
  /** Training examples (task.read of a file) and their label set (from the training data or config.json). */
  train: Located[];
  eval?: Located[];
  labels?: LabelSet;
  epochs?: number;
  /** Optimizer steps; overrides epochs. */
  steps?: number;
  batchSize?: number;
  lr?: number;
  /** Warmup as a share of all steps (default 0.1, BERT's recipe). */
  warmupRatio?: number;
  weightDecay?: number;
  accumulationSteps?: number;
  /** 'f16': the Trainer's autocast and dynamic loss scale (TrainerOptions.precision). Default 'f32'. */
  precision?: 'f32' | 'f16';
  maxGradNorm?: number;
  maxLength?: number;
  docStride?: number;
  /** QA: the longest answer span in tokens, in evaluation and predict (HF run_qa's --max_answer_length; default 30). */
  maxAnswerLength?: number;
  labelAllTokens?: boolean;
  seed?: number;
  logEvery?: number;
  /** Evaluate every this many steps (default: once per epoch). */
  evalEvery?: number;
  /** The metric the best model is chosen by (default per task: accuracy, pearson, f1). */
  metric?: string;
  /** Stop after this many evaluations without a better metric (default: never). */
  patience?: number;
  /** Train the task head only: the encoder gets no gradient kernels at all. */
  freezeEncoder?: boolean;
  /**
   * Train LoRA adapters (and the head) instead of the whole model; a LoraModel built on `model`
   * trains its active adapter (one base, several adapters: the caller keeps and disposes it).
   */
  lora?: LoraOptions | LoraModel;
  /**
   * A term added to every micro-batch's task loss, built from the model being trained (e.g. a
   * penalty toward earlier weights, src/finetune/continual.ts).
   */
  extraLoss?: (model: TaskModel) => Tensor;
  /**
   * Frozen features (cls, pair, regression): `model`'s encoder frozen, a new head on ELMo's
   * scalar mix of every layer's mean-pooled vector or on the last four concatenated.
   */
  features?: FeatureMode;
  /**
   * Tasks trained in the same steps on `model`'s encoder (continual learning's replay of earlier
   * tasks whose head differs), each through its own task model built on `model`'s very base
   * (ModelInit.base). Their examples are shuffled into the same epochs; each batch's share of a
   * task goes through that task's model, and the loss is the mean over all labelled units of the
   * batch. A parameter without gradient in a step (a head whose task the batch lacks, a pooler
   * this head does not use) is left as it is. Full fine-tuning only; not checkpointed.
   */
  mixIn?: MixedTask[];
}

/** A task trained together with a run's own (FineTuneOptions.mixIn). */
export interface MixedTask {
  task: TaskName;
  /** Its task model: its own head on the run's model's base (the same tensors). */
  model: PreTrainedModel;
  train: Located[];
  labels?: LabelSet;
}

/** A batch of a run with mixIn tasks: one collated batch per task present (task 0: the run's own). */
export interface MixedBatch {
  parts: { task: number; batch: Batch }[];
}

/** What a fine-tuning run's trainer steps on. */
export type TrainBatch = Batch | MixedBatch;

/** What a run trains: a Hugging Face task class, or a feature head on a frozen encoder. */
export type TaskModel = PreTrainedModel | FeatureClassifier;

export interface EvalResult {
  step: number;
  epoch: number;
  loss: number;
  metrics: Record<string, number | null>;
}

/** Epochs of seeded, length-bucketed batches over encoded features (state: epoch and position). */
class EpochBatches<B> implements BatchSource<B> {
  epoch = 0;
  index = 0;
  private order: number[][];
  constructor(
    /** The features' lengths in tokens. */
    readonly lengths: number[],
    readonly batchSize: number,
    readonly seed: number,
    /** Collates the features of these indices. */
    private readonly collate: (rows: number[]) => B,
  ) {
    this.order = this.epochOrder();
  }
  get batchesPerEpoch(): number {
    return Math.ceil(this.lengths.length / this.batchSize);
  }
  private epochOrder(): number[][] {
    return bucketedBatches(this.lengths, this.batchSize, { seed: this.seed * 1000 + this.epoch });
  }
  nextBatch(): B {
    if (this.index >= this.order.length) {
      this.epoch++;
      this.index = 0;
      this.order = this.epochOrder();
    }
    return this.collate(this.order[this.index++]);
  }
  state() {
    return { epoch: this.epoch, index: this.index };
  }
  restore(s: unknown) {
    const st = s as { epoch: number; index: number };
    if (!st || !Number.isInteger(st.epoch) || !Number.isInteger(st.index))
      throw new Error('finetune: checkpoint data state must be {epoch, index}');
    this.epoch = st.epoch;
    this.index = st.index;
    this.order = this.epochOrder();
  }
}

/** Tagging: tokens with a label (HF's token loss is their mean); otherwise one unit per example. */
function unitCount(task: AnyTask, b: Batch): number {
  if (task.name !== 'tag') return b.input_ids.shape[0];
  let n = 0;
  for (const v of b.labels!.data) if (v !== -100) n++;
  return n;
}

/**
 * A task as the Trainer's objective: the task class's own loss (Hugging Face's), nothing else;
 * with mixIn tasks, each task's loss on its share of the batch, weighted by its share of the units.
 */
class TaskObjective implements Objective<TrainBatch> {
  readonly name: string;
  readonly models: Record<string, PreTrainedModel>;
  readonly generators: Record<string, Generator>;
  constructor(
    readonly task: AnyTask,
    readonly model: TaskModel,
    private readonly params: [string, Tensor][],
    generators: Record<string, Generator>,
    /** Whether the Trainer's checkpoint holds the model (a LoRA run's holds its adapter, a feature run's its head). */
    checkpointModel: boolean,
    private readonly extraLoss?: (model: TaskModel) => Tensor,
    /** The mixIn tasks (task i + 1 of a MixedBatch). */
    private readonly mixed: { task: AnyTask; model: PreTrainedModel }[] = [],
  ) {
    this.name = `finetune:${task.name}`;
    this.models = checkpointModel ? { model: model as PreTrainedModel } : {};
    this.generators = generators;
  }
  namedParameters() {
    return this.params;
  }
  train(mode: boolean) {
    this.model.train(mode);
    for (const m of this.mixed) m.model.train(mode);
  }
  private partsOf(b: TrainBatch): { task: AnyTask; model: TaskModel; batch: Batch; name: string }[] {
    if (!('parts' in b)) return [{ task: this.task, model: this.model, batch: b, name: 'task' }];
    return b.parts.map((p) => ({
      ...(p.task === 0 ? { task: this.task, model: this.model } : this.mixed[p.task - 1]),
      batch: p.batch,
      name: p.task === 0 ? 'task' : `mixIn${p.task - 1}`,
    }));
  }
  tokenCount(b: TrainBatch): number {
    let n = 0;
    for (const p of this.partsOf(b)) for (const v of p.batch.attention_mask.data) n += v;
    return n;
  }
  targetCount(b: TrainBatch): number {
    return this.partsOf(b).reduce((a, p) => a + unitCount(p.task, p.batch), 0);
  }
  step(b: TrainBatch, _withMetrics: boolean): StepTensors {
    const parts: Record<string, Tensor> = {};
    let loss: Tensor | null = null;
    const all = this.partsOf(b);
    const total = all.length > 1 ? this.targetCount(b) : 0;
    for (const p of all) {
      const out = p.model.forward(batchInputs(p.batch));
      if (!out.loss) throw new Error(`finetune ${p.task.name}: the batch has no labels`);
      if (all.length === 1) loss = out.loss;
      else {
        // the mean over all units of the batch: each part's mean loss times its share of them
        parts[p.name] = out.loss;
        const share = mulScalar(out.loss, unitCount(p.task, p.batch) / Math.max(1, total));
        loss = loss ? add(loss, share) : share;
      }
    }
    if (!this.extraLoss) return { loss: loss!, parts, metrics: async () => ({}) };
    const extra = this.extraLoss(this.model);
    if (all.length === 1) parts.task = loss!;
    parts.extra = extra;
    return { loss: add(loss!, extra), parts, metrics: async () => ({}) };
  }
}

/** The best evaluation as a checkpoint keeps it: its result and the names of its files (best/, best-adapter/). */
type SavedBest = EvalResult & { files: string[]; adapter?: string[] };
/** What a fine-tuning checkpoint keeps of the run in trainer_state.json's meta. */
interface SavedRun {
  best: SavedBest | null;
  sinceBest: number;
  evals: EvalResult[];
}

/** The file of a frozen-feature run's head (modelFiles()). */
const FEATURE_HEAD_FILE = 'feature_head.safetensors';

/** Parameters that taskModelFrom initialised rather than loaded, per model. */
const freshParameters = new WeakMap<PreTrainedModel, string[]>();

/**
 * PEFT's modules_to_save of a LoRA run: the task's head, `given` ones, and every module of
 * `model` that taskModelFrom initialised (e.g. a pooler a masked-LM checkpoint lacks); a fresh
 * module not saved with the adapter would be drawn anew, differently, by every later load.
 */
export function loraModulesToSave(task: TaskName, model: PreTrainedModel, given: string[] = []): string[] {
  const fresh = (freshParameters.get(model) ?? []).map((n) => n.replace(/\.[^.]+$/, ''));
  return [...new Set([...TASK_HEADS[PEFT_TASK[task]], ...given, ...fresh])];
}

function headParameters(model: PreTrainedModel): [string, Tensor][] {
  return model.namedParameters().filter(([n]) => HEADS.some((h) => n.startsWith(`${h}.`)));
}

/** One fine-tuning run; `run()` trains it to the end, `trainer.trainStep()` steps it (a page's loop). */
export class FineTuneRun {
  readonly trainer: Trainer<TrainBatch>;
  readonly task: AnyTask;
  readonly lora: LoraModel | null;
  /** The model trained: options.model, or the feature head around its encoder. */
  readonly model: TaskModel;
  readonly metric: string;
  readonly evals: EvalResult[] = [];
  /** The best evaluation so far with its model files (LoRA runs: merged) and, for LoRA, its adapter files. */
  best: (EvalResult & { files: Record<string, Uint8Array>; adapter?: Record<string, Uint8Array> }) | null = null;
  stopped: 'steps' | 'early' | 'cancelled' | null = null;
  onLog: ((r: LogRecord & { epoch: number }) => void) | null = null;
  onEval: ((r: EvalResult) => void) | null = null;
  private readonly source: EpochBatches<TrainBatch>;
  private readonly evalFeatures: unknown[];
  private sinceBest = 0;
  private ownsLora = true;

  constructor(readonly options: FineTuneOptions) {
    const o = options;
    this.task = getTask(o.task);
    this.metric = o.metric ?? DEFAULT_METRIC[o.task];
    if (o.freezeEncoder && o.lora)
      throw new Error('finetune: --freeze-encoder and LoRA are two ways to train fewer parameters; choose one');
    const encode = {
      tokenizer: o.tokenizer,
      maxLength: o.maxLength,
      labels: o.labels,
      docStride: o.docStride,
      labelAllTokens: o.labelAllTokens,
    };
    if (!o.train.length) throw new Error('finetune: no training examples');
    if (o.mixIn && (o.lora || o.features || o.freezeEncoder))
      throw new Error('finetune: mixIn tasks train the shared encoder in full; not with LoRA, frozen features or a frozen encoder');
    const features = this.task.encode(o.train, encode);
    this.evalFeatures = o.eval?.length ? this.task.encode(o.eval, { ...encode, labelled: true }) : [];
    const batchSize = o.batchSize ?? 16;
    const seed = o.seed ?? 0;
    const padId = o.model.config.pad_token_id;
    const mixed = (o.mixIn ?? []).map((m, i) => {
      if (m.model.base !== o.model.base)
        throw new Error(`finetune: mixIn[${i}]'s model must be built on the run's model's base (ModelInit.base), not on its own`);
      const task = getTask(m.task);
      return { task, model: m.model, features: task.encode(m.train, { ...encode, labels: m.labels }) as unknown[] };
    });
    if (!o.mixIn)
      this.source = new EpochBatches(
        features.map((f) => this.task.length(f)),
        batchSize,
        seed,
        (rows) =>
          this.task.collate(
            rows.map((i) => features[i]),
            { padId },
          ),
      );
    else {
      // one pool of (task, feature) over every task: the batches mix the tasks as they fall
      const all = [{ task: this.task, features: features as unknown[] }, ...mixed];
      const pool = all.flatMap((t, ti) => t.features.map((f) => ({ ti, f })));
      this.source = new EpochBatches<TrainBatch>(
        pool.map(({ ti, f }) => all[ti].task.length(f)),
        batchSize,
        seed,
        (rows) => ({
          parts: all
            .map((t, ti) => ({ task: ti, rows: rows.filter((i) => pool[i].ti === ti).map((i) => pool[i].f) }))
            .filter((p) => p.rows.length)
            .map((p) => ({ task: p.task, batch: all[p.task].task.collate(p.rows, { padId }) })),
        }),
      );
    }
    const acc = o.accumulationSteps ?? 1;
    const steps = o.steps ?? Math.max(1, Math.ceil(((o.epochs ?? 3) * this.source.batchesPerEpoch) / acc));
    let params: [string, Tensor][] | undefined;
    this.model = o.model;
    if (o.features) {
      if (!['cls', 'pair', 'regression'].includes(o.task))
        throw new Error(`finetune: frozen features serve sequence tasks (cls, pair, regression), not '${o.task}'`);
      if (o.lora || o.freezeEncoder)
        throw new Error('finetune: frozen features already freeze the encoder; drop --lora / --freeze-encoder');
      const numLabels = this.task.configFields(o.labels).num_labels ?? 2;
      this.model = new FeatureClassifier(o.model, o.features, numLabels, new Generator(seed));
      params = this.model.namedParameters();
    }
    if (o.features) this.lora = null;
    else if (o.lora) {
      this.ownsLora = !(o.lora instanceof LoraModel);
      this.lora =
        o.lora instanceof LoraModel
          ? o.lora
          : new LoraModel(o.model, {
              taskType: PEFT_TASK[o.task],
              seed,
              ...o.lora,
              modulesToSave: loraModulesToSave(o.task, o.model, o.lora.modulesToSave),
            });
      if (this.lora.model !== o.model) throw new Error('finetune: the LoraModel given as lora must be built on the model given as model');
      params = this.lora.trainableParameters();
    } else {
      this.lora = null;
      if (o.freezeEncoder) {
        params = headParameters(o.model);
        if (!params.length) throw new Error(`finetune: ${o.model.architecture} has no task head to train with a frozen encoder`);
        const trained = new Set(params.map(([, t]) => t));
        for (const [, p] of o.model.namedParameters()) p.requiresGrad = trained.has(p);
      } else params = o.model.namedParameters();
      // the mixIn models' own parameters (their heads; the shared base is listed already)
      const listed = new Set(params.map(([, t]) => t));
      mixed.forEach(({ model }, i) => {
        for (const [name, t] of model.namedParameters()) if (!listed.has(t)) params!.push([`mixIn.${i}.${name}`, t]);
      });
    }
    const trainerOptions: TrainerOptions = {
      steps,
      lr: o.lr ?? 5e-5,
      warmupSteps: Math.round((o.warmupRatio ?? 0.1) * steps),
      weightDecay: o.weightDecay ?? 0.01,
      maxGradNorm: o.maxGradNorm ?? 1.0,
      accumulationSteps: acc,
      precision: o.precision ?? 'f32',
      logEvery: o.logEvery ?? 10,
      seed,
      ...(o.mixIn ? { skipMissingGrads: true } : {}),
    };
    // the generator the model's dropout draws from: its stream goes into checkpoints
    const dropout = this.model.namedModules().find(([, m]) => m instanceof Dropout)?.[1] as Dropout | undefined;
    const generators: Record<string, Generator> = { model: dropout?.generator ?? defaultGenerator };
    const loraDropout = this.lora?.dropoutGenerator();
    if (loraDropout) generators.lora_dropout = loraDropout;
    const checkpointModel = !this.lora && !(this.model instanceof FeatureClassifier);
    const objective = new TaskObjective(this.task, this.model, params!, generators, checkpointModel, o.extraLoss, mixed);
    this.trainer = new Trainer<TrainBatch>(objective, this.model.config, this.source, trainerOptions);
    this.trainer.onLog = (r) => this.onLog?.({ ...r, epoch: this.epoch });
  }

  /** Epochs completed so far, fractional (batches seen / batches per epoch). */
  get epoch(): number {
    return this.source.epoch + this.source.index / this.source.batchesPerEpoch;
  }

  get evalEvery(): number {
    return this.options.evalEvery ?? Math.max(1, Math.round(this.source.batchesPerEpoch / (this.options.accumulationSteps ?? 1)));
  }

  /**
   * Trains to the end (or early stop / `signal`; or until step `until`, to be called again),
   * evaluating every evalEvery steps and at the end.
   */
  async run(signal?: { aborted: boolean }, until = this.trainer.options.steps): Promise<void> {
    const t = this.trainer;
    await t.loadKernelChoices();
    while (t.step < Math.min(until, t.options.steps)) {
      if (signal?.aborted) {
        this.stopped = 'cancelled';
        break;
      }
      await t.trainStep();
      await t.tuneKernels(); // after the first step: its shapes (Trainer.tuneKernels)
      if (this.evalFeatures.length && (t.step % this.evalEvery === 0 || t.step === t.options.steps)) {
        await this.evaluateAndKeep();
        if (this.options.patience !== undefined && this.sinceBest >= this.options.patience) {
          this.stopped = 'early';
          break;
        }
      }
    }
    if (t.step >= t.options.steps) this.stopped ??= 'steps';
    await runtime().sync();
  }

  private async evaluateAndKeep(): Promise<EvalResult> {
    const r = await this.evaluate();
    const v = r.metrics[this.metric];
    if (v === undefined)
      throw new Error(`finetune: the ${this.task.name} task has no metric '${this.metric}' (it has ${Object.keys(r.metrics).join(', ')})`);
    if (v !== null && (this.best === null || v > (this.best.metrics[this.metric] ?? -Infinity))) {
      this.best = { ...r, files: await this.modelFiles(), ...(this.lora ? { adapter: await this.adapterFiles() } : {}) };
      this.sinceBest = 0;
    } else this.sinceBest++;
    return r;
  }

  /** Loss and the task's metrics on the held-back examples (or `examples`), in eval mode. */
  async evaluate(examples?: Located[]): Promise<EvalResult> {
    const o = this.options;
    const exs = examples ?? o.eval ?? [];
    const features = examples
      ? this.task.encode(exs, { tokenizer: o.tokenizer, maxLength: o.maxLength, labels: o.labels, docStride: o.docStride, labelled: true })
      : this.evalFeatures;
    const { outputs, loss } = await this.outputs(features, true);
    const preds = this.task.decode(exs, features, outputs, this.decodeContext());
    const r: EvalResult = { step: this.trainer.step, epoch: this.epoch, loss, metrics: this.task.metrics(preds, exs) };
    this.evals.push(r);
    this.onEval?.(r);
    return r;
  }

  /** Predictions for examples (labels not needed), in order. */
  async predict(examples: Located[]): Promise<unknown[]> {
    const o = this.options;
    return predictExamples(this.task, this.model, examples, {
      labels: o.labels,
      tokenizer: o.tokenizer,
      maxLength: o.maxLength,
      docStride: o.docStride,
      batchSize: o.batchSize,
      maxAnswerLength: o.maxAnswerLength,
    });
  }

  private decodeContext(): DecodeContext {
    return { labels: this.options.labels, tokenizer: this.options.tokenizer, maxAnswerLength: this.options.maxAnswerLength };
  }

  private outputs(features: unknown[], labelled: boolean): Promise<{ outputs: FeatureOutput[]; loss: number }> {
    return taskOutputs(this.task, this.model, features, { batchSize: this.options.batchSize, labelled });
  }

  /** The Hugging Face directory of the task model as it is now (LoRA: merged into a copy of the files). */
  async modelFiles(): Promise<Record<string, Uint8Array>> {
    const model = this.model;
    const tok = 'vocab' in this.options.tokenizer ? (this.options.tokenizer as WordPieceTokenizer) : null;
    if (model instanceof FeatureClassifier) {
      // the head alone (the encoder is options.model, unchanged)
      const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
      for (const [n, t] of model.namedParameters()) tensors[n] = { data: (await t.toArray()) as Float32Array, shape: t.shape };
      return { [FEATURE_HEAD_FILE]: writeSafetensors(tensors, { mode: model.mode, layers: String(model.layers) }) };
    }
    if (!this.lora) return exportPretrained(model, tok);
    // unmerge would leave W + BA - BA, not W: the adapted weights are put back as they were, bit for bit
    const adapted = model.namedModules().flatMap(([, m]) => (m instanceof Linear && m.adapter ? [m.weight] : []));
    const before = await Promise.all(adapted.map((w) => w.toArray()));
    this.lora.merge();
    try {
      return await exportPretrained(model, tok);
    } finally {
      // (unmerge is only recorded: submitted first, so that the writes land after it, not before)
      this.lora.unmerge();
      runtime().flush();
      adapted.forEach((w, i) => runtime().upload(w.buffer, before[i]));
    }
  }

  /**
   * PEFT's adapter files of the run (LoRA only). The safetensors metadata also names the task
   * and its labels (ADAPTER_TASK_KEY, ADAPTER_LABELS_KEY), which PEFT's files have no place for,
   * so that the adapter alone rebuilds its head on a base without one.
   */
  async adapterFiles(): Promise<Record<string, Uint8Array>> {
    if (!this.lora) throw new Error('finetune: this run trains no adapter');
    const labels = this.options.labels;
    return this.lora.saveAdapter(undefined, {
      [ADAPTER_TASK_KEY]: this.task.name,
      // the labels as the training data had them (integers stay numbers: labelSetFromConfig)
      ...(labels ? { [ADAPTER_LABELS_KEY]: JSON.stringify(Object.fromEntries(labels.labels.map((l, i) => [String(i), l]))) } : {}),
    });
  }

  /**
   * The whole training state, written atomically into `dir`: the model (a LoRA run: its adapter
   * files; frozen features: the head), optimizer moments, step, data position, dropout streams,
   * and the best evaluation so far with its files (best/, best-adapter/) and the early-stopping
   * count. `options.meta` is kept beside (the CLI keeps its arguments there).
   */
  async saveCheckpoint(dir: string, options: CheckpointWriteOptions = {}): Promise<void> {
    if (this.lora && !this.ownsLora)
      throw new Error('finetune: a run on a LoraModel it was given is not checkpointed (the caller owns the adapters)');
    if (this.options.mixIn?.length) throw new Error("finetune: a run with mixIn tasks is not checkpointed (their heads are the caller's)");
    const files: Record<string, Uint8Array> = { ...options.files };
    const put = (folder: string, from: Record<string, Uint8Array>) => {
      for (const [name, bytes] of Object.entries(from)) files[`${folder}/${name}`] = bytes;
    };
    if (this.lora) put('adapter', await this.adapterFiles());
    if (this.model instanceof FeatureClassifier) put('head', await this.modelFiles());
    let best: SavedBest | null = null;
    if (this.best) {
      const { files: bestFiles, adapter, ...result } = this.best;
      put('best', bestFiles);
      if (adapter) put('best-adapter', adapter);
      best = { ...result, files: Object.keys(bestFiles), adapter: adapter ? Object.keys(adapter) : undefined };
    }
    const run: SavedRun = { best, sinceBest: this.sinceBest, evals: this.evals };
    const tok = 'vocab' in this.options.tokenizer ? (this.options.tokenizer as WordPieceTokenizer) : null;
    await this.trainer.saveCheckpoint(dir, tok, { ...options, files, meta: { ...options.meta, finetune: run } });
  }

  /**
   * Continues a run from `saveCheckpoint(dir)` with the options the first run had: the losses
   * that follow are those of the uninterrupted run, bit for bit, and the best model and
   * early-stopping count are the saved ones. A full fine-tuning run's model comes from the
   * checkpoint (`options.model` is not needed); a LoRA or frozen-feature run needs `options.model`
   * built as the first run's was (e.g. the same `taskModelFrom(dir, task, labels, {seed})`): the
   * adapter (with the head) or the feature head is loaded onto it.
   */
  static async resume(dir: string, options: Omit<FineTuneOptions, 'model'> & { model?: PreTrainedModel }): Promise<FineTuneRun> {
    await recoverCheckpoint(dir);
    const state = await readCheckpointState(dir);
    if (state.objective !== `finetune:${options.task}`)
      throw new Error(`${dir}: a checkpoint of '${state.objective}', not of 'finetune:${options.task}'`);
    const trained = options.lora ? 'adapter' : options.features ? 'head' : 'model';
    let model = options.model;
    if (trained === 'model') {
      const saved = state.generators.model;
      if (!saved) throw new Error(`${dir}/trainer_state.json: no generator 'model'`);
      model = (await fromPretrained(joinPath(dir, 'model'), { generator: new Generator(saved.seed) })).model;
    } else if (!model)
      throw new Error(
        `finetune: resuming a ${options.lora ? 'LoRA' : 'frozen-feature'} run needs options.model, the base the first run was given`,
      );
    const run = new FineTuneRun({ ...options, model: model });
    if (trained !== 'model') {
      const name = trained === 'adapter' ? 'adapter/adapter_model.safetensors' : `head/${FEATURE_HEAD_FILE}`;
      const bytes = await readBytes(joinPath(dir, name));
      if (!bytes) throw new Error(`${dir}: no ${name} (the ${trained} of this run)`);
      const tensors = readSafetensors(bytes, `${dir}/${name}`).tensors;
      const params = run.lora ? run.lora.trainableParameters() : run.model.namedParameters();
      runtime().flush(); // the fresh initialisation must run before these writes
      for (const [key, t] of params) {
        const saved = tensors.get(key);
        if (!saved || saved.data.length !== t.size) throw new Error(`${dir}/${name}: no tensor '${key}' of ${t.size} values`);
        runtime().upload(t.buffer, saved.data);
      }
    }
    await run.trainer.restore(dir, state);
    const saved = (state.meta as { finetune?: SavedRun } | undefined)?.finetune;
    if (saved) {
      run.sinceBest = saved.sinceBest;
      run.evals.push(...saved.evals);
      if (saved.best) {
        const read = async (folder: string, names: string[]) => {
          const out: Record<string, Uint8Array> = {};
          for (const n of names) {
            const b = await readBytes(joinPath(dir, `${folder}/${n}`));
            if (!b) throw new Error(`${dir}: no ${folder}/${n} (the best model so far)`);
            out[n] = b;
          }
          return out;
        };
        const { files, adapter, ...result } = saved.best;
        run.best = { ...result, files: await read('best', files), ...(adapter ? { adapter: await read('best-adapter', adapter) } : {}) };
      }
    }
    return run;
  }

  dispose(): void {
    if (this.ownsLora) this.lora?.dispose();
    this.trainer.optimizer.dispose();
  }
}

/**
 * A task model's outputs for encoded features, read back per feature in order (eval mode, no
 * gradients, batches of `batchSize`); the mean loss when the features are labelled.
 */
export async function taskOutputs(
  task: AnyTask,
  model: TaskModel,
  features: readonly unknown[],
  { batchSize = 16, labelled = false }: { batchSize?: number; labelled?: boolean } = {},
): Promise<{ outputs: FeatureOutput[]; loss: number }> {
  const padId = model.config.pad_token_id;
  const wasTraining = model.training;
  model.train(false);
  const outputs: FeatureOutput[] = [];
  let lossSum = 0;
  let lossRows = 0;
  try {
    for (let i = 0; i < features.length; i += batchSize) {
      const rows = features.slice(i, i + batchSize);
      const batch = task.collate(rows, { padId });
      const flat = await scopeAsync(async () => {
        const out = noGrad(() =>
          model.forward(
            batchInputs(labelled ? batch : { ...batch, labels: undefined, start_positions: undefined, end_positions: undefined }),
          ),
        );
        const read = async (t?: Tensor) => (t ? Array.from(await t.toArray()) : undefined);
        return {
          logits: await read(out.logits),
          start_logits: await read(out.start_logits),
          end_logits: await read(out.end_logits),
          loss: out.loss ? await out.loss.item() : NaN,
        };
      });
      outputs.push(...splitBatchOutputs(flat, rows.length));
      if (labelled) {
        lossSum += flat.loss * rows.length;
        lossRows += rows.length;
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return { outputs, loss: lossRows ? lossSum / lossRows : NaN };
}

export type PredictContext = EncodeContext & DecodeContext & { batchSize?: number };

/** A task model's predictions for examples (labels not needed), in order. */
export async function predictExamples(
  task: AnyTask,
  model: TaskModel,
  examples: readonly Located[],
  context: PredictContext,
): Promise<unknown[]> {
  const features = task.encode(examples, { ...context, labelled: false });
  const { outputs } = await taskOutputs(task, model, features, { batchSize: context.batchSize });
  return task.decode(examples, features, outputs, context);
}

/** A task model's mean loss and the task's metrics on labelled examples. */
export async function evaluateExamples(
  task: AnyTask,
  model: TaskModel,
  examples: readonly Located[],
  context: PredictContext,
): Promise<{ loss: number; metrics: Record<string, number | null> }> {
  const features = task.encode(examples, { ...context, labelled: true });
  const { outputs, loss } = await taskOutputs(task, model, features, { batchSize: context.batchSize, labelled: true });
  return { loss, metrics: task.metrics(task.decode(examples, features, outputs, context), examples) };
}

/** Starts a fine-tuning run (the library's `finetune({...})`); call `run()` or step `trainer.trainStep()`. */
export function finetune(options: FineTuneOptions): FineTuneRun {
  return new FineTuneRun(options);
}

/**
 * A task model from a Hugging Face directory: a checkpoint of the task class loads as is; any
 * other (a `...ForPreTraining` / `...ForMaskedLM`) gets the task's class with a fresh head, and
 * `freshHead` lists the parameters that were initialised rather than loaded. `base`: build it on
 * another task model's base (several heads on one encoder).
 */
export async function taskModelFrom(
  dir: string | PretrainedFiles,
  task: TaskName,
  labels?: LabelSet,
  options: { seed?: number; base?: BertModel } = {},
): Promise<{ model: PreTrainedModel; tokenizer: WordPieceTokenizer | null; freshHead: string[] }> {
  const t = getTask(task);
  // files in memory (e.g. a base with words added) or a directory
  const where = typeof dir === 'string' ? dir : 'files';
  const text = typeof dir === 'string' ? await readText(joinPath(dir, 'config.json')) : dir.config;
  if (text === null) throw new Error(`${where}: no config.json`);
  const { config, architecture } = parseConfigJson(text, `${where}/config.json`);
  const arch = t.modelClass(config.model_type);
  const fields = t.configFields(labels);
  // the task's own checkpoint keeps its head (and its labels, unless the data brings others)
  const same = architecture === arch && (!labels || config.num_labels === fields.num_labels);
  // (with options.base, another task model's: the checkpoint's encoder weights are loaded into it)
  const base = options.base ? { base: options.base } : {};
  const loaded = await fromPretrained(
    dir,
    same ? base : { ...base, architecture: arch, allowMissing: true, config: fields, generator: new Generator(options.seed ?? 0) },
  );
  const freshHead = same ? [] : loaded.missing;
  freshParameters.set(loaded.model, freshHead);
  return { model: loaded.model, tokenizer: loaded.tokenizer, freshHead };
}
