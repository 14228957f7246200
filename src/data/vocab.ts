// What the data pipeline needs from a tokenizer: text -> tokens -> ids, the vocabulary (for
// random replacement and whole-word grouping) and the special tokens' ids.

export interface PretrainingTokenizer {
  tokenize(text: string): string[];
  convertTokensToIds(tokens: readonly string[]): number[];
  /** Tokens indexed by id. */
  readonly vocab: readonly string[];
  readonly clsToken?: string;
  readonly sepToken?: string;
  readonly padToken?: string;
  readonly maskToken?: string;
  readonly continuingSubwordPrefix?: string;
}

export interface VocabInfo {
  size: number;
  cls: number;
  sep: number;
  pad: number;
  mask: number;
  /** 1 where the token continues a word ("##ing"), for whole-word masking. */
  continuation: Uint8Array;
  /** 1 for [CLS] [SEP] [PAD] [MASK]: never chosen for masking. */
  special: Uint8Array;
}

export function vocabInfo(tokenizer: PretrainingTokenizer): VocabInfo {
  const vocab = tokenizer.vocab;
  const index = new Map<string, number>();
  vocab.forEach((t, i) => { if (!index.has(t)) index.set(t, i); });
  const id = (token: string | undefined, fallback: string): number => {
    const name = token ?? fallback;
    const i = index.get(name);
    if (i === undefined) throw new Error(`pretraining data: the vocabulary has no ${name} token`);
    return i;
  };
  const info: VocabInfo = {
    size: vocab.length,
    cls: id(tokenizer.clsToken, '[CLS]'),
    sep: id(tokenizer.sepToken, '[SEP]'),
    pad: id(tokenizer.padToken, '[PAD]'),
    mask: id(tokenizer.maskToken, '[MASK]'),
    continuation: new Uint8Array(vocab.length),
    special: new Uint8Array(vocab.length),
  };
  const prefix = tokenizer.continuingSubwordPrefix ?? '##';
  vocab.forEach((t, i) => { if (t.startsWith(prefix) && t.length > prefix.length) info.continuation[i] = 1; });
  for (const s of [info.cls, info.sep, info.pad, info.mask]) info.special[s] = 1;
  return info;
}

/** Documents of sentences -> documents of token-id sentences (empty sentences and documents dropped, as google-research/bert). */
export function tokenizeDocuments(documents: readonly (readonly string[])[], tokenizer: PretrainingTokenizer): number[][][] {
  const out: number[][][] = [];
  for (const doc of documents) {
    const ids: number[][] = [];
    for (const sentence of doc) {
      const tokens = tokenizer.tokenize(sentence);
      if (tokens.length) ids.push(tokenizer.convertTokensToIds(tokens));
    }
    if (ids.length) out.push(ids);
  }
  return out;
}
