// Modules with named parameters (Hugging Face names, so checkpoints map 1:1), and the layers
// the BERT family is built from: Linear, Embedding, LayerNorm, Dropout.
import { Tensor, shapeStr } from '../tensor.js';
import * as ops from '../ops/index.js';
import type { Generator } from '../ops/creation.js';
import { runtime as runtimeOf } from '../runtime.js';

export class Module {
  training = true;
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /** Registers a parameter; it requires grad and belongs to no scope. */
  protected param(name: string, t: Tensor): Tensor {
    t.setRequiresGrad(true).keep();
    t.name = name;
    this.ownParams.set(name, t);
    return t;
  }

  /** Replaces a parameter by another tensor (weight tying; loading). */
  protected setParam(name: string, t: Tensor): void {
    if (!this.ownParams.has(name)) throw new Error(`module has no parameter '${name}'`);
    this.ownParams.set(name, t);
  }

  /** Registers a tensor owned elsewhere under another name (tied weights): no re-init, no rename. */
  protected share(name: string, t: Tensor): Tensor {
    this.ownParams.set(name, t);
    return t;
  }

  protected module<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** [name, tensor] for every parameter; a tensor shared by several names (tied) appears once, under its first name. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    for (const [name, t] of this.allNamedParameters()) {
      if (seen.has(t)) continue;
      seen.add(t);
      out.push([name, t]);
    }
    return out;
  }

  /** Every name, tied ones included. */
  allNamedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.ownParams) out.push([prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.allNamedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** [path, module] for this module ('') and every descendant, as torch's named_modules(). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this.children) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  /** This module's own parameters (not its children's), by name. */
  ownParameters(): [string, Tensor][] {
    return [...this.ownParams];
  }

  train(mode = true): this {
    this.training = mode;
    for (const m of this.children.values()) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Copies values into the parameters (shapes must match); returns the names that were not given. */
  loadWeights(
    weights: Map<string, { data: Float32Array | Int32Array; shape: number[] }>,
    { source = 'checkpoint', allowMissing = [] as string[] } = {},
  ): void {
    const missing: string[] = [];
    const all = this.allNamedParameters();
    const loaded = new Set<Tensor>();
    // Recorded work (e.g. the random init) must run before these writes, not after them.
    runtimeOf().flush();
    for (const [name, t] of all) {
      const w = weights.get(name);
      if (!w) continue;
      if (w.shape.length !== t.shape.length || w.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`${source}: tensor '${name}' has shape ${shapeStr(w.shape)}, the model expects ${shapeStr(t.shape)}`);
      }
      if (!(w.data instanceof Float32Array)) throw new Error(`${source}: tensor '${name}' is not floating point`);
      t.assertAlive('loadWeights');
      runtimeOf().upload(t.buffer, w.data);
      loaded.add(t);
    }
    for (const [name, t] of all) if (!loaded.has(t) && !allowMissing.includes(name)) missing.push(name);
    if (missing.length)
      throw new Error(
        `${source}: missing tensor(s) ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}`,
      );
  }

  /** Frees every parameter's storage and gradient. */
  dispose(): void {
    for (const p of this.parameters()) {
      p.zeroGrad();
      p.dispose();
    }
  }
}

/** Children named 0, 1, 2, ... (HF's nn.ModuleList), e.g. `encoder.layer.3`. */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[] = [];
  push(m: M): M {
    this.module(String(this.items.length), m);
    this.items.push(m);
    return m;
  }
}

export interface InitOptions {
  std: number;
  generator?: Generator;
}

/** Something added to a Linear's output (a LoRA adapter): y' = adapter.apply(linear, x, y). */
export interface LinearAdapter {
  apply(linear: Linear, x: Tensor, y: Tensor): Tensor;
}

/** Something that rewrites an Embedding's output (PEFT's trainable tokens): y' = adapter.apply(embedding, ids, y). */
export interface EmbeddingAdapter {
  apply(embedding: Embedding, ids: Tensor, y: Tensor): Tensor;
}

export class Linear extends Module {
  weight: Tensor;
  readonly bias: Tensor | null;
  /** Set by src/nn/lora.ts on the layers an adapter targets. */
  adapter: LinearAdapter | null = null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: InitOptions,
    bias = true,
  ) {
    super();
    this.weight = this.param('weight', ops.randn([outFeatures, inFeatures], { std: init.std, generator: init.generator }));
    this.bias = bias ? this.param('bias', ops.zeros([outFeatures])) : null;
  }
  /**
   * Stores the weight as f16 (half the bytes; matmul widens each load to f32 and accumulates in
   * f32) for inference: the weight no longer trains. Needs the device feature shader-f16.
   */
  async halfWeight(): Promise<void> {
    if (this.weight.dtype === 'f16') return;
    this.weight = await halved(this.weight);
    this.setParam('weight', this.weight);
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(`Linear(${this.inFeatures}, ${this.outFeatures}): input ${shapeStr(x.shape)} must end in ${this.inFeatures}`);
    }
    const y = ops.matmul(x, this.weight, { transB: true, bias: this.bias });
    return this.adapter ? this.adapter.apply(this, x, y) : y;
  }
}

export class Embedding extends Module {
  weight: Tensor;
  /** Stores the weight as f16 for inference (as Linear.halfWeight); the lookup widens it to f32. */
  async halfWeight(): Promise<void> {
    if (this.weight.dtype === 'f16') return;
    this.weight = await halved(this.weight);
    this.setParam('weight', this.weight);
  }
  /** Set by src/nn/lora.ts on an embedding whose adapter trains some of its rows. */
  adapter: EmbeddingAdapter | null = null;
  constructor(
    readonly num: number,
    readonly dim: number,
    init: InitOptions,
    readonly paddingIdx?: number,
  ) {
    super();
    this.weight = this.param('weight', ops.randn([num, dim], { std: init.std, generator: init.generator }));
    if (paddingIdx !== undefined) {
      // torch zeroes the padding row at init
      const row = ops.zeros([1, dim]);
      ops.stridedCopy(row, 0, [dim, 1], this.weight, paddingIdx * dim, [dim, 1], [1, dim]);
      row.dispose();
    }
  }
  forward(ids: Tensor): Tensor {
    const y = ops.embedding(this.weight, ids, this.paddingIdx);
    return this.adapter ? this.adapter.apply(this, ids, y) : y;
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.param('weight', ops.ones([dim]));
    this.bias = this.param('bias', ops.zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class Dropout extends Module {
  constructor(
    readonly p: number,
    readonly generator?: Generator,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return ops.dropout(x, this.p, { training: this.training, generator: this.generator });
  }
}

/** Hugging Face `hidden_act` names -> ops. */
export function activation(name: string): (x: Tensor) => Tensor {
  switch (name) {
    case 'gelu':
      return (x) => ops.gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return (x) => ops.gelu(x, { approximate: 'tanh' });
    case 'relu':
      return ops.relu;
    case 'tanh':
      return ops.tanh;
    default:
      throw new Error(`unsupported hidden_act '${name}' (supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, tanh)`);
  }
}

/** An f16 copy of a weight (the f32 one is freed). */
async function halved(t: Tensor): Promise<Tensor> {
  const half = Tensor.fromData(await t.toArray(), t.shape, 'f16').keep();
  half.name = t.name;
  t.dispose();
  return half;
}

/**
 * Every Linear weight of `model` stored as f16 for inference (Linear.halfWeight): half their bytes
 * on the device, activations, embeddings, layer norms and biases stay f32. Returns the bytes saved.
 */
export async function halfLinearWeights(model: Module): Promise<number> {
  return halfWeightsOf(model, (m) => m instanceof Linear);
}

/**
 * halfLinearWeights plus the embedding tables (word, position, token type), except one tied to
 * another module (an MLM decoder sharing the word embeddings keeps both f32). Returns the bytes saved.
 */
export async function halfWeights(model: Module): Promise<number> {
  const uses = new Map<Tensor, number>();
  for (const [, t] of model.allNamedParameters()) uses.set(t, (uses.get(t) ?? 0) + 1);
  return halfWeightsOf(model, (m) => m instanceof Linear || (m instanceof Embedding && uses.get(m.weight) === 1));
}

async function halfWeightsOf(model: Module, pick: (m: Module) => boolean): Promise<number> {
  let saved = 0;
  for (const [, m] of model.namedModules()) {
    if (!pick(m) || !(m instanceof Linear || m instanceof Embedding) || m.weight.dtype === 'f16') continue;
    const before = m.weight.bytes;
    await m.halfWeight();
    saved += before - m.weight.bytes;
  }
  return saved;
}
