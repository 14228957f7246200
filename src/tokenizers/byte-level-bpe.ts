// Byte-level BPE as GPT-2 and RoBERTa use it: text is split by GPT-2's regex, each piece is
// turned into UTF-8 bytes, each byte into a printable character (space -> Ġ), and learned merges
// run on those characters. Every string round-trips, since all 256 bytes are in the vocabulary.
import { BpeTokenizer, trainBpe } from './bpe.js';
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
import { describeJson, isJsonObject } from './json-fields.js';
import { specialTokenSplitter, type TextPart } from './special-tokens.js';
import { codePointLength } from './unicode.js';

/** GPT-2's byte -> character table: printable Latin-1 bytes map to themselves, others above 255. */
function buildByteTables(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const byteToChar: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    byteToChar[b] = String.fromCharCode(printable.includes(b) ? b : 256 + extra++);
  }
  const charToByte = new Map(byteToChar.map((c, b) => [c, b]));
  return { byteToChar, charToByte };
}
const { byteToChar: BYTE_TO_CHAR, charToByte: CHAR_TO_BYTE } = buildByteTables();

/** The 256 characters standing for bytes, in byte order. */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_CHAR];
}

/** GPT-2's pre-tokenisation pattern (contractions, letters, numbers, other, whitespace). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface ByteLevelBpeOptions {
  /** Add a space before text that does not start with one (so the first word looks like the others). Default false. */
  addPrefixSpace?: boolean;
  /** Leave the Ġ of a token out of its offsets, like RoBERTa's post-processor. Default true. */
  trimOffsets?: boolean;
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
  unkToken?: string;
  maskToken?: string;
  /** Tokens matched in the raw text and kept whole. Default: the five above that are in the vocabulary. */
  specialTokens?: string[];
}

const CACHE_LIMIT = 50_000;

export class ByteLevelBpeTokenizer {
  /** Tokens indexed by id. */
  readonly vocab: readonly string[];
  readonly merges: readonly [string, string][];
  readonly addPrefixSpace: boolean;
  readonly trimOffsets: boolean;
  readonly specialTokens: readonly string[];
  private readonly index: Map<string, number>;
  private readonly bpe: BpeTokenizer;
  private readonly template: SpecialTokensTemplate;
  private readonly splitSpecial: (text: string) => TextPart[];
  private readonly specialIds: Set<number>;
  private readonly unkId: number | undefined;
  private readonly cache = new Map<string, string[]>();

  constructor(vocab: Record<string, number> | Map<string, number>, merges: readonly [string, string][], options: ByteLevelBpeOptions = {}) {
    this.index = vocab instanceof Map ? new Map(vocab) : new Map(Object.entries(vocab));
    if (this.index.size === 0) throw new Error('vocabulary is empty');
    const tokens: string[] = [];
    for (const [t, id] of this.index) {
      // ids go into int32 tensors; one id per token, or decoding would be ambiguous
      if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw new Error(`bad id ${describeJson(id)} for token ${describeJson(t)}`);
      if (tokens[id] !== undefined) throw new Error(`tokens ${describeJson(tokens[id])} and ${describeJson(t)} both have id ${id}`);
      tokens[id] = t;
    }
    this.vocab = tokens;
    // Hugging Face refuses merges whose halves or result are not tokens; so do we, rather than fail in encode
    merges.forEach(([left, right], i) => {
      for (const t of [left, right, left + right]) {
        if (!this.index.has(t))
          throw new Error(
            `merge ${i + 1} (${describeJson(left)} ${describeJson(right)}) needs ${describeJson(t)}, which is not in the vocabulary`,
          );
      }
    });
    this.merges = merges;
    this.bpe = new BpeTokenizer(merges);
    this.addPrefixSpace = options.addPrefixSpace ?? false;
    this.trimOffsets = options.trimOffsets ?? true;
    const bos = options.bosToken ?? '<s>';
    const eos = options.eosToken ?? '</s>';
    const pad = options.padToken ?? '<pad>';
    const unk = options.unkToken ?? '<unk>';
    const mask = options.maskToken ?? '<mask>';
    const missing = [bos, eos].filter((t) => !this.index.has(t));
    if (missing.length) throw new Error(`vocabulary has no ${missing.join(', ')} token`);
    this.unkId = this.index.get(unk);
    this.specialTokens = options.specialTokens ?? [bos, pad, eos, unk, mask].filter((t) => this.index.has(t));
    for (const t of this.specialTokens) if (!this.index.has(t)) throw new Error(`special token ${t} is not in the vocabulary`);
    this.specialIds = new Set(this.specialTokens.map((t) => this.index.get(t)!));
    this.splitSpecial = specialTokenSplitter(this.specialTokens);
    this.template = {
      start: { token: bos, id: this.index.get(bos)! },
      end: { token: eos, id: this.index.get(eos)! },
      separatorsBetweenPair: 2,
      pairTypeId: 0,
      pad: { token: pad, id: this.index.get(pad) ?? -1 },
    };
  }

  /** From the texts of vocab.json and merges.txt. */
  static fromVocabAndMerges(vocabJson: string, mergesText: string, options: ByteLevelBpeOptions = {}): ByteLevelBpeTokenizer {
    let vocab: unknown;
    try {
      vocab = JSON.parse(vocabJson);
    } catch (err) {
      throw new Error(`vocab.json is not valid JSON: ${(err as Error).message}`);
    }
    if (!isJsonObject(vocab)) throw new Error(`vocab.json must be an object {token: id}, got ${describeJson(vocab)}`);
    return new ByteLevelBpeTokenizer(vocab as Record<string, number>, parseMergesText(mergesText), options);
  }

  /** vocab.json text. */
  toVocabJson(): string {
    return JSON.stringify(Object.fromEntries(this.index));
  }

  /** merges.txt text (with the "#version: 0.2" header Hugging Face writes). */
  toMergesText(): string {
    return '#version: 0.2\n' + this.merges.map(([l, r]) => `${l} ${r}\n`).join('');
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Tokens of a text, without special tokens added. */
  tokenize(text: string): string[] {
    return this.sequence(text).tokens;
  }

  /** Encodes a text into <s> A </s>, or a pair into <s> A </s></s> B </s> (all type ids 0). */
  encode(text: string, pair?: string | null, options: EncodeOptions = {}): TokenizerEncoding {
    if (typeof text !== 'string' || (pair != null && typeof pair !== 'string')) throw new TypeError('encode takes strings');
    if (options.padding && this.template.pad.id < 0) throw new Error(`padding needs a ${this.template.pad.token} token in the vocabulary`);
    return buildEncoding(this.sequence(text), pair == null ? undefined : this.sequence(pair), this.template, options);
  }

  encodeBatch(inputs: readonly EncodeInput[], options: EncodeBatchOptions = {}): TokenizerEncoding[] {
    const { padding, ...single } = options;
    if (padding && this.template.pad.id < 0) throw new Error(`padding needs a ${this.template.pad.token} token in the vocabulary`);
    const out = inputs.map((input) =>
      typeof input === 'string' ? this.encode(input, null, single) : this.encode(input[0], input[1], single),
    );
    padBatch(out, padding, options.maxLength, this.template.pad);
    return out;
  }

  /** Text from ids: bytes of the tokens, decoded as UTF-8. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    const skip = options.skipSpecialTokens ?? true;
    let out = '';
    let bytes: number[] = [];
    const flushBytes = () => {
      out += new TextDecoder().decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const token = Number.isInteger(id) && id >= 0 ? this.vocab[id] : undefined;
      if (token === undefined) throw new Error(`id ${id} is not in the vocabulary (size ${this.vocab.length})`);
      if (this.specialIds.has(id)) {
        if (skip) continue;
        flushBytes();
        out += token;
        continue;
      }
      for (const ch of token) {
        const b = CHAR_TO_BYTE.get(ch);
        if (b === undefined) throw new Error(`token ${JSON.stringify(token)} is not byte-level`);
        bytes.push(b);
      }
    }
    flushBytes();
    return out;
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => {
      const t = Number.isInteger(id) && id >= 0 ? this.vocab[id] : undefined;
      if (t === undefined) throw new Error(`id ${id} is not in the vocabulary (size ${this.vocab.length})`);
      return t;
    });
  }

  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => {
      const id = this.index.get(t) ?? this.unkId;
      if (id === undefined) throw new Error(`token ${JSON.stringify(t)} is not in the vocabulary and there is no unknown token`);
      return id;
    });
  }

  private sequence(text: string): TokenSequence {
    const seq: TokenSequence = { ids: [], tokens: [], offsets: [] };
    let codePoint = 0;
    for (const part of this.splitSpecial(text)) {
      const piece = text.slice(part.start, part.end);
      const length = codePointLength(piece);
      if (part.special !== undefined) {
        seq.ids.push(this.index.get(part.special)!);
        seq.tokens.push(part.special);
        seq.offsets.push([codePoint, codePoint + length]);
      } else {
        this.encodePart(piece, codePoint, seq);
      }
      codePoint += length;
    }
    return seq;
  }

  /** Pre-tokenises one stretch of text between special tokens and BPE-encodes each piece. */
  private encodePart(text: string, firstCodePoint: number, seq: TokenSequence): void {
    const prefixed = this.addPrefixSpace && !text.startsWith(' ');
    const source = prefixed ? ' ' + text : text;
    // Code point k of `source` comes from input code point firstCodePoint + k, shifted by one
    // when a space was prepended (the added space belongs to the first real character).
    const originOf = (k: number) => firstCodePoint + (prefixed ? Math.max(0, k - 1) : k);
    let k = 0; // code point index in source of the current match
    let lastEnd = 0;
    for (const m of source.matchAll(GPT2_PATTERN)) {
      k += codePointLength(source.slice(lastEnd, m.index));
      lastEnd = m.index + m[0].length;
      // The bytes of the piece, and for each byte the input code point it came from.
      const chars: string[] = [];
      const origins: number[] = [];
      for (const ch of m[0]) {
        const origin = originOf(k++);
        for (const b of utf8(ch)) {
          chars.push(BYTE_TO_CHAR[b]);
          origins.push(origin);
        }
      }
      const word = chars.join('');
      let tokens = this.cache.get(word);
      if (tokens === undefined) {
        tokens = this.bpe.mergeSymbols(chars);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, tokens);
      }
      let byte = 0;
      for (const token of tokens) {
        const id = this.index.get(token) ?? this.unkId;
        if (id === undefined)
          throw new Error(`byte-level token ${JSON.stringify(token)} is not in the vocabulary and there is no unknown token`);
        let start = origins[byte];
        let end = origins[byte + token.length - 1] + 1;
        byte += token.length;
        if (this.trimOffsets) [start, end] = trimSpaces(token, start, end, this.addPrefixSpace, seq.ids.length === 0 || start === 0);
        seq.ids.push(id);
        seq.tokens.push(token);
        seq.offsets.push([start, end]);
      }
    }
  }
}

/** RoBERTa's offset trimming: leading and trailing Ġ are not part of the token's span. */
function trimSpaces(token: string, start: number, end: number, addPrefixSpace: boolean, isFirst: boolean): [number, number] {
  let leading = 0;
  while (leading < token.length && token[leading] === 'Ġ') leading++;
  let trailing = 0;
  while (trailing < token.length && token[token.length - 1 - trailing] === 'Ġ') trailing++;
  if (leading > 0) {
    if (isFirst && addPrefixSpace && leading === 1) leading = 0;
    start = Math.min(start + leading, end);
  }
  if (trailing > 0 && end >= trailing) end = Math.max(end - trailing, start);
  return [start, end];
}

/** UTF-8 bytes of one code point (a lone surrogate becomes U+FFFD, as TextEncoder does). */
function utf8(ch: string): number[] {
  let c = ch.codePointAt(0)!;
  if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
  if (c < 0x80) return [c];
  if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 63)];
  if (c < 0x10000) return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
  return [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
}

/** Parses merges.txt: one "left right" pair per line, an optional "#version" first line. */
export function parseMergesText(text: string): [string, string][] {
  const merges: [string, string][] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if ((i === 0 && line.startsWith('#version')) || line === '') return;
    const parts = line.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1])
      throw new Error(`merges.txt line ${i + 1}: expected "left right", got ${describeJson(line)}`);
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

export interface ByteLevelBpeTrainOptions extends ByteLevelBpeOptions {
  /** Total vocabulary size: special tokens + 256 bytes + merges. */
  vocabSize: number;
  /** Only merge pairs seen at least this often. Default 2. */
  minFrequency?: number;
}

/** Learns a byte-level BPE vocabulary: special tokens first, then the 256 bytes, then merges. */
export function trainByteLevelBpe(texts: Iterable<string>, options: ByteLevelBpeTrainOptions): ByteLevelBpeTokenizer {
  const specials = options.specialTokens ?? [
    options.bosToken ?? '<s>',
    options.padToken ?? '<pad>',
    options.eosToken ?? '</s>',
    options.unkToken ?? '<unk>',
    options.maskToken ?? '<mask>',
  ];
  const counts = new Map<string, number>();
  const encoder = new TextEncoder();
  for (const text of texts) {
    const source = options.addPrefixSpace && !text.startsWith(' ') ? ' ' + text : text;
    for (const m of source.matchAll(GPT2_PATTERN)) {
      let word = '';
      for (const b of encoder.encode(m[0])) word += BYTE_TO_CHAR[b];
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const alphabet = byteLevelAlphabet();
  const reserved = specials.length + alphabet.length;
  if (options.vocabSize < reserved)
    throw new Error(`vocab size ${options.vocabSize} is smaller than the ${reserved} special and byte tokens`);
  const { merges, vocab } = trainBpe(counts, {
    initialAlphabet: alphabet,
    vocabSize: options.vocabSize - specials.length,
    minFrequency: options.minFrequency ?? 2,
  });
  const tokens = [...specials, ...vocab.filter((t) => !specials.includes(t))];
  const index = new Map(tokens.map((t, i) => [t, i]));
  return new ByteLevelBpeTokenizer(index, merges, { ...options, specialTokens: specials });
}
