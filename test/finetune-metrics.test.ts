// Fine-tuning metrics on hand-made cases whose answers are worked out in the comments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  accuracy,
  binaryF1,
  macroF1,
  matthewsCorrelation,
  pearson,
  spearman,
  averageRanks,
  entitiesOf,
  entityScores,
  normalizeAnswer,
  exactMatch,
  answerF1,
  squadScores,
  mcnemar,
} from '../src/finetune/metrics.js';

const close = (a: number | null | undefined, b: number, what: string) =>
  assert.ok(a != null && Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

// preds vs golds: i0 (1,1) tp, i1 (0,1) fn, i2 (1,1) tp, i3 (1,0) fp
const P = [1, 0, 1, 1];
const G = [1, 1, 1, 0];

test('accuracy: 2 of 4 right = 0.5', () => {
  close(accuracy(P, G), 0.5, 'accuracy');
  close(accuracy(['a', 'b'], ['a', 'b']), 1, 'strings');
});

test('binary F1: tp 2, fp 1, fn 1 -> 2*2 / (2*2 + 1 + 1) = 2/3; no positive anywhere -> 0', () => {
  close(binaryF1(P, G), 2 / 3, 'F1 of class 1');
  // class 0: tp 0, fp 1 (i1), fn 1 (i3) -> 0
  close(binaryF1(P, G, 0), 0, 'F1 of class 0');
  close(binaryF1([0, 0], [0, 0]), 0, 'nothing to count');
});

test('macro F1: mean of class 1 (2/3) and class 0 (0) = 1/3', () => {
  close(macroF1(P, G), 1 / 3, 'macro F1');
  // a class only predicted, never true, still counts: a (tp 1, fn 1: F1 2/3), b (fp 1: F1 0) -> 1/3
  close(macroF1(['a', 'b'], ['a', 'a']), (2 / 3 + 0) / 2, 'unseen class');
});

test('Matthews: binary (TP*TN - FP*FN) / sqrt(...) = (0 - 1) / sqrt(3*3*1*1) = -1/3; multi-class; constant -> 0', () => {
  close(matthewsCorrelation(P, G), -1 / 3, 'binary');
  // c = 2 right, s = 4; p = {a:2, b:1, c:1}, t = {a:1, b:2, c:1}
  // sum p_k t_k = 2 + 2 + 1 = 5; sum p^2 = 6; sum t^2 = 6
  // (2*4 - 5) / sqrt((16 - 6)(16 - 6)) = 3 / 10
  close(matthewsCorrelation(['a', 'b', 'c', 'a'], ['a', 'b', 'b', 'c']), 0.3, 'multi-class');
  close(matthewsCorrelation([1, 1, 1], [1, 0, 1]), 0, 'constant predictions');
  close(matthewsCorrelation([0, 1, 0, 1], [0, 1, 0, 1]), 1, 'perfect');
});

test('Pearson: x 1,2,3 / y 2,4,7 -> sxy 5, sxx 2, syy 114/9 -> 15 / sqrt(228); constant -> null', () => {
  close(pearson([1, 2, 3], [2, 4, 7]), 15 / Math.sqrt(228), 'r');
  close(pearson([1, 2, 3], [3, 2, 1]), -1, 'perfect negative');
  assert.is(pearson([1, 1, 1], [1, 2, 3]), null);
  assert.throws(() => pearson([1, NaN], [1, 2]), /value 1 is NaN/);
});

test('Spearman: ties take average ranks; x 1,2,2,3 -> 1,2.5,2.5,4; y -> 1,3,2,4; rho = 4.5 / sqrt(4.5 * 5) = sqrt(0.9)', () => {
  assert.equal(averageRanks([1, 2, 2, 3]), [1, 2.5, 2.5, 4]);
  assert.equal(averageRanks([5, 5, 5]), [2, 2, 2]);
  close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), Math.sqrt(0.9), 'rho');
  // monotone but not linear: rho 1, r < 1
  close(spearman([1, 2, 3, 4], [1, 4, 9, 100]), 1, 'monotone');
  assert.is(spearman([2, 2], [1, 3]), null);
});

test('seqeval entities: I- after O or another type starts an entity', () => {
  assert.equal(entitiesOf(['B-PER', 'I-PER', 'O', 'B-LOC']), [
    { type: 'PER', start: 0, end: 1 },
    { type: 'LOC', start: 3, end: 3 },
  ]);
  assert.equal(entitiesOf(['O', 'I-PER', 'I-PER', 'B-LOC', 'I-PER']), [
    { type: 'PER', start: 1, end: 2 },
    { type: 'LOC', start: 3, end: 3 },
    { type: 'PER', start: 4, end: 4 },
  ]);
  assert.equal(entitiesOf(['B-PER', 'I-LOC']), [
    { type: 'PER', start: 0, end: 0 },
    { type: 'LOC', start: 1, end: 1 },
  ]);
  assert.equal(entitiesOf(['B-PER', 'B-PER']), [
    { type: 'PER', start: 0, end: 0 },
    { type: 'PER', start: 1, end: 1 },
  ]);
  assert.equal(entitiesOf(['B-FOO-BAR', 'I-FOO-BAR']), [{ type: 'FOO-BAR', start: 0, end: 1 }]);
  assert.equal(entitiesOf(['O', 'O']), []);
  assert.throws(() => entitiesOf(['O', '']), /tag 1 is ""/);
});

test('seqeval scores: micro over sentences; exact span and type must match', () => {
  const golds = [['B-PER', 'I-PER', 'O', 'B-LOC'], ['O', 'B-LOC', 'I-LOC'], ['B-PER', 'I-PER'], ['O']];
  const preds = [['B-PER', 'I-PER', 'O', 'B-ORG'], ['O', 'I-LOC', 'I-LOC'], ['B-PER', 'O'], ['B-MISC']];
  // gold entities: PER(0,1) LOC(3,3) | LOC(1,2) | PER(0,1) | -        = 4
  // predicted:     PER(0,1) ORG(3,3) | LOC(1,2) | PER(0,0) | MISC(0,0) = 5, correct 2
  // precision 2/5, recall 2/4, F1 = 2 * 0.4 * 0.5 / 0.9 = 4/9; tokens 10, equal 3 + 2 + 1 + 0 = 6
  const s = entityScores(preds, golds);
  close(s.precision, 0.4, 'precision');
  close(s.recall, 0.5, 'recall');
  close(s.f1, 4 / 9, 'f1');
  close(s.accuracy, 0.6, 'accuracy');
  assert.equal([s.predicted, s.reference, s.correct], [5, 4, 2]);
  // PER: 1 of 2 predicted right, 1 of 2 found; LOC: 1 of 1 predicted, 1 of 2 found -> F1 2/3
  assert.equal(Object.keys(s.perType), ['LOC', 'MISC', 'ORG', 'PER']);
  close(s.perType.PER.f1, 0.5, 'PER f1');
  close(s.perType.LOC.precision, 1, 'LOC precision');
  close(s.perType.LOC.f1, 2 / 3, 'LOC f1');
  assert.equal(s.perType.ORG, { precision: 0, recall: 0, f1: 0, number: 0 });
  assert.throws(() => entityScores([['O']], [['O', 'O']]), /sentence 0 has 1 predicted tags for 2/);
});

test('SQuAD normalisation: lowercase, punctuation, articles (Unicode word boundaries), whitespace', () => {
  assert.is(normalizeAnswer('The  Quick, brown fox!'), 'quick brown fox');
  assert.is(normalizeAnswer('An apple a day'), 'apple day');
  assert.is(normalizeAnswer('theater'), 'theater');
  // é is a word character to Python's \b: the a stays (JS's ASCII \b would drop it)
  assert.is(normalizeAnswer('éa b'), 'éa b');
  assert.is(normalizeAnswer("l'a"), 'la');
});

test('SQuAD EM / F1: token overlap; best over gold answers; v2 empty vs no-answer', () => {
  // pred tokens [cat sat on mat], gold [cat on mat]: 3 shared, P 3/4, R 1 -> F1 = 1.5 / 1.75 = 6/7
  close(answerF1('the cat sat on the mat', 'a cat on a mat'), 6 / 7, 'F1');
  assert.is(exactMatch('The Denver Broncos!', 'denver broncos'), 1);
  assert.is(answerF1('', 'x'), 0);
  assert.is(answerF1('', ''), 1);
  // q1: exact (both golds) -> EM 1, F1 1
  // q2: [cat sat] vs [cat]: P 1/2, R 1 -> F1 2/3, EM 0
  // q3: unanswerable, empty prediction -> EM 1, F1 1
  // EM = 2/3 * 100; F1 = (1 + 2/3 + 1) / 3 * 100; HasAns: EM 50, F1 (1 + 2/3) / 2 * 100
  const s = squadScores(['Denver Broncos', 'cat sat', ''], [['Denver Broncos', 'The Denver Broncos'], ['the cat'], []]);
  close(s.exact_match, 200 / 3, 'EM');
  close(s.f1, 800 / 3 / 3, 'F1');
  assert.is(s.total, 3);
  close(s.HasAns_exact, 50, 'HasAns EM');
  close(s.HasAns_f1, 500 / 3 / 2, 'HasAns F1');
  assert.equal([s.NoAns_exact, s.NoAns_f1, s.NoAns_total], [100, 100, 1]);
  // a span predicted for an unanswerable question scores 0; v1.1 data has no NoAns keys
  assert.equal(squadScores(['Denver'], [[]]).exact_match, 0);
  // max over golds: 'Broncos' matches the second gold exactly
  const v1 = squadScores(['Broncos'], [['Denver Broncos', 'Broncos']]);
  assert.equal(v1, { exact_match: 100, f1: 100, total: 1 });
});

test('McNemar exact: 10 only-first vs 2 only-second -> 2 * (C(12,0) + C(12,1) + C(12,2)) / 2^12 = 158 / 4096; equal counts -> 1; agreement ignored', () => {
  const first = [...Array(10).fill(true), ...Array(2).fill(false), true, false];
  const second = [...Array(10).fill(false), ...Array(2).fill(true), true, false];
  const r = mcnemar(first, second);
  assert.is(r.onlyFirst, 10);
  assert.is(r.onlySecond, 2);
  close(r.pValue, 158 / 4096, 'p');
  close(mcnemar(second, first).pValue, 158 / 4096, 'p, swapped');
  close(mcnemar([true, false, true], [false, true, true]).pValue, 1, 'p of 1 vs 1');
  close(mcnemar([true, false], [true, false]).pValue, 1, 'p with no disagreement');
  // 600 vs 400 disagreements, without overflow: SciPy's binomtest(400, 1000, 0.5).pvalue = 2.728464156065947e-10
  const big = mcnemar([...Array(600).fill(true), ...Array(400).fill(false)], [...Array(600).fill(false), ...Array(400).fill(true)]);
  assert.ok(Math.abs(big.pValue / 2.728464156065947e-10 - 1) < 1e-6, String(big.pValue));
  assert.throws(() => mcnemar([true], []), /mcnemar: 1 predictions for 0 references/);
});

test('bad input: length mismatch, empty', () => {
  assert.throws(() => accuracy([1], [1, 2]), /accuracy: 1 predictions for 2 references/);
  assert.throws(() => macroF1([], []), /no examples/);
  assert.throws(() => squadScores(['a'], []), /1 predictions for 0 references/);
});

test.run();
