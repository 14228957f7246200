// f16 weights for inference (bg.halfLinearWeights, bg.halfWeights) against f32 on one model:
// forward latency (medians of 5, B8 x T128), parameter bytes on the device and the largest logit
// difference. A bert-mini-sized classifier (4 layers x 256, vocabulary 30522), random weights.
// Needs an adapter with shader-f16 (lavapipe, Deno's wgpu, most GPUs; not SwiftShader).
// Run: npm run build && node bench/f16-weights.mjs
import * as bg from '../dist/index.js';

const rt = await bg.init({ matmulTuning: false });
if (!rt.hasFeature('shader-f16')) {
  console.log(`this adapter (${rt.report.adapter.description || rt.report.adapter.vendor}) has no shader-f16`);
  process.exit(0);
}
const config = bg.bertConfig({
  vocab_size: 30522,
  hidden_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 1024,
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  num_labels: 2,
});
const model = bg.createModel('BertForSequenceClassification', config, { generator: new bg.Generator(1) });
model.eval();
const [B, T] = [8, 128];
const ids = bg.tensor(
  Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % 30522),
  [B, T],
  'i32',
);
const once = async () => {
  const t0 = performance.now();
  const logits = bg.noGrad(() => model.forward({ input_ids: ids }).logits);
  const values = await logits.toArray();
  logits.dispose();
  return { ms: performance.now() - t0, values };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const timed = async () => {
  await once(); // compiles the pipelines
  const ms = [];
  for (let i = 0; i < 5; i++) ms.push((await once()).ms);
  return { ms: median(ms), values: (await once()).values };
};
const bytes = () => model.namedParameters().reduce((s, [, p]) => s + p.bytes, 0);
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const rows = [];
const f32 = await timed();
rows.push({ weights: 'f32', ms: f32.ms, bytes: bytes(), diff: 0 });
await bg.halfLinearWeights(model);
const lin = await timed();
rows.push({ weights: 'Linear weights f16', ms: lin.ms, bytes: bytes(), diff: maxDiff(lin.values, f32.values) });
await bg.halfWeights(model);
const all = await timed();
rows.push({ weights: 'Linear weights and embeddings f16', ms: all.ms, bytes: bytes(), diff: maxDiff(all.values, f32.values) });
console.log(`adapter: ${rt.report.adapter.description || rt.report.adapter.vendor}; bert-mini-sized classifier, B${B} x T${T}`);
for (const r of rows)
  console.log(
    `${r.weights}: forward ${r.ms.toFixed(0)} ms (${(r.ms / f32.ms).toFixed(2)}x f32), parameters ${(r.bytes / 1e6).toFixed(1)} MB, max |logit - f32 logit| ${r.diff.toExponential(1)}`,
  );
