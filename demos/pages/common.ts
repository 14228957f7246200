// What every demo page shares: the header with the page list, the adapter panel (or a plain
// message saying what to install or enable when WebGPU is missing), an error box, and a small
// element helper. The pages are bundled by demos/build.mjs with the library's sources.
import * as bg from '../../src/index.js';
import { zipSync } from 'fflate';
import css from './style.css';

export const PAGES: [file: string, title: string][] = [
  ['tokenizer.html', 'Tokenizer'],
  ['pretrain.html', 'Pre-train'],
  ['fill-mask.html', 'Fill-mask'],
  ['finetune.html', 'Fine-tune'],
];

type Child = Node | string | null | undefined | false;

/** `el('td', { class: 'num' }, '3')`: an element with attributes (on* take functions) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, unknown> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'value' && 'value' in e) (e as HTMLInputElement).value = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/**
 * Offers `files` for download as `name.zip` (fflate; every file in a top folder `name/`, as a
 * Hugging Face directory); returns a line listing the zip and its files' sizes.
 */
export function downloadZip(name: string, files: Record<string, Uint8Array>): string {
  const zip = zipSync(Object.fromEntries(Object.entries(files).map(([f, b]) => [`${name}/${f}`, b])), { level: 6 });
  const url = URL.createObjectURL(new Blob([zip], { type: 'application/zip' }));
  const a = el('a', { href: url, download: `${name}.zip` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return `${name}.zip (${zip.length} bytes): ${Object.entries(files)
    .map(([f, b]) => `${f} ${(b.length / 1024).toFixed(0)} KiB`)
    .join(', ')}`;
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Header, adapter panel and an empty <main>; returns the main element. */
export function shell(active: string, title: string, intro: string): HTMLElement {
  document.title = `${title} · bertgpu`;
  document.head.append(el('style', {}, css), el('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }));
  const nav = el('nav', {}, ...PAGES.map(([file, name]) => el('a', { href: file, class: file === active ? 'active' : undefined }, name)));
  document.body.append(
    el('header', {}, el('b', {}, el('a', { href: 'index.html', style: 'color:inherit;text-decoration:none' }, 'bertgpu')), nav),
  );
  const main = el(
    'main',
    {},
    el('h1', {}, title),
    el('p', { class: 'muted' }, intro),
    el('section', { id: 'adapter' }, 'WebGPU: looking for an adapter…'),
    el('div', { id: 'error' }),
  );
  document.body.append(main);
  return main;
}

function bytes(n: number): string {
  if (n >= 2 ** 30 && n % 2 ** 30 === 0) return `${n / 2 ** 30} GiB`;
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  if (n >= 2 ** 10 && n % 2 ** 10 === 0) return `${n / 2 ** 10} KiB`;
  return String(n);
}

/** Says what to do when a browser has no WebGPU; `needed` says whether this page can work without it. */
function noWebGPU(reason: string, needed: boolean): HTMLElement {
  return el(
    'div',
    { class: 'error', id: 'no-webgpu' },
    el('b', {}, `No WebGPU here: ${reason}.`),
    needed
      ? ' This page trains and runs models on the GPU and needs it.'
      : ' This page works without it; the pre-train, fill-mask and fine-tune pages need it.',
    el(
      'ul',
      {},
      el('li', {}, 'Chrome or Edge 113+ on Windows, macOS and ChromeOS have it on by default (chrome://gpu shows its status).'),
      el(
        'li',
        {},
        'Chrome / Chromium on Linux: turn on chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan), or start it with --enable-unsafe-webgpu; headless Chromium needs --enable-unsafe-webgpu (npm run demo passes it).',
      ),
      el('li', {}, 'Firefox 141+ on Windows has it; elsewhere Firefox Nightly with dom.webgpu.enabled in about:config.'),
      el('li', {}, 'Safari 26 (macOS 26, iOS 26); earlier Safari: Develop > Feature Flags > WebGPU.'),
      el(
        'li',
        {},
        'The page must come from https:// or http://127.0.0.1 / localhost (a secure context): npm run demo:serve serves them so.',
      ),
    ),
  );
}

/**
 * Starts the library's WebGPU runtime and fills the adapter panel: the adapter, its limits and
 * features. Without WebGPU the panel says why and what to do, and this returns null.
 */
export async function startWebGPU({ needed = true } = {}): Promise<bg.Runtime | null> {
  const panel = $('adapter');
  const nav = navigator as Navigator & { gpu?: GPU };
  let reason: string | null = null;
  if (!window.isSecureContext) reason = `${location.origin} is not a secure context (WebGPU needs https:// or 127.0.0.1 / localhost)`;
  else if (!nav.gpu) reason = 'this browser has no navigator.gpu (WebGPU is off or not supported)';
  let rt: bg.Runtime | null = null;
  if (!reason) {
    try {
      rt = await bg.init();
    } catch (err) {
      reason = `${(err as Error).message}. The browser has WebGPU but gave no usable adapter: hardware acceleration may be off, or the GPU blocklisted (see chrome://gpu)`;
    }
  }
  panel.replaceChildren();
  if (!rt) {
    panel.append(noWebGPU(reason!, needed));
    console.log(`WebGPU missing: ${reason}`);
    return null;
  }
  const r = rt.report;
  const a = r.adapter;
  // browsers often leave description and device empty (privacy): vendor and architecture remain
  const name = [a.description || a.device, a.vendor, a.architecture].filter(Boolean).join(' · ') || 'unnamed adapter';
  const optional = ['shader-f16', 'subgroups', 'timestamp-query'];
  const key = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupStorageSize',
  ];
  panel.append(
    el(
      'div',
      { id: 'adapter-name' },
      el('b', {}, 'Adapter: '),
      name,
      a.isFallbackAdapter ? ' — a fallback (software) adapter: expect CPU speed' : '',
    ),
    el(
      'div',
      { id: 'adapter-features', class: 'muted' },
      'Features used: ',
      optional.map((f) => (r.features.includes(f) ? f : `no ${f}`)).join(', '),
      ' · ',
      key.map((k) => `${k} ${bytes(r.limits[k])}`).join(', '),
    ),
    el(
      'details',
      {},
      el('summary', { class: 'muted' }, 'all limits and features'),
      el(
        'div',
        { class: 'mono' },
        Object.entries(r.limits)
          .map(([k, v]) => `${k} ${bytes(v)}`)
          .join(' · '),
      ),
      el('div', { class: 'mono' }, r.features.join(' · ') || 'no optional features'),
    ),
  );
  console.log(`adapter: ${name}${a.isFallbackAdapter ? ' (fallback)' : ''}; features ${r.features.join(', ') || 'none'}`);
  return rt;
}

/** Shows an error in the page's error box (and the console, which `npm run demo` prints). */
export function showError(err: unknown, what = 'error'): void {
  const message = err instanceof Error ? err.message : String(err);
  $('error').replaceChildren(el('div', { class: 'error', role: 'alert' }, `${what}: ${message}`));
  console.error(`${what}: ${err instanceof Error && err.stack ? err.stack : message}`);
}

export function clearError(): void {
  $('error').replaceChildren();
}

/** Runs an async click handler with its button disabled and errors shown. */
export function action(button: HTMLButtonElement, what: string, fn: () => Promise<void>): void {
  const run = async () => {
    button.disabled = true;
    clearError();
    try {
      await fn();
    } catch (err) {
      showError(err, what);
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener('click', () => void run());
}

/** Reads the files a user dropped on `zone` or picked with its file input. */
export function dropZone(zone: HTMLElement, input: HTMLInputElement, handle: (files: File[]) => void | Promise<void>): void {
  const onFiles = (files: File[]) => void Promise.resolve(handle(files)).catch((err) => showError(err, 'reading the files'));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    onFiles([...(e.dataTransfer?.files ?? [])]);
  });
  input.addEventListener('change', () => onFiles([...(input.files ?? [])]));
}

/** A setting of a page's form: a number input, or a select of `options`. */
export interface Field<K extends string> {
  key: K;
  label: string;
  options?: string[];
  /** 'any' for a real number; whole numbers otherwise. */
  step?: string;
  title: string;
}

/** The labelled inputs of `fields` (ids `set-<key>`), filled with `defaults`. */
export function fieldInputs<S extends object>(fields: Field<keyof S & string>[], defaults: S): HTMLElement[] {
  return fields.map((f) => {
    const v = String(defaults[f.key]);
    return el(
      'label',
      { title: f.title },
      `${f.label} `,
      f.options
        ? el('select', { id: `set-${f.key}` }, ...f.options.map((o) => el('option', { value: o, selected: v === o }, o)))
        : el('input', { type: 'number', id: `set-${f.key}`, value: v, step: f.step ?? '1', min: 0 }),
    );
  });
}

/** Settings given in the query string (?steps=50) replace the form's values. */
export function fieldsFromQuery<K extends string>(fields: Field<K>[], params: URLSearchParams): void {
  for (const f of fields) {
    const v = params.get(f.key);
    if (v !== null) $<HTMLInputElement>(`set-${f.key}`).value = v;
  }
}

/** The form's values, checked: an option among its options, a number non-negative (whole unless step 'any'). */
export function readFields<S extends object>(fields: Field<keyof S & string>[]): S {
  const s = {} as Record<string, unknown>;
  for (const f of fields) {
    const raw = $<HTMLInputElement>(`set-${f.key}`).value;
    if (f.options) {
      if (!f.options.includes(raw)) throw new Error(`${f.label}: '${raw}' is not one of ${f.options.join(', ')}`);
      s[f.key] = raw;
    } else {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0 || (f.step !== 'any' && !Number.isInteger(n)))
        throw new Error(`${f.label}: expected a ${f.step === 'any' ? 'non-negative number' : 'whole number'}, got '${raw}'`);
      s[f.key] = n;
    }
  }
  return s as S;
}
