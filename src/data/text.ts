// Raw text -> documents -> sentences. Pure string processing, for English prose.

/** Abbreviations whose period does not end a sentence (compared lowercased, without the period). */
export const DEFAULT_ABBREVIATIONS: readonly string[] = [
  'mr', 'mrs', 'ms', 'messrs', 'mme', 'mlle', 'dr', 'prof', 'st', 'mt', 'jr', 'sr', 'capt', 'col', 'gen', 'lt',
  'sgt', 'cmdr', 'adm', 'gov', 'rev', 'hon', 'rep', 'sen', 'vs', 'viz', 'cf', 'fig', 'figs', 'vol',
  'vols', 'ch', 'pp', 'approx', 'dept', 'est', 'inc', 'ltd', 'co', 'corp', 'jan', 'feb', 'mar', 'apr',
  'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
];

export interface SentenceSplitOptions {
  abbreviations?: readonly string[];
}

const CLOSERS = '"\'”’)]»';
const OPENERS = '"\'“‘([«';

/**
 * Splits prose into sentences: a boundary is one or more of `. ! ?` (then any closing quotes or
 * brackets), whitespace, and a next sentence that starts with an uppercase letter or an opening
 * quote / bracket. A period does not end a sentence after a listed abbreviation (Mr. Dr. St. ...),
 * a single letter (initials: "J. Smith"), or dotted letters ("e.g.", "i.e.", "U.S."). "etc."
 * ends a sentence only when a capital follows, like any other word. Newlines and runs of
 * whitespace inside the text are collapsed to one space.
 */
export function splitSentences(text: string, options: SentenceSplitOptions = {}): string[] {
  const abbrev = options.abbreviations ? new Set(options.abbreviations.map((a) => a.toLowerCase())) : DEFAULT_SET;
  const s = text.replace(/\s+/g, ' ').trim();
  if (!s) return [];
  const out: string[] = [];
  let start = 0;
  // candidate: terminators, closers, one space, and what follows
  const re = /[.!?]+[\])"'”’»]*(?= )/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const end = m.index + m[0].length; // exclusive end of the sentence
    const next = s[end + 1];
    if (next === undefined) break;
    const startsSentence = /\p{Lu}/u.test(next) || OPENERS.includes(next);
    if (!startsSentence) continue;
    const term = m[0].replace(new RegExp(`[${escapeClass(CLOSERS)}]+$`), '');
    if (term === '.') {
      // the word the period is attached to
      let w = m.index;
      while (w > start && s[w - 1] !== ' ') w--;
      let word = s.slice(w, m.index);
      while (word && OPENERS.includes(word[0])) word = word.slice(1);
      const lower = word.toLowerCase();
      if (abbrev.has(lower)) continue;
      if (/^\p{L}$/u.test(word)) continue; // an initial
      if (/^(\p{L}\.)+\p{L}$/u.test(word)) continue; // e.g / i.e / U.S
    }
    const sentence = s.slice(start, end).trim();
    if (sentence) out.push(sentence);
    start = end + 1;
  }
  const rest = s.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

const DEFAULT_SET = new Set(DEFAULT_ABBREVIATIONS);

function escapeClass(chars: string): string {
  return chars.replace(/[\]\\^-]/g, '\\$&');
}

/** Blocks of text separated by one or more blank lines (whitespace-only lines count as blank). */
export function splitBlankLines(text: string): string[] {
  return text
    .split(/\r?\n[ \t\f\v\r]*\r?\n(?:[ \t\f\v\r]*\r?\n)*/)
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

export interface DocumentOptions extends SentenceSplitOptions {
  /**
   * 'blank-line' (default): each input text holds several documents separated by blank lines;
   * 'file': each input text is one document (its blank lines separate paragraphs).
   */
  documents?: 'blank-line' | 'file';
  /**
   * 'split' (default): sentences found by `splitSentences`; 'line': one sentence per line, as in
   * google-research/bert's input format (one sentence per line, blank lines between documents).
   */
  sentences?: 'split' | 'line';
}

/** Raw texts -> documents, each a list of sentences (empty documents dropped). */
export function textToDocuments(texts: string | readonly string[], options: DocumentOptions = {}): string[][] {
  const list = typeof texts === 'string' ? [texts] : texts;
  const mode = options.documents ?? 'blank-line';
  const sentencesOf = (block: string): string[] =>
    (options.sentences ?? 'split') === 'line'
      ? block.split(/\r?\n/).map((l) => l.trim()).filter((l) => l)
      : splitSentences(block, options);
  const docs: string[][] = [];
  for (const text of list) {
    if (mode === 'file') {
      const doc = splitBlankLines(text).flatMap(sentencesOf);
      if (doc.length) docs.push(doc);
    } else {
      for (const block of splitBlankLines(text)) {
        const doc = sentencesOf(block);
        if (doc.length) docs.push(doc);
      }
    }
  }
  return docs;
}
