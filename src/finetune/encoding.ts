// What the fine-tuning tasks need from a tokenizer, and the features they make: ids, type ids
// and mask per sequence, with offsets turned into UTF-16 (String.prototype.slice) indices.
import { toUtf16Offsets, type EncodeOptions, type TokenizerEncoding } from '../tokenizers/encoding.js';

/** WordPieceTokenizer and ByteLevelBpeTokenizer both fit. */
export interface TaskTokenizer {
  encode(text: string, pair?: string | null, options?: EncodeOptions): TokenizerEncoding;
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** WordPiece's '##': tells a word-aware tokenizer (subword pieces are marked) from byte-level BPE. */
  readonly continuingSubwordPrefix?: string;
  readonly unkToken?: string;
}

/** One sequence (or pair) as the model takes it. */
export interface EncodedFeature {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
}

/** The encoding of a text with offsets as UTF-16 indices into `text` (special tokens: [0, 0]). */
export function encodeWithOffsets(tokenizer: TaskTokenizer, text: string, options: EncodeOptions = {}): TokenizerEncoding {
  const enc = tokenizer.encode(text, null, options);
  return { ...enc, offsets: toUtf16Offsets(text, enc.offsets) };
}

/** A sequence pair truncated to maxLength (longest first, as Hugging Face's truncation=True). */
export function encodePair(tokenizer: TaskTokenizer, text: string, pair: string | undefined, maxLength: number): EncodedFeature {
  const e = tokenizer.encode(text, pair ?? null, { maxLength, truncation: 'longest_first' });
  return { input_ids: e.inputIds, token_type_ids: e.tokenTypeIds, attention_mask: e.attentionMask };
}

/**
 * The special tokens a tokenizer puts around a pair, read from its encoding of ('', ''):
 * [CLS] [SEP] [SEP] (types 0 0 1) for BERT, <s> </s> </s> </s> (types 0) for RoBERTa.
 */
export interface PairTemplate {
  first: { id: number; type: number };
  between: { id: number; type: number }[];
  last: { id: number; type: number };
  /** Type id of the second sequence's tokens. */
  secondType: number;
}

export function pairTemplate(tokenizer: TaskTokenizer): PairTemplate {
  const probe = tokenizer.encode('', '');
  const n = probe.inputIds.length;
  if (n < 2 || probe.specialTokensMask.some((m) => m !== 1)) {
    throw new Error(
      `the tokenizer's pair template is not [first] A [between...] B [last] (an empty pair encodes as ${JSON.stringify(probe.tokens)})`,
    );
  }
  const at = (i: number) => ({ id: probe.inputIds[i], type: probe.tokenTypeIds[i] });
  return {
    first: at(0),
    between: probe.inputIds.slice(1, n - 1).map((_, k) => at(k + 1)),
    last: at(n - 1),
    secondType: probe.tokenTypeIds[n - 1],
  };
}
