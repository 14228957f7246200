// BertConfig with Hugging Face's field names (config.json maps onto it as is), and presets.

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

/** A full config from HF fields (missing ones take BERT's defaults, or RoBERTa's / ELECTRA's). */
export function bertConfig(fields: Partial<BertConfig> = {}): BertConfig {
  const type = fields.model_type ?? 'bert';
  const base: BertConfig = { ...BERT_DEFAULTS, model_type: type };
  if (type === 'roberta') Object.assign(base, { pad_token_id: 1, type_vocab_size: 1, layer_norm_eps: 1e-5, max_position_embeddings: 514, vocab_size: 50265 });
  if (type === 'electra') Object.assign(base, { embedding_size: 128, hidden_size: 256, num_attention_heads: 4, intermediate_size: 1024 });
  const c = { ...base, ...fields } as BertConfig;
  if (c.num_labels === undefined) c.num_labels = c.id2label ? Object.keys(c.id2label).length : 2;
  validateConfig(c);
  return c;
}

export function presetConfig(name: string, fields: Partial<BertConfig> = {}): BertConfig {
  const p = PRESETS[name];
  if (!p) throw new Error(`unknown config preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  const [L, H, A] = p;
  return bertConfig({ num_hidden_layers: L, hidden_size: H, num_attention_heads: A, intermediate_size: 4 * H, ...fields });
}

export function validateConfig(c: BertConfig): void {
  const positive = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size'] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || (c[k] as number) <= 0) throw new Error(`config: ${k} must be a positive integer, got ${JSON.stringify(c[k])}`);
  }
  if (c.hidden_size % c.num_attention_heads !== 0) {
    throw new Error(`config: hidden_size ${c.hidden_size} is not a multiple of num_attention_heads ${c.num_attention_heads}`);
  }
  if (!(c.layer_norm_eps > 0)) throw new Error(`config: layer_norm_eps must be > 0, got ${c.layer_norm_eps}`);
  for (const k of ['hidden_dropout_prob', 'attention_probs_dropout_prob'] as const) {
    if (!(c[k] >= 0 && c[k] < 1)) throw new Error(`config: ${k} must be in [0, 1), got ${c[k]}`);
  }
  if (!['bert', 'electra', 'roberta'].includes(c.model_type)) throw new Error(`config: unsupported model_type '${c.model_type}' (bert, electra, roberta)`);
}

/** The config as Hugging Face writes config.json. */
export function configToJson(c: BertConfig, architecture: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c, architectures: [architecture] };
  if (!c.id2label && c.num_labels !== undefined) {
    out.id2label = Object.fromEntries(Array.from({ length: c.num_labels }, (_, i) => [String(i), `LABEL_${i}`]));
    out.label2id = Object.fromEntries(Array.from({ length: c.num_labels }, (_, i) => [`LABEL_${i}`, i]));
  }
  delete out.num_labels;
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}
