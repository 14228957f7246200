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

/**
 * Moves directory `tmp` (complete) to `dir`, replacing what was there. Two renames: `dir` to
 * `dir.old-*`, then `tmp` to `dir`. A kill between them leaves no `dir`, the new copy in `tmp` and
 * the old in `dir.old-*`: `recoverDir` makes `dir` whole again from them. `betweenRenames` runs
 * in that window (a test hook: the kill test stops the process there).
 */
export async function replaceDir(tmp: string, dir: string, betweenRenames?: () => void | Promise<void>): Promise<void> {
  const f = await fs();
  const old = `${dir}.old-${Math.random().toString(36).slice(2)}`;
  let hadOld = true;
  try {
    await f.rename(dir, old);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    hadOld = false;
  }
  await betweenRenames?.();
  await f.rename(tmp, dir);
  if (hadOld) await f.rm(old, { recursive: true, force: true });
}

/**
 * Undoes an interrupted `replaceDir` (or a write of `tmp` cut short). When `dir` is missing, the
 * best complete sibling `dir.tmp-*` / `dir.old-*` (the highest `rank`; `rank` returns null for an
 * incomplete one) is renamed to `dir`. Then every other sibling is removed. Returns the sibling
 * that was renamed into place, or null. Without a file system (browsers) it does nothing.
 */
export async function recoverDir(dir: string, rank: (candidate: string) => Promise<number | null>): Promise<string | null> {
  if (!hasFs() || isUrl(dir)) return null;
  const f = await fs();
  const siblings = [...(await leftovers(dir, '.tmp-')), ...(await leftovers(dir, '.old-'))];
  let restored: string | null = null;
  if (!(await exists(dir))) {
    let best = -Infinity;
    for (const s of siblings) {
      const r = (await f.stat(s)).isDirectory() ? await rank(s) : null;
      if (r !== null && r > best) [best, restored] = [r, s];
    }
    if (restored) await f.rename(restored, dir);
  }
  for (const s of siblings) if (s !== restored) await f.rm(s, { recursive: true, force: true });
  return restored;
}

/** Removes the temporary files an interrupted `writeAtomic(path)` left (`path.tmp-*`). */
export async function removeLeftovers(path: string): Promise<void> {
  if (!hasFs() || isUrl(path)) return;
  const f = await fs();
  for (const p of await leftovers(path, '.tmp-')) await f.rm(p, { recursive: true, force: true });
}

/** The siblings of `path` named `<its name><marker>*`. */
async function leftovers(path: string, marker: string): Promise<string[]> {
  const trimmed = path.replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  const parent = cut < 0 ? '.' : trimmed.slice(0, cut) || '/';
  const prefix = trimmed.slice(cut + 1) + marker;
  try {
    return (await (await fs()).readdir(parent)).filter((n) => n.startsWith(prefix)).map((n) => joinPath(parent, n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await (await fs()).stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
