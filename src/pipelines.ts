// Inference on trained models, shaped like transformers.js / Hugging Face pipelines (the same
// argument and result shapes where they have them): text-classification, token-classification,
// question-answering, fill-mask, feature-extraction. A model is a directory path or URL (or
// one loaded with fromPretrained: { model, tokenizer }); task models may come as a base model
// plus a LoRA adapter (PEFT's files), or as a frozen-feature head (`finetune --features`) whose
// feature_config.json names its base. No file system is needed, so this runs in browsers too.
// The CLI's predict / evaluate / fill-mask / merge-adapter commands are built on it.
import { noGrad, scopeAsync } from './tensor.js';
import * as ops from './ops/index.js';
import { joinPath, readBytes, readText } from './io/files.js';
import { readSafetensors } from './io/safetensors.js';
import { fromPretrained, type PretrainedFiles } from './io/pretrained.js';
import { resizeWordEmbeddings } from './finetune/add-words.js';
import { parseConfigJson, type BertConfig } from './models/config.js';
import type { PreTrainedModel } from './models/tasks.js';
import { ByteLevelBpeTokenizer } from './tokenizers/byte-level-bpe.js';
import { WordPieceTokenizer } from './tokenizers/wordpiece.js';
import { wordPieceOptionsFromTokenizerConfig } from './tokenizers/tokenizer-config.js';
import { LoraModel, parseAdapterConfig, type PeftTaskType } from './nn/lora.js';
import { getTask, type AnyTask, type TaskName, type DecodeContext, type ClassPrediction } from './finetune/tasks.js';
import {
  labelSetFromConfig,
  type LabelSet,
  type Located,
  type TextExample,
  type TagExample,
  type QaExample,
  splitWords,
} from './finetune/data.js';
import { encodePair, type TaskTokenizer } from './finetune/encoding.js';
import { collate } from './finetune/collate.js';
import { batchInputs } from './finetune/inputs.js';
import type { QaPrediction } from './finetune/qa.js';
import type { AggregationStrategy, EntityGroup, TokenEntity } from './finetune/tagging.js';
import {
  ADAPTER_LABELS_KEY,
  ADAPTER_TASK_KEY,
  evaluateExamples,
  predictExamples,
  taskModelFrom,
  type TaskModel,
} from './finetune/train.js';
import {
  FEATURE_CONFIG_FILE,
  FEATURE_HEAD_FILE,
  FeatureClassifier,
  loadFeatureHead,
  parseFeatureConfig,
  sha256Hex,
  type FeatureConfig,
} from './finetune/features.js';

/** A model and its tokenizer, as fromPretrained returns them. */
export interface ModelAndTokenizer {
  model: PreTrainedModel;
  tokenizer: TaskTokenizer | null;
}

/** The tokenizer of a Hugging Face directory: vocab.txt / tokenizer.json (WordPiece), else vocab.json + merges.txt (byte-level BPE). */
export async function loadTokenizer(dir: string): Promise<TaskTokenizer | null> {
  const vocab = await readText(joinPath(dir, 'vocab.json'));
  const merges = vocab === null ? null : await readText(joinPath(dir, 'merges.txt'));
  if (vocab !== null && merges !== null) {
    try {
      return ByteLevelBpeTokenizer.fromVocabAndMerges(vocab, merges);
    } catch (err) {
      throw new Error(`${dir}/vocab.json, merges.txt: ${(err as Error).message}`);
    }
  }
  return null;
}

/**
 * The tokenizer with type ids the model can take: a config with one token type (RoBERTa's) gets
 * 0 everywhere, as RobertaTokenizer gives, also from a WordPiece vocabulary whose pairs say 1.
 */
export function fitTokenizer(tokenizer: TaskTokenizer, config: BertConfig): TaskTokenizer {
  if (config.type_vocab_size > 1) return tokenizer;
  return new Proxy(tokenizer, {
    get(target, prop) {
      if (prop === 'encode') {
        return (...args: Parameters<TaskTokenizer['encode']>) => {
          const e = target.encode(...args);
          return { ...e, tokenTypeIds: e.tokenTypeIds.map(() => 0) };
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** The fine-tuning task a model's class trains, or null (a pre-training / masked-LM class). */
export function taskOfModel(architecture: string | undefined, config: BertConfig): TaskName | null {
  if (!architecture) return null;
  if (architecture.endsWith('ForSequenceClassification'))
    return config.problem_type === 'regression' || config.num_labels === 1 ? 'regression' : 'cls';
  if (architecture.endsWith('ForTokenClassification')) return 'tag';
  if (architecture.endsWith('ForQuestionAnswering')) return 'qa';
  if (architecture.endsWith('ForMultipleChoice')) return 'choice';
  return null;
}

const PEFT_TO_TASK: Partial<Record<PeftTaskType, TaskName>> = { SEQ_CLS: 'cls', TOKEN_CLS: 'tag', QUESTION_ANS: 'qa' };

/** Tokens per sequence a config allows (RoBERTa's positions start after padding_idx). */
export function maxTokens(config: BertConfig): number {
  return config.max_position_embeddings - (config.model_type === 'roberta' ? config.pad_token_id + 1 : 0);
}

export interface TaskModelOptions {
  /** The task (default: from the model's class, or from the adapter). */
  task?: TaskName;
  /**
   * A LoRA adapter directory (path / URL) or its two files in memory; or a frozen-feature
   * directory (feature_config.json + feature_head.safetensors) run on this base instead of the
   * one its config names.
   */
  adapter?: string | Record<string, Uint8Array>;
  /** Tokens per sequence (default: the task's 128, QA 384, at most what the model's positions allow). */
  maxLength?: number;
  docStride?: number;
  batchSize?: number;
}

/**
 * A task model ready to predict and evaluate: the model, its tokenizer, labels and (optionally)
 * adapter, or a frozen-feature head on `model`'s encoder (then `features` runs, not `model`).
 */
export class TaskPredictor {
  readonly maxLength: number;
  constructor(
    readonly task: AnyTask,
    readonly model: PreTrainedModel,
    readonly tokenizer: TaskTokenizer,
    readonly labels: LabelSet | undefined,
    readonly lora: LoraModel | null = null,
    readonly options: Omit<TaskModelOptions, 'task' | 'adapter'> = {},
    readonly features: FeatureClassifier | null = null,
  ) {
    const limit = maxTokens(model.config);
    const wanted = options.maxLength ?? (task.name === 'qa' ? 384 : 128);
    if (options.maxLength !== undefined && wanted > limit)
      throw new Error(`max length ${wanted} is more than the model's ${limit} positions`);
    this.maxLength = Math.min(wanted, limit);
  }

  private context(decode: DecodeContext = {}) {
    return {
      tokenizer: this.tokenizer,
      labels: this.labels,
      maxLength: this.maxLength,
      docStride: this.options.docStride ?? Math.min(128, Math.floor(this.maxLength / 2)),
      batchSize: this.options.batchSize,
      ...decode,
    };
  }

  /** Predictions for examples (the task's read() shapes, labels not needed), in order; `task` overrides (e.g. pair for a cls model). */
  predict(examples: readonly Located[], decode: DecodeContext & { task?: AnyTask } = {}): Promise<unknown[]> {
    return predictExamples(decode.task ?? this.task, this.runs, examples, this.context(decode));
  }

  /** The task's metrics (and mean loss) on labelled examples. */
  evaluate(
    examples: readonly Located[],
    decode: DecodeContext & { task?: AnyTask } = {},
  ): Promise<{ loss: number; metrics: Record<string, number | null> }> {
    return evaluateExamples(decode.task ?? this.task, this.runs, examples, this.context(decode));
  }

  /** What predicts: the feature head on the encoder, or the model. */
  get runs(): TaskModel {
    return this.features ?? this.model;
  }

  dispose(): void {
    this.features?.dispose(); // the head's parameters (the encoder is `model`)
    this.lora?.dispose();
    this.model.dispose();
  }
}

/** PEFT's two files of an adapter directory (path or URL). */
export async function readAdapterFiles(dir: string): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of ['adapter_config.json', 'adapter_model.safetensors']) {
    const bytes = await readBytes(joinPath(dir, name));
    if (bytes === null) throw new Error(`${dir}: no ${name} (a PEFT adapter directory is expected)`);
    files[name] = bytes;
  }
  // the tokenizer an adapter directory may carry (one with added words must)
  for (const name of ['vocab.txt', 'tokenizer_config.json']) {
    const bytes = await readBytes(joinPath(dir, name));
    if (bytes !== null) files[name] = bytes;
  }
  return files;
}

/**
 * The base for an adapter: `dir` itself, or, where the adapter trains rows of tokens past the
 * base's vocabulary (words added by `finetune --add-words`, PEFT trainable_token_indices), the
 * base's files with its word embeddings widened to the adapter's vocab.txt and that vocabulary,
 * every new row being one the adapter replaces.
 */
async function baseForAdapter(
  dir: string,
  configText: string,
  vocabSize: number,
  adapter: Record<string, Uint8Array> | null | undefined,
  source: string,
): Promise<string | PretrainedFiles> {
  const spec = adapter ? parseAdapterConfig(adapter['adapter_config.json'], `${source}/adapter_config.json`).trainable_token_indices : null;
  if (!adapter || !spec) return dir;
  const ids = Array.isArray(spec) ? spec : Object.values(spec).flat();
  const top = Math.max(...ids);
  if (top < vocabSize) return dir;
  const vocab = adapter['vocab.txt'] ? new TextDecoder().decode(adapter['vocab.txt']) : null;
  const size = vocab === null ? 0 : WordPieceTokenizer.fromVocabText(vocab, {}, `${source}/vocab.txt`).vocabSize;
  if (size <= top)
    throw new Error(
      `${source}: trainable_token_indices reach token ${top}, past ${dir}'s ${vocabSize} tokens, and the adapter has no vocab.txt of more than ${top} tokens to widen the base to`,
    );
  const trained = new Set(ids);
  const untrained = Array.from({ length: size - vocabSize }, (_, k) => vocabSize + k).filter((id) => !trained.has(id));
  if (untrained.length)
    throw new Error(
      `${source}: its vocab.txt has ${size} tokens, ${dir} ${vocabSize}, and tokens ${untrained.slice(0, 4).join(', ')}${untrained.length > 4 ? ', ...' : ''} past the base have no rows in the adapter (trainable_token_indices)`,
    );
  const weights = await readBytes(joinPath(dir, 'model.safetensors'));
  if (weights === null) throw new Error(`${dir}: no model.safetensors`);
  const widened = resizeWordEmbeddings({ config: configText, weights }, size);
  const tokenizerConfig = adapter['tokenizer_config.json'] ? new TextDecoder().decode(adapter['tokenizer_config.json']) : undefined;
  return { config: widened.config, weights: widened.weights, vocab: vocab!, tokenizerConfig };
}

/** What an adapter says about its head: the task and labels bertgpu wrote, else PEFT's task_type and the head's shape. */
function adapterHead(files: Record<string, Uint8Array>, source: string): { task: TaskName | null; labels?: LabelSet } {
  const config = parseAdapterConfig(files['adapter_config.json'], `${source}/adapter_config.json`);
  const st = readSafetensors(files['adapter_model.safetensors'], `${source}/adapter_model.safetensors`);
  const named = st.metadata[ADAPTER_TASK_KEY];
  const task = named ? getTask(named).name : config.task_type ? (PEFT_TO_TASK[config.task_type] ?? null) : null;
  const id2label = st.metadata[ADAPTER_LABELS_KEY];
  if (id2label) {
    try {
      return { task, labels: labelSetFromConfig({ id2label: JSON.parse(id2label) }) };
    } catch (err) {
      throw new Error(`${source}/adapter_model.safetensors: metadata ${ADAPTER_LABELS_KEY}: ${(err as Error).message}`);
    }
  }
  // a PEFT adapter from elsewhere: as many labels as its saved classifier has rows
  const head = [...st.tensors].find(([k]) => /\.(classifier|score)(\.out_proj)?\.weight$/.test(k));
  if (head)
    return {
      task,
      labels: labelSetFromConfig({
        id2label: Object.fromEntries(Array.from({ length: head[1].shape[0] }, (_, i) => [String(i), `LABEL_${i}`])),
      }),
    };
  return { task };
}

const LABELLED: readonly TaskName[] = ['cls', 'pair', 'tag'];

/**
 * A task model from a Hugging Face directory (path / URL): a fine-tuned task checkpoint as it
 * is, or any checkpoint plus a LoRA adapter whose saved modules hold the head (PEFT's
 * PeftModel.from_pretrained on the task class).
 */
export async function loadTaskModel(dir: string, options: TaskModelOptions = {}): Promise<TaskPredictor> {
  // a frozen-feature head: `dir` itself (its base as its config names it), or --adapter on the base `dir`
  const featureDir = await readFeatureDir(dir);
  if (featureDir) {
    if (options.adapter)
      throw new Error(`${dir} is a frozen-feature directory (${FEATURE_CONFIG_FILE}); it takes no adapter (its base is named in it)`);
    const base = featureDir.config.base_model_name_or_path;
    if (base === null)
      throw new Error(
        `${dir}/${FEATURE_CONFIG_FILE} names no base model (base_model_name_or_path is null): give the base with the head as its adapter (bertgpu predict --model BASE --adapter ${dir})`,
      );
    return loadFeatureModel(base, featureDir, options, 'named');
  }
  const given = options.adapter === undefined ? null : await readFeatureDir(options.adapter);
  if (given) return loadFeatureModel(dir, given, options, 'given');
  const text = await readText(joinPath(dir, 'config.json'));
  if (text === null) throw new Error(`${dir}: no config.json (a Hugging Face directory is expected)`);
  const { config, architecture } = parseConfigJson(text, `${dir}/config.json`);
  const adapterSource = typeof options.adapter === 'string' ? options.adapter : 'adapter';
  const adapter = typeof options.adapter === 'string' ? await readAdapterFiles(options.adapter) : options.adapter;
  const head = adapter ? adapterHead(adapter, adapterSource) : null;
  const own = taskOfModel(architecture, config);
  const taskName = options.task ?? head?.task ?? own;
  if (!taskName) {
    throw new Error(
      `${dir} is a ${architecture ?? 'model without architectures'}, not a fine-tuned task model: give --task and an adapter, or a model fine-tuned with \`bertgpu finetune\` (fill-mask takes a masked-LM model)`,
    );
  }
  const task = getTask(taskName);
  let labels = head?.labels;
  if (!labels && LABELLED.includes(taskName) && own !== null && config.id2label) labels = labelSetFromConfig(config);
  if (!labels && LABELLED.includes(taskName))
    throw new Error(`${dir}: the ${taskName} task needs labels: config.json has no id2label for them`);
  const base = await baseForAdapter(dir, text, config.vocab_size, adapter, adapterSource);
  const loaded = await taskModelFrom(base, task.name, LABELLED.includes(taskName) ? labels : undefined);
  const { model } = loaded;
  try {
    if (loaded.freshHead.length && !adapter) {
      throw new Error(
        `${dir} is a ${architecture}: it has no trained ${task.modelClass(config.model_type)} head (${loaded.freshHead.join(', ')} would be random); fine-tune it first, or give its adapter`,
      );
    }
    let tokenizer: TaskTokenizer | null = loaded.tokenizer ?? (await loadTokenizer(dir));
    // an adapter directory may carry the tokenizer (the base then needs none)
    if (!tokenizer && typeof options.adapter === 'string')
      tokenizer = (await loadWordPiece(options.adapter)) ?? (await loadTokenizer(options.adapter));
    if (!tokenizer) throw new Error(`${dir}: no tokenizer (vocab.txt, tokenizer.json, or vocab.json + merges.txt)`);
    tokenizer = fitTokenizer(tokenizer, config);
    let lora: LoraModel | null = null;
    if (adapter) {
      lora = new LoraModel(model, null);
      lora.loadAdapter(adapter, 'default', adapterSource);
    }
    return new TaskPredictor(task, model, tokenizer, labels, lora, options);
  } catch (err) {
    model.dispose();
    throw err;
  }
}

interface FeatureDir {
  config: FeatureConfig;
  head: Uint8Array;
  /** Where the files came from (a directory, or 'adapter' for files in memory). */
  source: string;
  tokenizer: TaskTokenizer | null;
}

/** A frozen-feature directory (path / URL) or its files in memory, or null when `from` is not one. */
async function readFeatureDir(from: string | Record<string, Uint8Array>): Promise<FeatureDir | null> {
  const source = typeof from === 'string' ? from : 'adapter';
  const read = async (name: string) => (typeof from === 'string' ? readBytes(joinPath(from, name)) : (from[name] ?? null));
  const configBytes = await read(FEATURE_CONFIG_FILE);
  if (configBytes === null) return null;
  const config = parseFeatureConfig(new TextDecoder().decode(configBytes), `${source}/${FEATURE_CONFIG_FILE}`);
  const head = await read(FEATURE_HEAD_FILE);
  if (head === null) throw new Error(`${source}: no ${FEATURE_HEAD_FILE} (its ${FEATURE_CONFIG_FILE} says it holds a frozen-feature head)`);
  let tokenizer: TaskTokenizer | null = null;
  if (typeof from === 'string') tokenizer = (await loadWordPiece(from)) ?? (await loadTokenizer(from));
  else if (from['vocab.txt']) {
    const tc = from['tokenizer_config.json'];
    const options = tc ? wordPieceOptionsFromTokenizerConfig(new TextDecoder().decode(tc), 'adapter/tokenizer_config.json') : {};
    tokenizer = WordPieceTokenizer.fromVocabText(new TextDecoder().decode(from['vocab.txt']), options, 'adapter/vocab.txt');
  }
  return { config, head, source, tokenizer };
}

/**
 * The frozen-feature head of `feat` on the encoder of `base` (`how`: the base its config names,
 * or one given): the same FeatureClassifier the run trained, its head loaded, its tokenizer and
 * labels; a base that is missing, or not the one trained on (SHA-256 of model.safetensors), is refused.
 */
async function loadFeatureModel(base: string, feat: FeatureDir, options: TaskModelOptions, how: 'named' | 'given'): Promise<TaskPredictor> {
  const { config: fc, source } = feat;
  const configFile = `${source}/${FEATURE_CONFIG_FILE}`;
  const where =
    how === 'named'
      ? `${configFile} names the base model ${base} (base_model_name_or_path)`
      : `the base model ${base} given for the frozen-feature head ${source}`;
  const text = await readText(joinPath(base, 'config.json'));
  if (text === null)
    throw new Error(
      `${where}, but ${joinPath(base, 'config.json')} does not exist${how === 'named' ? `: put the base there, or give it (bertgpu predict --model BASE --adapter ${source})` : ''}`,
    );
  const weights = fc.base_model_sha256 ? await readBytes(joinPath(base, 'model.safetensors')) : null;
  const sha = weights && (await sha256Hex(weights));
  if (sha && sha !== fc.base_model_sha256)
    throw new Error(
      `${where}, but ${joinPath(base, 'model.safetensors')} is not the encoder the head was trained on (SHA-256 ${sha}; ${configFile} has ${fc.base_model_sha256})`,
    );
  const taskName = options.task ?? fc.task;
  if (!['cls', 'pair', 'regression'].includes(taskName))
    throw new Error(`${source}: a frozen-feature head serves cls, pair or regression, not the task ${taskName}`);
  const task = getTask(taskName);
  const labels = fc.task === 'regression' ? undefined : labelSetFromConfig(fc);
  const loaded = await taskModelFrom(base, fc.task, labels);
  let features: FeatureClassifier | null = null;
  try {
    features = new FeatureClassifier(loaded.model, fc.mode, fc.num_labels);
    if (features.layers !== fc.layers)
      throw new Error(`${configFile}: a head on ${fc.layers} hidden states, but ${base} gives ${features.layers}`);
    loadFeatureHead(features, feat.head, `${source}/${FEATURE_HEAD_FILE}`);
    const tokenizer = feat.tokenizer ?? loaded.tokenizer ?? (await loadTokenizer(base));
    if (!tokenizer) throw new Error(`${source}, ${base}: no tokenizer (vocab.txt, tokenizer.json, or vocab.json + merges.txt)`);
    const rest = { maxLength: options.maxLength ?? fc.max_length, docStride: options.docStride, batchSize: options.batchSize };
    return new TaskPredictor(task, loaded.model, fitTokenizer(tokenizer, loaded.model.config), labels, null, rest, features);
  } catch (err) {
    features?.dispose();
    loaded.model.dispose();
    throw err;
  }
}

/** A WordPiece tokenizer from a directory's vocab.txt (and its tokenizer_config.json), if it has one. */
export async function loadWordPiece(dir: string): Promise<TaskTokenizer | null> {
  const vocab = await readText(joinPath(dir, 'vocab.txt'));
  if (vocab === null) return null;
  const tc = await readText(joinPath(dir, 'tokenizer_config.json'));
  const options = tc === null ? {} : wordPieceOptionsFromTokenizerConfig(tc, `${dir}/tokenizer_config.json`);
  return WordPieceTokenizer.fromVocabText(vocab, options, `${dir}/vocab.txt`);
}

/** A model and tokenizer from a directory (path / URL) or as given. */
async function modelAndTokenizer(model: string | ModelAndTokenizer): Promise<ModelAndTokenizer & { owned: boolean }> {
  if (typeof model !== 'string') return { ...model, owned: false };
  const loaded = await fromPretrained(model);
  return { model: loaded.model, tokenizer: loaded.tokenizer ?? (await loadTokenizer(model)), owned: true };
}

function needTokenizer(t: TaskTokenizer | null): TaskTokenizer {
  if (!t) throw new Error('pipeline: the model has no tokenizer (pass { model, tokenizer })');
  return t;
}

// ---- fill-mask ----

export interface FillMaskResult {
  score: number;
  token: number;
  token_str: string;
  sequence: string;
}

/** The mask token of a tokenizer ([MASK] for WordPiece, <mask> for RoBERTa's byte-level BPE). */
export function maskTokenOf(tokenizer: TaskTokenizer): { token: string; id: number } {
  const t = tokenizer as TaskTokenizer & { maskToken?: string; vocab?: readonly string[] };
  const token = t.maskToken ?? '<mask>';
  const id = t.vocab?.indexOf(token) ?? -1;
  if (id < 0) throw new Error(`fill-mask: the tokenizer has no ${token} token`);
  return { token, id };
}

/**
 * Hugging Face's fill-mask pipeline for one text: per mask the top_k tokens with their
 * probabilities and the text with the mask filled in (one mask: a flat list).
 */
export async function fillMask(
  model: PreTrainedModel,
  tokenizer: TaskTokenizer,
  text: string,
  { top_k = 5 }: { top_k?: number } = {},
): Promise<FillMaskResult[] | FillMaskResult[][]> {
  if (!/ForMaskedLM$|^BertForPreTraining$/.test(model.architecture))
    throw new Error(`fill-mask needs a masked-LM head; ${model.architecture} has none`);
  const mask = maskTokenOf(tokenizer);
  const enc = tokenizer.encode(text, null, { maxLength: maxTokens(model.config), truncation: 'longest_first' });
  const positions = enc.inputIds.flatMap((id, t) => (id === mask.id ? [t] : []));
  if (!positions.length)
    throw new Error(
      `fill-mask: no ${mask.token} in the input${enc.inputIds.length === maxTokens(model.config) ? " (or it was cut off at the model's length)" : ''}`,
    );
  const T = enc.inputIds.length;
  const V = model.config.vocab_size;
  const labels = new Int32Array(T).fill(-100);
  for (const t of positions) labels[t] = 0;
  const wasTraining = model.training;
  model.train(false);
  let logits: Float32Array;
  try {
    logits = await scopeAsync(async () => {
      const input = (a: number[] | Int32Array) => ops.tensor(Int32Array.from(a), [1, T], 'i32');
      // labels only mark the masks: the head runs on those rows alone
      const out = noGrad(() =>
        model.forward(
          {
            input_ids: input(enc.inputIds),
            attention_mask: input(enc.attentionMask),
            token_type_ids: input(enc.tokenTypeIds),
            labels: input(labels),
          },
          { labelledOnly: true },
        ),
      );
      return (await (out.logits ?? out.prediction_logits)!.toArray()) as Float32Array;
    });
  } finally {
    model.train(wasTraining);
  }
  const single = positions.length === 1;
  const results = positions.map((t, m) => {
    const row = logits.subarray(m * V, (m + 1) * V);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let total = 0;
    for (const v of row) total += Math.exp(v - max);
    const top = Array.from({ length: V }, (_, i) => i)
      .sort((a, b) => row[b] - row[a] || a - b)
      .slice(0, top_k);
    return top.map((id) => {
      const ids = [...enc.inputIds];
      ids[t] = id;
      return {
        score: Math.exp(row[id] - max) / total,
        token: id,
        token_str: tokenizer.decode([id], { skipSpecialTokens: false }),
        sequence: tokenizer.decode(ids, { skipSpecialTokens: single }),
      };
    });
  });
  return single ? results[0] : results;
}

// ---- pipelines ----

export type PipelineTask = 'text-classification' | 'token-classification' | 'question-answering' | 'fill-mask' | 'feature-extraction';

export interface PipelineOptions {
  /** A LoRA adapter on the model (text-classification, token-classification, question-answering). */
  adapter?: string | Record<string, Uint8Array>;
  maxLength?: number;
  batchSize?: number;
}

export interface LabelScore {
  label: string;
  score: number;
}

/** What every pipeline has besides being called. */
export interface PipelineBase {
  readonly task: PipelineTask;
  readonly model: PreTrainedModel;
  readonly tokenizer: TaskTokenizer;
  /** Frees the model when the pipeline loaded it. */
  dispose(): void;
}

export type TextInput = string | { text: string; text_pair?: string };

export interface TextClassificationPipeline extends PipelineBase {
  (input: TextInput, options?: { top_k?: number }): Promise<LabelScore[]>;
  (input: TextInput[], options?: { top_k?: number }): Promise<LabelScore[] | LabelScore[][]>;
}

export interface TokenClassificationPipeline extends PipelineBase {
  (input: string, options?: { aggregation_strategy?: AggregationStrategy }): Promise<(TokenEntity | EntityGroup)[]>;
  (input: string[], options?: { aggregation_strategy?: AggregationStrategy }): Promise<(TokenEntity | EntityGroup)[][]>;
}

export interface QuestionAnsweringPipeline extends PipelineBase {
  (
    question: string,
    context: string,
    options?: { handle_impossible_answer?: boolean; max_answer_len?: number },
  ): Promise<{ answer: string; score: number; start: number; end: number }>;
}

export interface FillMaskPipeline extends PipelineBase {
  (input: string, options?: { top_k?: number }): Promise<FillMaskResult[] | FillMaskResult[][]>;
  (input: string[], options?: { top_k?: number }): Promise<(FillMaskResult[] | FillMaskResult[][])[]>;
}

/** Hidden states: [B, T, H] (pooling 'none', padded to the longest) or [B, H], row-major. */
export interface Features {
  dims: number[];
  data: Float32Array;
  tolist(): number[][] | number[][][];
}

export interface FeatureExtractionPipeline extends PipelineBase {
  (input: string | string[], options?: { pooling?: 'none' | 'mean' | 'cls'; normalize?: boolean }): Promise<Features>;
}

export function pipeline(
  task: 'text-classification',
  model: string | ModelAndTokenizer,
  options?: PipelineOptions,
): Promise<TextClassificationPipeline>;
export function pipeline(
  task: 'token-classification',
  model: string | ModelAndTokenizer,
  options?: PipelineOptions,
): Promise<TokenClassificationPipeline>;
export function pipeline(
  task: 'question-answering',
  model: string | ModelAndTokenizer,
  options?: PipelineOptions,
): Promise<QuestionAnsweringPipeline>;
export function pipeline(task: 'fill-mask', model: string | ModelAndTokenizer, options?: PipelineOptions): Promise<FillMaskPipeline>;
export function pipeline(
  task: 'feature-extraction',
  model: string | ModelAndTokenizer,
  options?: PipelineOptions,
): Promise<FeatureExtractionPipeline>;
/**
 * A pipeline as transformers.js makes them: `await pipeline(task, model)` then
 * `await pipe(input, options)`. `model` is a directory path / URL or { model, tokenizer }.
 */
export async function pipeline(
  task: PipelineTask,
  model: string | ModelAndTokenizer,
  options: PipelineOptions = {},
): Promise<PipelineBase> {
  if (task === 'fill-mask' || task === 'feature-extraction') {
    const m = await modelAndTokenizer(model);
    const tokenizer = needTokenizer(m.tokenizer);
    const base = { task, model: m.model, tokenizer, dispose: () => m.owned && m.model.dispose() };
    if (task === 'fill-mask') {
      const run = async (input: string | string[], o: { top_k?: number } = {}) =>
        Array.isArray(input) ? Promise.all(input.map((t) => fillMask(m.model, tokenizer, t, o))) : fillMask(m.model, tokenizer, input, o);
      return Object.assign(run, base);
    }
    return Object.assign(
      (input: string | string[], o: { pooling?: 'none' | 'mean' | 'cls'; normalize?: boolean } = {}) =>
        features(m.model, tokenizer, input, o, options.maxLength),
      base,
    );
  }
  const wanted: Record<string, TaskName[]> = {
    'text-classification': ['cls', 'pair', 'regression'],
    'token-classification': ['tag'],
    'question-answering': ['qa'],
  };
  let tm: TaskPredictor;
  let owned = true;
  if (typeof model === 'string')
    tm = await loadTaskModel(model, { adapter: options.adapter, maxLength: options.maxLength, batchSize: options.batchSize });
  else {
    const name = taskOfModel(model.model.architecture, model.model.config);
    if (!name) throw new Error(`pipeline: ${model.model.architecture} is not a fine-tuned task model`);
    tm = new TaskPredictor(
      getTask(name),
      model.model,
      fitTokenizer(needTokenizer(model.tokenizer), model.model.config),
      LABELLED.includes(name) ? labelSetFromConfig(model.model.config) : undefined,
      null,
      options,
    );
    owned = false;
  }
  if (!wanted[task])
    throw new Error(
      `pipeline: unknown task '${task}' (tasks: text-classification, token-classification, question-answering, fill-mask, feature-extraction)`,
    );
  if (!wanted[task].includes(tm.task.name)) {
    if (owned) tm.dispose();
    throw new Error(`pipeline '${task}': the model is a ${tm.model.architecture} (task ${tm.task.name})`);
  }
  const base = { task, model: tm.model, tokenizer: tm.tokenizer, dispose: () => owned && tm.dispose() };
  const at = (line: number): Located => ({ source: 'input', line });
  if (task === 'text-classification') {
    const run = async (input: TextInput | TextInput[], { top_k = 1 }: { top_k?: number } = {}) => {
      const list = Array.isArray(input) ? input : [input];
      const examples: TextExample[] = list.map((x, i) =>
        typeof x === 'string'
          ? { ...at(i + 1), text: x }
          : { ...at(i + 1), text: x.text, ...(x.text_pair !== undefined ? { pair: x.text_pair } : {}) },
      );
      const pair = examples.some((e) => e.pair !== undefined);
      const preds = await tm.predict(examples, pair && tm.task.name === 'cls' ? { task: getTask('pair') } : {});
      const ranked = preds.map((p): LabelScore[] =>
        'ranked' in (p as object)
          ? (p as ClassPrediction).ranked.slice(0, top_k).map((r) => ({ label: String(r.label), score: r.score }))
          : [{ label: tm.labels?.id2label['0'] ?? 'LABEL_0', score: (p as { score: number }).score }],
      );
      if (!Array.isArray(input)) return ranked[0];
      return top_k === 1 ? ranked.map((r) => r[0]) : ranked;
    };
    return Object.assign(run, base);
  }
  if (task === 'token-classification') {
    const run = async (
      input: string | string[],
      { aggregation_strategy = 'none' }: { aggregation_strategy?: AggregationStrategy } = {},
    ) => {
      const list = Array.isArray(input) ? input : [input];
      const examples: TagExample[] = list.map((text, i) => {
        const { words, offsets } = splitWords(text);
        return { ...at(i + 1), words, text, wordOffsets: offsets };
      });
      const preds = (await tm.predict(examples, { aggregation: aggregation_strategy })) as { entities?: (TokenEntity | EntityGroup)[] }[];
      const out = preds.map((p) => p.entities ?? []);
      return Array.isArray(input) ? out : out[0];
    };
    return Object.assign(run, base);
  }
  const run = async (question: string, context: string, o: { handle_impossible_answer?: boolean; max_answer_len?: number } = {}) => {
    const example: QaExample = { ...at(1), id: '0', question, context, answers: { text: [], answer_start: [] } };
    const [p] = (await tm.predict([example], {
      allowImpossible: o.handle_impossible_answer,
      maxAnswerLength: o.max_answer_len,
    })) as QaPrediction[];
    return { answer: p.answer, score: p.score, start: p.start, end: p.end };
  };
  return Object.assign(run, base);
}

/** The base model's last hidden states of texts, pooled. */
async function features(
  model: PreTrainedModel,
  tokenizer: TaskTokenizer,
  input: string | string[],
  { pooling = 'none', normalize = false }: { pooling?: 'none' | 'mean' | 'cls'; normalize?: boolean },
  maxLength?: number,
): Promise<Features> {
  if (!['none', 'mean', 'cls'].includes(pooling))
    throw new Error(`feature-extraction: pooling must be 'none', 'mean' or 'cls', got ${JSON.stringify(pooling)}`);
  const texts = Array.isArray(input) ? input : [input];
  const encoded = texts.map((t) => encodePair(tokenizer, t, undefined, Math.min(maxLength ?? Infinity, maxTokens(model.config))));
  const batch = collate(encoded, { padId: model.config.pad_token_id });
  const [B, T] = batch.input_ids.shape;
  const H = model.config.hidden_size;
  const wasTraining = model.training;
  model.train(false);
  let hidden: Float32Array;
  try {
    hidden = await scopeAsync(async () => (await noGrad(() => model.runBase(batchInputs(batch))).sequenceOutput.toArray()) as Float32Array);
  } finally {
    model.train(wasTraining);
  }
  const mask = batch.attention_mask.data;
  let data: Float32Array;
  let dims: number[];
  if (pooling === 'none') {
    data = hidden;
    dims = [B, T, H];
  } else {
    data = new Float32Array(B * H);
    dims = [B, H];
    for (let b = 0; b < B; b++) {
      if (pooling === 'cls') data.set(hidden.subarray(b * T * H, b * T * H + H), b * H);
      else {
        let n = 0;
        for (let t = 0; t < T; t++) {
          if (!mask[b * T + t]) continue;
          n++;
          for (let h = 0; h < H; h++) data[b * H + h] += hidden[(b * T + t) * H + h];
        }
        for (let h = 0; h < H; h++) data[b * H + h] /= n;
      }
    }
  }
  if (normalize) {
    const row = dims[dims.length - 1];
    for (let i = 0; i < data.length; i += row) {
      let s = 0;
      for (let k = 0; k < row; k++) s += data[i + k] ** 2;
      const norm = Math.max(Math.sqrt(s), 1e-12);
      for (let k = 0; k < row; k++) data[i + k] /= norm;
    }
  }
  const tolist = () => {
    const rows = (offset: number, n: number, w: number) =>
      Array.from({ length: n }, (_, i) => Array.from(data.subarray(offset + i * w, offset + (i + 1) * w)));
    return dims.length === 2 ? rows(0, B, H) : Array.from({ length: B }, (_, b) => rows(b * T * H, T, H));
  };
  return { dims, data, tolist };
}
