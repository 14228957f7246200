// Hugging Face's tokenizer_config.json for a WordPiece vocab.txt: where BertTokenizer keeps the
// casing (do_lower_case) and accent handling that vocab.txt alone cannot carry.
import type { BertNormalizerOptions } from './bert-pre-tokenizer.js';
import type { WordPieceOptions, WordPieceTokenizer } from './wordpiece.js';

/** The WordPiece options a tokenizer_config.json gives (BertTokenizer's defaults where it is silent). */
export function wordPieceOptionsFromTokenizerConfig(text: string, source = 'tokenizer_config.json'): WordPieceOptions {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const bool = (name: string): boolean | undefined => {
    const v = c[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new Error(`${source}: ${name} must be true, false or null, got ${JSON.stringify(v)}`);
    return v;
  };
  const token = (name: string): string | undefined => {
    const v = c[name];
    if (v === undefined || v === null) return undefined;
    // added-token objects ({"content": "[UNK]", ...}) as newer transformers versions write them
    const s = typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>).content : v;
    if (typeof s !== 'string' || !s) throw new Error(`${source}: ${name} must be a token string, got ${JSON.stringify(v)}`);
    return s;
  };
  const options: WordPieceOptions = {};
  const set = <K extends keyof WordPieceOptions>(key: K, value: WordPieceOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('lowercase', bool('do_lower_case'));
  set('stripAccents', bool('strip_accents'));
  set('handleChineseChars', bool('tokenize_chinese_chars'));
  set('unkToken', token('unk_token'));
  set('clsToken', token('cls_token'));
  set('sepToken', token('sep_token'));
  set('padToken', token('pad_token'));
  set('maskToken', token('mask_token'));
  return options;
}

/**
 * tokenizer_config.json for `tokenizer` when vocab.txt alone would load differently (a cased or
 * accent-keeping tokenizer, other special tokens), else null: BertTokenizer's defaults need no file.
 */
export function tokenizerConfigFor(tokenizer: WordPieceTokenizer): Record<string, unknown> | null {
  const p: BertNormalizerOptions = tokenizer.preTokenizer;
  const special = {
    unk_token: tokenizer.unkToken,
    sep_token: tokenizer.sepToken,
    pad_token: tokenizer.padToken,
    cls_token: tokenizer.clsToken,
    mask_token: tokenizer.maskToken,
  };
  const defaults = { unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]' };
  const isDefault =
    p.lowercase === true &&
    p.stripAccents === p.lowercase &&
    p.handleChineseChars === true &&
    Object.entries(special).every(([k, v]) => defaults[k as keyof typeof defaults] === v);
  if (isDefault) return null;
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: p.lowercase,
    // null: follow do_lower_case, as BertTokenizer does
    strip_accents: p.stripAccents === p.lowercase ? null : p.stripAccents,
    tokenize_chinese_chars: p.handleChineseChars,
    ...special,
  };
}
