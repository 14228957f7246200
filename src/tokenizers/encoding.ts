// What every tokenizer here returns, and the steps they share after splitting text into
// tokens: truncation, special-token templates, padding. The rules follow Hugging Face's Rust
// `tokenizers` (truncate_encodings, TemplateProcessing / RobertaProcessing, pad_encodings).

/**
 * One encoded text or pair. Offsets are [start, end) in Unicode code points of the input
 * string the token came from (text or pair), as Hugging Face reports them; special tokens added
 * by the template and padding have [0, 0]. For a UTF-16 (String.prototype.slice) view use
 * `toUtf16Offsets`.
 */
export interface TokenizerEncoding {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
  tokens: string[];
  offsets: [number, number][];
  /** 1 for template special tokens and padding, 0 for tokens of the text (even `[SEP]` typed in it). */
  specialTokensMask: number[];
}

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';

export interface EncodeOptions {
  /** Add the template's special tokens ([CLS] A [SEP] ...). Default true. */
  addSpecialTokens?: boolean;
  /** Truncate to this many tokens, special tokens included. */
  maxLength?: number;
  /** How a pair is truncated to maxLength. Default 'longest_first'. */
  truncation?: TruncationStrategy;
  /** 'max_length' pads to maxLength. (encodeBatch also takes 'longest'.) */
  padding?: 'max_length' | false;
}

export interface EncodeBatchOptions extends Omit<EncodeOptions, 'padding'> {
  /** 'longest' pads every encoding to the longest of the batch, 'max_length' to maxLength. */
  padding?: 'longest' | 'max_length' | false;
}

/** A batch item: a text or a [text, pair] tuple. */
export type EncodeInput = string | [string, string | null | undefined];

/** Tokens of one sequence before the template is applied. */
export interface TokenSequence {
  ids: number[];
  tokens: string[];
  offsets: [number, number][];
}

/** How special tokens surround one sequence or a pair. */
export interface SpecialTokensTemplate {
  /** First token, e.g. [CLS] or <s>. */
  start: { token: string; id: number };
  /** Separator/end token, e.g. [SEP] or </s>. */
  end: { token: string; id: number };
  /** Separators between A and B: 1 for BERT ([SEP]), 2 for RoBERTa (</s></s>). */
  separatorsBetweenPair: number;
  /** Type id of B and its closing token: 1 for BERT, 0 for RoBERTa. */
  pairTypeId: number;
  /** Padding token, e.g. [PAD] or <pad>. */
  pad: { token: string; id: number };
}

/** Number of special tokens the template adds. */
export function specialTokenCount(template: SpecialTokensTemplate, isPair: boolean): number {
  return isPair ? 2 + template.separatorsBetweenPair : 2;
}

/** Lengths [a, b] after HF's truncation of a pair (or a single sequence when b is undefined). */
export function truncatedLengths(a: number, b: number | undefined, maxLength: number, strategy: TruncationStrategy): [number, number] {
  const pairLength = b ?? 0;
  // HF: no room at all empties both sequences, whatever the strategy.
  if (maxLength === 0) return [0, 0];
  const total = a + pairLength;
  if (total <= maxLength) return [a, pairLength];
  const toRemove = total - maxLength;
  if (strategy === 'longest_first') {
    if (b === undefined) return [maxLength, 0];
    // HF: keep the shorter whole if the longer can absorb the cut, else split max_length evenly
    // (the extra odd token goes to the second of the sorted pair).
    let n1 = a;
    let n2 = b;
    const swap = n1 > n2;
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > maxLength ? n1 : Math.max(n1, maxLength - n1);
    if (n1 + n2 > maxLength) {
      n1 = Math.floor(maxLength / 2);
      n2 = n1 + (maxLength % 2);
    }
    if (swap) [n1, n2] = [n2, n1];
    return [Math.min(a, n1), Math.min(b, n2)];
  }
  if (strategy === 'only_second' && b === undefined) {
    throw new Error("truncation 'only_second' needs a pair of sequences");
  }
  const targetLength = strategy === 'only_first' ? a : pairLength;
  if (targetLength <= toRemove) {
    throw new Error(
      `cannot truncate to max length ${maxLength} with '${strategy}': the ${strategy === 'only_first' ? 'first' : 'second'} sequence has only ${targetLength} tokens and ${toRemove} must go`,
    );
  }
  return strategy === 'only_first' ? [a - toRemove, pairLength] : [a, pairLength - toRemove];
}

function cut(seq: TokenSequence, n: number): TokenSequence {
  if (seq.ids.length <= n) return seq;
  return { ids: seq.ids.slice(0, n), tokens: seq.tokens.slice(0, n), offsets: seq.offsets.slice(0, n) };
}

/** Truncates, then adds the template's special tokens; the common tail of every encode. */
export function buildEncoding(
  a: TokenSequence,
  b: TokenSequence | undefined,
  template: SpecialTokensTemplate,
  options: EncodeOptions = {},
): TokenizerEncoding {
  const addSpecial = options.addSpecialTokens ?? true;
  const isPair = b !== undefined;
  if (options.maxLength !== undefined) {
    const maxLength = options.maxLength;
    if (!Number.isInteger(maxLength) || maxLength < 0) throw new Error(`max length must be a non-negative integer, got ${maxLength}`);
    const reserved = addSpecial ? specialTokenCount(template, isPair) : 0;
    if (maxLength < reserved) {
      throw new Error(
        `max length ${maxLength} is smaller than the ${reserved} special tokens a ${isPair ? 'pair' : 'single sequence'} needs`,
      );
    }
    const [na, nb] = truncatedLengths(a.ids.length, b?.ids.length, maxLength - reserved, options.truncation ?? 'longest_first');
    a = cut(a, na);
    if (b) b = cut(b, nb);
  }

  const enc: TokenizerEncoding = { inputIds: [], tokenTypeIds: [], attentionMask: [], tokens: [], offsets: [], specialTokensMask: [] };
  const special = (t: { token: string; id: number }, typeId: number) => {
    enc.inputIds.push(t.id);
    enc.tokens.push(t.token);
    enc.tokenTypeIds.push(typeId);
    enc.attentionMask.push(1);
    enc.offsets.push([0, 0]);
    enc.specialTokensMask.push(1);
  };
  const sequence = (s: TokenSequence, typeId: number) => {
    for (let i = 0; i < s.ids.length; i++) {
      enc.inputIds.push(s.ids[i]);
      enc.tokens.push(s.tokens[i]);
      enc.tokenTypeIds.push(typeId);
      enc.attentionMask.push(1);
      enc.offsets.push(s.offsets[i]);
      enc.specialTokensMask.push(0);
    }
  };
  if (addSpecial) special(template.start, 0);
  sequence(a, 0);
  if (addSpecial) special(template.end, 0);
  if (b) {
    if (addSpecial) for (let i = 1; i < template.separatorsBetweenPair; i++) special(template.end, template.pairTypeId);
    sequence(b, template.pairTypeId);
    if (addSpecial) special(template.end, template.pairTypeId);
  }
  if (options.padding === 'max_length') {
    if (options.maxLength === undefined) throw new Error("padding 'max_length' needs maxLength");
    padEncoding(enc, options.maxLength, template.pad);
  }
  return enc;
}

/** Pads (on the right) to `length` with the pad token: type id 0, mask 0, offsets [0, 0]. */
export function padEncoding(enc: TokenizerEncoding, length: number, pad: { token: string; id: number }): void {
  while (enc.inputIds.length < length) {
    enc.inputIds.push(pad.id);
    enc.tokens.push(pad.token);
    enc.tokenTypeIds.push(0);
    enc.attentionMask.push(0);
    enc.offsets.push([0, 0]);
    enc.specialTokensMask.push(1);
  }
}

/** Applies batch padding ('longest' or 'max_length') in place. */
export function padBatch(
  encodings: TokenizerEncoding[],
  padding: EncodeBatchOptions['padding'],
  maxLength: number | undefined,
  pad: { token: string; id: number },
): void {
  if (!padding) return;
  let length: number;
  if (padding === 'max_length') {
    if (maxLength === undefined) throw new Error("padding 'max_length' needs maxLength");
    length = maxLength;
  } else {
    length = Math.max(0, ...encodings.map((e) => e.inputIds.length));
  }
  for (const e of encodings) padEncoding(e, length, pad);
}

/**
 * Converts code-point offsets (what encode returns, like Hugging Face) into UTF-16 offsets of
 * `text`, i.e. indices for String.prototype.slice. [0, 0] stays [0, 0].
 */
export function toUtf16Offsets(text: string, offsets: readonly (readonly [number, number])[]): [number, number][] {
  const utf16At: number[] = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const lo = text.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) i++;
    }
    utf16At.push(i + 1);
  }
  return offsets.map(([s, e]) => [utf16At[s] ?? text.length, utf16At[e] ?? text.length]);
}
