#!/usr/bin/python3
"""PyTorch side of the pre-training parity benchmark (bench/pretrain-parity.mjs runs it).

Replays a run dumped by bench/pretrain-parity/run.ts: the same initial weights (init.safetensors),
the same batches in the same order (batches.safetensors), the same hyper-parameters (meta.json),
with the plain-torch, Hugging Face-named modules of test/fixtures/models/gen.py, and writes
<prefix>_train.jsonl / <prefix>_eval.jsonl beside the dump.

Run with Debian's torch:  /usr/bin/python3 bench/pretrain-parity/torch_ref.py DIR [--threads 2]
    [--steps N (default: meta's)] [--eval-every E] [--dtype float32|float64] [--prefix torch] [--seed 0]

Recipe (as src/train/trainer.ts + src/optim/adamw.ts + src/train/objectives.ts):
- AdamW betas (0.9, 0.999), eps 1e-6, weight decay 0.01 except names ending in 'bias' or containing
  'LayerNorm' / 'layer_norm' (checked against the decay map in meta.json);
- lr(s) = peak * s / warmup for s < warmup, else peak * max(0, (steps - s) / (steps - warmup)),
  s = optimizer steps already taken (so step 1 runs at lr 0 when warmup > 0);
- torch.nn.utils.clip_grad_norm_(max_norm 1.0) over every trained parameter;
- mlm-nsp: CE over labelled positions + CE of NSP (the MLM head runs on labelled rows only, which
  is the same function as HF's full head + ignore_index);
- electra: generator MLM CE + 50 * mean sigmoid BCE over attention_mask == 1 tokens; replacements
  sampled from the generator's softmax (temperature 1) under no_grad at the masked positions;
  label 1 where the sample differs from the original token. Embeddings (word, position, type,
  LayerNorm) are shared by generator and discriminator; generator_lm_head.weight is tied to them.
"""
import argparse
import importlib.util
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
GEN_PY = os.path.join(HERE, '..', '..', 'test', 'fixtures', 'models', 'gen.py')


def load_gen():
    spec = importlib.util.spec_from_file_location('bertgpu_gen', GEN_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    np_dtypes = {'F32': np.float32, 'I32': np.int32, 'I64': np.int64}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        arr = np.frombuffer(data, dtype=np_dtypes[e['dtype']], count=(b - a) // np.dtype(np_dtypes[e['dtype']]).itemsize, offset=base + a)
        out[name] = arr.reshape(e['shape'])
    return out


def no_decay(name):
    return name.endswith('bias') or 'LayerNorm' in name or 'layer_norm' in name


def lr_at(step, warmup, total, peak):
    if step < warmup:
        return peak * step / max(1, warmup)
    return peak * max(0.0, (total - step) / max(1, total - warmup))


class Bundle(nn.Module):
    """The trained modules under the names objective.namedParameters() gives them."""

    def __init__(self, gen, meta):
        super().__init__()
        self.objective = meta['objective']
        if self.objective == 'mlm-nsp':
            c = gen.Config({**meta['config'], 'architectures': ['BertForPreTraining']})
            self.model = gen.Task(c)
        else:
            dc = gen.Config({**meta['config'], 'architectures': ['ElectraForPreTraining']})
            gc = gen.Config({**meta['generator_config'], 'model_type': 'electra', 'architectures': ['ElectraForMaskedLM']})
            self.discriminator = gen.Task(dc)  # registered first: shared names are the discriminator's
            self.generator = gen.Task(gc)
            shared = self.discriminator.electra.embeddings
            self.generator.electra.embeddings = shared
            self.generator.generator_lm_head.weight = shared.word_embeddings.weight
            self.weight = meta['discriminator_weight']

    def named_trained(self):
        named = list(self.named_parameters())
        if self.objective == 'mlm-nsp':  # ours names them without the 'model.' prefix
            named = [(n[len('model.'):], p) for n, p in named]
        return named


def mlm_rows(seq, labels):
    """Flat rows of seq at the labelled positions (row-major order, as ours) and their labels."""
    B, T, H = seq.shape
    flat = labels.reshape(-1)
    pos = (flat != -100).nonzero(as_tuple=True)[0]
    return seq.reshape(B * T, H)[pos], flat[pos], pos


def rate(count):
    """hits / total of a (hits, total) metric; None (ours: NaN, which JSON writes as null) when empty."""
    hits, total = count
    return hits / total if total else None


def step_mlm_nsp(m, b, want_metrics):
    model = m.model
    seq, pooled, _ = model.base[0](b['input_ids'], b['attention_mask'], b['token_type_ids'])
    rows, lab, _ = mlm_rows(seq, b['mlm_labels'])
    logits = model.cls.predictions(rows)
    mlm = F.cross_entropy(logits, lab)
    nsp_logits = model.cls.seq_relationship(pooled)
    nsp = F.cross_entropy(nsp_logits, b['next_sentence_label'])
    loss = mlm + nsp
    metrics = {}
    if want_metrics:
        with torch.no_grad():
            metrics['mlm_accuracy'] = ((logits.argmax(1) == lab).sum().item(), lab.numel())
            metrics['nsp_accuracy'] = ((nsp_logits.argmax(1) == b['next_sentence_label']).sum().item(), b['next_sentence_label'].numel())
    return loss, {'nsp': nsp.detach(), 'mlm': mlm.detach()}, metrics


def step_electra(m, b, want_metrics, flags=None):
    g, d = m.generator, m.discriminator
    ids, mask, types, labels = b['input_ids'], b['attention_mask'], b['token_type_ids'], b['mlm_labels']
    gseq = g.base[0](ids, mask, types)[0]
    rows, lab, pos = mlm_rows(gseq, labels)
    glogits = g.generator_lm_head(g.generator_predictions(rows))
    gen_loss = F.cross_entropy(glogits, lab)
    with torch.no_grad():
        original = torch.where(labels != -100, labels, ids).reshape(-1)
        probs = torch.softmax(glogits.double(), dim=-1)
        samples = torch.multinomial(probs, 1).squeeze(1)
        replaced = original.clone()
        replaced[pos] = samples
        rtd_labels = (replaced != original).to(gseq.dtype).reshape(ids.shape)
        replaced = replaced.reshape(ids.shape)
    dseq = d.base[0](replaced, mask, types)[0]
    dlogits = d.discriminator_predictions(dseq)
    active = mask == 1
    rtd = F.binary_cross_entropy_with_logits(dlogits[active], rtd_labels[active])
    loss = gen_loss + m.weight * rtd
    metrics = {}
    if want_metrics:
        with torch.no_grad():
            metrics['mlm_accuracy'] = ((glogits.argmax(1) == lab).sum().item(), lab.numel())
            pred = dlogits[active] > 0
            truth = rtd_labels[active] == 1
            n = truth.numel()
            tp = (pred & truth).sum().item()
            fp = (pred & ~truth).sum().item()
            fn = (~pred & truth).sum().item()
            metrics['disc_accuracy'] = ((pred == truth).sum().item(), n)
            metrics['disc_precision'] = (tp, tp + fp)
            metrics['disc_recall'] = (tp, tp + fn)
            metrics['disc_all_original_accuracy'] = (n - truth.sum().item(), n)
            if flags is not None:  # every flagged token: (is replaced, original, shown, left, right)
                for r, c in (dlogits > 0).logical_and(active).nonzero().tolist():
                    left = replaced[r, c - 1].item() if c > 0 else -1
                    right = replaced[r, c + 1].item() if c + 1 < replaced.shape[1] else -1
                    flags.append((bool(rtd_labels[r, c] == 1), original.view(ids.shape)[r, c].item(), replaced[r, c].item(), left, right))
    return loss, {'generator': gen_loss.detach(), 'discriminator': rtd.detach()}, metrics


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--steps', type=int, default=None, help='train this many steps (default: all dumped); the schedule uses meta steps unless --schedule-steps')
    ap.add_argument('--eval-every', type=int, default=None)
    ap.add_argument('--dtype', default='float32', choices=['float32', 'float64'])
    ap.add_argument('--prefix', default='torch')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--log-every', type=int, default=1)
    ap.add_argument('--flags', action='store_true', help='electra: write each evaluation\'s flagged tokens (decoded) to <prefix>_flags.jsonl')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    dtype = torch.float64 if args.dtype == 'float64' else torch.float32

    meta = json.load(open(os.path.join(args.dir, 'meta.json')))
    gen = load_gen()
    m = Bundle(gen, meta)
    init = read_safetensors(os.path.join(args.dir, 'init.safetensors'))
    named = m.named_trained()
    names = [n for n, _ in named]
    if sorted(names) != sorted(init):
        raise SystemExit(f'parameter names differ:\n torch only {sorted(set(names) - set(init))}\n ours only {sorted(set(init) - set(names))}')
    with torch.no_grad():
        for n, p in named:
            src = torch.from_numpy(init[n].copy())
            if tuple(src.shape) != tuple(p.shape):
                raise SystemExit(f'{n}: ours {tuple(src.shape)}, torch {tuple(p.shape)}')
            p.copy_(src)
    m.to(dtype)

    opts = meta['trainer_options']
    decay_map = meta['adamw']['weight_decay']
    for n, _ in named:
        want = 0.0 if no_decay(n) else opts['weightDecay']
        if abs(decay_map[n] - want) > 0:
            raise SystemExit(f'weight decay of {n}: ours {decay_map[n]}, rule {want}')
    groups = [
        {'params': [p for n, p in named if decay_map[n] > 0], 'weight_decay': opts['weightDecay']},
        {'params': [p for n, p in named if decay_map[n] == 0], 'weight_decay': 0.0},
    ]
    betas = tuple(meta['adamw']['betas'])
    opt = torch.optim.AdamW(groups, lr=opts['lr'], betas=betas, eps=meta['adamw']['eps'])
    params = [p for _, p in named]

    raw = read_safetensors(os.path.join(args.dir, 'batches.safetensors'))
    fields = ['input_ids', 'token_type_ids', 'attention_mask', 'mlm_labels', 'next_sentence_label']
    train = {f: torch.from_numpy(raw[f'train.{f}'].astype(np.int64)) for f in fields}
    n_train = train['input_ids'].shape[0]
    evals = []
    i = 0
    while f'eval.{i}.input_ids' in raw:
        evals.append({f: torch.from_numpy(raw[f'eval.{i}.{f}'].astype(np.int64)) for f in fields})
        i += 1
    total = opts['steps']
    warmup = opts['warmupSteps']
    max_norm = opts['maxGradNorm']
    steps = min(args.steps or n_train, n_train)
    eval_every = args.eval_every if args.eval_every is not None else meta['eval_every']
    step_fn = step_mlm_nsp if meta['objective'] == 'mlm-nsp' else step_electra

    def evaluate(step):
        m.eval()
        sums, counts = {}, {}
        flags = [] if args.flags and meta['objective'] == 'electra' else None
        with torch.no_grad():
            for b in evals:
                loss, parts, metrics = step_fn(m, b, True, flags) if flags is not None else step_fn(m, b, True)
                for k, v in [('loss', loss.item())] + [(k, v.item()) for k, v in parts.items()]:
                    sums[k] = sums.get(k, 0.0) + v
                for k, (hits, total) in metrics.items():  # pooled over the batches, as ours
                    h, t = counts.get(k, (0, 0))
                    counts[k] = (h + hits, t + total)
        m.train()
        if flags is not None:
            word = lambda i: meta['vocab'][i] if i >= 0 else ''
            with open(os.path.join(args.dir, f'{args.prefix}_flags.jsonl'), 'a') as f:
                for replaced_, original, shown, left, right in flags:
                    f.write(json.dumps({'step': step, 'replaced': replaced_, 'original': word(original), 'shown': word(shown), 'context': f'{word(left)} [{word(shown)}] {word(right)}'}) + '\n')
        rec = {'step': step, **{k: v / len(evals) for k, v in sums.items()}, **{k: rate(c) for k, c in counts.items()}}
        with open(os.path.join(args.dir, f'{args.prefix}_eval.jsonl'), 'a') as f:
            f.write(json.dumps(rec) + '\n')
        print(f'eval @{step}: ' + ' '.join(f'{k} {v:.4f}' if v is not None else f'{k} nan' for k, v in rec.items() if k != 'step'), flush=True)

    for suffix in ('train', 'eval', 'flags'):
        open(os.path.join(args.dir, f'{args.prefix}_{suffix}.jsonl'), 'w').close()
    train_log = open(os.path.join(args.dir, f'{args.prefix}_train.jsonl'), 'a')
    if eval_every:
        evaluate(0)
    m.train()
    t0 = time.time()
    for s in range(steps):
        b = {f: train[f][s] for f in fields}
        lr = lr_at(s, warmup, total, opts['lr'])
        for g in opt.param_groups:
            g['lr'] = lr
        log = (s + 1) % args.log_every == 0 or s + 1 == steps
        loss, parts, metrics = step_fn(m, b, log)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        opt.step()
        if log:
            rec = {'step': s + 1, 'loss': loss.item(), **{k: v.item() for k, v in parts.items()}, **{k: rate(c) for k, c in metrics.items()}, 'lr': lr, 'grad_norm': norm.item(), 'elapsed_s': time.time() - t0}
            train_log.write(json.dumps(rec) + '\n')
            if (s + 1) % 500 == 0 or s < 5:
                print(f'step {s + 1} loss {rec["loss"]:.5f} {time.time() - t0:.0f}s', flush=True)
        if eval_every and (s + 1) % eval_every == 0:
            train_log.flush()
            evaluate(s + 1)
    train_log.close()
    print(f'torch: {steps} steps in {time.time() - t0:.0f} s ({args.threads} threads, {args.dtype})')


if __name__ == '__main__':
    main()
