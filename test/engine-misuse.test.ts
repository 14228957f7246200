// Misuse that used to pass silently: ids made on the GPU out of range (the kernels clamp them),
// a second backward() through a freed graph, and scopeAsync keeping the tensors of a function
// that throws.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { device } from './helpers.js';

/** An i32 tensor as if an op had made it on the GPU: no CPU copy to check. */
function gpuMade(values: number[], shape = [values.length]): bg.Tensor {
  const t = bg.tensor(new Int32Array(values), shape, 'i32');
  t.hostData = null;
  return t;
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

test('an embedding lookup with GPU-made ids out of range fails the next readback, naming the op; in-range ids pass', async () => {
  const rt = await device();
  const table = bg.tensor(
    Float32Array.from({ length: 12 }, (_, i) => i),
    [4, 3],
  );
  const bad = bg.embedding(table, gpuMade([1, 7, 2, -1]));
  await rejects(
    bad.toArray(),
    /embedding: indices \[4\] \(range \[0, 4\)\): 2 of 4 values made on the GPU are out of range \(first at position 1\)/,
  );
  const good = bg.embedding(table, gpuMade([3, 0]));
  assert.equal([...(await good.toArray())], [9, 10, 11, 0, 1, 2]);
  // argmax bounds its output: no check is recorded for ids it made
  const ids = bg.argmax(bg.tensor([0, 5, 1, 9, 0, 0], [2, 3]), 1);
  const before = rt.dispatchCount;
  const rows = bg.embedding(table, ids);
  assert.is(rt.dispatchCount - before, 1, 'one gather, no range check');
  assert.equal([...(await rows.toArray())], [3, 4, 5, 0, 1, 2]);
});

test('cross-entropy with GPU-made targets out of range fails the next readback; ignore_index is allowed', async () => {
  await device();
  const logits = bg.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  await rejects(
    bg.crossEntropy(logits, gpuMade([0, 3])).item(),
    /crossEntropy: targets \[2\] \(range \[0, 3\), ignore_index -100\): 1 of 2 values/,
  );
  const ok = await bg.crossEntropy(logits, gpuMade([2, -100])).item();
  assert.ok(Math.abs(ok - (Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3)) < 1e-5, `loss ${ok}`);
  // a failed check does not stick: later work reads back normally
  assert.is(await bg.sum(logits).item(), 21);
});

test('a second backward() through a freed graph is an error (as in torch), not a silent no-op', async () => {
  await device();
  const w = bg.tensor([1, 2, 3]).setRequiresGrad();
  const y = bg.sum(bg.mul(w, w));
  y.backward();
  assert.equal([...(await w.grad!.toArray())], [2, 4, 6]);
  assert.throws(() => y.backward(), /earlier backward\(\) already ran and freed/);
  // a new loss that reuses an intermediate of the freed graph fails too
  const h = bg.mul(w, w);
  const z1 = bg.sum(h);
  z1.backward();
  const z2 = bg.sum(bg.addScalar(h, 1));
  assert.throws(() => z2.backward(), /tensor .*\[3\] f32 was computed by a graph that an earlier backward\(\)/);
  assert.equal([...(await w.grad!.toArray())], [4, 8, 12], 'the gradient is the two backward() calls that ran');
});

test('scopeAsync disposes the tensors of a function that throws, as scope does', async () => {
  const rt = await device();
  await rt.sync();
  const live = rt.liveTensors;
  await rejects(
    bg.scopeAsync(async () => {
      bg.tensor([1, 2, 3]);
      await Promise.resolve();
      bg.tensor([4, 5]);
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.is(rt.liveTensors, live);
});

test("BertModel.forward takes HF's named inputs too; anything but tensors is refused with the argument named", async () => {
  await device();
  const config = bg.bertConfig({ vocab_size: 30, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 });
  const model = new bg.BertModel(config, { generator: new bg.Generator(3), addPoolingLayer: false });
  model.eval();
  const ids = bg.tensor(new Int32Array([2, 5, 7, 1, 3, 4]), [2, 3], 'i32');
  const mask = bg.tensor(new Int32Array([1, 1, 1, 1, 1, 0]), [2, 3], 'i32');
  const positional = await bg.noGrad(() => model.forward(ids, { attentionMask: mask })).sequenceOutput.toArray();
  const named = await bg.noGrad(() => model.forward({ input_ids: ids, attention_mask: mask })).sequenceOutput.toArray();
  assert.equal(Array.from(named), Array.from(positional));
  assert.throws(
    () => model.forward([[2, 5, 7]] as unknown as bg.Tensor),
    /BertModel.forward: input_ids must be a Tensor \[batch, seq\] of i32 ids .*got an array of 1/,
  );
  assert.throws(() => model.forward({ ids } as unknown as bg.Tensor), /input_ids must be a Tensor .*got an object with keys ids/);
  assert.throws(
    () => model.forward(ids, { attentionMask: [1, 1, 1] as unknown as bg.Tensor }),
    /BertModel.forward: attention_mask must be a Tensor of input_ids' shape \[2, 3\], got an array of 3/,
  );
  model.dispose();
});

test.run();
