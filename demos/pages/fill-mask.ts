// Fill-mask: sentences with [MASK], the model's top-k tokens with probabilities. The model is the
// one the pre-train page trained in this browser (kept in IndexedDB), a Hugging Face directory
// the user picks (config.json, model.safetensors, vocab.txt) or one at a URL.
import * as bg from '../../src/index.js';
import { $, el, shell, startWebGPU, showError, action, dropZone } from './common.js';
import { fillMask, MASKED_LM } from './fill.js';
import { load, MODEL_KEY, type StoredModel } from './store.js';

const main = shell(
  'fill-mask.html',
  'Fill-mask',
  "Write sentences with [MASK]; the model ranks every token of its vocabulary for each mask. A masked language model trained on a little Moby-Dick knows the book's common words and word pieces, not the world.",
);

const DEFAULT_SENTENCES = [
  'Call me [MASK].',
  'The [MASK] was white.',
  'He went down to the [MASK] of the ship.',
  'It was a [MASK] day on the sea.',
];
const params = new URLSearchParams(location.search);

main.append(
  el(
    'section',
    {},
    el('h2', {}, 'Model'),
    el('div', { class: 'row' }, el('span', { id: 'model-name' }, 'No model loaded yet.')),
    el(
      'div',
      { class: 'row' },
      el('button', { id: 'use-stored', class: 'secondary' }, 'Use the model trained on the pre-train page'),
      el(
        'label',
        {},
        'or a directory URL ',
        el('input', {
          type: 'url',
          id: 'model-url',
          size: 40,
          placeholder: 'https://…/my-model/ (config.json, model.safetensors, vocab.txt)',
        }),
      ),
      el('button', { id: 'load-url', class: 'secondary' }, 'Load'),
    ),
    el(
      'div',
      { class: 'row drop', id: 'model-drop' },
      el('span', {}, 'or drop / pick the files of a Hugging Face directory (config.json, model.safetensors, vocab.txt or tokenizer.json) '),
      el('input', { type: 'file', id: 'model-files', multiple: true }),
    ),
  ),
  el(
    'section',
    {},
    el('h2', {}, 'Sentences'),
    el('textarea', { id: 'sentences', rows: 4 }, (params.get('sentences')?.split('|') ?? DEFAULT_SENTENCES).join('\n')),
    el(
      'div',
      { class: 'row' },
      el('label', {}, 'top k ', el('input', { type: 'number', id: 'k', min: 1, max: 50, value: params.get('k') ?? 5 })),
      el('button', { id: 'fill', disabled: true }, 'Fill masks'),
    ),
    el('div', { id: 'results', style: 'display:flex;flex-wrap:wrap;gap:4px 28px' }),
  ),
);

let model: bg.PreTrainedModel | null = null;
let tokenizer: bg.WordPieceTokenizer | null = null;

function use(loaded: bg.Loaded, name: string): void {
  if (!loaded.tokenizer) {
    loaded.model.dispose();
    throw new Error(`${name}: no vocab.txt or tokenizer.json beside the model`);
  }
  if (!MASKED_LM.includes(loaded.model.architecture)) {
    const arch = loaded.model.architecture;
    loaded.model.dispose();
    throw new Error(
      `${name}: ${arch} has no masked-LM head; fill-mask needs one of ${MASKED_LM.join(', ')}${arch === 'ElectraForPreTraining' ? ' (for ELECTRA, load its generator/)' : ''}`,
    );
  }
  model?.dispose();
  model = loaded.model;
  tokenizer = loaded.tokenizer;
  const c = loaded.config;
  $('model-name').replaceChildren(
    el('b', {}, 'Model: '),
    `${name} — ${model.architecture}, ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, vocabulary ${c.vocab_size}`,
  );
  $<HTMLButtonElement>('fill').disabled = false;
  console.log(`fill-mask: loaded ${name} (${model.architecture})`);
}

async function useStored(): Promise<boolean> {
  const stored = await load<StoredModel>(MODEL_KEY);
  if (!stored) {
    $('model-name').textContent = 'No model trained in this browser yet: train one on the pre-train page, or give a directory.';
    return false;
  }
  const f = stored.files;
  use(
    await bg.fromPretrained({
      config: new TextDecoder().decode(f['config.json']),
      weights: f['model.safetensors'],
      vocab: f['vocab.txt'] && new TextDecoder().decode(f['vocab.txt']),
    }),
    `${stored.name} (${stored.summary})`,
  );
  return true;
}

async function fromFiles(files: File[]): Promise<void> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const need = (n: string) => {
    const f = byName.get(n);
    if (!f) throw new Error(`the picked files have no ${n} (got ${files.map((x) => x.name).join(', ') || 'none'})`);
    return f;
  };
  const config = await need('config.json').text();
  const weights = need('model.safetensors');
  const vocab = await byName.get('vocab.txt')?.text();
  const tokenizerJson = vocab === undefined ? await byName.get('tokenizer.json')?.text() : undefined;
  use(
    await bg.fromPretrained({ config, weights, vocab, tokenizerJson }),
    files.length > 3 ? `${files.length} files` : files.map((f) => f.name).join(', '),
  );
}

async function fill(): Promise<void> {
  if (!model || !tokenizer) throw new Error('load a model first');
  const k = Math.max(1, Math.min(50, Number($<HTMLInputElement>('k').value) || 5));
  const sentences = $<HTMLTextAreaElement>('sentences')
    .value.split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!sentences.length) throw new Error('write a sentence with [MASK]');
  const out = $('results');
  out.replaceChildren();
  for (const s of sentences) {
    let r;
    try {
      r = await fillMask(model, tokenizer, s, k);
    } catch (err) {
      out.append(el('div', { class: 'error' }, `${s}: ${(err as Error).message}`));
      continue;
    }
    const best = r.masks.map((m) => m.guesses[0].token);
    let i = 0;
    // a continuation piece (##ing) joins the word before it, as the tokenizer's decoder would
    const filled = s.replace(/ ?\[MASK\]/g, (m) => {
      const t = best[i++] ?? '[MASK]';
      return t.startsWith('##') ? t.slice(2) : `${m.startsWith(' ') ? ' ' : ''}${t}`;
    });
    const block = el(
      'div',
      { class: 'result', style: 'margin:10px 0;max-width:100%' },
      el('div', {}, el('b', {}, s)),
      el('div', { class: 'muted' }, `→ ${filled}`),
    );
    r.masks.forEach((m, j) => {
      block.append(
        el(
          'table',
          { class: 'guesses', style: 'display:inline-table;margin:4px 16px 4px 0;vertical-align:top' },
          el('tr', {}, el('th', {}, `mask ${j + 1}`), el('th', {}, 'probability'), el('th', {})),
          ...m.guesses.map((g) =>
            el(
              'tr',
              { class: 'guess' },
              el('td', { class: 'mono' }, g.token),
              el('td', { class: 'num' }, `${(g.probability * 100).toFixed(1)}%`),
              el('td', {}, el('span', { class: 'bar', style: `width:${Math.max(1, Math.round(g.probability * 160))}px` })),
            ),
          ),
        ),
      );
      console.log(`fill-mask: ${s} [mask ${j + 1}] ${m.guesses.map((g) => `${g.token} ${(g.probability * 100).toFixed(1)}%`).join(', ')}`);
    });
    out.append(block);
  }
  document.body.dataset.filled = 'true';
}

action($<HTMLButtonElement>('use-stored'), 'loading the stored model', async () => {
  await useStored();
});
action($<HTMLButtonElement>('load-url'), 'loading the URL', async () => {
  const url = $<HTMLInputElement>('model-url').value.trim();
  if (!/^https?:\/\//.test(url)) throw new Error(`give an http(s) URL of a directory holding config.json, got '${url}'`);
  use(await bg.fromPretrained(new URL(url, location.href).href), url);
});
action($<HTMLButtonElement>('fill'), 'fill-mask', fill);
dropZone($('model-drop'), $<HTMLInputElement>('model-files'), (files) =>
  fromFiles(files).catch((err) => showError(err, 'loading the files')),
);

async function startPage(): Promise<void> {
  const rt = await startWebGPU();
  if (!rt) {
    for (const id of ['use-stored', 'load-url', 'fill']) $<HTMLButtonElement>(id).disabled = true;
    return;
  }
  const url = params.get('model');
  if (url) use(await bg.fromPretrained(new URL(url, location.href).href), url);
  else await useStored();
  document.body.dataset.ready = 'true';
  if (model && params.get('autofill') === '1') await fill();
}

startPage().catch((err) => showError(err, 'fill-mask page'));
