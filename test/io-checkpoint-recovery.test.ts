// recoverDir: after a kill between replaceDir's two renames (no dir, the new copy in dir.tmp-*,
// the old in dir.old-*), the best complete copy takes dir's place and the rest is removed.
// Plain file system work, no GPU.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoverDir, removeLeftovers, replaceDir } from '../src/io/files.js';

function copy(root: string, name: string, step: number | null): void {
  mkdirSync(join(root, name));
  writeFileSync(join(root, name, 'weights'), `step ${step}`);
  if (step !== null) writeFileSync(join(root, name, 'state.json'), JSON.stringify({ step }));
}

const rank = async (d: string) => {
  try {
    return JSON.parse(readFileSync(join(d, 'state.json'), 'utf8')).step as number;
  } catch {
    return null;
  }
};

test('recoverDir: the newest complete copy replaces a missing dir; incomplete and older copies go', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bertgpu-recover-'));
  copy(root, 'ckpt.old-a', 4);
  copy(root, 'ckpt.tmp-b', 5);
  copy(root, 'ckpt.tmp-c', null); // a write cut short: no state.json
  writeFileSync(join(root, 'ckpt-other'), 'not ours');
  assert.is(await recoverDir(join(root, 'ckpt'), rank), join(root, 'ckpt.tmp-b'));
  assert.equal(readdirSync(root).sort(), ['ckpt', 'ckpt-other']);
  assert.is(readFileSync(join(root, 'ckpt', 'weights'), 'utf8'), 'step 5');
  // nothing to do the second time
  assert.is(await recoverDir(join(root, 'ckpt'), rank), null);
  assert.equal(readdirSync(root).sort(), ['ckpt', 'ckpt-other']);
});

test('recoverDir: an existing dir stays; leftovers beside it are removed; only an old copy is taken when nothing newer is whole', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bertgpu-recover-'));
  copy(root, 'ckpt', 7);
  copy(root, 'ckpt.tmp-x', 8);
  copy(root, 'ckpt.old-y', 6);
  assert.is(await recoverDir(join(root, 'ckpt'), rank), null);
  assert.equal(readdirSync(root), ['ckpt']);
  assert.is(await rank(join(root, 'ckpt')), 7);

  const other = mkdtempSync(join(tmpdir(), 'bertgpu-recover-'));
  copy(other, 'ckpt.old-y', 6);
  copy(other, 'ckpt.tmp-x', null);
  assert.is(await recoverDir(join(other, 'ckpt'), rank), join(other, 'ckpt.old-y'));
  assert.equal(readdirSync(other), ['ckpt']);
  // no copy at all: nothing appears
  const empty = mkdtempSync(join(tmpdir(), 'bertgpu-recover-'));
  copy(empty, 'ckpt.tmp-x', null);
  assert.is(await recoverDir(join(empty, 'ckpt'), rank), null);
  assert.equal(readdirSync(empty), []);
});

test('replaceDir: the betweenRenames window leaves old and new copies that recoverDir resolves to the new one', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bertgpu-recover-'));
  copy(root, 'ckpt', 1);
  copy(root, 'ckpt.tmp-new', 2);
  let seen: string[] = [];
  const killed = await replaceDir(join(root, 'ckpt.tmp-new'), join(root, 'ckpt'), () => {
    seen = readdirSync(root).sort();
    throw new Error('killed'); // stands for SIGKILL: the second rename never happens
  }).then(
    () => false,
    (err) => err.message === 'killed',
  );
  assert.ok(killed);
  assert.ok(!seen.includes('ckpt') && seen.some((n) => n.startsWith('ckpt.old-')) && seen.includes('ckpt.tmp-new'), seen.join(' '));
  assert.is(await recoverDir(join(root, 'ckpt'), rank), join(root, 'ckpt.tmp-new'));
  assert.is(await rank(join(root, 'ckpt')), 2);
  assert.equal(readdirSync(root), ['ckpt']);
});

test('removeLeftovers: the temporary files of cut-short atomic writes of one file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bertgpu-recover-'));
  for (const n of ['model.safetensors', 'model.safetensors.tmp-1', 'model.safetensors.tmp-2', 'config.json.tmp-3'])
    writeFileSync(join(root, n), '');
  await removeLeftovers(join(root, 'model.safetensors'));
  assert.equal(readdirSync(root).sort(), ['config.json.tmp-3', 'model.safetensors']);
  assert.ok(existsSync(join(root, 'model.safetensors')));
});

test.run();
