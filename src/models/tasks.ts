// The task classes of the BERT family, named and shaped as Hugging Face's, with their losses.
import { Tensor, shapeStr } from '../tensor.js';
import * as ops from '../ops/index.js';
import { Module, Linear, LayerNorm, Dropout, activation } from '../nn/module.js';
import { BertModel, firstToken, free, type BaseOutput, type ModelInit } from './bert.js';
import type { BertConfig } from './config.js';

/** Arguments named as Hugging Face's forward() arguments. */
export interface ModelInputs {
  input_ids: Tensor;
  attention_mask?: Tensor;
  token_type_ids?: Tensor;
  labels?: Tensor;
  next_sentence_label?: Tensor;
  start_positions?: Tensor;
  end_positions?: Tensor;
}

/** Outputs named as Hugging Face's output fields. */
export interface ModelOutput {
  loss?: Tensor;
  logits?: Tensor;
  prediction_logits?: Tensor;
  seq_relationship_logits?: Tensor;
  start_logits?: Tensor;
  end_logits?: Tensor;
  /** The embeddings output, then each layer's (output_hidden_states=True). */
  hidden_states: Tensor[];
  /** With `labelledOnly` MLM: the flat positions (b * T + t) whose logits were computed. */
  mlm_positions?: Int32Array;
}

export interface ForwardOptions {
  /**
   * MLM heads: compute vocabulary logits only at positions whose label is not -100 (default:
   * when training and labels are given). `logits` is then [N, V] for those N positions.
   */
  labelledOnly?: boolean;
}

export type BaseName = 'bert' | 'electra' | 'roberta';

/**
 * A task model: the base encoder registered under Hugging Face's prefix (`bert.`, `electra.`,
 * `roberta.`) plus a head. The families differ only by that prefix and their configuration.
 */
export abstract class PreTrainedModel extends Module {
  static readonly architecture: string;
  readonly base: BertModel;
  constructor(
    readonly config: BertConfig,
    init: ModelInit,
    readonly baseName: BaseName,
    addPoolingLayer: boolean,
  ) {
    super();
    const arch = new.target.architecture;
    if (init.base && init.base.config.hidden_size !== config.hidden_size)
      throw new Error(
        `${arch}: the shared base model is ${init.base.config.hidden_size} wide, this config's hidden_size is ${config.hidden_size}`,
      );
    if (init.base && addPoolingLayer && !init.base.pooler)
      throw new Error(`${arch}: the shared base model has no pooler, which this head needs`);
    this.base = this.module(baseName, init.base ?? new BertModel(config, { ...init, addPoolingLayer }));
  }
  private named(name: BaseName): BertModel {
    if (this.baseName !== name) throw new Error(`${this.architecture} has no '${name}' (its base model is '${this.baseName}')`);
    return this.base;
  }
  get bert(): BertModel {
    return this.named('bert');
  }
  get electra(): BertModel {
    return this.named('electra');
  }
  get roberta(): BertModel {
    return this.named('roberta');
  }
  get architecture(): string {
    return (this.constructor as typeof PreTrainedModel).architecture;
  }
  abstract forward(inputs: ModelInputs, options?: ForwardOptions): ModelOutput;
  /** Base-model outputs for (possibly flattened) inputs. */
  runBase(inputs: ModelInputs) {
    return this.base.forward(inputs.input_ids, { attentionMask: inputs.attention_mask, tokenTypeIds: inputs.token_type_ids });
  }
}

function initOf(config: BertConfig, init: ModelInit) {
  return { std: config.initializer_range, generator: init.generator };
}

function numLabels(config: BertConfig): number {
  return config.num_labels ?? 2;
}

/** Host copy of an integer input, needed to build gathers / clamps on the CPU. */
function host(t: Tensor, what: string): Int32Array {
  if (!t.hostData) throw new Error(`${what} must be made from CPU data`);
  return t.hostData;
}

function checkLabels(labels: Tensor, shape: number[], what: string): void {
  if (labels.dtype !== 'i32') throw new Error(`${what} must be an integer tensor, got ${labels.dtype}`);
  if (labels.size !== shape.reduce((a, b) => a * b, 1))
    throw new Error(`${what} ${shapeStr(labels.shape)} does not match ${shapeStr(shape)}`);
}

// ---- heads ----

/** dense -> act -> LayerNorm (BertPredictionHeadTransform; ELECTRA's generator head uses gelu). */
export class BertPredictionHeadTransform extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  private readonly act: (x: Tensor) => Tensor;
  constructor(config: BertConfig, init: ModelInit, out = config.hidden_size, act = config.hidden_act, normName = 'LayerNorm') {
    super();
    this.dense = this.module('dense', new Linear(config.hidden_size, out, initOf(config, init)));
    this.LayerNorm = this.module(normName, new LayerNorm(out, config.layer_norm_eps));
    this.act = activation(act);
  }
  forward(x: Tensor): Tensor {
    const h = this.dense.forward(x);
    const a = this.act(h);
    const out = this.LayerNorm.forward(a);
    free(h, a);
    return out;
  }
}

/** Vocabulary logits with the decoder tied to the word embeddings: h @ E^T + bias. */
function tiedDecoder(h: Tensor, wordEmbeddings: Tensor, bias: Tensor): Tensor {
  return ops.matmul(h, wordEmbeddings, { transB: true, bias });
}

export class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly bias: Tensor;
  constructor(
    config: BertConfig,
    init: ModelInit,
    readonly wordEmbeddings: Tensor,
  ) {
    super();
    this.bias = this.param('bias', ops.zeros([config.vocab_size]));
    this.transform = this.module('transform', new BertPredictionHeadTransform(config, init));
    // HF's decoder.weight / decoder.bias are the word embeddings and `bias` (tied)
    this.module('decoder', new TiedLinear(wordEmbeddings, this.bias));
  }
  forward(h: Tensor): Tensor {
    const t = this.transform.forward(h);
    const out = tiedDecoder(t, this.wordEmbeddings, this.bias);
    free(t);
    return out;
  }
}

/**
 * A Linear whose weight is another module's parameter (HF's tied decoder): `bias` is a shared
 * tensor too, or a size for a bias of its own. Names are kept so checkpoints map 1:1.
 */
export class TiedLinear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(weight: Tensor, bias: Tensor | number) {
    super();
    this.weight = this.share('weight', weight);
    this.bias = typeof bias === 'number' ? this.param('bias', ops.zeros([bias])) : this.share('bias', bias);
  }
  forward(h: Tensor): Tensor {
    return tiedDecoder(h, this.weight, this.bias);
  }
}

/** cls: predictions (+ seq_relationship) as BertPreTrainingHeads / BertOnlyMLMHead / BertOnlyNSPHead. */
export class BertHeads extends Module {
  readonly predictions: BertLMPredictionHead | null;
  readonly seq_relationship: Linear | null;
  constructor(config: BertConfig, init: ModelInit, wordEmbeddings: Tensor | null, nsp: boolean) {
    super();
    this.predictions = wordEmbeddings ? this.module('predictions', new BertLMPredictionHead(config, init, wordEmbeddings)) : null;
    this.seq_relationship = nsp ? this.module('seq_relationship', new Linear(config.hidden_size, 2, initOf(config, init))) : null;
  }
}

// ---- MLM with the labelled-positions gather ----

interface MlmResult {
  logits: Tensor;
  loss?: Tensor;
  positions?: Int32Array;
}

function mlm(head: (h: Tensor) => Tensor, seq: Tensor, labels: Tensor | undefined, vocab: number, labelledOnly: boolean): MlmResult {
  const [B, T, H] = seq.shape;
  if (labels) checkLabels(labels, [B, T], 'labels');
  if (labels && labelledOnly) {
    const lab = host(labels, 'labels');
    const positions: number[] = [];
    lab.forEach((v, i) => {
      if (v !== -100) positions.push(i);
    });
    const pos = new Int32Array(positions);
    const flat = ops.reshape(seq, [B * T, H]);
    const posT = ops.tensor(pos, [pos.length], 'i32');
    const rows = ops.indexSelect(flat, 0, posT);
    const logits = head(rows);
    const compact = ops.tensor(Int32Array.from(positions.map((i) => lab[i])), [pos.length], 'i32');
    const loss = ops.crossEntropy(logits, compact);
    free(flat, posT, rows, compact);
    return { logits, loss, positions: pos };
  }
  const logits = head(seq);
  if (!labels) return { logits };
  const loss = ops.crossEntropy(logits, labels.view([B, T]));
  return { logits, loss };
}

// ---- BERT ----

export class BertForPreTraining extends PreTrainedModel {
  static override readonly architecture = 'BertForPreTraining';
  readonly cls: BertHeads;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'bert', true);
    this.cls = this.module('cls', new BertHeads(config, init, this.base.embeddings.word_embeddings.weight, true));
  }
  forward(inputs: ModelInputs, { labelledOnly = this.training }: ForwardOptions = {}): ModelOutput {
    const base = this.runBase(inputs);
    const m = mlm((h) => this.cls.predictions!.forward(h), base.sequenceOutput, inputs.labels, this.config.vocab_size, labelledOnly);
    const nsp = this.cls.seq_relationship!.forward(base.pooledOutput!);
    const out: ModelOutput = {
      prediction_logits: m.logits,
      seq_relationship_logits: nsp,
      hidden_states: base.hiddenStates,
      mlm_positions: m.positions,
    };
    free(base.pooledOutput);
    if (m.loss && inputs.next_sentence_label) {
      checkLabels(inputs.next_sentence_label, [nsp.shape[0]], 'next_sentence_label');
      const nspLoss = ops.crossEntropy(nsp, inputs.next_sentence_label.view([nsp.shape[0]]));
      out.loss = ops.add(m.loss, nspLoss);
      free(m.loss, nspLoss);
    } else if (m.loss) out.loss = m.loss;
    return out;
  }
}

export class BertForMaskedLM extends PreTrainedModel {
  static override readonly architecture = 'BertForMaskedLM';
  readonly cls: BertHeads;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'bert', false);
    this.cls = this.module('cls', new BertHeads(config, init, this.base.embeddings.word_embeddings.weight, false));
  }
  forward(inputs: ModelInputs, { labelledOnly = this.training }: ForwardOptions = {}): ModelOutput {
    const base = this.runBase(inputs);
    const m = mlm((h) => this.cls.predictions!.forward(h), base.sequenceOutput, inputs.labels, this.config.vocab_size, labelledOnly);
    return { logits: m.logits, loss: m.loss, hidden_states: base.hiddenStates, mlm_positions: m.positions };
  }
}

export class BertForNextSentencePrediction extends PreTrainedModel {
  static override readonly architecture = 'BertForNextSentencePrediction';
  readonly cls: BertHeads;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'bert', true);
    this.cls = this.module('cls', new BertHeads(config, init, null, true));
  }
  forward(inputs: ModelInputs): ModelOutput {
    const base = this.runBase(inputs);
    const logits = this.cls.seq_relationship!.forward(base.pooledOutput!);
    free(base.pooledOutput);
    const labels = inputs.labels ?? inputs.next_sentence_label;
    const out: ModelOutput = { logits, hidden_states: base.hiddenStates };
    if (labels) {
      checkLabels(labels, [logits.shape[0]], 'labels');
      out.loss = ops.crossEntropy(logits, labels.view([logits.shape[0]]));
    }
    return out;
  }
}

/** HF's sequence-classification loss: MSE when num_labels == 1 (regression), CE otherwise, BCE for multi-label. */
export function sequenceClassificationLoss(config: BertConfig, logits: Tensor, labels: Tensor): Tensor {
  const n = numLabels(config);
  const problem =
    config.problem_type ?? (n === 1 ? 'regression' : labels.dtype === 'i32' ? 'single_label_classification' : 'multi_label_classification');
  if (problem === 'regression') {
    if (labels.dtype !== 'f32') throw new Error(`labels for regression (num_labels = 1) must be float, got ${labels.dtype}`);
    if (labels.size !== logits.size) throw new Error(`labels ${shapeStr(labels.shape)} do not match logits ${shapeStr(logits.shape)}`);
    const l = labels.view(logits.shape);
    const loss = ops.mseLoss(logits, l);
    free(l);
    return loss;
  }
  if (problem === 'multi_label_classification') {
    if (labels.dtype !== 'f32' || labels.size !== logits.size)
      throw new Error(`multi-label labels must be float ${shapeStr(logits.shape)}, got ${labels.dtype} ${shapeStr(labels.shape)}`);
    return ops.bceWithLogits(logits, labels.view(logits.shape));
  }
  checkLabels(labels, [logits.shape[0]], 'labels');
  return ops.crossEntropy(logits, labels.view([logits.shape[0]]));
}

export class BertForSequenceClassification extends PreTrainedModel {
  static override readonly architecture = 'BertForSequenceClassification';
  readonly dropout: Dropout;
  readonly classifier: Linear;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'bert', true);
    this.dropout = this.module('dropout', new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob, init.generator));
    this.classifier = this.module('classifier', new Linear(config.hidden_size, numLabels(config), initOf(config, init)));
  }
  forward(inputs: ModelInputs): ModelOutput {
    const base = this.runBase(inputs);
    const d = this.dropout.forward(base.pooledOutput!);
    const logits = this.classifier.forward(d);
    free(base.pooledOutput, d);
    const out: ModelOutput = { logits, hidden_states: base.hiddenStates };
    if (inputs.labels) out.loss = sequenceClassificationLoss(this.config, logits, inputs.labels);
    return out;
  }
}

/**
 * Multiple choice: [B, C, T] inputs flattened to [B * C, T], one score per row from `score`
 * (base outputs -> [B * C, 1]), reshaped to logits [B, C]; CE over the choices.
 */
function multipleChoice(model: PreTrainedModel, inputs: ModelInputs, score: (base: BaseOutput) => Tensor): ModelOutput {
  const ids = inputs.input_ids;
  if (ids.rank !== 3) throw new Error(`multiple choice: input_ids must be [batch, choices, seq], got ${shapeStr(ids.shape)}`);
  const [B, C, T] = ids.shape;
  const flat = (t?: Tensor) => (t ? t.view([B * C, T]) : undefined);
  const flatInputs = { input_ids: flat(ids)!, attention_mask: flat(inputs.attention_mask), token_type_ids: flat(inputs.token_type_ids) };
  const base = model.runBase(flatInputs);
  const scores = score(base);
  const logits = ops.reshape(scores, [B, C]);
  free(base.pooledOutput, scores, flatInputs.input_ids, flatInputs.attention_mask, flatInputs.token_type_ids);
  const out: ModelOutput = { logits, hidden_states: base.hiddenStates };
  if (inputs.labels) {
    checkLabels(inputs.labels, [B], 'labels');
    out.loss = ops.crossEntropy(logits, inputs.labels.view([B]));
  }
  return out;
}

/** pooler -> dropout -> classifier (H -> 1) per choice (BERT and RoBERTa multiple choice). */
export abstract class PooledMultipleChoiceModel extends PreTrainedModel {
  readonly dropout: Dropout;
  readonly classifier: Linear;
  constructor(config: BertConfig, init: ModelInit, baseName: BaseName) {
    super(config, init, baseName, true);
    this.dropout = this.module('dropout', new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob, init.generator));
    this.classifier = this.module('classifier', new Linear(config.hidden_size, 1, initOf(config, init)));
  }
  /** input_ids etc. are [B, C, T] (C choices); logits [B, C]. */
  forward(inputs: ModelInputs): ModelOutput {
    return multipleChoice(this, inputs, (base) => {
      const d = this.dropout.forward(base.pooledOutput!);
      const scores = this.classifier.forward(d);
      free(d);
      return scores;
    });
  }
}

export class BertForMultipleChoice extends PooledMultipleChoiceModel {
  static override readonly architecture = 'BertForMultipleChoice';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'bert');
  }
}

function tokenClassify(model: TokenClassificationModel, inputs: ModelInputs): ModelOutput {
  const base = model.runBase(inputs);
  const d = model.dropout.forward(base.sequenceOutput);
  const logits = model.classifier.forward(d);
  free(d, base.pooledOutput);
  const out: ModelOutput = { logits, hidden_states: base.hiddenStates };
  if (inputs.labels) {
    const [B, T] = inputs.input_ids.shape;
    checkLabels(inputs.labels, [B, T], 'labels');
    out.loss = ops.crossEntropy(logits, inputs.labels.view([B, T]));
  }
  return out;
}

/** dropout -> classifier on every token (BERT and ELECTRA token classification). */
export abstract class TokenClassificationModel extends PreTrainedModel {
  readonly dropout: Dropout;
  readonly classifier: Linear;
  constructor(config: BertConfig, init: ModelInit, baseName: BaseName) {
    super(config, init, baseName, false);
    this.dropout = this.module('dropout', new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob, init.generator));
    this.classifier = this.module('classifier', new Linear(config.hidden_size, numLabels(config), initOf(config, init)));
  }
  forward(inputs: ModelInputs): ModelOutput {
    return tokenClassify(this, inputs);
  }
}

export class BertForTokenClassification extends TokenClassificationModel {
  static override readonly architecture = 'BertForTokenClassification';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'bert');
  }
}

/** Start / end logits; loss = mean of the two CEs, positions clamped to T and T ignored (as HF). */
function questionAnswering(model: QuestionAnsweringModel, inputs: ModelInputs): ModelOutput {
  const base = model.runBase(inputs);
  const [B, T] = inputs.input_ids.shape;
  const both = model.qa_outputs.forward(base.sequenceOutput); // [B, T, 2]
  const s = ops.slice(both, 2, 0, 1);
  const e = ops.slice(both, 2, 1, 2);
  const start_logits = ops.reshape(s, [B, T]);
  const end_logits = ops.reshape(e, [B, T]);
  free(both, s, e, base.pooledOutput);
  const out: ModelOutput = { start_logits, end_logits, hidden_states: base.hiddenStates };
  if (inputs.start_positions && inputs.end_positions) {
    const clamp = (t: Tensor, what: string) => {
      checkLabels(t, [B], what);
      return ops.tensor(
        Int32Array.from(host(t, what), (v) => Math.min(Math.max(v, 0), T)),
        [B],
        'i32',
      );
    };
    const sp = clamp(inputs.start_positions, 'start_positions');
    const ep = clamp(inputs.end_positions, 'end_positions');
    // ignore_index = T; CE needs ids in [0, T) or the ignore value
    const ls = ops.crossEntropy(start_logits, sp, { ignoreIndex: T });
    const le = ops.crossEntropy(end_logits, ep, { ignoreIndex: T });
    const sum = ops.add(ls, le);
    out.loss = ops.mulScalar(sum, 0.5);
    free(sp, ep, ls, le, sum);
  }
  return out;
}

/** qa_outputs on every token -> start / end logits (BERT and ELECTRA question answering). */
export abstract class QuestionAnsweringModel extends PreTrainedModel {
  readonly qa_outputs: Linear;
  constructor(config: BertConfig, init: ModelInit, baseName: BaseName) {
    super(config, init, baseName, false);
    this.qa_outputs = this.module('qa_outputs', new Linear(config.hidden_size, 2, initOf(config, init)));
  }
  forward(inputs: ModelInputs): ModelOutput {
    return questionAnswering(this, inputs);
  }
}

export class BertForQuestionAnswering extends QuestionAnsweringModel {
  static override readonly architecture = 'BertForQuestionAnswering';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'bert');
  }
}

// ---- ELECTRA ----

export class ElectraDiscriminatorPredictions extends Module {
  readonly dense: Linear;
  readonly dense_prediction: Linear;
  private readonly act: (x: Tensor) => Tensor;
  constructor(config: BertConfig, init: ModelInit) {
    super();
    this.dense = this.module('dense', new Linear(config.hidden_size, config.hidden_size, initOf(config, init)));
    this.dense_prediction = this.module('dense_prediction', new Linear(config.hidden_size, 1, initOf(config, init)));
    this.act = activation(config.hidden_act);
  }
  /** [B, T, H] -> [B, T] logits (replaced = positive). */
  forward(h: Tensor): Tensor {
    const [B, T] = h.shape;
    const d = this.dense.forward(h);
    const a = this.act(d);
    const p = this.dense_prediction.forward(a);
    const out = ops.reshape(p, [B, T]);
    free(d, a, p);
    return out;
  }
}

export class ElectraForPreTraining extends PreTrainedModel {
  static override readonly architecture = 'ElectraForPreTraining';
  readonly discriminator_predictions: ElectraDiscriminatorPredictions;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'electra', false);
    this.discriminator_predictions = this.module('discriminator_predictions', new ElectraDiscriminatorPredictions(config, init));
  }
  /** labels: 1 = replaced, 0 = original; the loss is BCE over positions with attention_mask == 1. */
  forward(inputs: ModelInputs): ModelOutput {
    const base = this.runBase(inputs);
    const logits = this.discriminator_predictions.forward(base.sequenceOutput);
    const out: ModelOutput = { logits, hidden_states: base.hiddenStates };
    if (inputs.labels) out.loss = replacedTokenLoss(logits, inputs.labels, inputs.attention_mask);
    return out;
  }
}

/**
 * Mean sigmoid cross-entropy over the active (attention_mask == 1) positions. Labels: integer
 * (from the CPU) or float 0/1 (e.g. made on the GPU by ELECTRA's sampling step).
 */
export function replacedTokenLoss(logits: Tensor, labels: Tensor, attentionMask?: Tensor): Tensor {
  const [B, T] = logits.shape;
  if (labels.size !== B * T) throw new Error(`labels ${shapeStr(labels.shape)} do not match logits ${shapeStr(logits.shape)}`);
  const mask = attentionMask ? host(attentionMask, 'attention_mask') : null;
  const weights = new Float32Array(B * T);
  let active = 0;
  for (let i = 0; i < B * T; i++) {
    weights[i] = !mask || mask[i] === 1 ? 1 : 0;
    active += weights[i];
  }
  if (active === 0) throw new Error('replaced-token loss: no active position (attention_mask is all 0)');
  const y = labels.dtype === 'f32' ? labels.view([B, T]) : ops.tensor(Float32Array.from(host(labels, 'labels')), [B, T]);
  const w = ops.tensor(weights, [B, T]);
  const meanAll = ops.bceWithLogits(logits, y, w); // sum(w * l) / (B * T)
  const loss = ops.mulScalar(meanAll, (B * T) / active);
  free(y, w, meanAll);
  return loss;
}

export class ElectraForMaskedLM extends PreTrainedModel {
  static override readonly architecture = 'ElectraForMaskedLM';
  readonly generator_predictions: BertPredictionHeadTransform;
  readonly generator_lm_head: TiedLinear;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'electra', false);
    const E = config.embedding_size ?? config.hidden_size;
    // ELECTRA's generator head always uses gelu (not hidden_act)
    this.generator_predictions = this.module('generator_predictions', new BertPredictionHeadTransform(config, init, E, 'gelu'));
    this.generator_lm_head = this.module(
      'generator_lm_head',
      new TiedLinear(this.base.embeddings.word_embeddings.weight, config.vocab_size),
    );
  }
  forward(inputs: ModelInputs, { labelledOnly = this.training }: ForwardOptions = {}): ModelOutput {
    const base = this.runBase(inputs);
    const head = (h: Tensor) => {
      const t = this.generator_predictions.forward(h);
      const out = this.generator_lm_head.forward(t);
      free(t);
      return out;
    };
    const m = mlm(head, base.sequenceOutput, inputs.labels, this.config.vocab_size, labelledOnly);
    return { logits: m.logits, loss: m.loss, hidden_states: base.hiddenStates, mlm_positions: m.positions };
  }
}

/** features[:, 0] -> dropout -> dense -> act -> dropout -> out_proj (ELECTRA gelu, RoBERTa tanh). */
export class ClassificationHead extends Module {
  readonly dense: Linear;
  readonly dropout: Dropout;
  readonly out_proj: Linear;
  constructor(
    config: BertConfig,
    init: ModelInit,
    private readonly act: (x: Tensor) => Tensor,
  ) {
    super();
    this.dense = this.module('dense', new Linear(config.hidden_size, config.hidden_size, initOf(config, init)));
    this.dropout = this.module('dropout', new Dropout(config.classifier_dropout ?? config.hidden_dropout_prob, init.generator));
    this.out_proj = this.module('out_proj', new Linear(config.hidden_size, numLabels(config), initOf(config, init)));
  }
  forward(features: Tensor): Tensor {
    const x = firstToken(features);
    const d1 = this.dropout.forward(x);
    const h = this.dense.forward(d1);
    const a = this.act(h);
    const d2 = this.dropout.forward(a);
    const out = this.out_proj.forward(d2);
    free(x, d1, h, a, d2);
    return out;
  }
}

/** ClassificationHead on the first token (ELECTRA: gelu, RoBERTa: tanh), no pooler. */
export abstract class HeadClassificationModel extends PreTrainedModel {
  readonly classifier: ClassificationHead;
  constructor(config: BertConfig, init: ModelInit, baseName: BaseName, act: (x: Tensor) => Tensor) {
    super(config, init, baseName, false);
    this.classifier = this.module('classifier', new ClassificationHead(config, init, act));
  }
  forward(inputs: ModelInputs): ModelOutput {
    const base = this.runBase(inputs);
    const logits = this.classifier.forward(base.sequenceOutput);
    const out: ModelOutput = { logits, hidden_states: base.hiddenStates };
    if (inputs.labels) out.loss = sequenceClassificationLoss(this.config, logits, inputs.labels);
    return out;
  }
}

export class ElectraForSequenceClassification extends HeadClassificationModel {
  static override readonly architecture = 'ElectraForSequenceClassification';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'electra', activation('gelu'));
  }
}

export class ElectraForTokenClassification extends TokenClassificationModel {
  static override readonly architecture = 'ElectraForTokenClassification';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'electra');
  }
}

export class ElectraForQuestionAnswering extends QuestionAnsweringModel {
  static override readonly architecture = 'ElectraForQuestionAnswering';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'electra');
  }
}

/**
 * Hugging Face's SequenceSummary as ELECTRA configures it (summary_type 'first'): first_dropout ->
 * summary (Linear H -> H, or H -> num_labels with summary_proj_to_labels) -> summary_activation ->
 * last_dropout. Missing fields take ElectraConfig's defaults.
 */
export class SequenceSummary extends Module {
  readonly summary: Linear | null;
  readonly first_dropout: Dropout;
  readonly last_dropout: Dropout;
  private readonly act: ((x: Tensor) => Tensor) | null;
  constructor(config: BertConfig, init: ModelInit) {
    super();
    const type = config.summary_type ?? 'first';
    if (type !== 'first') throw new Error(`SequenceSummary: summary_type '${type}' is not supported (only 'first', ELECTRA's)`);
    const toLabels = config.summary_proj_to_labels === true && numLabels(config) > 0;
    const out = toLabels ? numLabels(config) : config.hidden_size;
    this.summary =
      (config.summary_use_proj ?? true) ? this.module('summary', new Linear(config.hidden_size, out, initOf(config, init))) : null;
    const act = config.summary_activation === undefined ? 'gelu' : config.summary_activation;
    this.act = act ? activation(act as string) : null;
    this.first_dropout = this.module(
      'first_dropout',
      new Dropout((config.summary_first_dropout as number | undefined) ?? 0, init.generator),
    );
    this.last_dropout = this.module(
      'last_dropout',
      new Dropout((config.summary_last_dropout as number | undefined) ?? 0.1, init.generator),
    );
  }
  /** [B, T, H] -> [B, H'] */
  forward(h: Tensor): Tensor {
    const x = firstToken(h);
    const d = this.first_dropout.forward(x);
    const s = this.summary ? this.summary.forward(d) : null;
    const a = this.act ? this.act(s ?? d) : null;
    const out = this.last_dropout.forward(a ?? s ?? d);
    free(x, d, s, a);
    return out;
  }
}

export class ElectraForMultipleChoice extends PreTrainedModel {
  static override readonly architecture = 'ElectraForMultipleChoice';
  readonly sequence_summary: SequenceSummary;
  readonly classifier: Linear;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'electra', false);
    this.sequence_summary = this.module('sequence_summary', new SequenceSummary(config, init));
    this.classifier = this.module('classifier', new Linear(config.hidden_size, 1, initOf(config, init)));
  }
  /** input_ids etc. are [B, C, T] (C choices); logits [B, C]. */
  forward(inputs: ModelInputs): ModelOutput {
    return multipleChoice(this, inputs, (base) => {
      const pooled = this.sequence_summary.forward(base.sequenceOutput);
      const scores = this.classifier.forward(pooled);
      free(pooled);
      return scores;
    });
  }
}

// ---- RoBERTa ----

export class RobertaLMHead extends Module {
  readonly dense: Linear;
  readonly layer_norm: LayerNorm;
  readonly bias: Tensor;
  constructor(
    config: BertConfig,
    init: ModelInit,
    readonly wordEmbeddings: Tensor,
  ) {
    super();
    this.dense = this.module('dense', new Linear(config.hidden_size, config.hidden_size, initOf(config, init)));
    this.layer_norm = this.module('layer_norm', new LayerNorm(config.hidden_size, config.layer_norm_eps));
    this.bias = this.param('bias', ops.zeros([config.vocab_size]));
    this.module('decoder', new TiedLinear(wordEmbeddings, this.bias));
  }
  forward(h: Tensor): Tensor {
    const d = this.dense.forward(h);
    const a = ops.gelu(d);
    const n = this.layer_norm.forward(a);
    const out = tiedDecoder(n, this.wordEmbeddings, this.bias);
    free(d, a, n);
    return out;
  }
}

export class RobertaForMaskedLM extends PreTrainedModel {
  static override readonly architecture = 'RobertaForMaskedLM';
  readonly lm_head: RobertaLMHead;
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'roberta', false);
    this.lm_head = this.module('lm_head', new RobertaLMHead(config, init, this.base.embeddings.word_embeddings.weight));
  }
  forward(inputs: ModelInputs, { labelledOnly = this.training }: ForwardOptions = {}): ModelOutput {
    const base = this.runBase(inputs);
    const m = mlm((h) => this.lm_head.forward(h), base.sequenceOutput, inputs.labels, this.config.vocab_size, labelledOnly);
    return { logits: m.logits, loss: m.loss, hidden_states: base.hiddenStates, mlm_positions: m.positions };
  }
}

export class RobertaForSequenceClassification extends HeadClassificationModel {
  static override readonly architecture = 'RobertaForSequenceClassification';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'roberta', ops.tanh);
  }
}

export class RobertaForTokenClassification extends TokenClassificationModel {
  static override readonly architecture = 'RobertaForTokenClassification';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'roberta');
  }
}

export class RobertaForQuestionAnswering extends QuestionAnsweringModel {
  static override readonly architecture = 'RobertaForQuestionAnswering';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'roberta');
  }
}

export class RobertaForMultipleChoice extends PooledMultipleChoiceModel {
  static override readonly architecture = 'RobertaForMultipleChoice';
  constructor(config: BertConfig, init: ModelInit = {}) {
    super(config, init, 'roberta');
  }
}

export const ARCHITECTURES = {
  BertForPreTraining,
  BertForMaskedLM,
  BertForNextSentencePrediction,
  BertForSequenceClassification,
  BertForMultipleChoice,
  BertForTokenClassification,
  BertForQuestionAnswering,
  ElectraForPreTraining,
  ElectraForMaskedLM,
  ElectraForSequenceClassification,
  ElectraForTokenClassification,
  ElectraForQuestionAnswering,
  ElectraForMultipleChoice,
  RobertaForMaskedLM,
  RobertaForSequenceClassification,
  RobertaForTokenClassification,
  RobertaForQuestionAnswering,
  RobertaForMultipleChoice,
} as const;
export type ArchitectureName = keyof typeof ARCHITECTURES;

export function createModel(architecture: string, config: BertConfig, init: ModelInit = {}): PreTrainedModel {
  const cls = (ARCHITECTURES as Record<string, new (c: BertConfig, i: ModelInit) => PreTrainedModel>)[architecture];
  if (!cls) throw new Error(`unknown architecture '${architecture}' (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  return new cls(config, init);
}
