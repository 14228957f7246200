// Reading and writing whole files in every runtime: node:fs in Node and Deno, fetch for URLs.
// Writes are atomic (a temporary file renamed into place), so a failure leaves no partial file.

export type Bytes = Uint8Array;

function isUrl(s: string): boolean {
  return /^(https?|file|blob|data):/i.test(s);
}

function hasFs(): boolean {
  const g = globalThis as any;
  return typeof g.Deno !== 'undefined' || (typeof g.process !== 'undefined' && !!g.process.versions?.node);
}

async function fs(): Promise<typeof import('node:fs/promises')> {
  const name = 'node:fs/promises'; // a variable: browser bundles leave it alone
  return import(/* @vite-ignore */ name);
}

export function joinPath(dir: string, name: string): string {
  if (isUrl(dir)) return dir.replace(/\/?$/, '/') + name;
  return dir.replace(/[\\/]+$/, '') + '/' + name;
}

/** Reads a file or URL; `null` when it does not exist (404 / ENOENT). */
export async function readBytes(path: string): Promise<Bytes | null> {
  if (isUrl(path) || !hasFs()) {
    const res = await fetch(path);
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${res.statusText}`);
    return new Uint8Array(await res.arrayBuffer());
  }
  try {
    return new Uint8Array(await (await fs()).readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function readText(path: string): Promise<string | null> {
  const b = await readBytes(path);
  return b === null ? null : new TextDecoder().decode(b);
}

/** Writes atomically: to `path.tmp-<random>`, then renamed over `path`. */
export async function writeAtomic(path: string, data: Bytes | string): Promise<void> {
  if (!hasFs()) throw new Error(`writing ${path}: this runtime has no file system (use the in-memory export instead)`);
  const f = await fs();
  const tmp = `${path}.tmp-${Math.random().toString(36).slice(2)}`;
  try {
    await f.writeFile(tmp, data);
    await f.rename(tmp, path);
  } catch (err) {
    await f.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

export async function makeDir(path: string): Promise<void> {
  if (!hasFs()) throw new Error(`creating ${path}: this runtime has no file system`);
  await (await fs()).mkdir(path, { recursive: true });
}

/** Moves directory `tmp` to `dir`, replacing what was there: `dir` is always whole, old or new. */
export async function replaceDir(tmp: string, dir: string): Promise<void> {
  const f = await fs();
  const old = `${dir}.old-${Math.random().toString(36).slice(2)}`;
  let hadOld = true;
  try {
    await f.rename(dir, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    hadOld = false;
  }
  await f.rename(tmp, dir);
  if (hadOld) await f.rm(old, { recursive: true, force: true });
}
