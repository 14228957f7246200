// Token tagging: word labels aligned to sub-tokens as run_ner.py does (the first piece of a word
// carries its label, the rest -100, or its I- form with labelAllTokens), predictions mapped back
// to words, and entities grouped with character offsets as Hugging Face's token-classification
// pipeline does for each aggregation_strategy.
import { DataError, type LabelSet, type TagExample } from './data.js';
import { encodeWithOffsets, type EncodedFeature, type TaskTokenizer } from './encoding.js';

export interface TagFeature extends EncodedFeature {
  example: number;
  /** Per token: the index of its word, or null (special tokens). */
  wordIds: (number | null)[];
  /** Per token: UTF-16 [start, end) in the text (the example's text, or its words joined by spaces). */
  offsets: [number, number][];
  tokens: string[];
  special: number[];
  /** Per token: the label id, or -100 (not counted in the loss). */
  labels?: number[];
}

export interface TagEncodeOptions {
  maxLength?: number;
  labels?: LabelSet;
  /** Label every piece of a word (B- becomes I- after the first), as run_ner's label_all_tokens. */
  labelAllTokens?: boolean;
  labelled?: boolean;
}

/** The text a tagged example is encoded from, and its words' UTF-16 spans in it. */
export function tagText(ex: TagExample): { text: string; wordOffsets: [number, number][] } {
  if (ex.text !== undefined && ex.wordOffsets) return { text: ex.text, wordOffsets: ex.wordOffsets };
  const wordOffsets: [number, number][] = [];
  let at = 0;
  for (const w of ex.words) {
    wordOffsets.push([at, at + w.length]);
    at += w.length + 1;
  }
  return { text: ex.words.join(' '), wordOffsets };
}

/** The word holding each token: the one whose span contains the token's last character. */
function wordIdsOf(offsets: [number, number][], special: number[], wordOffsets: [number, number][]): (number | null)[] {
  let w = 0;
  return offsets.map(([s, e], i) => {
    if (special[i] || e <= s) return null;
    const last = e - 1;
    while (w < wordOffsets.length && wordOffsets[w][1] <= last) w++;
    if (w < wordOffsets.length && wordOffsets[w][0] <= last) return w;
    // offsets go back (a second sequence); search from the start
    const k = wordOffsets.findIndex(([ws, we]) => ws <= last && last < we);
    if (k >= 0) w = k;
    return k >= 0 ? k : null;
  });
}

export function tagFeatures(
  examples: readonly TagExample[],
  tokenizer: TaskTokenizer,
  { maxLength = 128, labels, labelAllTokens = false, labelled = true }: TagEncodeOptions = {},
): TagFeature[] {
  if (labelled && !labels) throw new Error('tag features: labels (the label set) are needed to label the tokens');
  const inside = new Map<number, number>();
  if (labels && labelAllTokens) {
    for (const [name, id] of Object.entries(labels.label2id)) {
      if (name.startsWith('B-') && labels.label2id[`I-${name.slice(2)}`] !== undefined)
        inside.set(id, labels.label2id[`I-${name.slice(2)}`]);
    }
  }
  return examples.map((ex, index) => {
    const { text, wordOffsets } = tagText(ex);
    const enc = encodeWithOffsets(tokenizer, text, { maxLength, truncation: 'longest_first' });
    const wordIds = wordIdsOf(enc.offsets, enc.specialTokensMask, wordOffsets);
    const f: TagFeature = {
      example: index,
      input_ids: enc.inputIds,
      token_type_ids: enc.tokenTypeIds,
      attention_mask: enc.attentionMask,
      wordIds,
      offsets: enc.offsets,
      tokens: enc.tokens,
      special: enc.specialTokensMask,
    };
    if (labelled) {
      if (!ex.tags) throw new DataError(ex.source, ex.line, 'expected "tags" (features with targets were asked for)');
      const ids = ex.tags.map((tag, w) => {
        const id = labels!.label2id[tag];
        if (id === undefined)
          throw new DataError(
            ex.source,
            ex.line,
            `tag ${JSON.stringify(tag)} of word ${w} (${JSON.stringify(ex.words[w])}) is not one of the labels (${labels!.labels.join(', ')})`,
          );
        return id;
      });
      f.labels = wordIds.map((w, i) => {
        if (w === null) return -100;
        if (i > 0 && wordIds[i - 1] === w) return labelAllTokens ? (inside.get(ids[w]) ?? ids[w]) : -100;
        return ids[w];
      });
    }
    return f;
  });
}

/** Softmax of one row of logits. */
export function softmaxRow(logits: ArrayLike<number>, from: number, n: number): number[] {
  let max = -Infinity;
  for (let k = 0; k < n; k++) max = Math.max(max, logits[from + k]);
  const e = Array.from({ length: n }, (_, k) => Math.exp(logits[from + k] - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

function argmax(xs: readonly number[]): number {
  let best = 0;
  for (let k = 1; k < xs.length; k++) if (xs[k] > xs[best]) best = k;
  return best;
}

/**
 * The tag of each word from its first token's logits (`logits` is the feature's [T, K] row-major);
 * words cut off by truncation get null.
 */
export function wordTags(feature: TagFeature, logits: ArrayLike<number>, labels: LabelSet, wordCount: number): (string | null)[] {
  const K = labels.labels.length;
  if (logits.length < feature.input_ids.length * K)
    throw new Error(`word tags: ${logits.length} logits for ${feature.input_ids.length} tokens x ${K} labels`);
  const tags: (string | null)[] = new Array(wordCount).fill(null);
  feature.wordIds.forEach((w, i) => {
    if (w === null || tags[w] !== null) return;
    tags[w] = String(labels.labels[argmax(softmaxRow(logits, i * K, K))]);
  });
  return tags;
}

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

interface PreEntity {
  ids: number[];
  /** The text itself for [UNK] (the pipeline shows word_ref there). */
  raw: string | null;
  scores: number[];
  start: number;
  end: number;
  index: number;
  isSubword: boolean;
}

interface WordEntity {
  entity: string;
  score: number;
  pieces: PreEntity[];
  start: number;
  end: number;
  index?: number;
}

/**
 * Entities of a text from its tokens' logits, as the token-classification pipeline finds them
 * (`aggregation_strategy`, with ignore_labels ['O']): 'none' gives each token's label; 'simple'
 * groups adjacent tokens of one type (a B- starts a new group); 'first' / 'average' / 'max'
 * first merge the pieces of each word (label of its first piece / of the mean scores / of its
 * most confident piece), then group. Offsets are UTF-16 into `text`.
 */
export function groupEntities(
  feature: TagFeature,
  logits: ArrayLike<number>,
  text: string,
  labels: LabelSet,
  tokenizer: TaskTokenizer,
  strategy: AggregationStrategy = 'simple',
): (TokenEntity | EntityGroup)[] {
  const K = labels.labels.length;
  const name = (k: number) => String(labels.labels[k]);
  const pre: PreEntity[] = [];
  feature.input_ids.forEach((id, i) => {
    if (feature.special[i]) return;
    const [start, end] = feature.offsets[i];
    const ref = text.slice(start, end);
    // a word-aware tokenizer marks its pieces ('##'), a byte-level one does not: then a token not
    // preceded by a space continues a word (the pipeline's fallback heuristic)
    let isSubword =
      tokenizer.continuingSubwordPrefix !== undefined
        ? feature.tokens[i].length !== ref.length
        : start > 0 && !text.slice(start - 1, start + 1).includes(' ');
    const unk = tokenizer.unkToken !== undefined && feature.tokens[i] === tokenizer.unkToken;
    if (unk) isSubword = false;
    pre.push({ ids: [id], raw: unk ? ref : null, scores: softmaxRow(logits, i * K, K), start, end, index: i, isSubword });
  });
  const wordOf = (pieces: PreEntity[]) => {
    // decode runs of known tokens; an [UNK] shows as the text it stands for
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length) parts.push(tokenizer.decode(run, { skipSpecialTokens: false }));
      run = [];
    };
    for (const p of pieces) {
      if (p.raw !== null) {
        flush();
        parts.push(p.raw);
      } else run.push(...p.ids);
    }
    flush();
    return parts.join(' ');
  };
  let entities: WordEntity[];
  if (strategy === 'none' || strategy === 'simple') {
    entities = pre.map((p) => {
      const k = argmax(p.scores);
      return { entity: name(k), score: p.scores[k], pieces: [p], start: p.start, end: p.end, index: p.index };
    });
  } else {
    const words: PreEntity[][] = [];
    for (const p of pre) {
      if (words.length && p.isSubword) words[words.length - 1].push(p);
      else words.push([p]);
    }
    entities = words.map((pieces) => {
      let scores: number[];
      if (strategy === 'first') scores = pieces[0].scores;
      else if (strategy === 'max')
        scores = pieces.reduce((best, p) => (Math.max(...p.scores) > Math.max(...best.scores) ? p : best)).scores;
      else scores = pieces[0].scores.map((_, k) => pieces.reduce((s, p) => s + p.scores[k], 0) / pieces.length);
      const k = argmax(scores);
      return { entity: name(k), score: scores[k], pieces, start: pieces[0].start, end: pieces[pieces.length - 1].end };
    });
  }
  if (strategy === 'none') {
    // the token as the vocabulary spells it ('##ing', 'Ġworld'), as the pipeline shows it
    return entities
      .filter((e) => e.entity !== 'O')
      .map((e) => ({
        entity: e.entity,
        score: e.score,
        index: e.index!,
        word: e.pieces[0].raw ?? feature.tokens[e.index!],
        start: e.start,
        end: e.end,
      }));
  }
  const tagOf = (entity: string): [string, string] =>
    entity.startsWith('B-') ? ['B', entity.slice(2)] : entity.startsWith('I-') ? ['I', entity.slice(2)] : ['I', entity];
  const groups: WordEntity[][] = [];
  for (const e of entities) {
    const last = groups[groups.length - 1];
    const [bi, tag] = tagOf(e.entity);
    if (last && tagOf(last[last.length - 1].entity)[1] === tag && bi !== 'B') last.push(e);
    else groups.push([e]);
  }
  return groups
    .map((g) => ({
      entity_group: g[0].entity.includes('-') ? g[0].entity.slice(g[0].entity.indexOf('-') + 1) : g[0].entity,
      score: g.reduce((s, e) => s + e.score, 0) / g.length,
      word: wordOf(g.flatMap((e) => e.pieces)),
      start: g[0].start,
      end: g[g.length - 1].end,
    }))
    .filter((g) => g.entity_group !== 'O');
}
