// LoRA adapters (Hu et al., 2021) with PEFT's semantics and file layout, so an adapter trained
// here loads in PEFT and one from PEFT loads here:
//   y = W x + b + (alpha / r) * B(A(dropout(x)))     (rsLoRA: alpha / sqrt(r))
// A [r, in] ~ Kaiming-uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)), B [out, r] = 0, as PEFT
// initialises them. The base model is frozen (requiresGrad = false), so its weights get no
// gradient kernels at all; `modules_to_save` (the task head) are trained in full and saved with
// the adapter. Several named adapters can sit on one base; one is active per call.
// PEFT's `trainable_token_indices` (TrainableTokensLayer) trains chosen rows of an embedding, such
// as the tokens a user added to the vocabulary, with the rest of it frozen: the rows' values are
// replaced (not offset) by the trained ones.
// Files: adapter_config.json + adapter_model.safetensors with keys
// `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`, `base_model.model.<module>.<param>`
// for saved modules and `base_model.model.<embedding>.token_adapter.trainable_tokens_delta` [rows, dim]
// for trained token rows (PEFT's get_peft_model_state_dict, the adapter name removed).
import { Tensor, noGrad, shapeStr } from '../tensor.js';
import { runtime } from '../runtime.js';
import * as ops from '../ops/index.js';
import { Generator } from '../ops/creation.js';
import { Embedding, Linear, Module, type EmbeddingAdapter, type LinearAdapter } from './module.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';

/** PEFT's task types that this library's task models map to. */
export type PeftTaskType = 'SEQ_CLS' | 'TOKEN_CLS' | 'QUESTION_ANS' | 'FEATURE_EXTRACTION';

export interface LoraOptions {
  /** Rank (PEFT `r`, default 8). */
  r?: number;
  /** PEFT `lora_alpha` (default 8). */
  alpha?: number;
  /** PEFT `lora_dropout` on the adapter's input (default 0). */
  dropout?: number;
  /**
   * Module names: a list matches a module whose path equals an entry or ends with `.entry`
   * (default `query`, `value`); a single string is a regular expression the whole path must match.
   */
  targetModules?: string[] | string;
  /** Modules trained in full and saved with the adapter (default: the task head of `taskType`). */
  modulesToSave?: string[];
  /** Scale by alpha / sqrt(r) instead of alpha / r. */
  useRslora?: boolean;
  /**
   * PEFT `trainable_token_indices`: embedding rows trained (and saved) with the adapter, the rest
   * of the embedding frozen. A list names rows of the input word embeddings; an object maps
   * embedding module names (matched as targetModules lists are) to their rows.
   */
  trainableTokenIndices?: number[] | Record<string, number[]>;
  taskType?: PeftTaskType;
  baseModelNameOrPath?: string | null;
  /** Seed of lora_A's initialisation and of the adapter's dropout. */
  seed?: number;
}

/** PEFT's adapter_config.json (the fields this library reads and writes). */
export interface AdapterConfig {
  peft_type: 'LORA';
  task_type: PeftTaskType | null;
  r: number;
  lora_alpha: number;
  lora_dropout: number;
  target_modules: string[] | string;
  modules_to_save: string[] | null;
  bias: 'none';
  base_model_name_or_path: string | null;
  fan_in_fan_out: false;
  use_rslora: boolean;
  trainable_token_indices: number[] | Record<string, number[]> | null;
  inference_mode: boolean;
  init_lora_weights: boolean;
  use_dora: false;
  layers_to_transform: null;
  layers_pattern: null;
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  revision: null;
}

/** The heads PEFT's task classes add to modules_to_save (PeftModelForSequenceClassification etc.). */
export const TASK_HEADS: Record<PeftTaskType, string[]> = {
  SEQ_CLS: ['classifier', 'score'],
  TOKEN_CLS: ['classifier', 'score'],
  QUESTION_ANS: ['qa_outputs'],
  FEATURE_EXTRACTION: [],
};

const PREFIX = 'base_model.model.';

interface LayerWeights {
  A: Tensor;
  B: Tensor;
}

/** One embedding's trained rows: `delta` holds their values (PEFT's name), `original` the base's. */
interface TokenRows {
  indices: number[];
  delta: Tensor;
  original: Tensor;
  /** Token id -> 1 + its position in `indices`, 0 for rows not trained. */
  slot: Int32Array;
}

interface Adapter {
  config: AdapterConfig;
  scaling: number;
  dropout: Generator;
  /** Per targeted Linear path. */
  layers: Map<string, LayerWeights>;
  /** This adapter's copy of each saved module's parameters (path.param -> tensor). */
  saved: Map<string, Tensor>;
  /** Per embedding path with trained token rows. */
  tokens: Map<string, TokenRows>;
}

const TOKENS_KEY = 'token_adapter.trainable_tokens_delta';

/** y with the rows of `values` where `ids` hit a trained row (values[k] for id indices[k]). */
function replaceRows(ids: Int32Array, shape: number[], y: Tensor, rows: TokenRows, values: Tensor, paddingIdx?: number): Tensor {
  const slots = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) slots[i] = ids[i] < rows.slot.length ? rows.slot[ids[i]] : 0;
  if (!slots.some((v) => v > 0)) return y;
  const slotsT = Tensor.fromData(slots, shape, 'i32');
  const hit = Tensor.fromData(
    slots.map((v) => (v > 0 ? 1 : 0)),
    [...shape, 1],
    'i32',
  );
  const zero = ops.zeros([1, values.shape[1]]);
  const table = ops.concat([zero, values], 0); // row 0: what ids of untrained rows pick (discarded)
  // as F.embedding(padding_idx) in PEFT's forward: the padding row's value is used, its gradient is not
  const paddingSlot = paddingIdx !== undefined && paddingIdx < rows.slot.length ? rows.slot[paddingIdx] : 0;
  const picked = ops.embedding(table, slotsT, paddingSlot > 0 ? paddingSlot : undefined);
  const out = ops.where(hit, picked, y);
  for (const t of [slotsT, hit, zero, table, picked, y]) t.dispose();
  return out;
}

/** PEFT's TrainableTokensLayer.forward: the active adapter's trained rows replace the base's. */
class TokenLayer implements EmbeddingAdapter {
  constructor(
    readonly owner: LoraModel,
    readonly path: string,
  ) {}
  apply(embedding: Embedding, ids: Tensor, y: Tensor): Tensor {
    const rows = this.owner.activeForward()?.tokens.get(this.path);
    if (!rows) return y;
    if (!ids.hostData)
      throw new Error(
        `lora: ${this.path} trains token rows and needs its ids known on the CPU (made from data), got ids ${shapeStr(ids.shape)} computed on the GPU`,
      );
    return replaceRows(ids.hostData, ids.shape, y, rows, rows.delta, embedding.paddingIdx);
  }
}

/** What a targeted Linear adds: the active adapter's B(A(dropout(x))) * scaling. */
class LoraLayer implements LinearAdapter {
  constructor(
    readonly owner: LoraModel,
    readonly path: string,
  ) {}
  apply(linear: Linear, x: Tensor, y: Tensor): Tensor {
    const adapter = this.owner.activeForward();
    const w = adapter?.layers.get(this.path);
    if (!adapter || !w) return y;
    const p = adapter.config.lora_dropout;
    const xd = ops.dropout(x, p, { training: linear.training, generator: adapter.dropout });
    const h = ops.matmul(xd, w.A, { transB: true });
    const d = ops.matmul(h, w.B, { transB: true, alpha: adapter.scaling });
    const out = ops.add(y, d);
    for (const t of [xd, h, d, y]) t.dispose();
    return out;
  }
}

function matches(path: string, target: string[] | string): boolean {
  if (typeof target === 'string') return new RegExp(`^(?:${target})$`).test(path);
  return target.some((t) => path === t || path.endsWith(`.${t}`));
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new Error(`lora: ${message}`);
}

/**
 * A model with LoRA adapters (PEFT's `get_peft_model`). The wrapped model keeps its class,
 * module paths and forward(); targeted Linear layers add the active adapter's term.
 */
export class LoraModel {
  private readonly adapters = new Map<string, Adapter>();
  private readonly hooks = new Map<string, Linear>();
  private readonly tokenHooks = new Map<string, Embedding>();
  /** The saved modules' parameters as the base model had them (used while adapters are disabled). */
  private readonly original = new Map<string, Tensor>();
  private active: string | null = null;
  private merged: string | null = null;
  private disabled = false;

  /** Freezes `model` and adds a first adapter from `options` (null: none yet, e.g. to loadAdapter()). */
  constructor(
    readonly model: Module,
    options: LoraOptions | null = {},
    adapterName = 'default',
  ) {
    for (const [, p] of model.namedParameters()) p.requiresGrad = false;
    if (options) this.addAdapter(adapterName, options);
  }

  get activeAdapter(): string | null {
    return this.active;
  }

  get adapterNames(): string[] {
    return [...this.adapters.keys()];
  }

  /** The adapter whose term forward() adds (none while disabled or merged into the weights). */
  activeForward(): Adapter | null {
    if (this.disabled || !this.active || this.merged === this.active) return null;
    return this.adapters.get(this.active) ?? null;
  }

  private linears(): [string, Linear][] {
    return this.model.namedModules().filter((e): e is [string, Linear] => e[1] instanceof Linear);
  }

  /** [path, embedding, rows] for trainable_token_indices (a list: the input word embeddings). */
  private tokenTargets(spec: number[] | Record<string, number[]>): [string, Embedding, number[]][] {
    const embeddings = this.model.namedModules().filter((e): e is [string, Embedding] => e[1] instanceof Embedding);
    const pairs: [string, number[]][] = Array.isArray(spec) ? [['word_embeddings', spec]] : Object.entries(spec);
    const out: [string, Embedding, number[]][] = [];
    for (const [name, indices] of pairs) {
      const found = embeddings.filter(([path]) => matches(path, [name]));
      check(
        found.length > 0,
        `trainable_token_indices: '${name}' matches no embedding of the model (embeddings: ${embeddings.map(([p]) => p).join(', ')})`,
      );
      for (const [path, emb] of found) {
        check(
          Array.isArray(indices) && indices.length > 0 && indices.every((i) => Number.isInteger(i) && i >= 0 && i < emb.num),
          `trainable_token_indices for ${path} must be token ids in [0, ${emb.num}), got ${describe(indices)}${
            Array.isArray(indices) ? ` (e.g. ${indices.find((i) => !(Number.isInteger(i) && i >= 0 && i < emb.num))})` : ''
          }`,
        );
        check(new Set(indices).size === indices.length, `trainable_token_indices for ${path} repeat a token id`);
        out.push([path, emb, indices]);
      }
    }
    return out;
  }

  /** Outermost modules whose path matches a modules_to_save name (PEFT wraps those, not their children). */
  private savedModules(names: string[]): [string, Module][] {
    const found: [string, Module][] = [];
    for (const [path, m] of this.model.namedModules()) {
      if (!path || !names.some((n) => path === n || path.endsWith(`.${n}`))) continue;
      if (found.some(([p]) => path.startsWith(`${p}.`))) continue;
      found.push([path, m]);
    }
    return found;
  }

  private liveSavedParams(adapter: Adapter): Map<string, Tensor> {
    const live = new Map<string, Tensor>();
    for (const [path, m] of this.savedModules(adapter.config.modules_to_save ?? [])) {
      for (const [name, t] of m.allNamedParameters()) live.set(`${path}.${name}`, t);
    }
    return live;
  }

  /** Adds a named adapter (PEFT `add_adapter`); the first one is made active. */
  addAdapter(name: string, options: LoraOptions = {}): void {
    check(/^[A-Za-z0-9_-]+$/.test(name), `adapter name '${name}' must be letters, digits, '_' or '-'`);
    check(!this.adapters.has(name), `an adapter named '${name}' exists already`);
    const r = options.r ?? 8;
    const alpha = options.alpha ?? 8;
    const dropout = options.dropout ?? 0;
    check(Number.isInteger(r) && r > 0, `r must be a positive integer, got ${r}`);
    check(Number.isFinite(alpha) && alpha > 0, `alpha must be a positive number, got ${alpha}`);
    check(dropout >= 0 && dropout < 1, `dropout must be in [0, 1), got ${dropout}`);
    const target = options.targetModules ?? ['query', 'value'];
    if (typeof target === 'string') {
      try {
        new RegExp(target);
      } catch (e) {
        throw new Error(`lora: target_modules '${target}' is not a regular expression (${(e as Error).message})`);
      }
    }
    const taskType = options.taskType ?? null;
    const config: AdapterConfig = {
      peft_type: 'LORA',
      task_type: taskType,
      r,
      lora_alpha: alpha,
      lora_dropout: dropout,
      target_modules: typeof target === 'string' ? target : [...new Set(target)].sort(),
      modules_to_save: options.modulesToSave ?? (taskType ? TASK_HEADS[taskType] : null),
      bias: 'none',
      base_model_name_or_path: options.baseModelNameOrPath ?? null,
      fan_in_fan_out: false,
      use_rslora: !!options.useRslora,
      trainable_token_indices: options.trainableTokenIndices ?? null,
      inference_mode: false,
      init_lora_weights: true,
      use_dora: false,
      layers_to_transform: null,
      layers_pattern: null,
      rank_pattern: {},
      alpha_pattern: {},
      revision: null,
    };
    const targets = this.linears().filter(([path]) => matches(path, config.target_modules));
    check(
      targets.length > 0,
      `target_modules ${JSON.stringify(config.target_modules)} match no Linear layer of the model (e.g. ${this.linears()
        .slice(0, 3)
        .map(([p]) => p)
        .join(', ')})`,
    );
    const gen = new Generator(options.seed ?? 0);
    const adapter: Adapter = {
      config,
      scaling: config.use_rslora ? alpha / Math.sqrt(r) : alpha / r,
      dropout: new Generator((options.seed ?? 0) + 1),
      layers: new Map(),
      saved: new Map(),
      tokens: new Map(),
    };
    for (const [path, linear] of targets) {
      const bound = 1 / Math.sqrt(linear.inFeatures);
      const A = ops.rand([r, linear.inFeatures], { low: -bound, high: bound, generator: gen }).keep();
      const B = ops.zeros([linear.outFeatures, r]).keep();
      A.name = `${path}.lora_A.weight`;
      B.name = `${path}.lora_B.weight`;
      adapter.layers.set(path, { A: A.setRequiresGrad(), B: B.setRequiresGrad() });
      if (!this.hooks.has(path)) {
        check(!linear.adapter, `${path} already has an adapter of another kind`);
        linear.adapter = new LoraLayer(this, path);
        this.hooks.set(path, linear);
      }
    }
    for (const [path, emb, indices] of config.trainable_token_indices ? this.tokenTargets(config.trainable_token_indices) : []) {
      const slot = new Int32Array(emb.num);
      indices.forEach((id, k) => (slot[id] = k + 1));
      const ids = Tensor.fromData(Int32Array.from(indices), [indices.length], 'i32');
      // PEFT's init: the rows' current values (init_weights = true)
      const original = noGrad(() => ops.indexSelect(emb.weight, 0, ids)).keep();
      ids.dispose();
      const delta = copyOf(original);
      delta.name = `${path}.${TOKENS_KEY}`;
      adapter.tokens.set(path, { indices: [...indices], delta: delta.setRequiresGrad(), original, slot });
      if (!this.tokenHooks.has(path)) {
        check(!emb.adapter, `${path} already has an adapter of another kind`);
        emb.adapter = new TokenLayer(this, path);
        this.tokenHooks.set(path, emb);
      }
    }
    for (const [key, t] of this.liveSavedParams(adapter)) {
      if (!this.original.has(key)) this.original.set(key, copyOf(t));
      adapter.saved.set(key, copyOf(this.original.get(key)!));
    }
    this.adapters.set(name, adapter);
    if (!this.active) this.setAdapter(name);
  }

  /** Makes `name` the adapter forward() uses and training updates (PEFT `set_adapter`). */
  setAdapter(name: string): void {
    const next = this.adapters.get(name);
    check(!!next, `no adapter named '${name}' (adapters: ${this.adapterNames.join(', ') || 'none'})`);
    check(
      this.merged === null || this.merged === name,
      `adapter '${this.merged}' is merged into the weights; unmerge() before switching to '${name}'`,
    );
    this.storeHeads();
    this.active = name;
    this.disabled = false;
    this.loadHeads(next!.saved, true);
    for (const [n, a] of this.adapters) {
      for (const w of a.layers.values()) w.A.requiresGrad = w.B.requiresGrad = n === name;
      for (const t of a.tokens.values()) t.delta.requiresGrad = n === name;
    }
  }

  /** The base model alone (PEFT's `disable_adapter` context): no adapter term, original heads. */
  disableAdapters(): void {
    if (this.disabled) return;
    check(this.merged === null, `adapter '${this.merged}' is merged into the weights; unmerge() first`);
    this.storeHeads();
    this.disabled = true;
    this.loadHeads(this.original, false);
  }

  enableAdapters(): void {
    if (!this.disabled || !this.active) return;
    this.disabled = false;
    this.loadHeads(this.adapters.get(this.active)!.saved, true);
  }

  /** Copies the live head parameters into the active adapter's store (they may have been trained). */
  private storeHeads(): void {
    if (this.disabled || !this.active) return;
    const a = this.adapters.get(this.active)!;
    for (const [key, t] of this.liveSavedParams(a)) copyInto(t, a.saved.get(key)!);
  }

  private loadHeads(from: Map<string, Tensor>, trainable: boolean): void {
    const live = new Map<string, Tensor>();
    for (const a of this.adapters.values()) for (const [k, t] of this.liveSavedParams(a)) live.set(k, t);
    for (const [key, t] of live) {
      const src = from.get(key) ?? this.original.get(key)!;
      copyInto(src, t);
      t.requiresGrad = trainable && from.has(key);
    }
  }

  /** The generator of the active adapter's dropout (its stream goes into training checkpoints), or null. */
  dropoutGenerator(): Generator | null {
    return this.active ? this.adapters.get(this.active)!.dropout : null;
  }

  /** [PEFT key, tensor] of what the active adapter trains: lora_A / lora_B and the saved modules. */
  trainableParameters(): [string, Tensor][] {
    check(!!this.active && !this.disabled, 'no active adapter');
    const a = this.adapters.get(this.active!)!;
    const out: [string, Tensor][] = [];
    for (const [path, w] of a.layers) out.push([`${PREFIX}${path}.lora_A.weight`, w.A], [`${PREFIX}${path}.lora_B.weight`, w.B]);
    for (const [path, t] of a.tokens) out.push([`${PREFIX}${path}.${TOKENS_KEY}`, t.delta]);
    for (const [key, t] of this.liveSavedParams(a)) out.push([`${PREFIX}${key}`, t]);
    return out;
  }

  /** Adds scaling * B @ A of the active adapter into each targeted weight (PEFT `merge_adapter`). */
  merge(): void {
    check(!!this.active && !this.disabled, 'no active adapter to merge');
    check(this.merged === null, `adapter '${this.merged}' is merged already`);
    this.applyDelta(1);
    this.merged = this.active;
  }

  /** Subtracts the merged adapter's delta again (PEFT `unmerge_adapter`). */
  unmerge(): void {
    check(this.merged !== null, 'no adapter is merged');
    this.applyDelta(-1);
    this.merged = null;
  }

  private applyDelta(sign: 1 | -1): void {
    const a = this.adapters.get(this.active!)!;
    noGrad(() => {
      for (const [path, w] of a.layers) {
        const linear = this.hooks.get(path)!;
        const delta = ops.matmul(w.B, w.A, { alpha: sign * a.scaling });
        const next = ops.add(linear.weight, delta);
        copyInto(next, linear.weight);
        delta.dispose();
        next.dispose();
      }
      // token rows are replaced: merged, the weight holds the trained rows; unmerged, the base's
      for (const [path, rows] of a.tokens) {
        const emb = this.tokenHooks.get(path)!;
        const all = Int32Array.from({ length: emb.num }, (_, i) => i);
        const next = replaceRows(all, [emb.num], copyOf(emb.weight), rows, sign === 1 ? rows.delta : rows.original);
        copyInto(next, emb.weight);
        next.dispose();
      }
    });
  }

  /**
   * Merges the active adapter and removes every adapter (PEFT `merge_and_unload`): the model is a
   * plain Hugging Face model again, whose exported directory holds the adapted weights and head.
   */
  mergeAndUnload(): Module {
    if (this.merged === null) this.merge();
    this.unhook();
    for (const [, p] of this.model.namedParameters()) p.requiresGrad = true;
    this.disposeAdapters();
    return this.model;
  }

  /**
   * PEFT's two files for adapter `name` (default: the active one); `metadata` goes into the
   * safetensors header next to PEFT's {"format": "pt"} (PEFT ignores other keys).
   */
  async saveAdapter(name = this.active ?? '', metadata: Record<string, string> = {}): Promise<Record<string, Uint8Array>> {
    const a = this.adapters.get(name);
    check(!!a, `no adapter named '${name}'`);
    if (name === this.active) this.storeHeads();
    const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [path, w] of a!.layers) {
      tensors[`${PREFIX}${path}.lora_A.weight`] = { data: (await w.A.toArray()) as Float32Array, shape: w.A.shape };
      tensors[`${PREFIX}${path}.lora_B.weight`] = { data: (await w.B.toArray()) as Float32Array, shape: w.B.shape };
    }
    for (const [path, t] of a!.tokens)
      tensors[`${PREFIX}${path}.${TOKENS_KEY}`] = { data: (await t.delta.toArray()) as Float32Array, shape: t.delta.shape };
    for (const [key, t] of a!.saved) tensors[`${PREFIX}${key}`] = { data: (await t.toArray()) as Float32Array, shape: t.shape };
    const config = { ...a!.config, inference_mode: true };
    return {
      'adapter_config.json': new TextEncoder().encode(JSON.stringify(config, null, 2) + '\n'),
      'adapter_model.safetensors': writeSafetensors(tensors, { ...metadata, format: 'pt' }),
    };
  }

  /**
   * Loads PEFT's two files as adapter `name` (made active). Every key must be one this model's
   * adapter has, with PEFT's shapes; the error names the first that is not.
   */
  loadAdapter(files: Record<string, Uint8Array>, name = 'default', source = 'adapter'): void {
    const config = parseAdapterConfig(files['adapter_config.json'], `${source}/adapter_config.json`);
    const bytes = files['adapter_model.safetensors'];
    check(!!bytes, `${source}: no adapter_model.safetensors`);
    const file = readSafetensors(bytes, `${source}/adapter_model.safetensors`);
    this.addAdapter(name, {
      r: config.r,
      alpha: config.lora_alpha,
      dropout: config.lora_dropout,
      targetModules: config.target_modules,
      modulesToSave: config.modules_to_save ?? [],
      useRslora: config.use_rslora,
      trainableTokenIndices: config.trainable_token_indices ?? undefined,
      taskType: config.task_type ?? undefined,
      baseModelNameOrPath: config.base_model_name_or_path,
    });
    const a = this.adapters.get(name)!;
    const expected = new Map<string, Tensor>();
    for (const [path, w] of a.layers) expected.set(`${PREFIX}${path}.lora_A.weight`, w.A).set(`${PREFIX}${path}.lora_B.weight`, w.B);
    for (const [path, t] of a.tokens) expected.set(`${PREFIX}${path}.${TOKENS_KEY}`, t.delta);
    for (const [key, t] of a.saved) expected.set(`${PREFIX}${key}`, t);
    const where = `${source}/adapter_model.safetensors`;
    for (const [key, t] of file.tensors) {
      const into = expected.get(key);
      if (!into)
        throw new Error(
          `${where}: tensor '${key}' is not part of this adapter on this model (expected keys like ${[...expected.keys()][0]})`,
        );
      if (shapeStr(t.shape) !== shapeStr(into.shape))
        throw new Error(`${where}: tensor '${key}' has shape ${shapeStr(t.shape)}, the model needs ${shapeStr(into.shape)}`);
      if (!(t.data instanceof Float32Array)) throw new Error(`${where}: tensor '${key}' is not floating point`);
    }
    const missing = [...expected.keys()].filter((k) => !file.tensors.has(k));
    if (missing.length)
      throw new Error(
        `${where}: missing tensor(s) ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ` and ${missing.length - 4} more` : ''}`,
      );
    runtime().flush(); // the adapter's random init must run before these writes
    for (const [key, t] of file.tensors) runtime().upload(expected.get(key)!.buffer, t.data);
    // addAdapter made a first adapter active with the heads the model had: the file's go live now
    // (setAdapter would first store those live heads over the ones just loaded)
    if (this.active === name) this.loadHeads(a.saved, true);
    else this.setAdapter(name);
  }

  private disposeAdapters(): void {
    for (const a of this.adapters.values()) {
      for (const w of a.layers.values())
        for (const t of [w.A, w.B]) {
          t.zeroGrad();
          t.dispose();
        }
      for (const t of a.saved.values()) t.dispose();
      for (const t of a.tokens.values()) {
        t.delta.zeroGrad();
        t.delta.dispose();
        t.original.dispose();
      }
    }
    for (const t of this.original.values()) t.dispose();
    this.adapters.clear();
    this.original.clear();
    this.active = this.merged = null;
  }

  /** Frees the adapters (the base model stays). */
  dispose(): void {
    this.unhook();
    this.disposeAdapters();
  }

  private unhook(): void {
    for (const linear of this.hooks.values()) linear.adapter = null;
    for (const emb of this.tokenHooks.values()) emb.adapter = null;
    this.hooks.clear();
    this.tokenHooks.clear();
  }
}

/** Reads and checks PEFT's adapter_config.json (a LoRA adapter). */
export function parseAdapterConfig(bytes: Uint8Array | undefined, source = 'adapter_config.json'): AdapterConfig {
  if (!bytes) throw new Error(`${source}: file not found`);
  let c: any;
  try {
    c = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const bad = (field: string, want: string) => new Error(`${source}: ${field} must be ${want}, got ${describe(c?.[field])}`);
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw new Error(`${source}: expected a JSON object`);
  if (c.peft_type !== 'LORA') throw bad('peft_type', '"LORA" (other PEFT methods are not supported)');
  if (!(Number.isInteger(c.r) && c.r > 0)) throw bad('r', 'a positive integer');
  if (!(typeof c.lora_alpha === 'number' && c.lora_alpha > 0)) throw bad('lora_alpha', 'a positive number');
  if (!(typeof (c.lora_dropout ?? 0) === 'number' && (c.lora_dropout ?? 0) >= 0 && (c.lora_dropout ?? 0) < 1))
    throw bad('lora_dropout', 'a number in [0, 1)');
  const t = c.target_modules;
  if (!(typeof t === 'string' || (Array.isArray(t) && t.length > 0 && t.every((x: unknown) => typeof x === 'string'))))
    throw bad('target_modules', 'a list of module names or a regular expression');
  if (c.modules_to_save != null && !(Array.isArray(c.modules_to_save) && c.modules_to_save.every((x: unknown) => typeof x === 'string')))
    throw bad('modules_to_save', 'a list of module names or null');
  if ((c.bias ?? 'none') !== 'none') throw bad('bias', '"none" (trained biases are not supported)');
  if (c.fan_in_fan_out) throw bad('fan_in_fan_out', 'false (Conv1D layers are not supported)');
  if (c.use_dora) throw bad('use_dora', 'false (DoRA is not supported)');
  for (const f of ['rank_pattern', 'alpha_pattern'] as const)
    if (c[f] && Object.keys(c[f]).length) throw bad(f, 'empty (per-layer ranks are not supported)');
  if (c.layers_to_transform != null) throw bad('layers_to_transform', 'null');
  const tokens = c.trainable_token_indices;
  const ids = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((i) => Number.isInteger(i) && i >= 0);
  if (tokens != null && !(ids(tokens) || (typeof tokens === 'object' && !Array.isArray(tokens) && Object.values(tokens).every(ids))))
    throw bad('trainable_token_indices', 'null, a list of token ids or an object of module name -> token ids');
  if (c.task_type != null && !(c.task_type in TASK_HEADS)) throw bad('task_type', `one of ${Object.keys(TASK_HEADS).join(', ')} or null`);
  return {
    peft_type: 'LORA',
    task_type: c.task_type ?? null,
    r: c.r,
    lora_alpha: c.lora_alpha,
    lora_dropout: c.lora_dropout ?? 0,
    target_modules: t,
    modules_to_save: c.modules_to_save ?? null,
    bias: 'none',
    base_model_name_or_path: c.base_model_name_or_path ?? null,
    fan_in_fan_out: false,
    use_rslora: !!c.use_rslora,
    trainable_token_indices: tokens ?? null,
    inference_mode: !!c.inference_mode,
    init_lora_weights: c.init_lora_weights !== false,
    use_dora: false,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
}

/** A short description of an untrusted JSON value (never stringified whole: it may be huge or deep). */
function describe(v: unknown): string {
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v && typeof v === 'object') return 'an object';
  return String(JSON.stringify(v) ?? 'nothing').slice(0, 60);
}

function copyOf(t: Tensor): Tensor {
  const c = Tensor.empty(t.shape, t.dtype, `${t.name || 'tensor'} copy`).keep();
  copyInto(t, c);
  return c;
}

function copyInto(src: Tensor, dst: Tensor): void {
  if (src === dst) return;
  runtime().copy(src.buffer, 0, dst.buffer, 0, src.size * 4);
}
