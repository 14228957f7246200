// Checks formatting, lint and types (prettier, eslint, tsc), runs the uvu suites under Node (every test/**/*.test.ts), headless Chromium (test/browser-entry.ts)
// and Deno (test/deno-entry.ts), the packed package in consumer projects (test/consumers/run.mjs) and
// the demo pages in Chromium (test/pages/run.mjs), then prints one final line: `N passed, N failed`.
// Usage: node scripts/test.mjs [lint|node|browser|deno|consumers|pages]... [--filter SUBSTRING]
import * as esbuild from 'esbuild';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { gpuEnv } from './gpu-env.mjs';
import { runInChromium } from './chromium.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { filter: { type: 'string' } },
});
const runtimes = positionals.length ? positionals : ['lint', 'node', 'browser', 'deno', 'consumers', 'pages'];
// TEST_BUILD_DIR lets several test runs share a checkout without clobbering each other's bundles.
const OUT = process.env.TEST_BUILD_DIR ?? '.test-build';
// BERTGPU_MATMUL_TUNING=0: matmul variants by the per-adapter rules, never by timings (deterministic).
const env = { ...gpuEnv(), NO_COLOR: '1', FORCE_COLOR: '0', BERTGPU_MATMUL_TUNING: '0' };
const common = { bundle: true, format: 'esm', target: 'es2022', loader: { '.wgsl': 'text' }, sourcemap: 'inline', logLevel: 'warning' };

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

/** Reads uvu's summary (Total / Passed) out of a run's output. */
function parseUvu(text) {
  const total = [...text.matchAll(/Total:\s+(\d+)/g)].map((m) => +m[1]);
  const passed = [...text.matchAll(/Passed:\s+(\d+)/g)].map((m) => +m[1]);
  if (!total.length || !passed.length) return null;
  return { total: total.at(-1), passed: passed.at(-1) };
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let text = '';
    const keep = (chunk) => {
      const s = chunk.toString();
      text += s;
      // Dawn's harmless limit warnings are noise; everything else is shown.
      process.stdout.write(
        s
          .split('\n')
          .filter((l) => !/artificially reduced/.test(l))
          .join('\n'),
      );
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('close', (code) => resolve({ code, text }));
  });
}

const results = [];
function record(label, code, text) {
  const s = parseUvu(text);
  if (!s) results.push({ label, passed: 0, failed: 1, note: `no uvu summary (exit ${code})` });
  else {
    const failed = s.total - s.passed + (code !== 0 && s.total === s.passed ? 1 : 0);
    results.push({ label, passed: s.passed, failed });
  }
}

rmSync(OUT, { recursive: true, force: true });

if (runtimes.includes('node')) {
  let files = findTests('test');
  if (values.filter) files = files.filter((f) => f.includes(values.filter));
  await esbuild.build({ ...common, platform: 'node', entryPoints: files, outdir: `${OUT}/node`, outbase: 'test', packages: 'external' });
  for (const f of files) {
    const js = join(OUT, 'node', relative('test', f).replace(/\.ts$/, '.js'));
    console.log(`\n# node ${f}`);
    const { code, text } = await run(process.execPath, [js]);
    record(`node ${f}`, code, text);
  }
}

if (runtimes.includes('browser')) {
  console.log('\n# chromium test/browser-entry.ts');
  await esbuild.build({
    ...common,
    platform: 'browser',
    entryPoints: ['test/browser-entry.ts'],
    outfile: `${OUT}/browser/tests.js`,
    external: ['webgpu', 'node:*'],
  });
  // the model fixtures are fetched over HTTP by the page
  cpSync('test/fixtures/models', `${OUT}/browser/fixtures/models`, { recursive: true });
  const { ok, text } = await runInChromium(`${OUT}/browser`, 'tests.js', { until: /Duration:/, timeoutMs: 15 * 60_000 });
  record('chromium', ok ? 0 : 1, text);
}

if (runtimes.includes('deno')) {
  console.log('\n# deno test/deno-entry.ts');
  mkdirSync(`${OUT}/deno`, { recursive: true });
  await esbuild.build({
    ...common,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    entryPoints: ['test/deno-entry.ts'],
    outfile: `${OUT}/deno/tests.js`,
    external: ['webgpu', 'node:*'],
  });
  writeFileSync(`${OUT}/deno/deno.json`, '{}\n');
  const { code, text } = await run('node_modules/.bin/deno', ['run', '-A', '--no-config', `${OUT}/deno/tests.js`], {
    env: { ...env, DENO_NO_UPDATE_CHECK: '1' },
  });
  record('deno', code, text);
}

if (runtimes.includes('consumers')) {
  console.log('\n# consumers test/consumers/run.mjs');
  const { code, text } = await run(process.execPath, ['test/consumers/run.mjs'], { env: { ...env, TEST_BUILD_DIR: OUT } });
  record('consumers', code, text);
}

if (runtimes.includes('pages')) {
  console.log('\n# pages test/pages/run.mjs');
  const { code, text } = await run(process.execPath, ['test/pages/run.mjs'], { env: { ...env, TEST_BUILD_DIR: OUT } });
  record('pages', code, text);
}

if (runtimes.includes('lint')) {
  // Each check is one test: the formatter, the linter (type-aware rules), and tsc over src, tests,
  // benchmarks and pages (the build type-checks src alone).
  const bin = (name) => join('node_modules', '.bin', name);
  for (const [label, cmd, args] of [
    ['lint prettier --check', bin('prettier'), ['--check', '.']],
    ['lint eslint', bin('eslint'), ['.']],
    ['lint tsc -p tsconfig.lint.json', bin('tsc'), ['-p', 'tsconfig.lint.json']],
  ]) {
    console.log(`\n# ${label}`);
    const { code } = await run(cmd, args);
    results.push({ label, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, note: code === 0 ? undefined : `exit ${code}` });
  }
}

console.log('\n# summary');
for (const r of results) console.log(`${r.label}: ${r.passed} passed, ${r.failed} failed${r.note ? ` (${r.note})` : ''}`);
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
