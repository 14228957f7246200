// NaN propagates as in torch: through tanh, relu, GELU, softmax, layer norm, matmul and the
// losses; max / argmax pick the NaN (torch.max and torch.argmax do). A model whose encoder is NaN
// gives NaN logits and a NaN loss, never a finite number that hides the failure.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { device, ROW_VARIANTS, withRowVariant } from './helpers.js';

const ops = bg as any;

async function values(t: bg.Tensor): Promise<number[]> {
  return [...(await t.toArray())];
}

test('elementwise functions keep NaN (tanh, relu, gelu, sigmoid, exp, abs) and finite inputs are unchanged', async () => {
  await device();
  const x = bg.tensor([NaN, -20, -1, 0, 1, 20]);
  for (const name of ['tanh', 'relu', 'gelu', 'sigmoid', 'exp', 'abs', 'neg']) {
    const y = await values(ops[name](x));
    assert.ok(Number.isNaN(y[0]), `${name}(NaN) = ${y[0]}, expected NaN`);
    for (let i = 1; i < y.length; i++) assert.ok(Number.isFinite(y[i]), `${name}(${[-20, -1, 0, 1, 20][i - 1]}) = ${y[i]}`);
  }
  const t = await values(ops.tanh(x));
  assert.is(t[1], -1, 'tanh(-20) saturates to -1');
  assert.is(t[5], 1, 'tanh(20) saturates to 1');
  const r = await values(ops.relu(x));
  assert.equal(r.slice(1), [0, 0, 0, 1, 20]);
});

for (const variant of ROW_VARIANTS)
  test(`max and argmax (${variant} rows) pick the NaN wherever it is (as torch), the first maximum otherwise`, () =>
    withRowVariant(variant, async () => {
      for (const at of [0, 1, 2]) {
        const row = [0, 3, 1];
        row[at] = NaN;
        const x = bg.tensor([...row, 5, 2, 5], [2, 3]);
        assert.equal(await values(ops.argmax(x, 1)), [at, 0], `argmax of [${row}] and [5, 2, 5]`);
        const m = await values(ops.max(x, 1));
        assert.ok(Number.isNaN(m[0]), `max of [${row}] = ${m[0]}`);
        assert.is(m[1], 5);
      }
      // rows longer than a workgroup: ties, -Infinity rows, NaNs late, early and twice
      const n = 300;
      const rows = [
        Array.from({ length: n }, (_, j) => (j % 7 === 3 ? 9 : j % 5)), // 9 first at 3
        Array.from({ length: n }, () => -Infinity), // all -inf: index 0
        Array.from({ length: n }, (_, j) => (j === 250 || j === 290 ? NaN : j)), // first NaN at 250
        Array.from({ length: n }, (_, j) => (j === 130 ? 2 ** 100 : -j)), // one max at 130
      ];
      const x = bg.tensor(rows.flat(), [rows.length, n]);
      assert.equal(await values(ops.argmax(x, 1)), [3, 0, 250, 130]);
      const m = await values(ops.max(x, 1));
      assert.equal([m[0], m[1], m[3]], [9, -Infinity, 2 ** 100]);
      assert.ok(Number.isNaN(m[2]));
    }));

for (const variant of ROW_VARIANTS)
  test(`softmax, layer norm (${variant} rows), matmul, sum and cross-entropy spread a NaN to what depends on it`, () =>
    withRowVariant(variant, async () => {
      const x = bg.tensor([1, NaN, 2, 3, 4, 5], [2, 3]);
      const s = await values(ops.softmax(x));
      assert.ok(s.slice(0, 3).every(Number.isNaN), `softmax row with NaN: ${s.slice(0, 3)}`);
      assert.ok(s.slice(3).every(Number.isFinite), 'the other row stays finite');
      const ln = await values(ops.layerNorm(x, bg.tensor([1, 1, 1]), bg.tensor([0, 0, 0])));
      assert.ok(ln.slice(0, 3).every(Number.isNaN) && ln.slice(3).every(Number.isFinite), `layer norm: ${ln}`);
      const mm = await values(ops.matmul(x, bg.tensor([1, 0, 0, 1, 0, 0], [3, 2])));
      assert.ok(Number.isNaN(mm[0]) && Number.isNaN(mm[1]) && Number.isFinite(mm[2]), `matmul: ${mm}`);
      const ce = await values(ops.crossEntropy(x, bg.tensor(new Int32Array([0, 1]), [2], 'i32')));
      assert.ok(Number.isNaN(ce[0]), `cross-entropy over a NaN logit: ${ce[0]}`);
      const bce = await values(ops.bceWithLogits(bg.tensor([NaN, 1]), bg.tensor([1, 0])));
      assert.ok(Number.isNaN(bce[0]), `binary cross-entropy over a NaN logit: ${bce[0]}`);
      const ls = await values(ops.logSoftmax(x));
      assert.ok(ls.slice(0, 3).every(Number.isNaN) && ls.slice(3).every(Number.isFinite), `log-softmax: ${ls}`);
    }));

test('a BERT pre-training model whose encoder is NaN gives NaN NSP logits and a NaN loss', async () => {
  const rt = await device();
  const config = bg.bertConfig({
    vocab_size: 30,
    hidden_size: 8,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 16,
  });
  const model = new bg.BertForPreTraining(config);
  const [, w] = model.namedParameters().find(([n]) => n === 'bert.encoder.layer.0.output.dense.weight')!;
  rt.flush(); // the initialisation kernels are still pending; write after them
  rt.upload(w.buffer, new Float32Array(w.size).fill(NaN));
  const B = 2,
    T = 5;
  const labels = new Int32Array(B * T).fill(-100);
  labels[1] = 7;
  const out = bg.noGrad(() =>
    model.forward({
      input_ids: bg.tensor(new Int32Array([2, 5, 6, 7, 3, 2, 8, 9, 3, 0]), [B, T], 'i32'),
      attention_mask: bg.tensor(new Int32Array([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]), [B, T], 'i32'),
      labels: bg.tensor(labels, [B, T], 'i32'),
      next_sentence_label: bg.tensor(new Int32Array([0, 1]), [B], 'i32'),
    }),
  );
  const nsp = await values(out.seq_relationship_logits!);
  assert.ok(nsp.every(Number.isNaN), `NSP logits: ${nsp}`);
  assert.ok(Number.isNaN(await out.loss!.item()), 'loss');
});

test.run();
