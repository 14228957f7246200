// The runtime's own limits: a pending encoder is submitted before it holds so many dispatches
// that Dawn crashes, and a new init() is not corrupted by tensors of the runtime it replaced.
// Node only: the last test replaces the process's runtime.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { MAX_DISPATCHES_PER_SUBMIT } from '../src/runtime.js';

test('a scope that records more than MAX_DISPATCHES_PER_SUBMIT dispatches is submitted in parts, with the same results', async () => {
  const rt = await bg.init();
  await rt.sync();
  const before = rt.submitCount;
  const n = MAX_DISPATCHES_PER_SUBMIT + 100;
  const last = bg.scope(() => {
    let x = bg.tensor([1, 2]);
    for (let i = 0; i < n; i++) x = bg.addScalar(x, 1); // one dispatch each; 50,000 in one submission crashed Dawn
    return x;
  });
  assert.is(rt.submitCount, before + 1, 'the full encoder was submitted once while recording');
  assert.equal([...(await last.toArray())], [1 + n, 2 + n]);
  last.dispose();
});

test('a config with thousands of layers is refused by name (3000 crashed Dawn on lavapipe while binding them)', () => {
  assert.throws(() => bg.bertConfig({ num_hidden_layers: 3000 }), /num_hidden_layers must be at most 1000, got 3000/);
  const json = JSON.stringify({
    architectures: ['BertModel'],
    model_type: 'bert',
    vocab_size: 30,
    hidden_size: 8,
    num_hidden_layers: 1e4,
    num_attention_heads: 2,
    intermediate_size: 16,
    max_position_embeddings: 16,
  });
  assert.throws(() => bg.parseConfigJson(json, 'deep/config.json'), /deep\/config.json: num_hidden_layers must be at most 1000, got 10000/);
});

test('a new init(): tensors of the old runtime go back to the old device, and using one says so', async () => {
  const old = bg.runtime();
  const a = bg.tensor([1, 2, 3, 4]);
  const b = bg.tensor([5, 6, 7, 8]);
  await old.sync();
  const rt = await bg.init();
  assert.ok(old.destroyed && !rt.destroyed);
  const counts = { t: rt.liveTensors, b: rt.liveBytes, pooled: rt.pooledBytes };
  a.dispose();
  assert.equal(
    { t: rt.liveTensors, b: rt.liveBytes, pooled: rt.pooledBytes },
    counts,
    'disposing an old tensor leaves the new runtime alone',
  );
  // the next tensor of that size comes from the new device (it failed with "[Buffer] is associated with [Device]")
  const c = bg.tensor([9, 10, 11, 12]);
  assert.equal([...(await bg.addScalar(c, 1).toArray())], [10, 11, 12, 13]);
  try {
    bg.addScalar(b, 1);
    assert.unreachable('an old tensor in a new op must fail');
  } catch (e) {
    assert.match((e as Error).message, /tensor#\d+ \[4\] was made on a device that a later init\(\) replaced/);
  }
  assert.not.throws(() => b.dispose());
});

test.run();
