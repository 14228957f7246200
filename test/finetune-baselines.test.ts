// The fine-tuning baselines (src/finetune/baselines.ts): the majority class and the bag-of-words
// logistic regression, on hand-made cases and on the UCI sentiment split the demo page uses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { majorityBaseline, trainBowClassifier, seededShuffle, bagOfWords } from '../src/finetune/baselines.js';

test('majority: the most frequent training label, scored on the test labels; ties go to the first in sorted order', () => {
  assert.equal(majorityBaseline(['a', 'b', 'b'], ['b', 'a', 'a', 'a']), { label: 'b', accuracy: 0.25 });
  assert.equal(majorityBaseline(['y', 'x'], ['x']), { label: 'x', accuracy: 1 });
  assert.throws(() => majorityBaseline([], ['x']), /majorityBaseline: no training labels/);
});

test('bag of words: words that decide the label are learned; probabilities sum to 1; bad input is refused', () => {
  const texts = ['good film', 'great good', 'bad film', 'awful bad', 'good', 'bad'];
  const labels = ['pos', 'pos', 'neg', 'neg', 'pos', 'neg'];
  const bow = trainBowClassifier(texts, labels, { epochs: 20 });
  assert.is(bow.predict('a good one'), 'pos');
  assert.is(bow.predict('so bad'), 'neg');
  const p = bow.probabilities('good');
  assert.equal(
    p.map((x) => x.label),
    ['neg', 'pos'],
  );
  assert.ok(Math.abs(p[0].score + p[1].score - 1) < 1e-12);
  assert.ok(p[1].score > 0.5);
  assert.is(bow.vocabSize, 5);
  assert.equal(bagOfWords("It's GREAT!"), ["it's", 'great', '!']);
  assert.throws(() => trainBowClassifier(['a'], ['x', 'y']), /1 texts but 2 labels/);
});

test('UCI sentiment, imdb + amazon (500 each, seeded) -> yelp (500): majority 0.484, bag of words 0.700 (the README figures)', () => {
  const read = (name: string, k: number) => {
    const rows = (
      JSON.parse(readFileSync(`node_modules/sentiment/test/fixtures/${name}.json`, 'utf8')) as { text: string; class: number | null }[]
    )
      .filter((r) => r.class !== null)
      .map((r) => ({ text: r.text.trim(), label: r.class === 1 ? 'pos' : 'neg' }));
    return seededShuffle(rows, k).slice(0, 500);
  };
  const train = [...read('imdb', 1), ...read('amazon', 2)];
  const test = read('yelp', 3);
  const m = majorityBaseline(
    train.map((e) => e.label),
    test.map((e) => e.label),
  );
  assert.is(m.accuracy.toFixed(3), '0.484');
  const bow = trainBowClassifier(
    train.map((e) => e.text),
    train.map((e) => e.label),
  );
  const acc = test.filter((e) => bow.predict(e.text) === e.label).length / test.length;
  assert.is(acc.toFixed(3), '0.700');
});

test.run();
