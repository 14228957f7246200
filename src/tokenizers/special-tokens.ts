// Splitting raw text around special tokens typed in it ("[SEP]", "<mask>"), which are kept whole
// and never normalised, like Hugging Face's added tokens with normalized: false.

/** A piece of text between special tokens, or a special token; UTF-16 indices into the text. */
export interface TextPart {
  start: number;
  end: number;
  /** The special token matched, or undefined for ordinary text. */
  special?: string;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Builds a splitter. Matches are leftmost, and longest among those starting at the same place
 * (alternatives sorted by length, as Hugging Face's leftmost-longest matching does).
 */
export function specialTokenSplitter(specialTokens: readonly string[]): (text: string) => TextPart[] {
  const tokens = [...new Set(specialTokens.filter((t) => t.length > 0))].sort((a, b) => b.length - a.length);
  if (tokens.length === 0) return (text) => [{ start: 0, end: text.length }];
  const pattern = new RegExp(tokens.map(escapeRegExp).join('|'), 'g');
  return (text) => {
    const parts: TextPart[] = [];
    let last = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m.index > last) parts.push({ start: last, end: m.index });
      parts.push({ start: m.index, end: m.index + m[0].length, special: m[0] });
      last = m.index + m[0].length;
    }
    if (last < text.length || parts.length === 0) parts.push({ start: last, end: text.length });
    return parts;
  };
}
