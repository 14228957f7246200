#!/usr/bin/python3
"""ONNX export for `npm run bench` (bench/run.mjs runs it): DIR/config.json + DIR/model.safetensors,
written by our own exporter from a randomly initialised BertModel, become DIR/model.onnx with the
plain-torch, Hugging Face-named BertModel of test/fixtures/models/gen.py, so ONNX Runtime and
bertgpu run the same weights.

Run with Debian's torch and onnx:  apt-get install -y python3-torch python3-onnx
    /usr/bin/python3 bench/ort/export_onnx.py DIR [--opset 17]
Inputs input_ids / attention_mask / token_type_ids (int64, [batch, sequence], both dynamic),
output last_hidden_state [batch, sequence, hidden] (float32). Dropout off (eval mode).
Prints 'exported DIR/model.onnx (N MB), torch vs onnx checker OK'.
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


sys.path.insert(0, os.path.join(HERE, '..', 'pretrain-parity'))
import torch_ref as ref  # noqa: E402  (its safetensors reader and gen.py loader)

gen = ref.load_gen()


class Encoder(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.m = gen.Model(c, add_pooling_layer=False)

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.m(input_ids, attention_mask, token_type_ids)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir')
    ap.add_argument('--opset', type=int, default=17)  # 17: LayerNormalization as one op
    args = ap.parse_args()
    cfg = json.load(open(os.path.join(args.dir, 'config.json')))
    c = gen.Config(cfg)
    model = Encoder(c).eval()
    weights = ref.read_safetensors(os.path.join(args.dir, 'model.safetensors'))
    named = dict(model.m.named_parameters())
    if sorted(named) != sorted(weights):
        sys.exit(f'{args.dir}: parameter names differ: torch only {sorted(set(named) - set(weights))}, file only {sorted(set(weights) - set(named))}')
    with torch.no_grad():
        for n, p in named.items():
            src = torch.from_numpy(weights[n].copy())
            if tuple(src.shape) != tuple(p.shape):
                sys.exit(f'{args.dir}: {n} is {tuple(src.shape)} in the file, {tuple(p.shape)} in torch')
            p.copy_(src)
    B, T = 2, 16
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, c.vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.int64)
    mask[1, T // 2:] = 0
    types = torch.zeros(B, T, dtype=torch.int64)
    out = os.path.join(args.dir, 'model.onnx')
    tmp = out + '.tmp'
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, mask, types),
            tmp,
            input_names=['input_ids', 'attention_mask', 'token_type_ids'],
            output_names=['last_hidden_state'],
            dynamic_axes={n: {0: 'batch', 1: 'sequence'} for n in ['input_ids', 'attention_mask', 'token_type_ids', 'last_hidden_state']},
            opset_version=args.opset,
            do_constant_folding=True,
        )
    import onnx

    onnx.checker.check_model(tmp)
    os.replace(tmp, out)  # atomic: a cached model.onnx is always a whole one
    print(f'exported {out} ({os.path.getsize(out) / 1e6:.1f} MB, opset {args.opset}, torch {torch.__version__}, onnx {onnx.__version__}), onnx checker OK')


if __name__ == '__main__':
    main()
