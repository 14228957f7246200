// The kill test: a checkpointing `bertgpu pretrain` run is SIGKILLed at seeded random moments and
// between the two renames of a checkpoint write (the BERTGPU_TEST_KILL_BETWEEN_RENAMES hook, a
// test-only switch of the CLI), then continued with `--resume DIR` alone, over and over. Every
// resume must find a complete checkpoint, and the log of the interrupted run must hold each step
// once with exactly the losses of an uninterrupted run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, cli, start, CORPUS } from './cli-helpers.js';

const STEPS = 12;
const args = (out: string) => [
  'pretrain', '--objective', 'mlm', '--corpus', join(CORPUS, 'chapter_1.txt'), join(CORPUS, 'chapter_2.txt'), '--train-vocab', '200',
  '--batch', '2', '--seq', '32', '--eval-fraction', '0', '--dupe-factor', '1', '--steps', String(STEPS), '--checkpoint-every', '1', '--log-every', '1',
  '--out', out, '--log', `${out}.jsonl`, '--quiet',
];

function losses(log: string): [number, number][] {
  return readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => !r.eval).map((r) => [r.step, r.loss]);
}

function complete(dir: string): boolean {
  try {
    return Number.isInteger(JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')).step);
  } catch {
    return false;
  }
}

/** mulberry32: the kill moments are seeded. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('SIGKILL at random moments and between the renames: every resume finds a complete checkpoint and continues with the same losses', async () => {
  await buildCli();
  const root = mkdtempSync(join(tmpdir(), 'bertgpu-kill-'));
  const reference = cli(args(join(root, 'reference')));
  assert.is(reference.status, 0, reference.stderr);
  const expected = losses(join(root, 'reference.jsonl'));
  assert.equal(expected.map(([s]) => s), Array.from({ length: STEPS }, (_, i) => i + 1));

  const out = join(root, 'killed');
  const next = random(12);
  let kills = 0;
  let betweenRenames = 0;
  let resumes = 0;
  let afterCheckpoint = 0;
  let recoverable = 0;
  for (let attempt = 0; attempt < 40; attempt++) {
    const hasCheckpoint = existsSync(out) && readdirSync(out).some((n) => n.startsWith('checkpoint') && complete(join(out, n)));
    // alternate: the hook kills at the 1st or 2nd checkpoint write's rename window; else a random moment
    const hook = attempt % 2 === 0 && kills < 10;
    const env: Record<string, string> = hook ? { BERTGPU_TEST_KILL_BETWEEN_RENAMES: String(1 + Math.floor(next() * 2)) } : {};
    // --verbose: no stderr-filtering parent process (cli.ts), so the kill reaches the process that trains
    const run = start([...(hasCheckpoint ? ['pretrain', '--resume', out] : args(out)), '--verbose'], env);
    if (!hook && kills < 10) setTimeout(() => run.child.kill('SIGKILL'), 500 + next() * 2000);
    const r = await run.done;
    if (hasCheckpoint) {
      // a resume that got going printed where it resumed; none may fail to find a checkpoint
      assert.ok(r.signal === 'SIGKILL' || r.code === 0, `resume attempt ${attempt} failed (exit ${r.code}): ${r.stderr}`);
      if (/resuming .* at step \d+ of 12/.test(r.stdout)) resumes++;
    } else assert.ok(r.signal === 'SIGKILL' || r.code === 0, `attempt ${attempt} failed (exit ${r.code}): ${r.stderr}`);
    if (r.signal !== 'SIGKILL') break;
    kills++;
    const names = (existsSync(out) ? readdirSync(out) : []).filter((n) => n === 'checkpoint' || n.startsWith('checkpoint.'));
    // what --resume will look for: a copy whose trainer_state.json (written last) is whole
    const recovers = names.some((n) => complete(join(out, n)));
    if (!hasCheckpoint && !recovers) continue; // killed before the first checkpoint was whole: the next attempt starts afresh
    afterCheckpoint++;
    if (!names.includes('checkpoint')) betweenRenames++;
    if (recovers) recoverable++;
  }
  console.log(`kill test: ${kills} SIGKILLs, ${afterCheckpoint} after a checkpoint existed (${betweenRenames} between the renames: no checkpoint/), ${recoverable} left a complete checkpoint to resume from; ${resumes} resumes got going`);
  assert.is(recoverable, afterCheckpoint, 'every kill after the first checkpoint left a complete one');
  assert.ok(kills >= 10, `only ${kills} kills landed before the run ended`);
  assert.ok(betweenRenames >= 3, `only ${betweenRenames} kills between the renames`);
  assert.equal(losses(`${out}.jsonl`), expected, 'the killed and resumed run logs each step once with the losses of the uninterrupted run');
  assert.equal(readdirSync(out).filter((n) => n.includes('.tmp-') || n.includes('.old-')), [], 'no leftovers');
  assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'checkpoint', 'trainer_state.json')));
});

test.run();
