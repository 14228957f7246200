// Builds the library with esbuild: a browser ESM bundle, a Node/Deno entry and the CLI.
// .wgsl files are bundled as text; type declarations come from tsc.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  loader: { '.wgsl': 'text' },
  sourcemap: true,
  logLevel: 'warning',
};

rmSync('dist', { recursive: true, force: true });
await Promise.all([
  // Browser: everything bundled; the npm `webgpu` package is only ever imported under Node.
  esbuild.build({ ...common, platform: 'browser', entryPoints: ['src/index.ts'], outfile: 'dist/bertgpu.browser.js', external: ['webgpu'] }),
  // Node / Deno library entry: npm packages stay external imports.
  esbuild.build({ ...common, platform: 'node', entryPoints: ['src/index.ts'], outfile: 'dist/index.js', packages: 'external' }),
  esbuild.build({
    ...common, platform: 'node', entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', packages: 'external',
    banner: { js: '#!/usr/bin/env node' },
  }),
]);
chmodSync('dist/cli.js', 0o755);
if (!process.argv.includes('--no-types')) {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
