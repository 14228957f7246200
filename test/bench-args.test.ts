// `npm run bench` (bench/run.mjs) refuses bad arguments before any work, naming the option, what
// it wants and what it got, with the usage line; an existing --json file is not overwritten.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const bench = (args: string[]) => spawnSync(process.execPath, ['bench/run.mjs', ...args], { encoding: 'utf8' });

for (const [args, message] of [
  [['--only', 'matmul,bogus'], "--only: unknown 'bogus' (known: matmul, forward, train, tokenize)"],
  [['--runtime', 'deno'], "--runtime: unknown 'deno' (known: node, chromium)"],
  [['--models', 'bert-huge'], "--models: unknown 'bert-huge'"],
  [['--rounds', '0'], "--rounds: want an integer >= 1, got '0'"],
  [['--batches', '1,x'], "--batches: want an integer >= 1, got 'x'"],
  [['--seq', '1024'], '--seq: at most 512 (max_position_embeddings), got 1024'],
  [['--roundz', '3'], "Unknown option '--roundz'"],
] as const) {
  test(`bench ${args.join(' ')}: refused`, () => {
    const r = bench([...args]);
    assert.is(r.status, 2, r.stderr + r.stdout);
    assert.ok(r.stderr.includes(message), r.stderr);
    assert.ok(r.stderr.includes('usage: npm run bench'), r.stderr);
    assert.not.ok(r.stdout.includes('npm run bench:'), 'no section started');
  });
}

test('bench --json FILE: an existing file is kept', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'bertgpu-bench-')), 'out.json');
  writeFileSync(file, 'earlier results\n');
  const r = bench(['--only', 'tokenize', '--json', file]);
  assert.is(r.status, 2, r.stderr);
  assert.ok(r.stderr.includes(`--json: ${file} exists (not overwritten`), r.stderr);
  assert.is(readFileSync(file, 'utf8'), 'earlier results\n');
});

test.run();
