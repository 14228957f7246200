// The model path in every runtime: load Hugging Face directories (files in Node / Deno, URLs in
// the browser), run forward + backward, compare with PyTorch. Runs under Node, in headless
// Chromium (fixtures served over HTTP) and under Deno.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as bg from '../src/index.js';
import { readBytes } from '../src/io/files.js';
import { device } from './helpers.js';

const inBrowser = typeof (globalThis as any).window !== 'undefined';
const ROOT = inBrowser ? new URL('fixtures/models/', location.href).href : 'test/fixtures/models/';

async function arrays(path: string): Promise<bg.NamedArrays> {
  const bytes = await readBytes(path);
  assert.ok(bytes, `${path} not found`);
  const st = bg.readSafetensors(bytes, path);
  return new Map([...st.tensors].map(([k, v]) => [k, { data: v.data, shape: v.shape }]));
}

for (const dir of ['BertForSequenceClassification', 'ElectraForPreTraining', 'RobertaForMaskedLM']) {
  test(`${dir} from ${inBrowser ? 'a URL' : 'a directory'}: outputs and gradients match PyTorch`, async () => {
    await device();
    const { model } = await bg.fromPretrained(ROOT + dir);
    const actual = await bg.runModel(model, await arrays(`${ROOT}${dir}/inputs.safetensors`), { grads: true });
    const expected = await arrays(`${ROOT}${dir}/outputs.safetensors`);
    let gradScale = 0;
    for (const [n, e] of expected) if (n.startsWith('grad.')) for (const v of e.data) gradScale = Math.max(gradScale, Math.abs(v));
    for (const [name, e] of expected) {
      const a = actual.get(name)!;
      assert.ok(a, `${name} missing`);
      let scale = 0,
        err = 0;
      e.data.forEach((v, i) => {
        scale = Math.max(scale, Math.abs(v));
        err = Math.max(err, Math.abs(a.data[i] - v));
      });
      const grad = name.startsWith('grad.');
      const rel = err / Math.max(scale, grad ? 1e-3 * gradScale : 1e-30);
      assert.ok(rel <= (grad ? 1e-3 : 1e-4), `${dir} ${name}: ${rel.toExponential(2)} of scale`);
    }
    model.dispose();
  });
}

test('in-memory files (ArrayBuffer / Blob, as from a browser File) load too', async () => {
  await device();
  const dir = ROOT + 'BertForTokenClassification';
  const config = new TextDecoder().decode((await readBytes(`${dir}/config.json`))!);
  const weights = new Blob([(await readBytes(`${dir}/model.safetensors`))! as Uint8Array<ArrayBuffer>]);
  const { model } = await bg.fromPretrained({ config, weights });
  assert.is(model.architecture, 'BertForTokenClassification');
  const files = await bg.exportPretrained(model);
  const back = await bg.fromPretrained({ config: new TextDecoder().decode(files['config.json']), weights: files['model.safetensors'] });
  const a = await model.namedParameters()[0][1].toArray();
  const b = await back.model.namedParameters()[0][1].toArray();
  assert.equal(Array.from(a), Array.from(b));
  model.dispose();
  back.model.dispose();
});

test.run();
