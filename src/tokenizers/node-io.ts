// File helpers for Node (kept apart so the rest of src/tokenizers runs in browsers and Deno).
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { ByteLevelBpeTokenizer, type ByteLevelBpeOptions } from './byte-level-bpe.js';
import { WordPieceTokenizer, type WordPieceOptions } from './wordpiece.js';

/** Reads a text file, with an error that names the file when it is missing, a folder or empty. */
export function readTokenizerFile(path: string, what: string): string {
  if (!existsSync(path)) throw new Error(`${what} file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new Error(`${what} file is a directory: ${path}`);
  const text = readFileSync(path, 'utf8');
  if (text.trim() === '') throw new Error(`${what} file is empty: ${path}`);
  return text;
}

/** A WordPiece tokenizer from a vocab.txt file. */
export function loadWordPieceVocabFile(path: string, options: WordPieceOptions = {}): WordPieceTokenizer {
  return WordPieceTokenizer.fromVocabText(readTokenizerFile(path, 'vocab'), options, path);
}

/** A WordPiece tokenizer from a Hugging Face tokenizer.json file. */
export function loadWordPieceTokenizerJsonFile(path: string): WordPieceTokenizer {
  return WordPieceTokenizer.fromTokenizerJson(readTokenizerFile(path, 'tokenizer.json'), path);
}

/** Writes a WordPiece tokenizer's vocab.txt. */
export function saveWordPieceVocabFile(tokenizer: WordPieceTokenizer, path: string): void {
  writeFileSync(path, tokenizer.toVocabText());
}

/** A byte-level BPE tokenizer from vocab.json and merges.txt files. */
export function loadByteLevelBpeFiles(vocabPath: string, mergesPath: string, options: ByteLevelBpeOptions = {}): ByteLevelBpeTokenizer {
  const vocab = readTokenizerFile(vocabPath, 'vocab.json');
  const merges = readTokenizerFile(mergesPath, 'merges.txt');
  try {
    return ByteLevelBpeTokenizer.fromVocabAndMerges(vocab, merges, options);
  } catch (err) {
    throw new Error(`${vocabPath}, ${mergesPath}: ${(err as Error).message}`);
  }
}
