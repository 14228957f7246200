// The BERT encoder, post-LN as BERT is, with Hugging Face's module names. ELECTRA and RoBERTa
// use the same blocks: ELECTRA through embedding_size (+ embeddings_project), RoBERTa through
// its position ids (counted from padding_idx + 1).
import { Tensor, shapeStr } from '../tensor.js';
import * as ops from '../ops/index.js';
import { runtime } from '../runtime.js';
import { Module, ModuleList, Linear, Embedding, LayerNorm, Dropout, activation } from '../nn/module.js';
import type { Generator } from '../ops/creation.js';
import type { BertConfig } from './config.js';

/** Disposes intermediates as a forward pass goes (the tape keeps what backward needs). */
export function free(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) t?.dispose();
}

let fusedKernels = true;
/**
 * Whether the encoder layers use the fused kernels (bias + GELU, dropout + residual + LayerNorm,
 * softmax + dropout) or the op-by-op path; both give the same numbers (test/engine-fused-layer).
 * Returns the previous setting.
 */
export function setFusedKernels(on: boolean): boolean {
  const prev = fusedKernels;
  fusedKernels = on;
  return prev;
}

export interface ModelInit {
  /** Random source of the initial weights and of dropout. */
  generator?: Generator;
  /** Embeddings owned by another model (ELECTRA's generator shares the discriminator's). */
  embeddings?: BertEmbeddings;
  /** A task model's whole base owned by another task model (several heads on one encoder: continual replay). */
  base?: BertModel;
}

export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;
  readonly dim: number;
  constructor(
    readonly config: BertConfig,
    init: ModelInit = {},
  ) {
    super();
    const std = { std: config.initializer_range, generator: init.generator };
    this.dim = config.embedding_size ?? config.hidden_size;
    const roberta = config.model_type === 'roberta';
    this.word_embeddings = this.module('word_embeddings', new Embedding(config.vocab_size, this.dim, std, config.pad_token_id));
    this.position_embeddings = this.module(
      'position_embeddings',
      new Embedding(config.max_position_embeddings, this.dim, std, roberta ? config.pad_token_id : undefined),
    );
    this.token_type_embeddings = this.module('token_type_embeddings', new Embedding(config.type_vocab_size, this.dim, std));
    this.LayerNorm = this.module('LayerNorm', new LayerNorm(this.dim, config.layer_norm_eps));
    this.dropout = this.module('dropout', new Dropout(config.hidden_dropout_prob, init.generator));
  }

  /** Position ids: 0..T-1 (BERT, ELECTRA) or, for RoBERTa, padding_idx + 1 + running count of non-pad tokens. */
  positionIds(inputIds: Tensor): Tensor {
    const [B, T] = inputIds.shape;
    if (T > this.config.max_position_embeddings - (this.config.model_type === 'roberta' ? this.config.pad_token_id + 1 : 0)) {
      throw new Error(`embeddings: sequence length ${T} exceeds max_position_embeddings ${this.config.max_position_embeddings}`);
    }
    if (this.config.model_type !== 'roberta') return ops.arange(T);
    const ids = inputIds.hostData;
    if (!ids) throw new Error('embeddings: RoBERTa position ids are computed from input_ids on the CPU; pass input_ids made from CPU data');
    const pad = this.config.pad_token_id;
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let count = 0;
      for (let t = 0; t < T; t++) {
        const notPad = ids[b * T + t] !== pad;
        if (notPad) count++;
        pos[b * T + t] = notPad ? count + pad : pad;
      }
    }
    return ops.tensor(pos, [B, T]);
  }

  forward(inputIds: Tensor, tokenTypeIds?: Tensor): Tensor {
    if (inputIds.rank !== 2) throw new Error(`embeddings: input_ids must be [batch, seq], got ${shapeStr(inputIds.shape)}`);
    const words = this.word_embeddings.forward(inputIds);
    // made on the CPU, so the embedding backward buckets its B*T ids by row instead of scanning
    // them all in 2 invocations
    const types = tokenTypeIds ?? ops.tensor(new Int32Array(inputIds.size), inputIds.shape, 'i32');
    if (tokenTypeIds && shapeStr(tokenTypeIds.shape) !== shapeStr(inputIds.shape)) {
      throw new Error(`embeddings: token_type_ids ${shapeStr(tokenTypeIds.shape)} must match input_ids ${shapeStr(inputIds.shape)}`);
    }
    const typeEmb = this.token_type_embeddings.forward(types);
    const posIds = this.positionIds(inputIds);
    const posEmb = this.position_embeddings.forward(posIds);
    const a = ops.add(words, typeEmb);
    const b = ops.add(a, posEmb); // [B, T, E] + [T, E] (BERT) or [B, T, E] (RoBERTa)
    const normed = this.LayerNorm.forward(b);
    const out = this.dropout.forward(normed);
    free(words, typeEmb, posEmb, a, b, normed, posIds, tokenTypeIds ? null : types);
    return out;
  }
}

export class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly dropout: Dropout;
  readonly heads: number;
  readonly headDim: number;
  constructor(config: BertConfig, init: ModelInit) {
    super();
    const std = { std: config.initializer_range, generator: init.generator };
    const H = config.hidden_size;
    this.heads = config.num_attention_heads;
    this.headDim = H / this.heads;
    this.query = this.module('query', new Linear(H, H, std));
    this.key = this.module('key', new Linear(H, H, std));
    this.value = this.module('value', new Linear(H, H, std));
    this.dropout = this.module('dropout', new Dropout(config.attention_probs_dropout_prob, init.generator));
  }

  private split(x: Tensor): Tensor {
    const [B, T] = x.shape;
    const r = ops.reshape(x, [B, T, this.heads, this.headDim]);
    const p = ops.permute(r, [0, 2, 1, 3]);
    free(r, x);
    return p;
  }

  /** Whether the three projections can run as one qkvLinear: not where a LoRA adapter, no bias or f16 weights keep them apart. */
  private packable(x: Tensor): boolean {
    const [q, k, v] = [this.query, this.key, this.value];
    if (!fusedKernels || q.adapter || k.adapter || v.adapter || !q.bias || !k.bias || !v.bias) return false;
    if ([q, k, v].some((l) => l.weight.dtype !== 'f32')) return false; // f16 weights (inference): three matmuls
    return x.shape[x.rank - 1] === q.inFeatures; // else Linear's own shape error
  }

  /** x [B, T, H], mask: additive [B, 1, 1, T] or null -> [B, T, H]. */
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const variant = runtime().attentionVariant(this.headDim);
    if (variant !== 'unfused' || fusedKernels) {
      // one op per direction on the projections as they are: no head split / merge copies (the
      // fused kernels keep no [B, heads, T, T] probabilities for backward either)
      const d = this.dropout;
      const options = { heads: this.heads, mask, dropout: d.p, training: d.training, generator: d.generator, variant };
      if (this.packable(x)) {
        // one packing dispatch and one matmul for the three projections (gradients reach each
        // Linear's own parameters through qkvLinear's backward)
        const [q, k, v] = [this.query, this.key, this.value];
        const qkv = ops.qkvLinear(x, [q.weight, k.weight, v.weight], [q.bias!, k.bias!, v.bias!]);
        const out = ops.attentionQkv(qkv, options);
        free(qkv);
        return out;
      }
      const q = this.query.forward(x);
      const k = this.key.forward(x);
      const v = this.value.forward(x);
      const out = ops.attention(q, k, v, options);
      free(q, k, v);
      return out;
    }
    // op by op (setFusedKernels(false)): the reference path
    const [B, T, H] = x.shape;
    const q = this.split(this.query.forward(x));
    const k = this.split(this.key.forward(x));
    const v = this.split(this.value.forward(x));
    const scores = ops.matmul(q, k, { transB: true, alpha: 1 / Math.sqrt(this.headDim) });
    const probs = ops.softmax(scores, { mask: mask ?? undefined });
    const dropped = this.dropout.forward(probs);
    const ctx = ops.matmul(dropped, v); // [B, heads, T, D]
    const merged = ops.permute(ctx, [0, 2, 1, 3]);
    const out = ops.reshape(merged, [B, T, H]);
    free(q, k, v, scores, probs, dropped, ctx, merged);
    return out;
  }
}

/** dense -> dropout -> LayerNorm(x + residual): BertSelfOutput and BertOutput. */
export class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  readonly dropout: Dropout;
  constructor(config: BertConfig, inDim: number, init: ModelInit) {
    super();
    this.dense = this.module('dense', new Linear(inDim, config.hidden_size, { std: config.initializer_range, generator: init.generator }));
    this.LayerNorm = this.module('LayerNorm', new LayerNorm(config.hidden_size, config.layer_norm_eps));
    this.dropout = this.module('dropout', new Dropout(config.hidden_dropout_prob, init.generator));
  }
  forward(x: Tensor, residual: Tensor): Tensor {
    const h = this.dense.forward(x);
    if (fusedKernels) {
      const { LayerNorm: ln, dropout: d } = this;
      const out = ops.residualLayerNorm(h, residual, ln.weight, ln.bias, {
        eps: ln.eps,
        dropout: d.p,
        training: d.training,
        generator: d.generator,
      });
      free(h);
      return out;
    }
    const d = this.dropout.forward(h);
    const s = ops.add(d, residual);
    const out = this.LayerNorm.forward(s);
    free(h, d, s);
    return out;
  }
}

export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;
  constructor(config: BertConfig, init: ModelInit) {
    super();
    this.self = this.module('self', new BertSelfAttention(config, init));
    this.output = this.module('output', new BertResidualOutput(config, config.hidden_size, init));
  }
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const a = this.self.forward(x, mask);
    const out = this.output.forward(a, x);
    free(a);
    return out;
  }
}

export class BertIntermediate extends Module {
  readonly dense: Linear;
  private readonly act: (x: Tensor) => Tensor;
  private readonly exactGelu: boolean;
  constructor(config: BertConfig, init: ModelInit) {
    super();
    this.exactGelu = config.hidden_act === 'gelu';
    this.dense = this.module(
      'dense',
      new Linear(config.hidden_size, config.intermediate_size, { std: config.initializer_range, generator: init.generator }),
    );
    this.act = activation(config.hidden_act);
  }
  forward(x: Tensor): Tensor {
    const dense = this.dense;
    // fused: the matmul with its bias and GELU in one dispatch; a LoRA-wrapped dense
    // (dense.adapter) keeps its own forward
    if (fusedKernels && this.exactGelu && dense.bias && !dense.adapter) {
      if (x.shape[x.rank - 1] !== dense.inFeatures) return dense.forward(x); // Linear's own shape error
      return ops.linearGelu(x, dense.weight, dense.bias);
    }
    const h = dense.forward(x);
    const out = this.act(h);
    free(h);
    return out;
  }
}

export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;
  constructor(config: BertConfig, init: ModelInit) {
    super();
    this.attention = this.module('attention', new BertAttention(config, init));
    this.intermediate = this.module('intermediate', new BertIntermediate(config, init));
    this.output = this.module('output', new BertResidualOutput(config, config.intermediate_size, init));
  }
  forward(x: Tensor, mask: Tensor | null): Tensor {
    const a = this.attention.forward(x, mask);
    const i = this.intermediate.forward(a);
    const out = this.output.forward(i, a);
    free(a, i);
    return out;
  }
}

export class BertEncoder extends Module {
  readonly layer: BertLayer[] = [];
  constructor(config: BertConfig, init: ModelInit) {
    super();
    const list = this.module('layer', new ModuleList<BertLayer>());
    for (let i = 0; i < config.num_hidden_layers; i++) this.layer.push(list.push(new BertLayer(config, init)));
  }
  /** Returns every hidden state: the input, then each layer's output. */
  forward(x: Tensor, mask: Tensor | null): Tensor[] {
    const states = [x];
    for (const l of this.layer) states.push(l.forward(states[states.length - 1], mask));
    return states;
  }
}

export class BertPooler extends Module {
  readonly dense: Linear;
  constructor(config: BertConfig, init: ModelInit) {
    super();
    this.dense = this.module(
      'dense',
      new Linear(config.hidden_size, config.hidden_size, { std: config.initializer_range, generator: init.generator }),
    );
  }
  /** tanh(dense(h[:, 0])) */
  forward(h: Tensor): Tensor {
    const first = firstToken(h);
    const d = this.dense.forward(first);
    const out = ops.tanh(d);
    free(first, d);
    return out;
  }
}

/** h[:, 0, :] as [B, H]. */
export function firstToken(h: Tensor): Tensor {
  const [B, , H] = h.shape;
  const s = ops.slice(h, 1, 0, 1);
  const out = ops.reshape(s, [B, H]);
  free(s);
  return out;
}

/** HF's extended attention mask: [B, T] of 1/0 -> additive [B, 1, 1, T] of 0 / float32 min. */
export function extendedAttentionMask(attentionMask: Tensor): Tensor {
  const m = attentionMask.hostData;
  if (!m) throw new Error('attention_mask must be made from CPU data (its additive form is built on the CPU)');
  const [B, T] = attentionMask.shape;
  const out = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i] ? 0 : -3.4028234663852886e38;
  return ops.tensor(out, [B, 1, 1, T]);
}

export interface BaseOutput {
  sequenceOutput: Tensor;
  pooledOutput: Tensor | null;
  hiddenStates: Tensor[];
}

/** BertModel / ElectraModel / RobertaModel: embeddings (+ projection) -> encoder (-> pooler). */
/** What a value passed where a tensor belongs is, for error messages. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${(v as unknown as ArrayLike<number>).length}`;
  if (typeof v === 'object') return `an object with keys ${Object.keys(v).join(', ') || '(none)'}`;
  return `${typeof v} ${String(v)}`;
}

export class BertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly embeddings_project: Linear | null = null;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null = null;
  constructor(
    readonly config: BertConfig,
    { addPoolingLayer = true, ...init }: ModelInit & { addPoolingLayer?: boolean } = {},
  ) {
    super();
    const E = config.embedding_size ?? config.hidden_size;
    if (init.embeddings && init.embeddings.dim !== E) {
      throw new Error(`shared embeddings are ${init.embeddings.dim} wide, this model's embedding_size is ${E}`);
    }
    this.embeddings = this.module('embeddings', init.embeddings ?? new BertEmbeddings(config, init));
    if (E !== config.hidden_size) {
      this.embeddings_project = this.module(
        'embeddings_project',
        new Linear(E, config.hidden_size, { std: config.initializer_range, generator: init.generator }),
      );
    }
    this.encoder = this.module('encoder', new BertEncoder(config, init));
    if (addPoolingLayer) this.pooler = this.module('pooler', new BertPooler(config, init));
  }

  /**
   * input_ids [batch, seq] (i32) and optional attention_mask / token_type_ids of its shape, given
   * as forward(inputIds, { attentionMask, tokenTypeIds }) or as Hugging Face's named inputs
   * forward({ input_ids, attention_mask, token_type_ids }).
   */
  forward(
    inputIds: Tensor | { input_ids: Tensor; attention_mask?: Tensor; token_type_ids?: Tensor },
    { attentionMask, tokenTypeIds }: { attentionMask?: Tensor; tokenTypeIds?: Tensor } = {},
  ): BaseOutput {
    if (!(inputIds instanceof Tensor)) {
      const named = inputIds as { input_ids?: unknown; attention_mask?: Tensor; token_type_ids?: Tensor } | null;
      if (named && typeof named === 'object' && named.input_ids instanceof Tensor)
        return this.forward(named.input_ids, { attentionMask: named.attention_mask, tokenTypeIds: named.token_type_ids });
      throw new Error(
        `BertModel.forward: input_ids must be a Tensor [batch, seq] of i32 ids (forward(ids, { attentionMask, tokenTypeIds }) or forward({ input_ids, attention_mask, token_type_ids })), got ${describe(inputIds)}`,
      );
    }
    for (const [name, t] of [
      ['attention_mask', attentionMask],
      ['token_type_ids', tokenTypeIds],
    ] as const) {
      if (t !== undefined && !(t instanceof Tensor))
        throw new Error(`BertModel.forward: ${name} must be a Tensor of input_ids' shape ${shapeStr(inputIds.shape)}, got ${describe(t)}`);
    }
    if (attentionMask && shapeStr(attentionMask.shape) !== shapeStr(inputIds.shape)) {
      throw new Error(`attention_mask ${shapeStr(attentionMask.shape)} must match input_ids ${shapeStr(inputIds.shape)}`);
    }
    const ids = inputIds.hostData;
    if (ids) {
      const V = this.config.vocab_size;
      ids.forEach((v, i) => {
        if (v < 0 || v >= V) throw new Error(`input_ids: token id ${v} at position ${i} is out of range [0, ${V}) (vocab_size)`);
      });
    }
    const types = tokenTypeIds?.hostData;
    if (types) {
      types.forEach((v, i) => {
        if (v < 0 || v >= this.config.type_vocab_size)
          throw new Error(`token_type_ids: ${v} at position ${i} is out of range [0, ${this.config.type_vocab_size}) (type_vocab_size)`);
      });
    }
    const mask = attentionMask ? extendedAttentionMask(attentionMask) : null;
    let x = this.embeddings.forward(inputIds, tokenTypeIds);
    if (this.embeddings_project) {
      const p = this.embeddings_project.forward(x);
      free(x);
      x = p;
    }
    const hiddenStates = this.encoder.forward(x, mask);
    free(mask);
    const sequenceOutput = hiddenStates[hiddenStates.length - 1];
    const pooledOutput = this.pooler ? this.pooler.forward(sequenceOutput) : null;
    return { sequenceOutput, pooledOutput, hiddenStates };
  }
}
