// The package as its users get it: builds dist/, packs it with `npm pack`, installs the tarball
// into a fresh project outside this checkout (offline, from npm's cache that `npm ci` filled),
// then checks each kind of consumer: strict TypeScript under `bundler` and `nodenext`
// resolution, Deno importing the entry by path and by URL (and type-checking it), the Deno
// demo and CLI, an esbuild-bundled page and a no-bundler <script type=module> page in headless
// Chromium. Run by `node scripts/test.mjs consumers`; prints uvu's summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { launchChromium, serve } from '../../scripts/chromium.mjs';
import { gpuEnv } from '../../scripts/gpu-env.mjs';

const ROOT = resolve('.');
const OUT = resolve(process.env.TEST_BUILD_DIR ?? '.test-build', 'consumers');
const TMP = mkdtempSync(join(tmpdir(), 'bertgpu-consumers-')); // outside the checkout
const APP = join(TMP, 'app');
const PKG = join(APP, 'node_modules/bertgpu');
const DENO = join(ROOT, 'node_modules/.bin/deno');
const env = { ...gpuEnv(), NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', DENO_DIR: join(TMP, 'deno-cache') };
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

/** Runs a command; resolves with its exit code and output (never rejects). */
function run(cmd, args, opts = {}) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env, cwd: TMP, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', (err) => done({ code: -1, stdout, stderr: stderr + err.message }));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function ok(r, what) {
  assert.is(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
}

const tsc = (project) => run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project]);

/** The lockfile entries of `names` and everything they depend on, as this checkout resolved them. */
function lockClosure(names) {
  const all = JSON.parse(readFileSync('package-lock.json', 'utf8')).packages;
  const out = {};
  const visit = (name, from) => {
    // npm's lookup: nested under the dependent first, then hoisted
    let at = from ? `${from}/node_modules/${name}` : `node_modules/${name}`;
    if (!all[at]) at = `node_modules/${name}`;
    if (out[at]) return;
    if (!all[at]) throw new Error(`package-lock.json has no ${name}`);
    const { dev, devOptional, peer, ...entry } = all[at];
    // with the tarball's address npm finds it in its cache by integrity, with no metadata request
    entry.resolved ??= `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${entry.version}.tgz`;
    out[at] = entry;
    for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) visit(dep, at);
  };
  for (const name of names) visit(name, null);
  return out;
}

let installed = false; // the other tests need the installed package
const needsInstall = () => {
  if (!installed) assert.unreachable('the package did not build, pack or install (the first test says why)');
};

test('npm pack: the tarball has the entries, types and LICENSE, and installs without warnings', async () => {
  ok(await run(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--outdir', join(OUT, 'dist')], { cwd: ROOT }), 'build');
  // stage exactly what `files` ships, with this run's dist/, so the checkout's dist/ is untouched
  const stage = join(TMP, 'stage');
  for (const f of ['package.json', 'README.md', 'LICENSE', ...pkg.files.filter((f) => f !== 'dist' && f !== 'README.md')])
    cpSync(f, join(stage, f), { recursive: true });
  cpSync(join(OUT, 'dist'), join(stage, 'dist'), { recursive: true });
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', TMP], { cwd: stage });
  ok(packed, 'npm pack');
  const [info] = JSON.parse(packed.stdout);
  const files = info.files.map((f) => f.path);
  for (const f of [
    'LICENSE',
    'README.md',
    'dist/index.js',
    'dist/bertgpu.browser.js',
    'dist/cli.js',
    'dist/types/index.d.ts',
    'dist/types-deno/index.d.ts',
  ])
    assert.ok(files.includes(f), `tarball lacks ${f}`);
  assert.ok(!files.some((f) => f.startsWith('scripts/')), 'scripts/ is not for consumers');
  assert.ok(
    !pkg.scripts.prepare && !pkg.scripts.install && !pkg.scripts.postinstall,
    'an install-time script would run (and warn) in consumers',
  );
  assert.match(readFileSync('LICENSE', 'utf8'), /Apache License\s+Version 2\.0, January 2004/);

  // a fresh project depending on the tarball; its lockfile comes from ours so that `npm ci
  // --offline` installs from npm's cache with no registry round trip
  const tgz = join(TMP, info.filename);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  const deps = { ...pkg.dependencies };
  const lock = {
    name: 'consumer',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'consumer', version: '1.0.0', dependencies: { bertgpu: `file:../${info.filename}` } },
      'node_modules/bertgpu': {
        version: pkg.version,
        resolved: `file:../${info.filename}`,
        integrity,
        license: pkg.license,
        dependencies: deps,
        optionalDependencies: pkg.optionalDependencies,
        bin: pkg.bin,
      },
      ...lockClosure(Object.keys({ ...deps, ...pkg.optionalDependencies })),
    },
  };
  mkdirSync(APP, { recursive: true });
  writeFileSync(
    join(APP, 'package.json'),
    JSON.stringify(
      { name: 'consumer', version: '1.0.0', type: 'module', private: true, dependencies: lock.packages[''].dependencies },
      null,
      2,
    ),
  );
  writeFileSync(join(APP, 'package-lock.json'), JSON.stringify(lock, null, 2));
  const install = await run('npm', ['ci', '--offline', '--omit=optional', '--no-audit', '--no-fund'], { cwd: APP });
  ok(install, 'npm ci of the tarball');
  const warnings = (install.stdout + install.stderr).split('\n').filter((l) => /warn/i.test(l));
  assert.equal(warnings, [], 'npm warned while installing the tarball');
  assert.ok(readFileSync(join(PKG, 'dist/index.js'), 'utf8').length > 0);
  installed = true;
});

test('Node: the installed bin runs (bertgpu --help)', async () => {
  needsInstall();
  const r = await run(join(APP, 'node_modules/.bin/bertgpu'), ['--help'], { cwd: APP });
  ok(r, 'bertgpu --help');
  assert.match(r.stdout, /usage: bertgpu/i);
});

// A strict consumer: every declaration of ours is checked (skipLibCheck off), WebGPU's types come
// through the package (no @webgpu/types of its own), no @types/node.
const CONSUMER_TS = `import * as bg from 'bertgpu';
import { Tensor, type BertConfig } from 'bertgpu';
import * as browser from 'bertgpu/browser';

export async function demo(device?: GPUDevice): Promise<number[]> {
  await bg.init(device ? { device } : {});
  const config: BertConfig = bg.presetConfig('bert-tiny', { vocab_size: 30 });
  const t: Tensor = bg.matmul(bg.tensor([1, 2, 3, 4], [2, 2]), bg.tensor([5, 6, 7, 8], [2, 2]));
  const gpu: GPUDevice = bg.runtime().device;
  void gpu;
  void browser.randn;
  return [config.hidden_size, ...(await t.toArray())];
}
`;

for (const [resolution, module] of [
  ['bundler', 'esnext'],
  ['nodenext', 'nodenext'],
  ['node16', 'node16'],
]) {
  test(`TypeScript (strict, moduleResolution ${resolution}) compiles against the package`, async () => {
    needsInstall();
    const dir = join(APP, `ts-${resolution}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'consumer.ts'), CONSUMER_TS);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          target: 'es2022',
          module,
          moduleResolution: resolution,
          lib: ['es2022', 'dom'],
          types: [],
          skipLibCheck: false,
          noEmit: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
        },
        files: ['consumer.ts'],
      }),
    );
    ok(await tsc(join(dir, 'tsconfig.json')), 'tsc');
  });
}

const DENO_RUN = `const bg = await import(Deno.args[0]);
await bg.init();
const out = await bg.matmul(bg.tensor([1, 2, 3, 4], [2, 2]), bg.tensor([5, 6, 7, 8], [2, 2])).toArray();
console.log('matmul ' + Array.from(out).join(','));
`;
const DENO_CHECK = (entry) => `import * as bg from ${JSON.stringify(entry)};
const t: bg.Tensor = bg.randn([2, 3]);
const device: GPUDevice = bg.runtime().device;
export { t, device };
`;

test('Deno: imports the built entry by path from a folder outside the project, runs a matmul, type-checks', async () => {
  needsInstall();
  const dir = join(TMP, 'deno');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.ts'), DENO_RUN);
  writeFileSync(join(dir, 'check.ts'), DENO_CHECK(join(PKG, 'dist/index.js')));
  const r = await run(DENO, ['run', '-A', '--no-config', 'run.ts', join(PKG, 'dist/index.js')], { cwd: dir });
  ok(r, 'deno run');
  assert.match(r.stdout, /^matmul 19,22,43,50$/m);
  ok(await run(DENO, ['check', '--no-config', 'check.ts'], { cwd: dir }), 'deno check');
});

test('Deno: imports the built entry by URL', async () => {
  needsInstall();
  const server = await serve(join(PKG, 'dist'));
  try {
    const url = `http://127.0.0.1:${server.address().port}/index.js`;
    const r = await run(DENO, ['run', '-A', '--no-config', join(TMP, 'deno/run.ts'), url], { cwd: join(TMP, 'deno') });
    ok(r, 'deno run (URL)');
    assert.match(r.stdout, /^matmul 19,22,43,50$/m);
  } finally {
    server.close();
  }
});

test('Deno: the CLI runs by path (info) and the pre-train -> save -> load -> predict demo runs on tiny settings', async () => {
  needsInstall();
  const info = await run(DENO, ['run', '-A', '--no-config', join(PKG, 'dist/cli.js'), 'info'], { cwd: join(TMP, 'deno') });
  ok(info, 'deno run cli.js info');
  assert.match(info.stdout, /"maxStorageBufferBindingSize"/);
  // the demo imports 'bertgpu': here the installed tarball's entry
  writeFileSync(join(TMP, 'import-map.json'), JSON.stringify({ imports: { bertgpu: pathToFileURL(join(PKG, 'dist/index.js')).href } }));
  const out = join(TMP, 'demo-out');
  const demo = await run(
    DENO,
    [
      'run',
      '-A',
      '--no-config',
      '--import-map',
      join(TMP, 'import-map.json'),
      join(ROOT, 'demos/pretrain-deno.ts'),
      '--steps',
      '4',
      '--chapters',
      '3',
      '--out',
      out,
    ],
    { cwd: TMP },
  );
  ok(demo, 'deno demo');
  assert.match(demo.stdout, /^DEMO OK$/m);
  ok(
    await run(DENO, ['check', '--no-config', '--import-map', join(TMP, 'import-map.json'), join(ROOT, 'demos/pretrain-deno.ts')], {
      cwd: TMP,
    }),
    'deno check of the demo',
  );
});

// One page body for both browser consumers: the result or the error goes into #out.
const PAGE_JS = `
const out = document.querySelector('#out');
try {
  await bg.init();
  const c = await bg.matmul(bg.tensor([1, 2, 3, 4], [2, 2]), bg.tensor([5, 6, 7, 8], [2, 2])).toArray();
  out.textContent = 'matmul ' + Array.from(c).join(',');
} catch (err) {
  out.textContent = 'error: ' + (err && err.message);
}
`;

test('Chromium: an esbuild-bundled page and a no-bundler <script type=module> page show the result', async () => {
  needsInstall();
  const web = join(APP, 'web');
  mkdirSync(web, { recursive: true });
  writeFileSync(join(web, 'bundled-main.js'), `import * as bg from 'bertgpu';\n${PAGE_JS}`);
  await esbuild.build({
    entryPoints: [join(web, 'bundled-main.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(web, 'bundled.js'),
    logLevel: 'error',
    absWorkingDir: APP,
  });
  writeFileSync(
    join(APP, 'bundled.html'),
    '<!doctype html><meta charset="utf-8"><pre id="out"></pre><script type="module" src="./web/bundled.js"></script>\n',
  );
  writeFileSync(
    join(APP, 'plain.html'),
    `<!doctype html><meta charset="utf-8"><pre id="out"></pre>
<script type="importmap">{ "imports": { "bertgpu": "./node_modules/bertgpu/dist/bertgpu.browser.js" } }</script>
<script type="module">import * as bg from 'bertgpu';\n${PAGE_JS}</script>\n`,
  );
  const server = await serve(APP);
  const browser = await launchChromium();
  try {
    for (const page of ['bundled.html', 'plain.html']) {
      const tab = await browser.newPage();
      await tab.goto(`http://127.0.0.1:${server.address().port}/${page}`);
      await tab.waitForFunction(() => document.querySelector('#out')?.textContent, { timeout: 120_000 });
      assert.is(await tab.$eval('#out', (e) => e.textContent), 'matmul 19,22,43,50', page);
      await tab.close();
    }
  } finally {
    await browser.close();
    server.close();
  }
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
