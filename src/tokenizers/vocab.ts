// Plain-text vocabularies: one token per line, line number = id (BERT's vocab.txt).

/**
 * Parses vocab.txt text into tokens indexed by id. Like Hugging Face, trailing whitespace
 * (a Windows \r included) is trimmed and there is no trailing empty token after the last newline.
 */
export function parseVocabText(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a byte order mark is not part of token 0
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const tokens = lines.map((l) => l.trimEnd());
  if (tokens.length === 0) throw new Error('vocabulary is empty');
  return tokens;
}

/** vocab.txt text for tokens indexed by id. */
export function formatVocabText(tokens: readonly string[]): string {
  for (const t of tokens) {
    if (t.includes('\n')) throw new Error(`token ${JSON.stringify(t)} contains a newline and cannot go in vocab.txt`);
  }
  return tokens.join('\n') + '\n';
}

/** token -> id map; when a token repeats, the last id wins (as in Hugging Face). */
export function vocabIndex(tokens: readonly string[]): Map<string, number> {
  const index = new Map<string, number>();
  tokens.forEach((t, i) => index.set(t, i));
  return index;
}
