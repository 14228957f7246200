"""Plain-torch ELECTRA on a synthetic Markov language (each token has two possible successors):
does the discriminator learn to detect replacements on fresh walks, and how does that depend on
the learning rate and on the generator training beside it? The race the Node test
test/train-electra-markov.test.ts pins down on our engine, reproduced without it.

Model: post-LN transformer encoders, discriminator hidden H (1 layer, 2 heads), generator H/4
(1 layer, 1 head) on a projection of the shared embeddings (word, position, LayerNorm), tied output;
2 of the 14 walk positions masked per row (85% [MASK]); samples from the generator's softmax;
loss = gen_weight * generator CE + 50 * discriminator BCE; AdamW (eps 1e-6, decay 0.01), clipping 1.0.
  python3 markov_electra.py [--hidden 32] [--steps 1200] [--lr 3e-3] [--gen-weight 1] [--unshared]
      [--pretrain-generator N]   (N generator-only steps first, then the generator stays as it is)
"""
import argparse
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument('--hidden', type=int, default=32)
ap.add_argument('--steps', type=int, default=1200)
ap.add_argument('--lr', type=float, default=3e-3)
ap.add_argument('--gen-weight', type=float, default=1.0)
ap.add_argument('--unshared', action='store_true')
ap.add_argument('--pretrain-generator', type=int, default=0)
args = ap.parse_args()
torch.manual_seed(0)
random.seed(0)
V, FIRST, T, B, H = 40, 5, 16, 16, args.hidden
successors = [[random.randrange(FIRST, V) for _ in range(2)] for _ in range(V)]


def batch():
    x = torch.zeros(B, T, dtype=torch.long)
    masked = torch.zeros(B, T, dtype=torch.bool)
    for b in range(B):
        tok = random.randrange(FIRST, V)
        x[b, 0], x[b, T - 1] = 1, 2
        for t in range(1, T - 1):
            x[b, t] = tok
            tok = random.choice(successors[tok])
        for t in random.sample(range(1, T - 1), 2):
            masked[b, t] = True
    inputs = x.clone()
    inputs[masked & (torch.rand(B, T) < 0.85)] = 3
    return x, inputs, masked


class Embeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.norm = nn.Embedding(V, H), nn.Embedding(T, H), nn.LayerNorm(H)
        for e in (self.word, self.pos):
            nn.init.normal_(e.weight, std=0.02)

    def forward(self, ids):
        return self.norm(self.word(ids) + self.pos.weight[None])


def encoder(h, heads):
    return nn.TransformerEncoder(nn.TransformerEncoderLayer(h, heads, 4 * h, dropout=0.0, activation='gelu', batch_first=True), 1)


disc_emb = Embeddings()
gen_emb = Embeddings() if args.unshared else disc_emb
disc, disc_head = encoder(H, 2), nn.Sequential(nn.Linear(H, H), nn.GELU(), nn.Linear(H, 1))
Hg = max(1, H // 4)
gen_in, gen, gen_head, gen_bias = nn.Linear(H, Hg), encoder(Hg, 1), nn.Sequential(nn.Linear(Hg, H), nn.GELU(), nn.LayerNorm(H)), nn.Parameter(torch.zeros(V))
modules = nn.ModuleList([disc_emb, gen_emb, disc, disc_head, gen_in, gen, gen_head])
params = list({id(p): p for p in [*modules.parameters(), gen_bias]}.values())
opt = torch.optim.AdamW(params, lr=args.lr, eps=1e-6, weight_decay=0.01)


def step(x, inputs, masked):
    logits = gen_head(gen(gen_in(gen_emb(inputs)))[masked]) @ gen_emb.word.weight.T + gen_bias
    gen_loss = F.cross_entropy(logits, x[masked])
    with torch.no_grad():
        replaced = x.clone()
        replaced[masked] = torch.multinomial(torch.softmax(logits, -1), 1).squeeze(1)
        labels = (replaced != x).float()
    disc_logits = disc_head(disc(disc_emb(replaced))).squeeze(-1)
    return gen_loss, F.binary_cross_entropy_with_logits(disc_logits, labels), disc_logits, labels


held_back = [batch() for _ in range(8)]
for _ in range(args.pretrain_generator):
    gen_loss = step(*batch())[0]
    opt.zero_grad()
    gen_loss.backward()
    opt.step()
print(f'hidden {H}, lr {args.lr}, generator weight {args.gen_weight}, {"unshared" if args.unshared else "shared"} embeddings'
      + (f', generator pre-trained {args.pretrain_generator} steps' if args.pretrain_generator else ''))
for it in range(1, args.steps + 1):
    gen_loss, disc_loss, _, _ = step(*batch())
    opt.zero_grad()
    (args.gen_weight * gen_loss + 50 * disc_loss).backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    if it % max(1, args.steps // 6) == 0:
        right = original = n = 0
        gen_sum = 0.0
        with torch.no_grad():
            for b in held_back:
                gen_loss, _, logits, labels = step(*b)
                gen_sum += gen_loss.item()
                right += ((logits > 0).float() == labels).sum().item()
                original += (labels == 0).sum().item()
                n += labels.numel()
        print(f'step {it}: held-back generator {gen_sum / len(held_back):.3f}, discriminator accuracy {right / n:.4f}, all-original {original / n:.4f}, gap {(right - original) / n:+.4f}', flush=True)
