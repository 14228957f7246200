// Count-based baselines a fine-tuned classifier is judged against on the same split: the
// majority class of the training labels and a bag-of-words logistic regression. Pure TypeScript
// (no GPU), so pages, the CLI and the benchmarks compute them alike. The seeded sampler is
// mulberry32, as bench/finetune/common.mjs draws its samples, so the same seed gives the same split.

/** A seeded uniform [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded Fisher-Yates shuffle (a new array). */
export function seededShuffle<T>(xs: readonly T[], seed: number): T[] {
  const r = seededRandom(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The most frequent training label (ties: the first in sorted order) and its accuracy on the test labels. */
export function majorityBaseline<L extends string | number>(
  trainLabels: readonly L[],
  testLabels: readonly L[],
): { label: L; accuracy: number } {
  if (!trainLabels.length) throw new Error('majorityBaseline: no training labels');
  if (!testLabels.length) throw new Error('majorityBaseline: no test labels');
  const counts = new Map<L, number>();
  for (const l of trainLabels) counts.set(l, (counts.get(l) ?? 0) + 1);
  const label = [...counts].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))[0][0];
  return { label, accuracy: testLabels.filter((l) => l === label).length / testLabels.length };
}

/** Lower-cased words and single punctuation marks. */
export const bagOfWords = (text: string): string[] => text.toLowerCase().match(/[a-z0-9']+|[^\sa-z0-9']/g) ?? [];

export interface BowOptions {
  epochs?: number;
  lr?: number;
  l2?: number;
  seed?: number;
}

export interface BowClassifier<L> {
  /** Distinct words of the training texts (the features). */
  vocabSize: number;
  predict(text: string): L;
  /** Every class with its probability, in sorted class order. */
  probabilities(text: string): { label: L; score: number }[];
}

/**
 * Bag-of-words multinomial logistic regression: binary word-presence features (the training
 * texts' words), L2-regularised, trained by SGD over shuffled examples (defaults: 5 epochs,
 * lr 0.1, L2 1e-4).
 */
export function trainBowClassifier<L extends string | number>(
  texts: readonly string[],
  labels: readonly L[],
  { epochs = 5, lr = 0.1, l2 = 1e-4, seed = 0 }: BowOptions = {},
): BowClassifier<L> {
  if (texts.length !== labels.length) throw new Error(`trainBowClassifier: ${texts.length} texts but ${labels.length} labels`);
  if (!texts.length) throw new Error('trainBowClassifier: no training texts');
  const classes = [...new Set(labels)].sort((a, b) => (String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0));
  const vocab = new Map<string, number>();
  const ids = (t: string, grow: boolean) => {
    const out = new Set<number>();
    for (const w of bagOfWords(t)) {
      if (!vocab.has(w) && grow) vocab.set(w, vocab.size);
      const id = vocab.get(w);
      if (id !== undefined) out.add(id);
    }
    return [...out];
  };
  const encoded = texts.map((t) => ids(t, true));
  const K = classes.length;
  const W = new Float64Array(vocab.size * K);
  const b = new Float64Array(K);
  const y = labels.map((l) => classes.indexOf(l));
  const scores = (xs: number[]) => {
    const s = Array.from(b);
    for (const id of xs) for (let k = 0; k < K; k++) s[k] += W[id * K + k];
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((x, v) => x + v, 0);
    return e.map((v) => v / z);
  };
  const order = texts.map((_, i) => i);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const i of seededShuffle(order, seed * 100 + epoch)) {
      const p = scores(encoded[i]);
      for (let k = 0; k < K; k++) {
        const g = p[k] - (k === y[i] ? 1 : 0);
        b[k] -= lr * g;
        // L2 on the weights this example touches (lazy, as sparse SGD does)
        for (const id of encoded[i]) W[id * K + k] -= lr * (g + l2 * W[id * K + k]);
      }
    }
  }
  const probabilities = (text: string) => scores(ids(text, false)).map((score, k) => ({ label: classes[k], score }));
  return {
    vocabSize: vocab.size,
    probabilities,
    predict: (text) => {
      const p = probabilities(text);
      return p.reduce((best, x) => (x.score > best.score ? x : best)).label;
    },
  };
}
