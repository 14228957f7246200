"""How far above "all original" could an ELECTRA discriminator get on held-back Moby-Dick?

A Bayes detector with n-gram knowledge of the training text: its language model is the
both-sides bigram p(w | l, r) ~ p(w | l) p(r | w) (interpolated absolute discounting, D = 0.75),
tempered towards the unigram as uni^(1-b) ctx^b; the generator is uni^(1-a) ctx^a. 15% of the
held-back tokens are masked and replaced by a generator sample; the detector flags a token where
P(replaced, w) = 0.15 q(w) (1 - p(w)) exceeds P(original, w) = p(w) (0.85 + 0.15 q(w)). Each row
prints the generator's and the detector's held-back cross-entropy, the detector's accuracy, the
all-original accuracy of the same replacements, their gap, precision and recall.
Usage: python3 ceiling.py TOKENS.json [ROWS]
"""
import json
import sys
from collections import Counter, defaultdict

import numpy as np

D = 0.75
data = json.load(open(sys.argv[1]))
rows_limit = int(sys.argv[2]) if len(sys.argv) > 2 else 12000
V = len(data['vocab'])
unigram = np.bincount([t for doc in data['train'] for t in doc], minlength=V).astype(float) + 0.1
unigram /= unigram.sum()
pairs = defaultdict(Counter)
for doc in data['train']:
    for a, b in zip(doc, doc[1:]):
        pairs[a][b] += 1
# next[a] = P(. | a), interpolated with the unigram
nxt = np.tile(unigram, (V, 1))
for a, c in pairs.items():
    n = sum(c.values())
    nxt[a] *= D * len(c) / n
    for b, k in c.items():
        nxt[a, b] += max(k - D, 0) / n
rows = [(doc[i - 1], doc[i], doc[i + 1]) for doc in data['eval'] for i in range(1, len(doc) - 1)][:rows_limit]


def tempered(ctx, t):
    v = np.exp((1 - t) * np.log(unigram) + t * np.log(ctx))
    return v / v.sum()


ce_uni = -np.mean([np.log(unigram[x]) for _, x, _ in rows])
print(f'{len(rows)} held-back positions, vocabulary {V}; unigram cross-entropy {ce_uni:.3f} nats')
for a, b in [(0, 1), (0.3, 1), (0.5, 1), (0.7, 1), (0, 0.5), (0.3, 0.6), (0, 0.3)]:
    rng = np.random.default_rng(0)
    right = replaced = flagged = true_pos = 0
    ce_q = ce_p = 0.0
    for l, x, r in rows:
        ctx = nxt[l] * nxt[:, r]
        ctx /= ctx.sum()
        q, p = tempered(ctx, a), tempered(ctx, b)
        ce_q -= np.log(q[x])
        ce_p -= np.log(p[x])
        w = rng.choice(V, p=q) if rng.random() < 0.15 else x
        is_replaced = w != x
        flag = 0.15 * q[w] * (1 - p[w]) > p[w] * (0.85 + 0.15 * q[w])
        replaced += is_replaced
        right += flag == is_replaced
        flagged += flag
        true_pos += flag and is_replaced
    n = len(rows)
    print(f'generator a={a} (CE {ce_q / n:.2f})  detector b={b} (CE {ce_p / n:.2f}):  accuracy {right / n:.4f}  all-original {1 - replaced / n:.4f}  '
          f'gap {(right - n + replaced) / n:+.4f}  precision {true_pos / max(flagged, 1):.2f}  recall {true_pos / max(replaced, 1):.3f}', flush=True)
