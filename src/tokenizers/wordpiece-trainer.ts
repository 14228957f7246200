// Trains a WordPiece vocabulary the way Hugging Face's WordPieceTrainer does: BPE merges over
// words split by the BERT pre-tokenizer, with '##' marking pieces that continue a word.
import { BertPreTokenizer } from './bert-pre-tokenizer.js';
import { trainBpe } from './bpe.js';
import { WordPieceTokenizer, type WordPieceOptions } from './wordpiece.js';

export interface WordPieceTrainOptions extends WordPieceOptions {
  /** Size of the vocabulary: special tokens + alphabet + merged pieces. */
  vocabSize: number;
  /** Only merge pairs seen at least this often. Default 2. */
  minFrequency?: number;
}

export const DEFAULT_WORDPIECE_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/**
 * Learns a WordPiece vocabulary from texts: special tokens first ([PAD]=0, [UNK]=1, [CLS]=2,
 * [SEP]=3, [MASK]=4 by default), then every character seen (alone and as ##c), then merged pieces
 * in the order learned, until vocabSize.
 */
export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainOptions): WordPieceTokenizer {
  const prefix = options.continuingSubwordPrefix ?? '##';
  const specials = options.specialTokens ?? DEFAULT_WORDPIECE_SPECIAL_TOKENS;
  const preTokenizer = new BertPreTokenizer(options);
  const maxChars = options.maxInputCharsPerWord ?? 100;
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const word of preTokenizer.words(text)) {
      if ([...word].length <= maxChars) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  // The alphabet alone decides the smallest possible vocabulary.
  const alphabet = trainBpe(counts, { numMerges: 0, continuingSubwordPrefix: prefix }).vocab;
  const reserved = specials.length + alphabet.length;
  if (options.vocabSize < reserved) {
    throw new Error(
      `vocab size ${options.vocabSize} is smaller than the ${specials.length} special tokens + ${alphabet.length} characters the corpus needs`,
    );
  }
  const { vocab } = trainBpe(counts, {
    vocabSize: options.vocabSize - specials.length,
    minFrequency: options.minFrequency ?? 2,
    continuingSubwordPrefix: prefix,
  });
  const tokens = [...specials, ...vocab.filter((t) => !specials.includes(t))];
  return new WordPieceTokenizer(tokens, {
    ...options,
    specialTokens: options.specialTokens ?? specials.filter((t) => ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].includes(t)),
  });
}
