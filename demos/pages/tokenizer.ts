// Tokenizer playground: WordPiece encoding of a text (and a pair) with every field the model
// gets, the tokens' offsets highlighted in the text; and BPE's worked example stepped merge by
// merge with the library's trainer. Runs on the CPU; the adapter panel is shown all the same.
import * as bg from '../../src/index.js';
import { $, el, shell, startWebGPU, showError, clearError, dropZone } from './common.js';

const main = shell(
  'tokenizer.html',
  'Tokenizer playground',
  'Text in, what BERT sees out: WordPiece tokens, ids, type ids, attention mask and where each token came from. Below, how byte-pair encoding learns its merges.',
);

const COLOURS = ['#ffd8a8', '#b2f2bb', '#a5d8ff', '#eebefa', '#ffec99', '#99e9f2', '#ffc9c9', '#d0bfff'];

main.append(
  el(
    'section',
    {},
    el('h2', {}, 'WordPiece'),
    el(
      'div',
      { class: 'row' },
      el('label', {}, 'Text ', el('input', { type: 'text', id: 'text', size: 60, value: 'I love NLP!' })),
      el('label', {}, 'Pair (optional) ', el('input', { type: 'text', id: 'pair', size: 40, value: '' })),
    ),
    el(
      'div',
      { class: 'row drop', id: 'vocab-drop' },
      el('span', { id: 'vocab-name' }, 'Vocabulary: loading…'),
      el(
        'label',
        { class: 'muted' },
        ' — or drop / pick a vocab.txt or tokenizer.json ',
        el('input', { type: 'file', id: 'vocab-file', accept: '.txt,.json' }),
      ),
    ),
    el('div', { class: 'row' }, el('b', {}, 'Tokens: '), el('span', { id: 'tokens', class: 'mono' })),
    el('div', { class: 'row' }, el('b', {}, 'Ids: '), el('span', { id: 'ids', class: 'mono' })),
    el('div', { class: 'spans', id: 'spans' }),
    el('div', { id: 'table' }),
  ),
  el(
    'section',
    {},
    el('h2', {}, 'Byte-pair encoding, merge by merge'),
    el(
      'p',
      { class: 'muted' },
      "Start from characters; at each step merge the most frequent adjacent pair (ties: the pair seen first) into a new symbol, and add it to the vocabulary. The steps come from the library's BPE trainer (trainBpe) run for 0, 1, 2 … merges.",
    ),
    el(
      'div',
      { class: 'row' },
      el(
        'label',
        {},
        'Words and counts ',
        el('input', { type: 'text', id: 'bpe-words', size: 44, value: 'low:5 lower:2 newest:6 widest:3' }),
      ),
      el('label', {}, 'Merges ', el('input', { type: 'number', id: 'bpe-merges', min: 1, max: 50, value: 10 })),
      el('button', { id: 'bpe-prev', class: 'secondary' }, '◀ previous'),
      el('button', { id: 'bpe-next' }, 'next merge ▶'),
      el('button', { id: 'bpe-all', class: 'secondary' }, 'all'),
      el('span', { id: 'bpe-step', class: 'muted' }),
    ),
    el('div', { class: 'cols' }, el('div', { id: 'bpe-words-now' }), el('div', { id: 'bpe-vocab' })),
    el('div', { id: 'bpe-history' }),
  ),
);

let tokenizer: bg.WordPieceTokenizer | null = null;

/** Code-point offsets -> the text with each token's span coloured (hover shows the token). */
function highlight(text: string, enc: bg.TokenizerEncoding, sequence: 0 | 1): HTMLElement {
  const out = el('div', {}, el('span', { class: 'muted' }, sequence ? 'pair: ' : 'text: '));
  const spans = enc.offsets
    .map((o, i) => ({ i, o }))
    .filter(({ i }) => enc.specialTokensMask[i] === 0 && enc.tokenTypeIds[i] === sequence && enc.inputIds[i] >= 0);
  const utf16 = bg.toUtf16Offsets(
    text,
    spans.map((s) => s.o),
  );
  let at = 0;
  spans.forEach(({ i }, k) => {
    const [s, e] = utf16[k];
    if (s > at) out.append(text.slice(at, s));
    if (e > s)
      out.append(
        el(
          'span',
          {
            class: 'hl',
            'data-token': i,
            title: `${enc.tokens[i]} (id ${enc.inputIds[i]})`,
            style: `background:${COLOURS[i % COLOURS.length]}`,
          },
          text.slice(s, e),
        ),
      );
    at = Math.max(at, e);
  });
  if (at < text.length) out.append(text.slice(at));
  return out;
}

function encode(): void {
  if (!tokenizer) return;
  clearError();
  const text = $<HTMLInputElement>('text').value;
  const pair = $<HTMLInputElement>('pair').value;
  let enc: bg.TokenizerEncoding;
  try {
    enc = tokenizer.encode(text, pair || null);
  } catch (err) {
    showError(err, 'encode');
    return;
  }
  $('tokens').textContent = enc.tokens.join(' ');
  $('ids').textContent = enc.inputIds.join(' ');
  $('spans').replaceChildren(highlight(text, enc, 0), ...(pair ? [highlight(pair, enc, 1)] : []));
  const row = (name: string, cells: (string | number)[], cls?: string) =>
    el('tr', {}, el('th', {}, name), ...cells.map((c, i) => el('td', { class: cls, 'data-token': i }, String(c))));
  $('table').replaceChildren(
    el(
      'table',
      { id: 'encoding' },
      row(
        'position',
        enc.tokens.map((_, i) => i),
        'num',
      ),
      row('token', enc.tokens),
      row('input id', enc.inputIds, 'num'),
      row('type id', enc.tokenTypeIds, 'num'),
      row('attention mask', enc.attentionMask, 'num'),
      row(
        'offsets',
        enc.offsets.map(([s, e], i) => (enc.specialTokensMask[i] ? '—' : `${s}–${e}`)),
      ),
    ),
  );
  // hovering a column lights its span in the text and vice versa
  for (const cell of document.querySelectorAll<HTMLElement>('[data-token]')) {
    const on = (v: boolean) =>
      document.querySelectorAll(`[data-token="${cell.dataset.token}"]`).forEach((x) => x.classList.toggle('on', v));
    cell.addEventListener('mouseenter', () => on(true));
    cell.addEventListener('mouseleave', () => on(false));
  }
}

function useTokenizer(t: bg.WordPieceTokenizer, name: string): void {
  tokenizer = t;
  $('vocab-name').textContent = `Vocabulary: ${name}, ${t.vocabSize.toLocaleString('en')} pieces`;
  encode();
}

async function loadVocabFile(files: File[]): Promise<void> {
  const f = files[0];
  if (!f) return;
  try {
    const text = await f.text();
    useTokenizer(
      f.name.endsWith('.json')
        ? bg.WordPieceTokenizer.fromTokenizerJson(text, f.name)
        : bg.WordPieceTokenizer.fromVocabText(text, {}, f.name),
      f.name,
    );
  } catch (err) {
    showError(err, `reading ${f.name}`);
  }
}

// ---- BPE worked example ----
let bpeStep = 0;

/** "low:5 lower:2" -> Map in the order written (the trainer breaks ties by that order). */
function parseWords(spec: string): Map<string, number> {
  const words = new Map<string, number>();
  for (const item of spec.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(.+):(\d+)$/.exec(item);
    if (!m || !(Number(m[2]) > 0)) throw new Error(`words: expected word:count (a positive count) separated by spaces, got '${item}'`);
    words.set(m[1], (words.get(m[1]) ?? 0) + Number(m[2]));
  }
  if (!words.size) throw new Error('words: give at least one word:count');
  return words;
}

/** How often `a b` stands side by side in the words split as `split` does. */
function pairCount(words: Map<string, number>, split: (w: string) => string[], a: string, b: string): number {
  let n = 0;
  for (const [w, c] of words) {
    const s = split(w);
    for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) n += c;
  }
  return n;
}

function showBpe(): void {
  let words: Map<string, number>;
  try {
    words = parseWords($<HTMLInputElement>('bpe-words').value);
  } catch (err) {
    showError(err, 'BPE');
    return;
  }
  const limit = Math.max(1, Math.min(50, Number($<HTMLInputElement>('bpe-merges').value) || 10));
  const full = bg.trainBpe(words, { numMerges: limit });
  bpeStep = Math.max(0, Math.min(bpeStep, full.merges.length));
  const now = bg.trainBpe(words, { numMerges: bpeStep });
  const splitAt = (k: number) => {
    const t = new bg.BpeTokenizer(full.merges.slice(0, k));
    return (w: string) => t.tokenizeWord(w);
  };
  const split = splitAt(bpeStep);
  const last = bpeStep ? full.merges[bpeStep - 1] : null;
  const made = last ? bg.mergeBpeSymbols(last[0], last[1]) : null;
  $('bpe-step').textContent = last
    ? `step ${bpeStep} of ${full.merges.length}: merged ${last[0]} + ${last[1]} → ${made} (seen ${pairCount(words, splitAt(bpeStep - 1), last[0], last[1])} times)`
    : `step 0 of ${full.merges.length}: characters only`;
  $('bpe-words-now').replaceChildren(
    el('b', {}, 'Words now'),
    el(
      'table',
      { id: 'bpe-table' },
      el('tr', {}, el('th', {}, 'word'), el('th', {}, 'count'), el('th', {}, 'symbols')),
      ...[...words].map(([w, c]) =>
        el(
          'tr',
          {},
          el('td', {}, w),
          el('td', { class: 'num' }, String(c)),
          el('td', {}, ...split(w).map((s) => el('span', { class: s === made ? 'chip new' : 'chip' }, s))),
        ),
      ),
    ),
  );
  $('bpe-vocab').replaceChildren(
    el('b', {}, `Vocabulary: ${now.vocab.length} symbols`),
    el('div', { id: 'bpe-vocab-list' }, ...now.vocab.map((s) => el('span', { class: s === made ? 'chip new' : 'chip' }, s))),
  );
  $('bpe-history').replaceChildren(
    el('b', {}, 'Merges so far (rank order)'),
    el(
      'ol',
      { id: 'bpe-merge-list', start: 1 },
      ...full.merges
        .slice(0, bpeStep)
        .map(([a, b], k) =>
          el(
            'li',
            {},
            `${a} + ${b} → ${bg.mergeBpeSymbols(a, b)}`,
            el('span', { class: 'muted' }, ` (${pairCount(words, splitAt(k), a, b)}×)`),
          ),
        ),
    ),
  );
  $<HTMLButtonElement>('bpe-prev').disabled = bpeStep === 0;
  $<HTMLButtonElement>('bpe-next').disabled = bpeStep >= full.merges.length;
}

$('bpe-prev').addEventListener('click', () => {
  bpeStep--;
  showBpe();
});
$('bpe-next').addEventListener('click', () => {
  bpeStep++;
  showBpe();
});
$('bpe-all').addEventListener('click', () => {
  bpeStep = Infinity;
  showBpe();
});
$('bpe-words').addEventListener('input', () => {
  bpeStep = 0;
  showBpe();
});
$('bpe-merges').addEventListener('input', showBpe);
$('text').addEventListener('input', encode);
$('pair').addEventListener('input', encode);
dropZone($('vocab-drop'), $<HTMLInputElement>('vocab-file'), loadVocabFile);

async function start(): Promise<void> {
  showBpe();
  const res = await fetch('data/bert-base-uncased-vocab.txt');
  if (!res.ok) throw new Error(`data/bert-base-uncased-vocab.txt: HTTP ${res.status}`);
  useTokenizer(bg.WordPieceTokenizer.fromVocabText(await res.text(), {}, 'bert-base-uncased vocab.txt'), 'bert-base-uncased (bundled)');
  document.body.dataset.ready = 'true';
  console.log(`tokenizer page: "${$<HTMLInputElement>('text').value}" -> ${$('tokens').textContent} | ${$('ids').textContent}`);
  await startWebGPU({ needed: false });
}

start().catch((err) => showError(err, 'tokenizer page'));
