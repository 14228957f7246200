// The demo pages' landing page: what each page does.
import { el, shell, startWebGPU, showError } from './common.js';

const main = shell(
  'index.html',
  'bertgpu demos',
  'BERT-family models trained and run in this browser tab on WebGPU, with no ML runtime underneath: every op is a WGSL compute shader.',
);
main.append(
  el(
    'section',
    {},
    el(
      'ul',
      {},
      el(
        'li',
        {},
        el('a', { href: 'tokenizer.html' }, 'Tokenizer playground'),
        ' — WordPiece tokens, ids, type ids, attention mask and offsets; BPE learning its merges step by step.',
      ),
      el(
        'li',
        {},
        el('a', { href: 'pretrain.html' }, 'Pre-train live'),
        ' — MLM + NSP, RoBERTa-style or ELECTRA on Moby-Dick or your text; live charts, held-back baselines, pause / resume across reloads, the Hugging Face directory as a zip.',
      ),
      el(
        'li',
        {},
        el('a', { href: 'fill-mask.html' }, 'Fill-mask'),
        ' — top-k tokens for each [MASK] from the model you trained, or a directory / URL.',
      ),
      el(
        'li',
        { class: 'muted' },
        'Fine-tune (sentiment, tagging, QA) — not yet: it needs the fine-tuning trainer, which the library does not have yet.',
      ),
    ),
  ),
);
startWebGPU().catch((err) => showError(err, 'WebGPU'));
