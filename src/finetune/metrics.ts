// Evaluation metrics of the fine-tuning tasks, as the usual references compute them:
// scikit-learn (accuracy, F1, Matthews), SciPy (Pearson, Spearman with average ranks), seqeval's
// default mode (IOB2 entities) and the official SQuAD v1.1 / v2.0 scripts. Pure TypeScript.

function checkPaired(what: string, preds: ArrayLike<unknown>, golds: ArrayLike<unknown>): void {
  if (preds.length !== golds.length) throw new Error(`${what}: ${preds.length} predictions for ${golds.length} references`);
  if (preds.length === 0) throw new Error(`${what}: no examples`);
}

/** Fraction of predictions equal to their reference. */
export function accuracy<T>(preds: ArrayLike<T>, golds: ArrayLike<T>): number {
  checkPaired('accuracy', preds, golds);
  let right = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === golds[i]) right++;
  return right / preds.length;
}

/** McNemar's exact test of two classifiers on the same examples. */
export interface McNemarResult {
  /** Examples only the first gets right. */
  onlyFirst: number;
  /** Examples only the second gets right. */
  onlySecond: number;
  /** Two-sided exact p-value: the binomial(onlyFirst + onlySecond, 1/2) tail (statsmodels' mcnemar(exact=True)). */
  pValue: number;
}

/**
 * Whether two classifiers scored on the same examples differ by more than chance: only the
 * examples one gets right and the other wrong count. `firstRight[i]` / `secondRight[i]`: whether
 * each got example i right.
 */
export function mcnemar(firstRight: ArrayLike<boolean>, secondRight: ArrayLike<boolean>): McNemarResult {
  checkPaired('mcnemar', firstRight, secondRight);
  let onlyFirst = 0;
  let onlySecond = 0;
  for (let i = 0; i < firstRight.length; i++) {
    if (firstRight[i] && !secondRight[i]) onlyFirst++;
    else if (!firstRight[i] && secondRight[i]) onlySecond++;
  }
  const n = onlyFirst + onlySecond;
  const k = Math.min(onlyFirst, onlySecond);
  // P(X <= k) for X ~ binomial(n, 1/2), summed in log space (n may be in the thousands)
  let logChoose = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logChoose += Math.log((n - i + 1) / i);
    tail += Math.exp(logChoose - n * Math.LN2);
  }
  return { onlyFirst, onlySecond, pValue: Math.min(1, 2 * tail) };
}

/** 2tp / (2tp + fp + fn); 0 when there is nothing to count (scikit-learn's zero_division). */
function f1FromCounts(tp: number, fp: number, fn: number): number {
  const d = 2 * tp + fp + fn;
  return d === 0 ? 0 : (2 * tp) / d;
}

/** F1 of the class `positive` (scikit-learn's average='binary', pos_label=1 by default). */
export function binaryF1<T>(preds: ArrayLike<T>, golds: ArrayLike<T>, positive: T = 1 as T): number {
  checkPaired('binary F1', preds, golds);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < preds.length; i++) {
    const p = preds[i] === positive;
    const g = golds[i] === positive;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  return f1FromCounts(tp, fp, fn);
}

/** Unweighted mean of the per-class F1 over every class seen in predictions or references. */
export function macroF1<T>(preds: ArrayLike<T>, golds: ArrayLike<T>): number {
  checkPaired('macro F1', preds, golds);
  const classes = new Set<T>();
  for (let i = 0; i < preds.length; i++) classes.add(preds[i]).add(golds[i]);
  let sum = 0;
  for (const c of classes) sum += binaryF1(preds, golds, c);
  return sum / classes.size;
}

/**
 * Matthews correlation coefficient, multi-class form (scikit-learn's matthews_corrcoef):
 * (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)), c = correct, s = samples, p_k / t_k =
 * times class k is predicted / true. 0 when a factor of the denominator is 0.
 */
export function matthewsCorrelation<T>(preds: ArrayLike<T>, golds: ArrayLike<T>): number {
  checkPaired('Matthews correlation', preds, golds);
  const p = new Map<T, number>();
  const t = new Map<T, number>();
  let correct = 0;
  for (let i = 0; i < preds.length; i++) {
    p.set(preds[i], (p.get(preds[i]) ?? 0) + 1);
    t.set(golds[i], (t.get(golds[i]) ?? 0) + 1);
    if (preds[i] === golds[i]) correct++;
  }
  const s = preds.length;
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (const [k, n] of p) {
    pt += n * (t.get(k) ?? 0);
    pp += n * n;
  }
  for (const n of t.values()) tt += n * n;
  const denom = Math.sqrt((s * s - pp) * (s * s - tt));
  return denom === 0 ? 0 : (correct * s - pt) / denom;
}

function checkNumbers(what: string, xs: ArrayLike<number>): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new Error(`${what}: value ${i} is ${xs[i]}, expected a finite number`);
  }
}

/**
 * Pearson's r. `null` when either side is constant (the correlation is undefined there; SciPy
 * returns nan), so a collapsed regressor shows as null, not as a number.
 */
export function pearson(xs: ArrayLike<number>, ys: ArrayLike<number>): number | null {
  checkPaired('Pearson correlation', xs, ys);
  checkNumbers('Pearson correlation', xs);
  checkNumbers('Pearson correlation', ys);
  const n = xs.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i];
    my += ys[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i] - mx;
    const dy = ys[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  // clamp: rounding can push |r| a hair past 1
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Ranks 1..n; tied values share the mean of the ranks they span (SciPy's rankdata 'average'). */
export function averageRanks(xs: ArrayLike<number>): number[] {
  const order = Array.from({ length: xs.length }, (_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const ranks = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]] === xs[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's rho: Pearson's r of the average ranks. `null` when either side is constant. */
export function spearman(xs: ArrayLike<number>, ys: ArrayLike<number>): number | null {
  checkPaired('Spearman correlation', xs, ys);
  checkNumbers('Spearman correlation', xs);
  checkNumbers('Spearman correlation', ys);
  return pearson(averageRanks(xs), averageRanks(ys));
}

// ---- entities (seqeval, default mode) ----

export interface TaggedEntity {
  type: string;
  /** First and last word index (inclusive), as seqeval's get_entities. */
  start: number;
  end: number;
}

function chunkEnds(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'E' || prevTag === 'S') return true;
  if ((prevTag === 'B' || prevTag === 'I') && (tag === 'B' || tag === 'S' || tag === 'O')) return true;
  return prevTag !== 'O' && prevTag !== '.' && prevType !== type;
}

function chunkStarts(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if ((prevTag === 'E' || prevTag === 'S' || prevTag === 'O') && (tag === 'E' || tag === 'I')) return true;
  return tag !== 'O' && tag !== '.' && prevType !== type;
}

/**
 * Entities of one tag sequence, as seqeval's get_entities (IOB2 / IOBES prefixes): an I- after O
 * or after another type starts a new entity, so ['O', 'I-PER'] holds PER (1, 1).
 */
export function entitiesOf(tags: readonly string[]): TaggedEntity[] {
  const out: TaggedEntity[] = [];
  let prevTag = 'O';
  let prevType = '';
  let begin = 0;
  for (let i = 0; i <= tags.length; i++) {
    const chunk = i < tags.length ? tags[i] : 'O';
    if (typeof chunk !== 'string' || chunk === '')
      throw new Error(`entities: tag ${i} is ${JSON.stringify(chunk)}, expected a tag such as 'B-PER' or 'O'`);
    const tag = chunk[0];
    // Python's chunk[1:].split('-', maxsplit=1)[-1] or '_'
    const rest = chunk.slice(1);
    const type = (rest.includes('-') ? rest.slice(rest.indexOf('-') + 1) : rest) || '_';
    if (chunkEnds(prevTag, tag, prevType, type)) out.push({ type: prevType, start: begin, end: i - 1 });
    if (chunkStarts(prevTag, tag, prevType, type)) begin = i;
    prevTag = tag;
    prevType = type;
  }
  return out;
}

export interface EntityScores {
  precision: number;
  recall: number;
  f1: number;
  /** Predicted / reference entities and the exact matches among them. */
  predicted: number;
  reference: number;
  correct: number;
  /** Token-level accuracy of the tags (seqeval's accuracy_score). */
  accuracy: number;
  perType: Record<string, { precision: number; recall: number; f1: number; number: number }>;
}

function prf(correct: number, predicted: number, reference: number) {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = reference === 0 ? 0 : correct / reference;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/** seqeval's micro-averaged entity precision / recall / F1 over sentences (default, non-strict mode). */
export function entityScores(preds: readonly (readonly string[])[], golds: readonly (readonly string[])[]): EntityScores {
  checkPaired('entity scores', preds, golds);
  const key = (s: number, e: TaggedEntity) => `${s}\u0000${e.type}\u0000${e.start}\u0000${e.end}`;
  const byType = new Map<string, { correct: number; predicted: number; reference: number }>();
  const count = (type: string) => {
    if (!byType.has(type)) byType.set(type, { correct: 0, predicted: 0, reference: 0 });
    return byType.get(type)!;
  };
  let tokens = 0;
  let rightTokens = 0;
  for (let s = 0; s < preds.length; s++) {
    if (preds[s].length !== golds[s].length)
      throw new Error(`entity scores: sentence ${s} has ${preds[s].length} predicted tags for ${golds[s].length} reference tags`);
    for (let i = 0; i < preds[s].length; i++) {
      tokens++;
      if (preds[s][i] === golds[s][i]) rightTokens++;
    }
    const gold = new Set(entitiesOf(golds[s]).map((e) => key(s, e)));
    for (const e of entitiesOf(golds[s])) count(e.type).reference++;
    for (const e of entitiesOf(preds[s])) {
      const c = count(e.type);
      c.predicted++;
      if (gold.has(key(s, e))) c.correct++;
    }
  }
  let correct = 0;
  let predicted = 0;
  let reference = 0;
  const perType: EntityScores['perType'] = {};
  for (const type of [...byType.keys()].sort()) {
    const c = byType.get(type)!;
    correct += c.correct;
    predicted += c.predicted;
    reference += c.reference;
    perType[type] = { ...prf(c.correct, c.predicted, c.reference), number: c.reference };
  }
  return {
    ...prf(correct, predicted, reference),
    predicted,
    reference,
    correct,
    accuracy: tokens === 0 ? 0 : rightTokens / tokens,
    perType,
  };
}

// ---- SQuAD ----

// Python's string.punctuation (ASCII only, as the official script)
const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// Python's \b(a|an|the)\b with Unicode word characters (JS's \b only knows ASCII ones)
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** The official SQuAD normalisation: lowercase, drop punctuation, drop a/an/the, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  const lower = s.toLowerCase();
  const noPunct = Array.from(lower)
    .filter((ch) => !PUNCTUATION.has(ch))
    .join('');
  return noPunct.replace(ARTICLES, ' ').split(/\s+/u).filter(Boolean).join(' ');
}

function answerTokens(s: string): string[] {
  const n = normalizeAnswer(s);
  return n ? n.split(' ') : [];
}

/** 1 when the normalised strings are equal. */
export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * Token-overlap F1 of the normalised answers (bag of tokens). As the v2.0 script: when either
 * side has no tokens, 1 if both have none, else 0 (so an empty prediction scores 1 on a
 * no-answer question).
 */
export function answerF1(prediction: string, gold: string): number {
  const p = answerTokens(prediction);
  const g = answerTokens(gold);
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      same++;
      counts.set(t, n - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface SquadScores {
  /** Percentages (0–100) as the official scripts and Hugging Face's `squad` metrics report them. */
  exact_match: number;
  f1: number;
  total: number;
  /** Only when some questions have no answer (SQuAD v2.0): the split the v2.0 script reports. */
  HasAns_exact?: number;
  HasAns_f1?: number;
  HasAns_total?: number;
  NoAns_exact?: number;
  NoAns_f1?: number;
  NoAns_total?: number;
}

/**
 * SQuAD exact match and F1: per question the best over its gold answers, averaged, ×100. A
 * question with no gold answers (v2.0 unanswerable) is scored against '' — only an empty
 * prediction gets it right.
 */
export function squadScores(predictions: readonly string[], answers: readonly (readonly string[])[]): SquadScores {
  checkPaired('SQuAD scores', predictions, answers);
  const groups = { all: [0, 0, 0], has: [0, 0, 0], no: [0, 0, 0] };
  for (let i = 0; i < predictions.length; i++) {
    if (typeof predictions[i] !== 'string')
      throw new Error(`SQuAD scores: prediction ${i} is ${JSON.stringify(predictions[i])}, expected a string`);
    const golds = answers[i].length ? answers[i] : [''];
    const em = Math.max(...golds.map((g) => exactMatch(predictions[i], g)));
    const f1 = Math.max(...golds.map((g) => answerF1(predictions[i], g)));
    for (const g of [groups.all, answers[i].length ? groups.has : groups.no]) {
      g[0] += em;
      g[1] += f1;
      g[2]++;
    }
  }
  const pct = (x: number, n: number) => (100 * x) / n;
  const out: SquadScores = { exact_match: pct(groups.all[0], groups.all[2]), f1: pct(groups.all[1], groups.all[2]), total: groups.all[2] };
  if (groups.no[2] > 0) {
    if (groups.has[2] > 0)
      Object.assign(out, {
        HasAns_exact: pct(groups.has[0], groups.has[2]),
        HasAns_f1: pct(groups.has[1], groups.has[2]),
        HasAns_total: groups.has[2],
      });
    Object.assign(out, {
      NoAns_exact: pct(groups.no[0], groups.no[2]),
      NoAns_f1: pct(groups.no[1], groups.no[2]),
      NoAns_total: groups.no[2],
    });
  }
  return out;
}
