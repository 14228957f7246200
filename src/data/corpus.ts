// Corpus files as text: bytes are checked before they become training data, so a binary file
// given by mistake is refused instead of silently trained on.

/** Invalid UTF-8 above this share of the characters refuses a file; below it, a warning. */
export const MAX_INVALID_UTF8_SHARE = 0.01;

export interface DecodedText {
  text: string;
  /** Byte sequences that were not valid UTF-8 (each decoded as U+FFFD). */
  invalid: number;
}

/**
 * Decodes a corpus file as UTF-8. Throws, naming `name`, for a file with NUL bytes (no text file
 * has them) or with more than MAX_INVALID_UTF8_SHARE of its characters invalid UTF-8.
 */
export function decodeCorpusText(bytes: Uint8Array, name: string): DecodedText {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    let count = 0;
    for (const b of bytes) if (b === 0) count++;
    throw new Error(`${name}: not a text file (${count} NUL byte(s), the first at byte ${nul}); a corpus is UTF-8 text`);
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  const before = countReplacement(text);
  // U+FFFD written in the file itself is text, not an error: count only what decoding added
  const written = countReplacementBytes(bytes);
  const invalid = before - written;
  if (invalid > MAX_INVALID_UTF8_SHARE * Math.max(1, text.length)) {
    throw new Error(`${name}: not UTF-8 text (${invalid} invalid byte sequence(s) in ${text.length} characters, more than ${MAX_INVALID_UTF8_SHARE * 100}%)`);
  }
  return { text, invalid };
}

function countReplacement(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

/** U+FFFD encoded in the bytes (EF BF BD). */
function countReplacementBytes(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(0xef); i >= 0 && i + 2 < bytes.length; i = bytes.indexOf(0xef, i + 1)) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) n++;
  }
  return n;
}
