// Masked-LM predictions: google-research/bert's create_masked_lm_predictions (BERT, RoBERTa
// modes) and google-research/electra's pretrain_helpers.mask (ELECTRA mode), on token ids.
import { Rng, roundHalfEven } from './rng.js';
import type { VocabInfo } from './vocab.js';

export interface MaskedInstance {
  /** The input ids after masking. */
  inputIds: Int32Array;
  /** Masked positions, ascending. */
  positions: Int32Array;
  /** The original ids at those positions. */
  labels: Int32Array;
}

export interface BertMaskingOptions {
  maskedLmProb: number;
  maxPredictions: number;
  wholeWordMask: boolean;
}

/**
 * As create_masked_lm_predictions: candidates are all positions but [CLS] / [SEP] (with whole-word
 * masking a "##" piece joins the previous candidate); the candidates are shuffled; the number
 * to predict is min(maxPredictions, max(1, round(len(tokens) * maskedLmProb))) with Python's
 * round and len counting the [CLS] / [SEP] tokens too (as google's code does); a word that
 * would overshoot that number is skipped. Each chosen position, independently (also inside a
 * whole word): 80% [MASK], 10% the original token, 10% a token drawn uniformly from the whole
 * vocabulary.
 */
export function bertMask(tokens: Int32Array, vocab: VocabInfo, opts: BertMaskingOptions, rng: Rng): MaskedInstance {
  const cand: number[][] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === vocab.cls || t === vocab.sep) continue;
    if (opts.wholeWordMask && cand.length && vocab.continuation[t]) cand[cand.length - 1].push(i);
    else cand.push([i]);
  }
  rng.shuffle(cand);
  const out = Int32Array.from(tokens);
  const numToPredict = Math.min(opts.maxPredictions, Math.max(1, roundHalfEven(tokens.length * opts.maskedLmProb)));
  const chosen: number[] = [];
  const covered = new Set<number>();
  for (const set of cand) {
    if (chosen.length >= numToPredict) break;
    if (chosen.length + set.length > numToPredict) continue;
    if (set.some((i) => covered.has(i))) continue;
    for (const i of set) {
      covered.add(i);
      let token: number;
      if (rng.random() < 0.8) token = vocab.mask;
      else if (rng.random() < 0.5) token = tokens[i];
      else token = rng.randint(0, vocab.size - 1);
      out[i] = token;
      chosen.push(i);
    }
  }
  chosen.sort((a, b) => a - b);
  return { inputIds: out, positions: Int32Array.from(chosen), labels: Int32Array.from(chosen, (i) => tokens[i]) };
}

export interface ElectraMaskingOptions {
  maskedLmProb: number;
  maxPredictions: number;
}

/**
 * As ELECTRA's pretrain_helpers.mask (with its default uniform proposal): candidates are the
 * non-padding positions that are not [CLS] / [SEP] / [MASK]; the number to predict is
 * max(1, min(maxPredictions, round(numTokens * maskedLmProb))) with numTokens counting every
 * non-padding token and round done in float32 half-to-even like tf.round; each chosen position
 * becomes [MASK] with probability 0.85 and keeps its token otherwise (no random replacement —
 * ELECTRA's generator supplies the replacements). One difference: ELECTRA draws positions with
 * tf.random.categorical, i.e. with replacement (a position can be drawn twice, wasting a
 * prediction slot); here they are drawn without replacement, so exactly numToPredict distinct
 * positions (or every candidate, when there are fewer).
 */
export function electraMask(tokens: Int32Array, vocab: VocabInfo, opts: ElectraMaskingOptions, rng: Rng): MaskedInstance {
  const cand: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t !== vocab.cls && t !== vocab.sep && t !== vocab.mask && t !== vocab.pad) cand.push(i);
  }
  const product = Math.fround(Math.fround(tokens.length) * Math.fround(opts.maskedLmProb));
  const numToPredict = Math.min(cand.length, Math.max(1, Math.min(opts.maxPredictions, roundHalfEven(product))));
  // partial Fisher-Yates: the first numToPredict entries are a uniform sample without replacement
  for (let k = 0; k < numToPredict; k++) {
    const j = k + rng.below(cand.length - k);
    const t = cand[k];
    cand[k] = cand[j];
    cand[j] = t;
  }
  const chosen = cand.slice(0, numToPredict).sort((a, b) => a - b);
  const out = Int32Array.from(tokens);
  for (const i of chosen) if (rng.random() < 0.85) out[i] = vocab.mask;
  return { inputIds: out, positions: Int32Array.from(chosen), labels: Int32Array.from(chosen, (i) => tokens[i]) };
}
