// Builds the library with esbuild: a browser ESM bundle, a Node/Deno entry and the CLI.
// .wgsl files are bundled as text; type declarations come from tsc (the library's, from
// tsconfig.build.json: src/index.ts and what it imports).
// Usage: node scripts/build.mjs [--no-types] [--outdir DIR]   (DIR defaults to dist)
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { 'no-types': { type: 'boolean' }, outdir: { type: 'string', default: 'dist' } } });
const out = values.outdir;
const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  sourcemap: true,
  logLevel: 'warning',
};

rmSync(out, { recursive: true, force: true });
await Promise.all([
  // Browser: everything bundled; the npm `webgpu` package is only ever imported under Node.
  esbuild.build({
    ...common,
    platform: 'browser',
    entryPoints: ['src/index.ts'],
    outfile: `${out}/bertgpu.browser.js`,
    external: ['webgpu'],
  }),
  // Node / Deno library entry: self-contained (wgsl_reflect bundled in) so Deno can import it by
  // path or URL from any folder; only `webgpu` (Node's WebGPU, imported when there is no
  // navigator.gpu) stays external. The @ts-self-types comment gives Deno its declarations.
  esbuild.build({
    ...common,
    platform: 'node',
    entryPoints: ['src/index.ts'],
    outfile: `${out}/index.js`,
    external: ['webgpu'],
    banner: { js: '// @ts-self-types="./types-deno/index.d.ts"' },
  }),
  esbuild.build({
    ...common,
    platform: 'node',
    entryPoints: ['src/cli.ts'],
    outfile: `${out}/cli.js`,
    external: ['webgpu'],
    // commander is CommonJS: its require('node:events') needs a require() inside this ES module
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __bertgpuRequire } from 'node:module';\nconst require = __bertgpuRequire(import.meta.url);",
    },
  }),
]);
chmodSync(`${out}/cli.js`, 0o755);
if (!values['no-types']) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', `${out}/types`], {
    stdio: 'inherit',
  });
  // The declarations name WebGPU's types (GPUDevice, ...): consumers get them from the
  // @webgpu/types dependency through this reference (tsc no longer emits one by itself).
  // Deno resolves a declaration's `./x.js` import to that file, not to `./x.d.ts`: it gets a copy
  // whose relative imports name the .d.ts files (and no @webgpu/types: Deno has WebGPU's types).
  for (const file of listFiles(`${out}/types`)) {
    const target = join(`${out}/types-deno`, relative(`${out}/types`, file));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, readFileSync(file, 'utf8').replace(/((?:from|import\()\s*['"]\.{1,2}\/[^'"]*?)\.js(['"])/g, '$1.d.ts$2'));
  }
  const index = `${out}/types/index.d.ts`;
  writeFileSync(index, `/// <reference types="@webgpu/types" />\n${readFileSync(index, 'utf8')}`);
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
