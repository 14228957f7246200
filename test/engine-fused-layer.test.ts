// A BERT model run with the fused encoder kernels and op by op (setFusedKernels) on the same
// weights and dropout seeds, in training mode: the outputs and every parameter gradient agree,
// with unfused and fused attention (fused: one QKV matmul, the gradients landing in query / key /
// value's own parameters), and with LoRA adapters on query / value and on the intermediate dense
// (which then keep Linear's own forward).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { LoraModel } from '../src/nn/lora.js';
import { assertClose, device, read, rng } from './helpers.js';

const config = bg.bertConfig({
  vocab_size: 40,
  hidden_size: 12,
  num_hidden_layers: 2,
  num_attention_heads: 3,
  intermediate_size: 20,
  max_position_embeddings: 16,
  hidden_dropout_prob: 0.2,
  attention_probs_dropout_prob: 0.3,
});
const [B, T] = [2, 7];

/** Output and the gradients of `params`, after backward of sum(w * sequence_output). */
async function run(model: bg.BertModel, generator: bg.Generator, params: [string, bg.Tensor][], fused: boolean) {
  const before = generator.state();
  const prev = bg.setFusedKernels(fused);
  const r = rng(4);
  const ids = bg.tensor(r.int(B * T, 0, 40), [B, T], 'i32');
  const attentionMask = bg.tensor(
    Int32Array.from({ length: B * T }, (_, i) => (i >= T + 5 ? 0 : 1)),
    [B, T],
    'i32',
  );
  try {
    const d0 = bg.runtime().dispatchCount;
    const out = model.forward(ids, { attentionMask });
    const seq = out.sequenceOutput;
    const w = bg.tensor(Float32Array.from(r.uniform(seq.size)), seq.shape);
    bg.backward(seq, w);
    const dispatches = bg.runtime().dispatchCount - d0;
    const result = { out: await read(seq), grads: new Map<string, Float64Array>(), dispatches };
    for (const [name, p] of params) {
      assert.ok(p.grad, `${name} got a gradient (fused ${fused})`);
      result.grads.set(name, await read(p.grad));
      p.zeroGrad();
    }
    for (const t of [ids, attentionMask, w, ...out.hiddenStates, out.pooledOutput]) t?.dispose();
    return result;
  } finally {
    bg.setFusedKernels(prev);
    generator.offset = before.offset; // the same dropout masks for the next run
  }
}

async function compare(model: bg.BertModel, generator: bg.Generator, params: [string, bg.Tensor][], what: string) {
  const fused = await run(model, generator, params, true);
  const plain = await run(model, generator, params, false);
  assert.ok(fused.dispatches < plain.dispatches, `${what}: fused ${fused.dispatches} dispatches < op by op ${plain.dispatches}`);
  assertClose(fused.out, plain.out, { rtol: 1e-5, atol: 1e-6, what: `${what}: sequence output` });
  for (const [name] of params) {
    assertClose(fused.grads.get(name)!, plain.grads.get(name)!, { rtol: 1e-4, atol: 1e-6, what: `${what}: gradient of ${name}` });
  }
}

for (const attention of ['unfused', 'rows'] as const) {
  test(`BERT layers fused vs op by op (${attention} attention): output and every parameter gradient`, async () => {
    const rt = await device();
    const prev = rt.options.attentionVariant;
    rt.setAttentionVariant(attention);
    try {
      const generator = new bg.Generator(21);
      const model = new bg.BertModel(config, { generator, addPoolingLayer: false }).train();
      const params = model.namedParameters().filter(([, p]) => p.requiresGrad);
      assert.ok(params.length > 30);
      await compare(model, generator, params, attention);
      model.dispose();
    } finally {
      rt.setAttentionVariant(prev);
    }
  });
}

for (const attention of ['unfused', 'rows'] as const) {
  test(`BERT layers fused vs op by op with LoRA on query, value and intermediate.dense (${attention} attention): adapter gradients agree`, async () => {
    const rt = await device();
    const prev = rt.options.attentionVariant;
    rt.setAttentionVariant(attention);
    try {
      const generator = new bg.Generator(5);
      const model = new bg.BertModel(config, { generator, addPoolingLayer: false }).train();
      const lora = new LoraModel(model, { r: 2, alpha: 4, targetModules: ['query', 'value', 'intermediate.dense'], seed: 3 });
      const params = lora.trainableParameters();
      assert.ok(params.some(([n]) => n.includes('intermediate.dense.lora_B')));
      // PEFT starts lora_B at zero; make it non-zero so the adapter's term shows in the output
      bg.noGrad(() => {
        for (const [name, p] of params) {
          if (!name.includes('lora_B')) continue;
          const v = bg.tensor(Float32Array.from(rng(p.size).uniform(p.size)), p.shape);
          bg.stridedCopy(v, 0, [p.shape[1], 1], p, 0, [p.shape[1], 1], p.shape);
          v.dispose();
        }
      });
      await compare(model, generator, params, `LoRA, ${attention} attention`);
      lora.dispose();
      model.dispose();
    } finally {
      rt.setAttentionVariant(prev);
    }
  });
}

test.run();
