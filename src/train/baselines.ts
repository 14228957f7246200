// Baselines a pre-training run is judged against on held-back batches: the unigram entropy of
// the tokens (an MLM loss below it uses context) and the NSP majority class (an NSP accuracy
// above it uses the sentences).
import type { PretrainingBatch } from './objectives.js';

/** Entropy (nats) of the unigram distribution of the non-special tokens in the batches. */
export function unigramEntropy(batches: PretrainingBatch[], special: Set<number>): number {
  const counts = new Map<number, number>();
  let n = 0;
  for (const b of batches) {
    for (let i = 0; i < b.inputIds.length; i++) {
      if (!b.attentionMask[i]) continue;
      const id = b.mlmLabels[i] !== -100 ? b.mlmLabels[i] : b.inputIds[i];
      if (special.has(id)) continue;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      n++;
    }
  }
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * Math.log(c / n);
  return h;
}

/** Accuracy of always answering the more frequent next-sentence label of the batches. */
export function nspMajorityAccuracy(batches: PretrainingBatch[]): number {
  let random = 0,
    n = 0;
  for (const b of batches) {
    for (const v of b.nextSentenceLabel ?? []) {
      if (v === -100) continue;
      n++;
      if (v === 1) random++;
    }
  }
  return n ? Math.max(random, n - random) / n : NaN;
}
