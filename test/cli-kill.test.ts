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
import { buildCli, cli, start, tinyPretrainArgs } from './cli-helpers.js';

const STEPS = 40;
const args = (out: string) =>
  tinyPretrainArgs(out, STEPS, ['--checkpoint-every', '1', '--log-every', '1', '--log', `${out}.jsonl`, '--quiet']);

function losses(log: string): [number, number][] {
  return readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => !r.eval)
    .map((r) => [r.step, r.loss]);
}

/** The last step the log holds, 0 when it is missing or empty. */
function lastLoggedStep(log: string): number {
  try {
    const rows = readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);
    return rows.length ? JSON.parse(rows[rows.length - 1]).step : 0;
  } catch {
    return 0; // missing, or a line half written at this instant
  }
}

/** The step --resume will continue from: the newest complete copy, checkpoint/ or a leftover of an interrupted rename. */
function checkpointStep(dir: string): number {
  let step = 0;
  for (const n of existsSync(dir) ? readdirSync(dir) : []) {
    if (n !== 'checkpoint' && !n.startsWith('checkpoint.')) continue;
    try {
      step = Math.max(step, JSON.parse(readFileSync(join(dir, n, 'trainer_state.json'), 'utf8')).step);
    } catch {
      // incomplete: recovery skips it too
    }
  }
  return step;
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
  assert.equal(
    expected.map(([s]) => s),
    Array.from({ length: STEPS }, (_, i) => i + 1),
  );

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
    // A random moment is drawn within the training, not on the wall clock (a fast machine ends 40
    // steps before a fixed delay): once this attempt has logged a step of its own, wait 0-30 ms (about a step on a fast machine).
    let exited = false;
    if (!hook && kills < 10) {
      const from = hasCheckpoint ? checkpointStep(out) : 0;
      const delay = next() * 30;
      const poll = setInterval(() => {
        if (exited) return clearInterval(poll);
        if (lastLoggedStep(`${out}.jsonl`) > from) {
          clearInterval(poll);
          setTimeout(() => run.child.kill('SIGKILL'), delay);
        }
      }, 5);
    }
    const r = await run.done;
    exited = true;
    if (hasCheckpoint) {
      // a resume that got going printed where it resumed; none may fail to find a checkpoint
      assert.ok(r.signal === 'SIGKILL' || r.code === 0, `resume attempt ${attempt} failed (exit ${r.code}): ${r.stderr}`);
      if (new RegExp(`resuming .* at step \\d+ of ${STEPS}`).test(r.stdout)) resumes++;
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
  console.log(
    `kill test: ${kills} SIGKILLs, ${afterCheckpoint} after a checkpoint existed (${betweenRenames} between the renames: no checkpoint/), ${recoverable} left a complete checkpoint to resume from; ${resumes} resumes got going`,
  );
  assert.is(recoverable, afterCheckpoint, 'every kill after the first checkpoint left a complete one');
  assert.ok(kills >= 10, `only ${kills} kills landed before the run ended`);
  assert.ok(betweenRenames >= 3, `only ${betweenRenames} kills between the renames`);
  assert.equal(losses(`${out}.jsonl`), expected, 'the killed and resumed run logs each step once with the losses of the uninterrupted run');
  assert.equal(
    readdirSync(out).filter((n) => n.includes('.tmp-') || n.includes('.old-')),
    [],
    'no leftovers',
  );
  assert.ok(existsSync(join(out, 'model.safetensors')) && existsSync(join(out, 'checkpoint', 'trainer_state.json')));
});

test.run();
