// Frozen features (BERT paper section 5.3, the deck's ELMo comparison): the pre-trained encoder
// is frozen and only a small head learns, either ELMo's scalar mix of every layer's sentence
// vector (softmax(w) . h_j, times gamma) or the concatenation of the last four layers' vectors,
// then dropout and a Linear classifier. A layer's sentence vector is the mean of its token
// vectors over the attention mask (a frozen encoder's [CLS] vector is a poor sentence feature:
// it was never trained for the task; mean pooling is the usual choice for frozen features). No encoder parameter requires a gradient, so the tape
// records nothing for the encoder: its forward runs, no backward kernel does.
import { Tensor, noGrad } from '../tensor.js';
import * as ops from '../ops/index.js';
import { Module, Linear, Dropout } from '../nn/module.js';
import { free } from '../models/bert.js';
import { sequenceClassificationLoss, type ModelInputs, type ModelOutput, type PreTrainedModel } from '../models/tasks.js';
import type { BertConfig } from '../models/config.js';
import type { Generator } from '../ops/creation.js';
import { runtime } from '../runtime.js';
import { readSafetensors } from '../io/safetensors.js';

export type FeatureMode = 'scalar-mix' | 'concat-last-4';

/** Mean of h [B, T, H] over the positions where mask [B, T] is 1 (all of them without a mask): [B, H]. */
function meanPool(h: Tensor, mask?: Tensor): Tensor {
  const [B, T] = h.shape;
  if (!mask) return ops.mean(h, 1);
  const m = mask.hostData ? ops.tensor(Float32Array.from(mask.hostData), [B, T, 1]) : null;
  if (!m) throw new Error('features: the attention mask must come from CPU data');
  const counts = ops.tensor(
    Float32Array.from({ length: B }, (_, b) =>
      Math.max(
        1,
        mask.hostData!.slice(b * T, (b + 1) * T).reduce((a, v) => a + v, 0),
      ),
    ),
    [B, 1],
  );
  const masked = ops.mul(h, m);
  const sums = ops.sum(masked, 1);
  const out = ops.div(sums, counts);
  free(m, counts, masked, sums);
  return out;
}

export class FeatureClassifier extends Module {
  readonly config: BertConfig;
  readonly architecture = 'FeatureClassifier';
  readonly scalar_mix_weights: Tensor | null = null;
  readonly scalar_mix_gamma: Tensor | null = null;
  readonly dropout: Dropout;
  readonly classifier: Linear;
  /** Hidden states used: embeddings + one per layer (scalar mix), or the last four. */
  readonly layers: number;

  constructor(
    readonly encoder: PreTrainedModel,
    readonly mode: FeatureMode,
    numLabels: number,
    generator?: Generator,
  ) {
    super();
    this.config = { ...encoder.config, num_labels: numLabels };
    const H = encoder.config.hidden_size;
    const states = encoder.config.num_hidden_layers + 1;
    for (const [, p] of encoder.namedParameters()) p.requiresGrad = false;
    if (mode === 'scalar-mix') {
      this.layers = states;
      // ELMo starts from equal weights (w = 0) and gamma = 1
      this.scalar_mix_weights = this.param('scalar_mix.weights', ops.zeros([1, states]));
      this.scalar_mix_gamma = this.param('scalar_mix.gamma', ops.ones([1]));
    } else if (mode === 'concat-last-4') this.layers = Math.min(4, states);
    else throw new Error(`features: mode must be 'scalar-mix' or 'concat-last-4', got '${mode}'`);
    const inDim = mode === 'scalar-mix' ? H : this.layers * H;
    this.dropout = this.module('dropout', new Dropout(encoder.config.hidden_dropout_prob, generator));
    this.classifier = this.module('classifier', new Linear(inDim, numLabels, { std: encoder.config.initializer_range, generator }));
  }

  override train(mode = true): this {
    super.train(mode);
    this.encoder.train(false); // features of a frozen encoder: its dropout stays off
    return this;
  }

  forward(inputs: ModelInputs): ModelOutput {
    const base = noGrad(() => this.encoder.runBase(inputs));
    const states = base.hiddenStates.slice(-this.layers);
    const mask = inputs.attention_mask;
    const cls = noGrad(() => states.map((h) => meanPool(h, mask)));
    const [B, H] = cls[0].shape;
    let features: Tensor;
    if (this.mode === 'scalar-mix') {
      const stacked = ops.reshape(ops.concat(cls, 0), [this.layers, B * H]);
      const s = ops.softmax(this.scalar_mix_weights!);
      const mixed = ops.matmul(s, stacked); // [1, B * H]
      const scaled = ops.mul(mixed, this.scalar_mix_gamma!);
      features = ops.reshape(scaled, [B, H]);
      free(stacked, s, mixed, scaled);
    } else features = ops.concat(cls, 1);
    free(...cls, base.pooledOutput);
    const d = this.dropout.forward(features);
    const logits = this.classifier.forward(d);
    free(features, d);
    const out: ModelOutput = { logits, hidden_states: base.hiddenStates };
    if (inputs.labels) out.loss = sequenceClassificationLoss(this.config, logits, inputs.labels);
    return out;
  }

  /** The head's parameters (what a run trains; the encoder is not a child module). */
  headParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([n]) => !n.startsWith('encoder.'));
  }

  /** The softmax of the mix weights: how much each layer counts (scalar mix only). */
  async layerWeights(): Promise<number[]> {
    if (!this.scalar_mix_weights) throw new Error('features: concat-last-4 has no layer weights');
    const s = noGrad(() => ops.softmax(this.scalar_mix_weights!));
    const v = [...(await s.toArray())];
    s.dispose();
    return v;
  }
}

// ---- a frozen-feature directory: the head, its config, the tokenizer; the base stays where it is ----

/** The head's weights in a frozen-feature directory (the encoder is not copied). */
export const FEATURE_HEAD_FILE = 'feature_head.safetensors';
/** What a frozen-feature directory needs besides its head: the base it runs on, the task, labels, mode, length. */
export const FEATURE_CONFIG_FILE = 'feature_config.json';

/**
 * feature_config.json. `base_model_name_or_path` is the directory (path or URL) of the frozen
 * encoder, as PEFT's adapter_config.json names its base; `base_model_sha256` is the SHA-256 of
 * its model.safetensors when the head was trained, so a base changed since is refused rather
 * than silently giving other features.
 */
export interface FeatureConfig {
  architectures: string[];
  base_model_name_or_path: string | null;
  base_model_sha256: string | null;
  /** The task class whose encoder runs (e.g. BertForSequenceClassification; its own head is not used). */
  base_architecture: string;
  task: 'cls' | 'pair' | 'regression';
  mode: FeatureMode;
  layers: number;
  max_length: number;
  num_labels: number;
  id2label?: Record<string, string>;
  label2id?: Record<string, number>;
  problem_type?: string;
  [key: string]: unknown;
}

/** The SHA-256 of bytes as hex (null where the platform has no crypto.subtle, e.g. a page over plain http). */
export async function sha256Hex(bytes: Uint8Array): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null;
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

const FEATURE_TASKS = ['cls', 'pair', 'regression'];
const MODES: FeatureMode[] = ['scalar-mix', 'concat-last-4'];

/**
 * The feature_config.json of a trained head: `labelFields` are the task's config fields
 * (num_labels, id2label / label2id, problem_type), as a task class's config.json has them.
 */
export function featureConfig(
  model: FeatureClassifier,
  o: { task: FeatureConfig['task']; base: string | null; baseSha256: string | null; maxLength: number; labelFields: Partial<BertConfig> },
): FeatureConfig {
  return {
    architectures: ['FeatureClassifier'],
    base_model_name_or_path: o.base,
    base_model_sha256: o.baseSha256,
    base_architecture: model.encoder.architecture,
    task: o.task,
    mode: model.mode,
    layers: model.layers,
    max_length: o.maxLength,
    ...o.labelFields,
    num_labels: model.config.num_labels!,
  };
}

/** Reads and checks feature_config.json; `source` names it in errors. */
export function parseFeatureConfig(text: string, source: string): FeatureConfig {
  let c: FeatureConfig;
  try {
    c = JSON.parse(text) as FeatureConfig;
  } catch (err) {
    throw new Error(`${source}: not JSON (${(err as Error).message})`);
  }
  const bad = (field: string, want: string) =>
    new Error(`${source}: ${field} must be ${want}, got ${JSON.stringify((c as Record<string, unknown>)[field])}`);
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error(`${source}: not a JSON object`);
  if (!FEATURE_TASKS.includes(c.task)) throw bad('task', `one of ${FEATURE_TASKS.join(', ')}`);
  if (!MODES.includes(c.mode)) throw bad('mode', `one of ${MODES.join(', ')}`);
  if (c.base_model_name_or_path !== null && typeof c.base_model_name_or_path !== 'string')
    throw bad('base_model_name_or_path', 'a directory path or URL (or null)');
  if (typeof c.base_architecture !== 'string') throw bad('base_architecture', 'a model class name');
  for (const k of ['layers', 'max_length', 'num_labels'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 1) throw bad(k, 'a positive integer');
  return c;
}

/** Puts a saved head's weights into `model` (freshly built: mode, layers and labels as saved). */
export function loadFeatureHead(model: FeatureClassifier, bytes: Uint8Array, source: string): void {
  const st = readSafetensors(bytes, source);
  if (st.metadata.mode !== undefined && st.metadata.mode !== model.mode)
    throw new Error(`${source}: a ${st.metadata.mode} head, but the model is ${model.mode}`);
  runtime().flush(); // the fresh initialisation must run before these writes
  for (const [key, t] of model.namedParameters()) {
    const saved = st.tensors.get(key);
    if (!saved) throw new Error(`${source}: no tensor '${key}' (a ${model.mode} head has ${t.shape.join(' x ')})`);
    if (saved.data.length !== t.size)
      throw new Error(`${source}: '${key}' is ${saved.shape.join(' x ')}, the head on this encoder needs ${t.shape.join(' x ')}`);
    runtime().upload(t.buffer, saved.data);
  }
}
