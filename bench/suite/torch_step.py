#!/usr/bin/python3
"""Plain-torch CPU peer of the training-step part of `npm run bench` (bench/suite/train-node.ts runs it).

The same model (test/fixtures/models/gen.py's Hugging Face-named BertForPreTraining), the same
config and the same batch as ours, the same step recipe (bench/pretrain-parity/torch_ref.py's
mlm-nsp step: MLM head on the labelled rows, AdamW, grad-norm clip 1.0). Protocol on stdin/stdout,
so the caller can interleave its steps with ours: after two warm-up steps it prints
'READY <json>'; each 'step' line read runs one step and prints 'STEP <ms>'; 'quit' or EOF ends it.

    /usr/bin/python3 bench/suite/torch_step.py CONFIG.json BATCH.json [--threads 2]
"""
import argparse
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'pretrain-parity'))
import torch_ref as ref  # noqa: E402  (gen.py's models and the mlm-nsp step)


def blas_library():
    """The BLAS shared object this process mapped (Debian's torch uses the libblas.so.3 alternative)."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
        return ', '.join(sorted(os.path.realpath(p) for p in libs)) or 'none mapped'
    except OSError:
        return 'unknown'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('config')
    ap.add_argument('batch')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = ref.load_gen()
    cfg = json.load(open(args.config))
    m = ref.Bundle(gen, {'objective': 'mlm-nsp', 'config': cfg})
    named = m.named_trained()
    groups = [
        {'params': [p for n, p in named if not ref.no_decay(n)], 'weight_decay': 0.01},
        {'params': [p for n, p in named if ref.no_decay(n)], 'weight_decay': 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.999), eps=1e-6)
    params = [p for _, p in named]
    raw = json.load(open(args.batch))
    B, T = raw['batchSize'], raw['seqLength']
    b = {
        'input_ids': torch.tensor(raw['inputIds'], dtype=torch.int64).view(B, T),
        'token_type_ids': torch.tensor(raw['tokenTypeIds'], dtype=torch.int64).view(B, T),
        'attention_mask': torch.tensor(raw['attentionMask'], dtype=torch.int64).view(B, T),
        'mlm_labels': torch.tensor(raw['mlmLabels'], dtype=torch.int64).view(B, T),
        'next_sentence_label': torch.tensor(raw['nextSentenceLabel'], dtype=torch.int64),
    }
    m.train()

    def step():
        loss, _, _ = ref.step_mlm_nsp(m, b, False)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    for _ in range(2):
        loss = step()
    info = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library(),
            'omp_wait_policy': os.environ.get('OMP_WAIT_POLICY', ''), 'loss': loss}
    print('READY ' + json.dumps(info), flush=True)
    for line in sys.stdin:
        if line.strip() != 'step':
            break
        t = time.perf_counter()
        step()
        print(f'STEP {(time.perf_counter() - t) * 1000:.3f}', flush=True)


if __name__ == '__main__':
    main()
