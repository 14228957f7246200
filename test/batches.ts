// Synthetic pre-training batches for trainer tests: deterministic per (seed, batch number).
import type { BatchSource } from '../src/train/trainer.js';
import type { PretrainingBatch } from '../src/train/objectives.js';
import { rng } from './helpers.js';

/** Random batches: ids 5..V-1 with [CLS]=1 / [SEP]=2 / [MASK]=3, padding 0, ~15% masked. */
export class RandomBatches implements BatchSource {
  constructor(
    public seed: number,
    readonly B = 4,
    readonly T = 12,
    public count = 0,
    readonly V = 40,
  ) {}
  nextBatch(): PretrainingBatch {
    const r = rng(this.seed * 1000 + this.count++);
    const { B, T, V } = this;
    const inputIds = new Int32Array(B * T),
      tokenTypeIds = new Int32Array(B * T),
      attentionMask = new Int32Array(B * T);
    const mlmLabels = new Int32Array(B * T).fill(-100);
    const nextSentenceLabel = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const len = T - (b % 3);
      nextSentenceLabel[b] = b % 2;
      for (let t = 0; t < len; t++) {
        const i = b * T + t;
        attentionMask[i] = 1;
        tokenTypeIds[i] = t >= len / 2 ? 1 : 0;
        inputIds[i] = t === 0 ? 1 : t === len - 1 ? 2 : 5 + Math.floor(r.next() * (V - 5));
        if (t > 0 && t < len - 1 && (r.next() < 0.15 || t === 1)) {
          mlmLabels[i] = inputIds[i];
          inputIds[i] = 3;
        }
      }
    }
    return { batchSize: B, seqLength: T, inputIds, tokenTypeIds, attentionMask, mlmLabels, nextSentenceLabel };
  }
  state() {
    return { count: this.count };
  }
  restore(s: unknown) {
    this.count = (s as { count: number }).count;
  }
}

/** The same batch every time (overfitting). */
export class OneBatch extends RandomBatches {
  private readonly batch = super.nextBatch();
  override nextBatch() {
    return this.batch;
  }
}
