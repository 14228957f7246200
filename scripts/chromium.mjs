// Serves a folder on 127.0.0.1 (a secure context) and runs a module in headless Chromium with
// WebGPU enabled (SwiftShader). Console output is collected until `until` matches.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, normalize } from 'node:path';
import puppeteer from 'puppeteer-core';

const TYPES = {
  '.js': 'text/javascript',
  '.html': 'text/html',
  '.map': 'application/json',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.wasm': 'application/wasm',
};

export function serve(dir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!existsSync(file)) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export function chromiumPath() {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

export async function launchChromium(extraArgs = []) {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--enable-unsafe-webgpu',
      '--no-sandbox',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'bertgpu-chromium-'))}`,
      ...extraArgs,
    ],
  });
}

/** Runs `script` (a module inside `dir`) in a page; returns { ok, text } when `until` shows up. */
export async function runInChromium(dir, script, { until, timeoutMs = 600_000, extraArgs = [], echo = true, query = '' } = {}) {
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html><meta charset="utf-8"><title>bertgpu</title><script type="module" src="./${script}"></script>\n`,
  );
  const server = await serve(dir);
  const browser = await launchChromium(extraArgs);
  let text = '';
  let ok = true;
  try {
    const page = await browser.newPage();
    const done = new Promise((resolve) => {
      page.on('console', (msg) => {
        const line = msg.text();
        text += line + '\n';
        if (echo && !/Failed to load resource/.test(line))
          process.stdout.write(
            line.endsWith('\n') || !(/^[•✘]/.test(line) || line.startsWith('\x1b')) ? line + (line.endsWith('\n') ? '' : '\n') : line + ' ',
          );
        if (until.test(line)) resolve(true);
      });
      page.on('pageerror', (err) => {
        text += `pageerror: ${err.message}\n`;
        console.log(`\npageerror: ${err.message}`);
        ok = false;
        resolve(false);
      });
    });
    let timeoutId;
    const timer = new Promise((resolve) => {
      timeoutId = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    await page.goto(`http://127.0.0.1:${server.address().port}/${query}`);
    const r = await Promise.race([done, timer]);
    clearTimeout(timeoutId);
    if (r === 'timeout') {
      ok = false;
      text += `timeout after ${timeoutMs} ms\n`;
    }
    // uvu sets failures through its own summary; give the page a moment to print everything.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    await browser.close();
    server.close();
  }
  return { ok, text };
}
