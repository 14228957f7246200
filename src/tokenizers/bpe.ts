// Byte-pair encoding: a trainer that learns merges from word frequencies (Sennrich et al.), and
// an encoder that applies learned merges to a word. The byte-level tokenizer and the WordPiece
// trainer are built on these two.

/** Words and how often each occurs; insertion order matters for ties (see trainBpe). */
export type WordFrequencies = Map<string, number> | Record<string, number>;

export interface BpeTrainOptions {
  /** Stop after this many merges. */
  numMerges?: number;
  /** Stop when alphabet + merges reach this many tokens (special tokens not counted). */
  vocabSize?: number;
  /** Only merge pairs seen at least this often. Default 1. */
  minFrequency?: number;
  /**
   * Prefix marking a symbol that continues a word, e.g. '##' for WordPiece vocabularies:
   * "low" starts as l ##o ##w, and merging l + ##o gives lo. Default none.
   */
  continuingSubwordPrefix?: string;
  /** Symbols that start in the alphabet even if unseen (e.g. all 256 byte characters). */
  initialAlphabet?: readonly string[];
}

export interface BpeTrainResult {
  /** Merges in the order learned; the index is the merge's rank (lower applies first). */
  merges: [string, string][];
  /** Alphabet (initial alphabet, then the symbols seen, sorted) followed by one token per merge. */
  vocab: string[];
}

interface PairStat {
  left: string;
  right: string;
  count: number;
  /** Words that contained the pair at some point (may be stale; checked when used). */
  words: Set<number>;
}

/** Binary heap; `before(a, b)` says a comes out first. Entries may go stale and are checked when popped. */
class Heap<T> {
  private items: T[] = [];
  constructor(private readonly before: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.items.length;
  }
  peek(): T {
    return this.items[0];
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i], a[parent])) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }
  pop(): T {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l], a[m])) m = l;
        if (r < a.length && this.before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

const pairKey = (left: string, right: string) => `${left.length}:${left}${right}`;

function entriesOf(words: WordFrequencies): [string, number][] {
  return words instanceof Map ? [...words] : Object.entries(words);
}

/**
 * Learns BPE merges. Each step merges the most frequent adjacent pair; ties go to the pair that
 * occurs first when reading the words in order, left to right. With
 * { low: 5, lower: 2, newest: 6, widest: 3 } and 10 merges this gives
 * es, est, lo, low, ne, new, newest, wi, wid, widest.
 */
export function trainBpe(words: WordFrequencies, options: BpeTrainOptions = {}): BpeTrainResult {
  const prefix = options.continuingSubwordPrefix ?? '';
  const minFrequency = options.minFrequency ?? 1;
  const symbols: string[][] = [];
  const freq: number[] = [];
  const alphabet = new Set<string>();
  for (const [word, count] of entriesOf(words)) {
    if (!Number.isFinite(count) || count <= 0) continue;
    const chars = [...word];
    if (chars.length === 0) continue;
    const syms = chars.map((c, i) => (i > 0 ? prefix + c : c));
    syms.forEach((s) => alphabet.add(s));
    symbols.push(syms);
    freq.push(count);
  }
  const initial = options.initialAlphabet ?? [];
  const vocab = [...initial, ...[...alphabet].filter((s) => !initial.includes(s)).sort()];
  const known = new Set(vocab);
  const merges: [string, string][] = [];
  const maxMerges = Math.min(options.numMerges ?? Infinity, options.vocabSize === undefined ? Infinity : options.vocabSize - vocab.length);

  const pairs = new Map<string, PairStat>();
  // [count, key] entries, most frequent first
  const heap = new Heap<[number, string]>((a, b) => a[0] > b[0]);
  let touched = new Set<string>();
  const account = (w: number, sign: 1 | -1) => {
    const s = symbols[w];
    for (let i = 0; i + 1 < s.length; i++) {
      const key = pairKey(s[i], s[i + 1]);
      let stat = pairs.get(key);
      if (!stat) {
        stat = { left: s[i], right: s[i + 1], count: 0, words: new Set() };
        pairs.set(key, stat);
      }
      stat.count += sign * freq[w];
      if (sign > 0) stat.words.add(w);
      touched.add(key);
    }
  };
  const publish = () => {
    for (const key of touched) {
      const stat = pairs.get(key)!;
      if (stat.count > 0) heap.push([stat.count, key]);
      else pairs.delete(key);
    }
    touched = new Set();
  };
  /** Where a pair first occurs: word index * 2^20 + position, or Infinity if nowhere. */
  const firstOccurrence = (stat: PairStat): number => {
    let best = Infinity;
    for (const w of stat.words) {
      if (w * 2 ** 20 >= best) continue;
      const s = symbols[w];
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === stat.left && s[i + 1] === stat.right) {
          best = Math.min(best, w * 2 ** 20 + i);
          break;
        }
      }
    }
    return best;
  };

  for (let w = 0; w < symbols.length; w++) account(w, 1);
  publish();

  while (merges.length < maxMerges && heap.size > 0) {
    const [count, key] = heap.pop();
    const stat = pairs.get(key);
    if (!stat || stat.count !== count) continue; // stale entry
    if (count < minFrequency) break;
    // Gather every live pair with the same count, then pick the first occurring.
    const tieSet = new Set([stat]);
    while (heap.size > 0 && heap.peek()[0] === count) {
      const [, k] = heap.pop();
      const s = pairs.get(k);
      if (s && s.count === count) tieSet.add(s);
    }
    const ties = [...tieSet];
    let best = stat;
    if (ties.length > 1) {
      let bestAt = Infinity;
      for (const s of ties) {
        const at = firstOccurrence(s);
        if (at < bestAt) [best, bestAt] = [s, at];
      }
      for (const s of ties) if (s !== best) heap.push([count, pairKey(s.left, s.right)]);
    }

    const { left, right } = best;
    const merged = mergeSymbols(left, right, prefix);
    merges.push([left, right]);
    if (!known.has(merged)) {
      known.add(merged);
      vocab.push(merged);
    }
    for (const w of [...best.words]) {
      const s = symbols[w];
      let found = false;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === left && s[i + 1] === right) found = true;
      if (!found) continue;
      account(w, -1);
      symbols[w] = applyMerge(s, left, right, merged);
      account(w, 1);
    }
    publish();
  }
  return { merges, vocab };
}

/** The symbol a merge makes; a continuation prefix on the right half is dropped. */
export function mergeSymbols(left: string, right: string, continuingSubwordPrefix = ''): string {
  return continuingSubwordPrefix && right.startsWith(continuingSubwordPrefix)
    ? left + right.slice(continuingSubwordPrefix.length)
    : left + right;
}

function applyMerge(s: string[], left: string, right: string, merged: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    if (i + 1 < s.length && s[i] === left && s[i + 1] === right) {
      out.push(merged);
      i++;
    } else out.push(s[i]);
  }
  return out;
}

/** Applies learned merges to words: lowest-ranked pair first, all its occurrences left to right. */
export class BpeTokenizer {
  readonly merges: readonly [string, string][];
  readonly continuingSubwordPrefix: string;
  private readonly ranks = new Map<string, number>();

  constructor(merges: readonly [string, string][], options: { continuingSubwordPrefix?: string } = {}) {
    this.merges = merges;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '';
    merges.forEach(([l, r], rank) => {
      const key = pairKey(l, r);
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
  }

  /** Splits one word into symbols (code points, continuation-prefixed), then merges. */
  tokenizeWord(word: string): string[] {
    const prefix = this.continuingSubwordPrefix;
    return this.mergeSymbols([...word].map((c, i) => (i > 0 ? prefix + c : c)));
  }

  /**
   * Merges a list of symbols as far as the learned merges allow: the lowest-ranked adjacent pair
   * first, the leftmost among equals, as Hugging Face's `Word::merge_all` does, with a heap of
   * candidate pairs so a long word costs O(n log n) (a rescan per merge was quadratic: 50,000
   * letters took 2.9 s with 739 merges).
   */
  mergeSymbols(symbols: string[]): string[] {
    const n = symbols.length;
    if (n < 2) return symbols;
    const sym = symbols.slice();
    const next = Int32Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
    const heap = new Heap<number>((a, b) => a < b);
    // one number per candidate pair: rank first, then position (exact while ranks < 2^21)
    const push = (at: number) => {
      const rank = next[at] < 0 ? undefined : this.ranks.get(pairKey(sym[at], sym[next[at]]));
      if (rank !== undefined) heap.push(rank * 2 ** 32 + at);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const key = heap.pop();
      const rank = Math.floor(key / 2 ** 32);
      const at = key - rank * 2 ** 32;
      const right = next[at];
      // stale: this symbol was merged into its left neighbour, or its pair has changed since
      if (sym[at] === '' || right < 0 || this.ranks.get(pairKey(sym[at], sym[right])) !== rank) continue;
      sym[at] = mergeSymbols(sym[at], sym[right], this.continuingSubwordPrefix);
      sym[right] = '';
      next[at] = next[right];
      if (next[right] >= 0) prev[next[right]] = at;
      if (prev[at] >= 0) push(prev[at]);
      push(at);
    }
    const out: string[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[i]);
    return out;
  }

  /** Tokens of a text split on whitespace. */
  tokenize(text: string): string[] {
    return text
      .split(/\s+/u)
      .filter(Boolean)
      .flatMap((w) => this.tokenizeWord(w));
  }
}
