// A lost device fails every later call with one clear message naming the kernels in flight; a
// new init() gives a working runtime, and a trainer continues from its last checkpoint with the
// losses an uninterrupted run has. Node only: it replaces the process's runtime.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as bg from '../src/index.js';
import { Trainer } from '../src/train/trainer.js';
import { RandomBatches } from './batches.js';

const config = bg.bertConfig({
  vocab_size: 40,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 32,
});

test('device lost mid-training: clear errors, a new init() works, Trainer.resume continues with the same losses', async () => {
  await bg.init();
  const dir = join(mkdtempSync(join(tmpdir(), 'bertgpu-lost-')), 'checkpoint');
  const options = { steps: 4, lr: 1e-3, logEvery: 1, seed: 3 };
  // the uninterrupted run
  const straight = Trainer.create('mlm', config, new RandomBatches(7), options);
  const want: number[] = [];
  while (straight.step < 4) want.push((await straight.trainStep())!.loss);
  straight.dispose();

  const trainer = Trainer.create('mlm', config, new RandomBatches(7), options);
  const got = [(await trainer.trainStep())!.loss, (await trainer.trainStep())!.loss];
  await trainer.saveCheckpoint(dir);
  const rt = bg.runtime();
  rt.device.destroy(); // what a driver reset looks like to the page
  await rt.device.lost;
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(rt.lost, 'the runtime knows its device is lost');
  let message = '';
  try {
    await trainer.trainStep();
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /^WebGPU device lost \(destroyed/);
  assert.match(message, /while running [a-z_]+\.wgsl:\w+/);
  assert.match(message, /Call init\(\) for a new device; a Trainer continues from its last checkpoint/);
  assert.throws(() => bg.tensor([1, 2]), /WebGPU device lost/);

  await bg.init();
  assert.equal([...(await bg.addScalar(bg.tensor([1, 2]), 1).toArray())], [2, 3], 'the new runtime works');
  const resumed = await Trainer.resume(dir, new RandomBatches(7));
  while (resumed.step < 4) got.push((await resumed.trainStep())!.loss);
  assert.equal(got, want, 'losses of the resumed run equal the uninterrupted run');
  resumed.dispose();
});

test('a WebGPU validation error surfaces at the next sync, naming the kernels in flight', async () => {
  const rt = bg.runtime();
  const x = bg.tensor([1, 2, 3]);
  await rt.sync();
  x.buffer.destroy(); // a buffer destroyed behind the engine's back: submit fails validation
  bg.tanh(x);
  let message = '';
  try {
    await rt.sync();
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /^WebGPU error: .*while running .*unary\.wgsl:unary_forward/s);
  assert.equal([...(await bg.addScalar(bg.tensor([1]), 1).toArray())], [2], 'the runtime still works afterwards');
});

test.run();
