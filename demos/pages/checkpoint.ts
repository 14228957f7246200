// Trainer checkpoints in a browser tab. Trainer.saveCheckpoint writes through src/io/files.ts,
// which has no browser backend (it needs node:fs), so the same files are made here in memory —
// the models' Hugging Face files, optimizer.safetensors, trainer_state.json — to be kept in
// IndexedDB. Resuming goes through the library's own Trainer.resume: in a browser it reads files
// with fetch, so for that call fetch answers from the stored files.
import * as bg from '../../src/index.js';
import type { Files } from './store.js';

/** The files Trainer.saveCheckpoint(dir) would write into dir, with the same names and contents. */
export async function checkpointFiles(trainer: bg.Trainer, tokenizer: bg.WordPieceTokenizer): Promise<Files> {
  const files: Files = {};
  for (const [name, model] of Object.entries(trainer.objective.models)) {
    for (const [f, bytes] of Object.entries(await bg.exportPretrained(model, tokenizer))) files[`${name}/${f}`] = bytes;
  }
  const { m, v, ...optimizer } = await trainer.optimizer.stateDict();
  const moments: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const [k, x] of Object.entries(m)) moments[`m.${k}`] = { data: x, shape: [x.length] };
  for (const [k, x] of Object.entries(v)) moments[`v.${k}`] = { data: x, shape: [x.length] };
  files['optimizer.safetensors'] = bg.writeSafetensors(moments);
  const state = {
    version: 1,
    objective: trainer.objective.name,
    step: trainer.step,
    options: trainer.options,
    config: trainer.config,
    generators: Object.fromEntries(Object.entries(trainer.objective.generators).map(([k, g]) => [k, g.state()])),
    optimizer,
    data: trainer.data.state(),
  };
  files['trainer_state.json'] = new TextEncoder().encode(JSON.stringify(state, null, 1));
  return files;
}

const ROOT = 'stored-checkpoint:'; // not a URL scheme the library knows, so it asks fetch

/** Trainer.resume over checkpoint files held in memory. */
export async function resumeFromFiles(
  files: Files,
  data: bg.BatchSource,
  evalBatches: bg.ObjectiveBatch[],
  overrides: Partial<bg.TrainerOptions> = {},
): Promise<bg.Trainer> {
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(`${ROOT}/`)) return realFetch(input, init);
    const bytes = files[url.slice(ROOT.length + 1)];
    return bytes ? new Response(bytes as Uint8Array<ArrayBuffer>) : new Response('not found', { status: 404 });
  };
  try {
    return await bg.Trainer.resume(ROOT, data, evalBatches, overrides);
  } finally {
    globalThis.fetch = realFetch;
  }
}
