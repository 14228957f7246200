// Pre-training objectives and the trainer: every objective overfits one batch; ELECTRA's
// discriminator loss puts no gradient on generator-only parameters; a resumed run continues
// with exactly the losses of an uninterrupted one; checkpoints are written atomically.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';
import { createObjective, type PretrainingBatch, type ObjectiveName } from '../src/train/objectives.js';
import { device } from './helpers.js';
import { OneBatch, RandomBatches } from './batches.js';

const V = 40;
const config = bg.bertConfig({
  vocab_size: V,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 32,
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
});

for (const objective of ['mlm', 'mlm-nsp', 'roberta', 'electra'] as ObjectiveName[]) {
  test(`${objective}: overfits one batch`, async () => {
    await device();
    const noDropout = { ...config, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
    const trainer = Trainer.create(objective, noDropout, new OneBatch(3), { steps: 80, lr: 1e-2, warmupSteps: 5, logEvery: 80, seed: 5 });
    const first = await trainer.evaluateOn(new OneBatch(3).nextBatch());
    await trainer.run();
    const last = await trainer.evaluateOn(new OneBatch(3).nextBatch());
    if (objective === 'electra') {
      // the generator is 1/4 of a 16-wide model (4 wide): it learns, but slower
      assert.ok(
        last.parts.generator < 0.35 * first.parts.generator,
        `generator loss ${first.parts.generator.toFixed(3)} -> ${last.parts.generator.toFixed(3)}`,
      );
      assert.ok(
        last.parts.discriminator < first.parts.discriminator,
        `discriminator loss ${first.parts.discriminator} -> ${last.parts.discriminator}`,
      );
      assert.ok(
        last.metrics.disc_accuracy >= last.metrics.disc_all_original_accuracy,
        `discriminator accuracy ${last.metrics.disc_accuracy} vs all-original ${last.metrics.disc_all_original_accuracy}`,
      );
    } else {
      assert.ok(
        last.parts.mlm < 0.25 * first.parts.mlm,
        `${objective}: mlm loss ${first.parts.mlm.toFixed(3)} -> ${last.parts.mlm.toFixed(3)}`,
      );
      assert.ok(last.metrics.mlm_accuracy > 0.9, `mlm accuracy ${last.metrics.mlm_accuracy}`);
    }
    if (objective === 'mlm-nsp')
      assert.ok(
        last.parts.nsp < 0.2 && last.metrics.nsp_accuracy === 1,
        `nsp loss ${last.parts.nsp}, accuracy ${last.metrics.nsp_accuracy}`,
      );
    trainer.dispose();
  });
}

test('held-back metrics are pooled over batches (hits over all batches / total), not a mean of per-batch rates', async () => {
  await device();
  const noDropout = { ...config, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
  // trained on `small` only, so its accuracies differ from those of the unseen, larger batch
  const trainer = Trainer.create('mlm-nsp', noDropout, new OneBatch(3), { steps: 40, lr: 1e-2, warmupSteps: 5, logEvery: 40, seed: 2 });
  await trainer.run();
  const small = new OneBatch(3).nextBatch(),
    large = new RandomBatches(9, 8, 12).nextBatch();
  const masked = (b: PretrainingBatch) => b.mlmLabels.filter((v) => v !== -100).length;
  const [a, b, both] = [await trainer.evaluateOn(small), await trainer.evaluateOn(large), await trainer.evaluateOn(small, large)];
  const pooled = (a.metrics.mlm_accuracy * masked(small) + b.metrics.mlm_accuracy * masked(large)) / (masked(small) + masked(large));
  const mean = (a.metrics.mlm_accuracy + b.metrics.mlm_accuracy) / 2;
  assert.ok(Math.abs(pooled - mean) > 0.02, `the batches must tell pooling from averaging: pooled ${pooled}, mean ${mean}`);
  assert.ok(Math.abs(both.metrics.mlm_accuracy - pooled) < 1e-12, `mlm accuracy ${both.metrics.mlm_accuracy} vs pooled ${pooled}`);
  const nsp = (a.metrics.nsp_accuracy * 4 + b.metrics.nsp_accuracy * 8) / 12;
  assert.ok(Math.abs(both.metrics.nsp_accuracy - nsp) < 1e-12, `nsp accuracy ${both.metrics.nsp_accuracy} vs pooled ${nsp}`);
  // losses stay means over batches
  assert.ok(Math.abs(both.loss - (a.loss + b.loss) / 2) < 1e-5 * both.loss, `loss ${both.loss} vs ${(a.loss + b.loss) / 2}`);
  assert.ok(Number.isNaN(bg.rate({ hits: 0, total: 0 })), 'an empty count is NaN');
  trainer.dispose();
});

test('a training step is one submission; the loss is read back only on logging steps', async () => {
  const rt = await device();
  for (const objective of ['mlm-nsp', 'electra'] as ObjectiveName[]) {
    const trainer = Trainer.create(objective, config, new RandomBatches(2), { steps: 10, lr: 1e-3, logEvery: 5, seed: 1 });
    await rt.sync();
    const before = rt.submitCount;
    const r1 = await trainer.trainStep(); // step 1: not a logging step
    assert.is(r1, null);
    assert.is(rt.submitCount, before + 1, `${objective}: one submission for a whole step`);
    for (let i = 0; i < 3; i++) await trainer.trainStep();
    const r5 = await trainer.trainStep(); // step 5 logs
    assert.ok(r5 && Number.isFinite(r5.loss));
    trainer.dispose();
  }
});

test('electra: the discriminator loss puts no gradient on generator-only parameters; sampling is not differentiated', async () => {
  await device();
  const obj = createObjective('electra', config, 9);
  const batch = new RandomBatches(4).nextBatch();
  const st = bg.scope(() => {
    const s = obj.step(batch, false);
    s.parts.discriminator.backward();
    return null;
  });
  void st;
  const disc = new Set(obj.models.discriminator.namedParameters().map(([, t]) => t));
  let generatorOnly = 0;
  for (const [name, p] of obj.models.generator.namedParameters()) {
    if (disc.has(p)) continue; // shared embeddings
    generatorOnly++;
    assert.is(p.grad, null, `generator-only ${name} must get no gradient from the discriminator loss`);
  }
  assert.ok(generatorOnly > 10);
  const shared = obj.models.discriminator.namedParameters().filter(([n]) => n.startsWith('electra.embeddings.'));
  assert.ok(
    shared.every(([, p]) => p.grad),
    'the shared embeddings get the discriminator gradient',
  );
  const cfg = obj.models.generator.config;
  assert.is(cfg.hidden_size, 4, 'generator is 1/4 of the discriminator');
  assert.is(cfg.num_attention_heads, 1, 'max(1, H/64) heads');
});

test('resume from a checkpoint continues with exactly the same losses (every objective); writes are atomic', async () => {
  await device();
  for (const objective of ['mlm-nsp', 'electra'] as ObjectiveName[]) {
    const opts = { steps: 6, lr: 1e-3, warmupSteps: 2, logEvery: 1, seed: 11 };
    const full = Trainer.create(objective, config, new RandomBatches(1), opts);
    const fullLosses: number[] = [];
    full.onLog = (r) => fullLosses.push(r.loss);
    await full.run();
    full.dispose();

    const dir = join(mkdtempSync(join(tmpdir(), 'bertgpu-ckpt-')), 'ckpt');
    const first = Trainer.create(objective, config, new RandomBatches(1), opts);
    const resumedLosses: number[] = [];
    first.onLog = (r) => resumedLosses.push(r.loss);
    await first.run(3);
    await first.saveCheckpoint(dir);
    await first.saveCheckpoint(dir); // overwrite: still one complete directory, no leftovers
    first.dispose();
    const parent = join(dir, '..');
    assert.equal(readdirSync(parent), ['ckpt'], 'no temporary or old directories left');
    assert.ok(existsSync(join(dir, 'trainer_state.json')));
    const second = await Trainer.resume(dir, new RandomBatches(1));
    second.onLog = (r) => resumedLosses.push(r.loss);
    await second.run();
    second.dispose();
    assert.equal(resumedLosses, fullLosses, `${objective}: losses after resume equal the uninterrupted run`);
  }
});

test.run();
