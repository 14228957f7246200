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
        {},
        el('a', { href: 'finetune.html' }, 'Fine-tune'),
        ' — sentiment on the UCI sentences (full or LoRA) with live curves against the majority class and a bag of words, then your sentences; token tagging in colours; QA with the answer highlighted.',
      ),
    ),
  ),
);
startWebGPU().catch((err) => showError(err, 'WebGPU'));
