// Runs a bundled module in a crossOriginIsolated headless Chromium page (COOP + COEP headers, so
// onnxruntime-web's WASM EP can use threads): `dir` is served at /, each `mounts` folder at its
// prefix. Console lines go to `onLine`; resolves { ok, text } once `until` matches.
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { launchChromium } from '../../scripts/chromium.mjs';

const TYPES = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.html': 'text/html',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

function serve(dir, mounts) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const mount = Object.keys(mounts).find((m) => path.startsWith(m));
    const file = mount ? join(mounts[mount], path.slice(mount.length)) : join(dir, path === '/' ? 'index.html' : path);
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers);
      res.end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function runPage(dir, script, { mounts = {}, until, timeoutMs, onLine }) {
  writeFileSync(join(dir, 'index.html'), `<!doctype html><meta charset="utf-8"><script type="module" src="./${script}"></script>\n`);
  const server = await serve(dir, mounts);
  const browser = await launchChromium();
  let text = '';
  let ok = true;
  let timer;
  try {
    const page = await browser.newPage();
    const done = new Promise((resolve) => {
      page.on('console', (msg) => {
        const line = msg.text();
        if (/Failed to load resource/.test(line)) return;
        text += line + '\n';
        onLine(line);
        if (until.test(line)) resolve(true);
      });
      page.on('pageerror', (err) => {
        text += `pageerror: ${err.message}\n`;
        onLine(`pageerror: ${err.message}`);
        ok = false;
        resolve(false);
      });
    });
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    if ((await Promise.race([done, timeout])) === 'timeout') {
      ok = false;
      onLine(`timeout after ${(timeoutMs / 1000).toFixed(0)} s`);
    }
  } finally {
    clearTimeout(timer);
    await browser.close();
    server.close();
  }
  return { ok, text };
}
