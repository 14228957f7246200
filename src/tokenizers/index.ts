// Tokenizers: BERT's WordPiece (identical to Hugging Face's), a BPE trainer, byte-level BPE
// (GPT-2 / RoBERTa). Pure TypeScript, no Node imports: runs in browsers and Deno too.
export { BertPreTokenizer, type BertNormalizerOptions } from './bert-pre-tokenizer.js';
export {
  toUtf16Offsets,
  type EncodeBatchOptions,
  type EncodeInput,
  type EncodeOptions,
  type TokenizerEncoding,
  type TruncationStrategy,
} from './encoding.js';
export { WordPieceTokenizer, type DecodeOptions, type WordPieceOptions } from './wordpiece.js';
export { parseVocabText, formatVocabText } from './vocab.js';
export { wordPieceOptionsFromTokenizerConfig, tokenizerConfigFor } from './tokenizer-config.js';
export {
  BpeTokenizer,
  trainBpe,
  mergeSymbols as mergeBpeSymbols,
  type BpeTrainOptions,
  type BpeTrainResult,
  type WordFrequencies,
} from './bpe.js';
export {
  ByteLevelBpeTokenizer,
  trainByteLevelBpe,
  byteLevelAlphabet,
  parseMergesText,
  GPT2_PATTERN,
  type ByteLevelBpeOptions,
  type ByteLevelBpeTrainOptions,
} from './byte-level-bpe.js';
export { trainWordPiece, DEFAULT_WORDPIECE_SPECIAL_TOKENS, type WordPieceTrainOptions } from './wordpiece-trainer.js';
