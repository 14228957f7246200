// A short soak: every objective trains 30 steps (logging, evaluating) without growing the number
// of live tensors, live bytes or bind groups, and trainer.dispose() gives everything back.
// bench/soak.mjs is the long version (1000 bert-tiny steps, RSS too).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';
import type { ObjectiveName } from '../src/train/objectives.js';
import { device } from './helpers.js';
import { RandomBatches } from './batches.js';
import type { BatchSource } from '../src/train/trainer.js';

/** Five random batches, over and over: after the first round every buffer size has been seen. */
function cycle(seed: number): BatchSource {
  const src = new RandomBatches(seed);
  const batches = Array.from({ length: 5 }, () => src.nextBatch());
  let i = 0;
  return { nextBatch: () => batches[i++ % batches.length], state: () => ({ i }), restore: (s) => void (i = (s as { i: number }).i) };
}

const config = bg.bertConfig({
  vocab_size: 40,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 32,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
});

for (const objective of ['mlm', 'mlm-nsp', 'roberta', 'electra'] as ObjectiveName[]) {
  test(`${objective}: 30 steps leave live tensors, bytes and bind groups flat; dispose frees all`, async () => {
    const rt = await device();
    await rt.sync();
    const base = { tensors: rt.liveTensors, bytes: rt.liveBytes };
    const evalBatch = new RandomBatches(99).nextBatch();
    const trainer = Trainer.create(objective, config, cycle(1), { steps: 30, lr: 1e-3, logEvery: 5, evalEvery: 10, seed: 2 }, [evalBatch]);
    const at: Record<number, { tensors: number; bytes: number; misses: number }> = {};
    while (trainer.step < 30) {
      await trainer.trainStep();
      if (trainer.step % 10 === 0) await trainer.evaluate();
      if (trainer.step === 10 || trainer.step === 30) {
        await rt.sync();
        at[trainer.step] = { tensors: rt.liveTensors, bytes: rt.liveBytes, misses: rt.bindGroupMisses };
      }
    }
    assert.is(at[30].tensors, at[10].tensors, `live tensors after step 10: ${at[10].tensors}, after step 30: ${at[30].tensors}`);
    assert.is(at[30].bytes, at[10].bytes, `live bytes after step 10: ${at[10].bytes}, after step 30: ${at[30].bytes}`);
    // the same five batches again and again reuse the same pooled buffers: a leak shifts them (+17 bind groups a step)
    assert.is(at[30].misses - at[10].misses, 0, 'new bind groups between steps 10 and 30');
    trainer.dispose();
    await rt.sync();
    assert.is(rt.liveTensors, base.tensors, `live tensors after dispose: ${rt.liveTensors}, before the trainer: ${base.tensors}`);
    assert.is(rt.liveBytes, base.bytes, 'live bytes after dispose');
  });
}

test.run();
