// BertConfig with Hugging Face's field names (config.json maps onto it as is), and presets.
import { describeJson, isJsonObject, JsonFields } from '../tokenizers/json-fields.js';

export interface BertConfig {
  model_type: 'bert' | 'electra' | 'roberta';
  architectures?: string[];
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  pad_token_id: number;
  initializer_range: number;
  /** ELECTRA: width of the embeddings (projected to hidden_size when different). */
  embedding_size?: number;
  num_labels?: number;
  id2label?: Record<string, string>;
  label2id?: Record<string, number>;
  problem_type?: 'regression' | 'single_label_classification' | 'multi_label_classification';
  classifier_dropout?: number | null;
  [key: string]: unknown;
}

const BERT_DEFAULTS: BertConfig = {
  model_type: 'bert',
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  initializer_range: 0.02,
};

/** Presets by name: layers / hidden / heads (intermediate = 4 x hidden). */
export const PRESETS: Record<string, [number, number, number]> = {
  'bert-tiny': [2, 128, 2],
  'bert-mini': [4, 256, 4],
  'bert-small': [4, 512, 8],
  'bert-medium': [8, 512, 8],
  'bert-base': [12, 768, 12],
  'bert-large': [24, 1024, 16],
  // the original Transformer's encoder size (Vaswani et al.): 6 layers, 512 wide, 8 heads, FFN 2048
  transformer: [6, 512, 8],
};

/**
 * A full config from HF fields (missing ones take BERT's defaults, or RoBERTa's / ELECTRA's).
 * `source` names where the fields came from in errors (a config.json path, say).
 */
export function bertConfig(fields: Partial<BertConfig> = {}, source = 'config'): BertConfig {
  const type = fields.model_type ?? 'bert';
  const base: BertConfig = { ...BERT_DEFAULTS, model_type: type };
  if (type === 'roberta')
    Object.assign(base, { pad_token_id: 1, type_vocab_size: 1, layer_norm_eps: 1e-5, max_position_embeddings: 514, vocab_size: 50265 });
  if (type === 'electra') Object.assign(base, { embedding_size: 128, hidden_size: 256, num_attention_heads: 4, intermediate_size: 1024 });
  const c = { ...base, ...fields };
  if (c.num_labels === undefined && isJsonObject(c.id2label)) c.num_labels = Object.keys(c.id2label).length;
  if (c.num_labels === undefined) c.num_labels = 2;
  validateConfig(c, source);
  return c;
}

/** A config.json's text (or parsed object): the config and its architectures[0]; errors name `source`. */
export function parseConfigJson(
  json: string | Record<string, unknown>,
  source = 'config.json',
): { config: BertConfig; architecture: string | undefined } {
  const f = new JsonFields(source);
  const raw = f.object(f.parse(json), 'the top level');
  const archs = raw.architectures;
  if (archs != null && (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string')))
    f.fail('architectures', 'an array of class names', archs);
  return { config: bertConfig(raw, source), architecture: (archs as string[] | undefined)?.[0] };
}

export function presetConfig(name: string, fields: Partial<BertConfig> = {}): BertConfig {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown config preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  const [L, H, A] = p;
  return bertConfig({ num_hidden_layers: L, hidden_size: H, num_attention_heads: A, intermediate_size: 4 * H, ...fields });
}

/** Checks every field the models read; an Error names `source`, the field and its value. */
export function validateConfig(c: BertConfig, source = 'config'): void {
  const fail = (field: string, expected: string): never => {
    throw new Error(`${source}: ${field} must be ${expected}, got ${describeJson(c[field])}`);
  };
  if (!['bert', 'electra', 'roberta'].includes(c.model_type)) fail('model_type', 'one of "bert", "electra", "roberta"');
  const positive = [
    'vocab_size',
    'hidden_size',
    'num_hidden_layers',
    'num_attention_heads',
    'intermediate_size',
    'max_position_embeddings',
    'type_vocab_size',
    'num_labels',
  ] as const;
  for (const k of positive) if (!isPositiveInteger(c[k])) fail(k, 'a positive integer');
  if (c.embedding_size !== undefined && !isPositiveInteger(c.embedding_size)) fail('embedding_size', 'a positive integer');
  // Dawn on lavapipe runs out of descriptor-pool memory (SIGSEGV, no message) around 3000 layers:
  // the largest BERT has 24, so a config far beyond that is refused here with its name
  if (c.num_hidden_layers > MAX_HIDDEN_LAYERS) fail('num_hidden_layers', `at most ${MAX_HIDDEN_LAYERS}`);
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new Error(`${source}: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
  }
  // pad_token_id is a row of the word embeddings (for RoBERTa, of the position embeddings too)
  const [limitName, limit] =
    c.model_type === 'roberta' && c.max_position_embeddings < c.vocab_size
      ? ['max_position_embeddings', c.max_position_embeddings]
      : ['vocab_size', c.vocab_size];
  if (!Number.isInteger(c.pad_token_id) || c.pad_token_id < 0 || c.pad_token_id >= limit)
    fail('pad_token_id', `a non-negative integer below ${limitName} ${limit}`);
  if (!isNumber(c.layer_norm_eps) || !(c.layer_norm_eps > 0)) fail('layer_norm_eps', 'a number > 0');
  if (!isNumber(c.initializer_range) || !(c.initializer_range >= 0)) fail('initializer_range', 'a number >= 0');
  for (const k of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const) if (!isProbability(c[k])) fail(k, 'a number in [0, 1)');
  if (c.classifier_dropout != null && !isProbability(c.classifier_dropout)) fail('classifier_dropout', 'null or a number in [0, 1)');
  if (typeof c.hidden_act !== 'string') fail('hidden_act', 'the name of an activation, e.g. "gelu"');
  if (c.problem_type != null && !['regression', 'single_label_classification', 'multi_label_classification'].includes(c.problem_type)) {
    fail('problem_type', 'null or one of "regression", "single_label_classification", "multi_label_classification"');
  }
  if (c.id2label !== undefined && (!isJsonObject(c.id2label) || !Object.values(c.id2label).every((v) => typeof v === 'string'))) {
    fail('id2label', 'an object of id -> label name');
  }
  if (c.label2id !== undefined && (!isJsonObject(c.label2id) || !Object.values(c.label2id).every((v) => Number.isInteger(v)))) {
    fail('label2id', 'an object of label name -> id');
  }
  // relative position embeddings are not implemented: refuse rather than run as absolute
  if (c.position_embedding_type != null && c.position_embedding_type !== 'absolute')
    fail('position_embedding_type', '"absolute" (the only kind supported)');
}

/** Layers a config may have (1500 ran on lavapipe; 3000 crashed Dawn). */
export const MAX_HIDDEN_LAYERS = 1000;

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPositiveInteger = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;
const isProbability = (v: unknown): boolean => isNumber(v) && v >= 0 && v < 1;

/** The config as Hugging Face writes config.json. */
export function configToJson(c: BertConfig, architecture: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c, architectures: [architecture] };
  if (!c.id2label && c.num_labels !== undefined) {
    out.id2label = Object.fromEntries(Array.from({ length: c.num_labels }, (_, i) => [String(i), `LABEL_${i}`]));
    out.label2id = Object.fromEntries(Array.from({ length: c.num_labels }, (_, i) => [`LABEL_${i}`, i]));
  }
  delete out.num_labels;
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, out[k]]),
  );
}
