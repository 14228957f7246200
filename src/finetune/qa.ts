// Extractive QA as Hugging Face's run_qa.py / utils_qa.py do it: question first, the context cut
// into windows of maxLength with docStride tokens of overlap ('only_second' truncation with
// overflow), answers located through the offsets; n-best span decoding over all windows of an
// example, with the null (no-answer) score of SQuAD v2.0.
import { DataError, type QaExample } from './data.js';
import { pairTemplate, type EncodedFeature, type TaskTokenizer } from './encoding.js';
import { toUtf16Offsets } from '../tokenizers/encoding.js';

export interface QaFeature extends EncodedFeature {
  /** Index of the example this window comes from. */
  example: number;
  /** UTF-16 [start, end) in the context for context tokens; null for question and special tokens. */
  offsets: ([number, number] | null)[];
  /** Training targets: token indices of the first answer, or 0 ([CLS]) when the window does not hold it. */
  start_positions?: number;
  end_positions?: number;
}

export interface QaWindowOptions {
  /** Tokens per window, special tokens and question included (run_qa's max_seq_length, 384). */
  maxLength?: number;
  /** Tokens shared by consecutive windows (doc_stride, 128). */
  docStride?: number;
  /** Compute start/end targets (training, evaluation loss). Default true. */
  labelled?: boolean;
}

/** The context's token windows [from, to): each budget long, starting budget - stride after the last. */
function windows(length: number, budget: number, stride: number): [number, number][] {
  const out: [number, number][] = [];
  for (let from = 0; ; from += budget - stride) {
    const to = Math.min(from + budget, length);
    out.push([from, to]);
    if (to === length) return out;
  }
}

/** One feature per window of every example (prepare_train_features / prepare_validation_features). */
export function qaFeatures(
  examples: readonly QaExample[],
  tokenizer: TaskTokenizer,
  { maxLength = 384, docStride = 128, labelled = true }: QaWindowOptions = {},
): QaFeature[] {
  const t = pairTemplate(tokenizer);
  const specials = 2 + t.between.length;
  const out: QaFeature[] = [];
  examples.forEach((ex, index) => {
    const q = tokenizer.encode(ex.question.trimStart(), null, { addSpecialTokens: false });
    const c = tokenizer.encode(ex.context, null, { addSpecialTokens: false });
    const contextOffsets = toUtf16Offsets(ex.context, c.offsets);
    const budget = maxLength - q.inputIds.length - specials;
    if (budget <= 0) {
      throw new DataError(
        ex.source,
        ex.line,
        `the question is ${q.inputIds.length} tokens: with ${specials} special tokens nothing of the context fits in max length ${maxLength}`,
      );
    }
    if (docStride >= budget) {
      throw new DataError(
        ex.source,
        ex.line,
        `doc stride ${docStride} must be smaller than the ${budget} context tokens a window holds (max length ${maxLength} - question ${q.inputIds.length} - ${specials} special tokens)`,
      );
    }
    for (const [from, to] of windows(c.inputIds.length, budget, docStride)) {
      const f: QaFeature = { example: index, input_ids: [], token_type_ids: [], attention_mask: [], offsets: [] };
      const push = (id: number, type: number, offset: [number, number] | null) => {
        f.input_ids.push(id);
        f.token_type_ids.push(type);
        f.attention_mask.push(1);
        f.offsets.push(offset);
      };
      push(t.first.id, t.first.type, null);
      for (const id of q.inputIds) push(id, t.first.type, null);
      for (const s of t.between) push(s.id, s.type, null);
      const contextStart = f.input_ids.length;
      for (let k = from; k < to; k++) push(c.inputIds[k], t.secondType, contextOffsets[k]);
      const contextEnd = f.input_ids.length - 1; // last context token (contextStart - 1 when none)
      push(t.last.id, t.last.type, null);
      if (labelled) Object.assign(f, answerPositions(ex, f.offsets, contextStart, contextEnd));
      out.push(f);
    }
  });
  return out;
}

/** run_qa's label rule: the first answer's tokens if the window holds all of it, else [CLS] (0). */
function answerPositions(ex: QaExample, offsets: QaFeature['offsets'], first: number, last: number) {
  const cls = { start_positions: 0, end_positions: 0 };
  if (ex.answers.answer_start.length === 0 || last < first) return cls;
  const startChar = ex.answers.answer_start[0];
  const endChar = startChar + ex.answers.text[0].length;
  if (!(offsets[first]![0] <= startChar && offsets[last]![1] >= endChar)) return cls;
  let s = first;
  while (s <= last && offsets[s]![0] <= startChar) s++;
  let e = last;
  while (e >= first && offsets[e]![1] >= endChar) e--;
  return { start_positions: s - 1, end_positions: e + 1 };
}

export interface QaDecodeOptions {
  /** Candidates per window for start and for end (n_best_size, 20). */
  nBest?: number;
  /** Longest answer in tokens (max_answer_length, 30). */
  maxAnswerLength?: number;
  /** SQuAD v2.0: answer '' when the null score beats the best span by more than nullThreshold. */
  allowImpossible?: boolean;
  /** null_score_diff_threshold (0). */
  nullThreshold?: number;
}

export interface QaPrediction {
  id: string;
  /** `context.slice(start, end)` (UTF-16 indices); '' with start = end = 0 when there is no answer. */
  answer: string;
  start: number;
  end: number;
  /** Probability of the answer among the n-best candidates (softmax of start + end logits). */
  score: number;
  /** v2.0: null score - best span score (what the threshold is compared with). */
  nullScoreDiff?: number;
}

/** The indices of the n largest values, largest first. */
function topIndices(xs: ArrayLike<number>, length: number, n: number): number[] {
  return Array.from({ length }, (_, i) => i)
    .sort((a, b) => xs[b] - xs[a] || a - b)
    .slice(0, n);
}

interface Candidate {
  start: number;
  end: number;
  score: number;
  startLogit: number;
  endLogit: number;
  isNull: boolean;
}

/**
 * Best answer per example over all its windows (postprocess_qa_predictions): start <= end,
 * at most maxAnswerLength tokens, both ends on context tokens. `startLogits[i]` / `endLogits[i]`
 * are feature i's logits as read back (at least as long as its input_ids).
 */
export function decodeQa(
  examples: readonly QaExample[],
  features: readonly QaFeature[],
  startLogits: readonly ArrayLike<number>[],
  endLogits: readonly ArrayLike<number>[],
  { nBest = 20, maxAnswerLength = 30, allowImpossible = false, nullThreshold = 0 }: QaDecodeOptions = {},
): QaPrediction[] {
  if (startLogits.length !== features.length || endLogits.length !== features.length) {
    throw new Error(`QA decode: ${startLogits.length} start and ${endLogits.length} end logit rows for ${features.length} features`);
  }
  const byExample = examples.map((): number[] => []);
  features.forEach((f, i) => {
    if (!byExample[f.example]) throw new Error(`QA decode: feature ${i} belongs to example ${f.example}, there are ${examples.length}`);
    byExample[f.example].push(i);
  });
  return examples.map((ex, e) => {
    let minNull: Candidate | null = null;
    const prelim: Candidate[] = [];
    for (const i of byExample[e]) {
      const s = startLogits[i];
      const en = endLogits[i];
      const offsets = features[i].offsets;
      const T = offsets.length;
      if (s.length < T || en.length < T)
        throw new Error(`QA decode: feature ${i} has ${T} tokens but ${Math.min(s.length, en.length)} logits`);
      const nullScore = s[0] + en[0];
      if (!minNull || minNull.score > nullScore)
        minNull = { start: 0, end: 0, score: nullScore, startLogit: s[0], endLogit: en[0], isNull: true };
      for (const a of topIndices(s, T, nBest)) {
        for (const b of topIndices(en, T, nBest)) {
          const oa = offsets[a];
          const ob = offsets[b];
          if (!oa || !ob || b < a || b - a + 1 > maxAnswerLength) continue;
          prelim.push({ start: oa[0], end: ob[1], score: s[a] + en[b], startLogit: s[a], endLogit: en[b], isNull: false });
        }
      }
    }
    if (allowImpossible && minNull) prelim.push(minNull);
    const ranked = prelim.sort((x, y) => y.score - x.score).slice(0, nBest);
    if (allowImpossible && minNull && !ranked.some((c) => c.isNull)) ranked.push(minNull);
    if (!ranked.length) return { id: ex.id, answer: '', start: 0, end: 0, score: 0 };
    const max = Math.max(...ranked.map((c) => c.score));
    const exps = ranked.map((c) => Math.exp(c.score - max));
    const total = exps.reduce((a, b) => a + b, 0);
    const prob = (c: Candidate) => exps[ranked.indexOf(c)] / total;
    const best = ranked.find((c) => !c.isNull);
    const answerOf = (c: Candidate): QaPrediction => ({
      id: ex.id,
      answer: ex.context.slice(c.start, c.end),
      start: c.start,
      end: c.end,
      score: prob(c),
    });
    if (!allowImpossible) return best ? answerOf(best) : { id: ex.id, answer: '', start: 0, end: 0, score: 0 };
    const nullCandidate = minNull!;
    if (!best) return { id: ex.id, answer: '', start: 0, end: 0, score: prob(nullCandidate) };
    const nullScoreDiff = nullCandidate.score - best.startLogit - best.endLogit;
    if (nullScoreDiff > nullThreshold) return { id: ex.id, answer: '', start: 0, end: 0, score: prob(nullCandidate), nullScoreDiff };
    return { ...answerOf(best), nullScoreDiff };
  });
}
