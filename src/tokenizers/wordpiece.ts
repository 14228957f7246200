// BERT's WordPiece tokenizer, identical in output to Hugging Face's Rust `tokenizers` with
// BertNormalizer + BertPreTokenizer + WordPiece + TemplateProcessing ([CLS] A [SEP] B [SEP]).
import { BertPreTokenizer, fromCodePoints, type BertNormalizerOptions } from './bert-pre-tokenizer.js';
import {
  buildEncoding,
  padBatch,
  type EncodeBatchOptions,
  type EncodeInput,
  type EncodeOptions,
  type SpecialTokensTemplate,
  type TokenSequence,
  type TokenizerEncoding,
} from './encoding.js';
import { specialTokenSplitter, type TextPart } from './special-tokens.js';
import { codePointLength } from './unicode.js';
import { describeJson } from './json-fields.js';
import { readWordPieceTokenizerJson } from './tokenizer-json.js';
import { formatVocabText, parseVocabText, vocabIndex } from './vocab.js';

export interface WordPieceOptions extends BertNormalizerOptions {
  unkToken?: string;
  clsToken?: string;
  sepToken?: string;
  padToken?: string;
  maskToken?: string;
  /** Prefix of pieces that continue a word. Default '##'. */
  continuingSubwordPrefix?: string;
  /** Longer words (in code points, after normalisation) become [UNK]. Default 100. */
  maxInputCharsPerWord?: number;
  /**
   * Tokens matched in the raw text and kept whole. Default: unk, cls, sep, pad and mask tokens
   * that are in the vocabulary.
   */
  specialTokens?: string[];
}

export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD], [UNK], [MASK]...). Default true. */
  skipSpecialTokens?: boolean;
  /** Remove the space before . , ! ? like Hugging Face's WordPiece decoder. Default true. */
  cleanUpTokenizationSpaces?: boolean;
}

const DEFAULT_MAX_INPUT_CHARS = 100;
// Remembered words; cleared when full so memory stays bounded on endless input.
const WORD_CACHE_LIMIT = 50_000;

export class WordPieceTokenizer {
  /** Tokens indexed by id. */
  readonly vocab: readonly string[];
  readonly unkToken: string;
  readonly clsToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly maskToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  readonly specialTokens: readonly string[];
  readonly preTokenizer: BertPreTokenizer;

  private readonly index: Map<string, number>;
  private readonly unkId: number;
  private readonly template: SpecialTokensTemplate;
  private readonly splitSpecial: (text: string) => TextPart[];
  private readonly specialIds: Set<number>;
  private readonly longestPiece: number;
  private readonly wordCache = new Map<string, Int32Array>();

  constructor(vocab: readonly string[], options: WordPieceOptions = {}) {
    if (vocab.length === 0) throw new Error('vocabulary is empty');
    for (const t of vocab) if (typeof t !== 'string') throw new Error(`vocabulary tokens must be strings, got ${describeJson(t)}`);
    this.vocab = vocab;
    this.index = vocabIndex(vocab);
    this.unkToken = options.unkToken ?? '[UNK]';
    this.clsToken = options.clsToken ?? '[CLS]';
    this.sepToken = options.sepToken ?? '[SEP]';
    this.padToken = options.padToken ?? '[PAD]';
    this.maskToken = options.maskToken ?? '[MASK]';
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? DEFAULT_MAX_INPUT_CHARS;
    if (!Number.isSafeInteger(this.maxInputCharsPerWord) || this.maxInputCharsPerWord < 1) {
      throw new Error(`maxInputCharsPerWord must be a positive integer, got ${this.maxInputCharsPerWord}`);
    }
    const missing = [this.unkToken, this.clsToken, this.sepToken].filter((t) => !this.index.has(t));
    if (missing.length) throw new Error(`vocabulary has no ${missing.join(', ')} token`);
    this.unkId = this.index.get(this.unkToken)!;
    this.specialTokens =
      options.specialTokens ??
      [this.padToken, this.unkToken, this.clsToken, this.sepToken, this.maskToken].filter((t) => this.index.has(t));
    for (const t of this.specialTokens) if (!this.index.has(t)) throw new Error(`special token ${t} is not in the vocabulary`);
    this.specialIds = new Set(this.specialTokens.map((t) => this.index.get(t)!));
    this.splitSpecial = specialTokenSplitter(this.specialTokens);
    this.preTokenizer = new BertPreTokenizer(options);
    this.template = {
      start: { token: this.clsToken, id: this.index.get(this.clsToken)! },
      end: { token: this.sepToken, id: this.index.get(this.sepToken)! },
      separatorsBetweenPair: 1,
      pairTypeId: 1,
      pad: { token: this.padToken, id: this.index.get(this.padToken) ?? -1 },
    };
    let longest = 0;
    for (const t of vocab) {
      const body = t.startsWith(this.continuingSubwordPrefix) ? t.slice(this.continuingSubwordPrefix.length) : t;
      longest = Math.max(longest, codePointLength(body));
    }
    this.longestPiece = longest;
  }

  /**
   * From the text of a vocab.txt (one token per line). With `source` (the file's name), errors
   * about the vocabulary name it.
   */
  static fromVocabText(text: string, options: WordPieceOptions = {}, source?: string): WordPieceTokenizer {
    return naming(source, () => new WordPieceTokenizer(parseVocabText(text), options));
  }

  /**
   * From a Hugging Face tokenizer.json (text or parsed) whose model is WordPiece. Every problem
   * with the file is an Error naming `source` and the field.
   */
  static fromTokenizerJson(json: string | object, source = 'tokenizer.json'): WordPieceTokenizer {
    const { vocab, options, postProcessorIds } = readWordPieceTokenizerJson(json, source);
    const tokenizer = naming(source, () => new WordPieceTokenizer(vocab, options));
    for (const [path, token, id] of postProcessorIds) {
      const inVocab = tokenizer.tokenToId(token);
      if (inVocab !== id) throw new Error(`${source}: ${path} gives ${token} id ${id}, but model.vocab gives it ${inVocab ?? 'no id'}`);
    }
    return tokenizer;
  }

  /** vocab.txt text (one token per line, line number = id). */
  toVocabText(): string {
    return formatVocabText(this.vocab);
  }

  /** An equivalent Hugging Face tokenizer.json, as an object (JSON.stringify it to save). */
  toTokenizerJson(): object {
    const vocab: Record<string, number> = {};
    this.vocab.forEach((t, i) => (vocab[t] = i));
    const { start, end } = this.template;
    const p = this.preTokenizer;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.specialTokens.map((t) => ({
        id: this.index.get(t),
        content: t,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: {
        type: 'BertNormalizer',
        clean_text: p.cleanText,
        handle_chinese_chars: p.handleChineseChars,
        strip_accents: p.stripAccents,
        lowercase: p.lowercase,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: start.token, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: end.token, type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: start.token, type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: end.token, type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
          { SpecialToken: { id: end.token, type_id: 1 } },
        ],
        special_tokens: {
          [start.token]: { id: start.token, ids: [start.id], tokens: [start.token] },
          [end.token]: { id: end.token, ids: [end.id], tokens: [end.token] },
        },
      },
      decoder: { type: 'WordPiece', prefix: this.continuingSubwordPrefix, cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: this.unkToken,
        continuing_subword_prefix: this.continuingSubwordPrefix,
        max_input_chars_per_word: this.maxInputCharsPerWord,
        vocab,
      },
    };
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Tokens of a text, without special tokens added. */
  tokenize(text: string): string[] {
    return this.sequence(text).tokens;
  }

  /** Encodes a text, or a pair, into [CLS] A [SEP] (B [SEP]). */
  encode(text: string, pair?: string | null, options: EncodeOptions = {}): TokenizerEncoding {
    if (typeof text !== 'string' || (pair != null && typeof pair !== 'string')) throw new TypeError('encode takes strings');
    const a = this.sequence(text);
    const b = pair == null ? undefined : this.sequence(pair);
    this.checkPadding(options.padding);
    return buildEncoding(a, b, this.template, options);
  }

  /** Encodes many texts or [text, pair] tuples; padding 'longest' pads to the longest of them. */
  encodeBatch(inputs: readonly EncodeInput[], options: EncodeBatchOptions = {}): TokenizerEncoding[] {
    const { padding, ...single } = options;
    this.checkPadding(padding);
    const out = inputs.map((input) =>
      typeof input === 'string' ? this.encode(input, null, single) : this.encode(input[0], input[1], single),
    );
    padBatch(out, padding, options.maxLength, this.template.pad);
    return out;
  }

  /** Text from ids: joins ## pieces to the piece before, spaces elsewhere. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    const cleanup = options.cleanUpTokenizationSpaces ?? true;
    const prefix = this.continuingSubwordPrefix;
    let out = '';
    let first = true;
    for (const id of ids) {
      if (skip && this.specialIds.has(id)) continue;
      let token = this.idToToken(id);
      if (token === undefined) throw new Error(`id ${id} is not in the vocabulary (size ${this.vocab.length})`);
      // Hugging Face's WordPiece decoder, token by token.
      if (!first) token = token.startsWith(prefix) ? token.slice(prefix.length) : ' ' + token;
      if (cleanup) token = cleanUpToken(token);
      out += token;
      first = false;
    }
    return out;
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => {
      const t = this.idToToken(id);
      if (t === undefined) throw new Error(`id ${id} is not in the vocabulary (size ${this.vocab.length})`);
      return t;
    });
  }

  /** Ids of tokens; a token not in the vocabulary gets the [UNK] id. */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.index.get(t) ?? this.unkId);
  }

  tokenToId(token: string): number | undefined {
    return this.index.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.vocab[id] : undefined;
  }

  private checkPadding(padding: EncodeBatchOptions['padding']): void {
    if (padding && this.template.pad.id < 0) throw new Error(`padding needs a ${this.padToken} token in the vocabulary`);
  }

  /** Tokens of one text, special tokens typed in it kept whole; offsets in code points. */
  private sequence(text: string): TokenSequence {
    const seq: TokenSequence = { ids: [], tokens: [], offsets: [] };
    const sink = (chars: number[], origins: number[], n: number) => this.wordPieces(chars, origins, n, seq);
    let codePoint = 0;
    for (const part of this.splitSpecial(text)) {
      if (part.special !== undefined) {
        const length = codePointLength(part.special);
        seq.ids.push(this.index.get(part.special)!);
        seq.tokens.push(part.special);
        seq.offsets.push([codePoint, codePoint + length]);
        codePoint += length;
      } else {
        codePoint = this.preTokenizer.split(text, sink, part.start, part.end, codePoint);
      }
    }
    return seq;
  }

  /** Greedy longest-match-first WordPiece of one word, appended to seq. */
  private wordPieces(chars: number[], origins: number[], n: number, seq: TokenSequence): void {
    if (n > this.maxInputCharsPerWord) {
      this.pushPiece(seq, this.unkId, origins[0], origins[n - 1] + 1);
      return;
    }
    const word = n === 1 ? String.fromCodePoint(chars[0]) : fromCodePoints(chars, n);
    let pieces = this.wordCache.get(word);
    if (pieces === undefined) {
      pieces = this.splitWord(word, chars, n);
      if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
      this.wordCache.set(word, pieces);
    }
    for (let i = 0; i < pieces.length; i += 3) {
      this.pushPiece(seq, pieces[i], origins[pieces[i + 1]], origins[pieces[i + 2] - 1] + 1);
    }
  }

  private pushPiece(seq: TokenSequence, id: number, start: number, end: number): void {
    seq.ids.push(id);
    seq.tokens.push(this.vocab[id]);
    seq.offsets.push([start, end]);
  }

  /** [id, firstCodePoint, endCodePoint] triples; one [UNK] for the whole word if any part fails. */
  private splitWord(word: string, chars: number[], n: number): Int32Array {
    // UTF-16 index of each code point boundary (the identity when the word has no astral chars).
    let at: (k: number) => number = (k) => k;
    if (word.length !== n) {
      const bounds = [0];
      for (let k = 0; k < n; k++) bounds.push(bounds[k] + (chars[k] > 0xffff ? 2 : 1));
      at = (k) => bounds[k];
    }
    const out: number[] = [];
    let start = 0;
    while (start < n) {
      // Nothing longer than the longest vocabulary piece can match, so start there.
      let end = Math.min(n, start + this.longestPiece);
      let id: number | undefined;
      while (end > start) {
        const body = word.slice(at(start), at(end));
        id = this.index.get(start > 0 ? this.continuingSubwordPrefix + body : body);
        if (id !== undefined) break;
        end--;
      }
      if (id === undefined) return Int32Array.of(this.unkId, 0, n);
      out.push(id, start, end);
      start = end;
    }
    return Int32Array.from(out);
  }
}

/** Runs make(); its Error, if any, comes out prefixed with `source` when one is given. */
function naming<T>(source: string | undefined, make: () => T): T {
  if (source === undefined) return make();
  try {
    return make();
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
}

/** Hugging Face's WordPiece decoder cleanup, applied to one token (with its leading space). */
function cleanUpToken(token: string): string {
  return token
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
