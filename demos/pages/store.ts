// The demo pages' storage in the browser: one IndexedDB object store of named records (the paused
// run with its checkpoint files, the last trained model), kept across reloads.
const DB = 'bertgpu-demos';
const STORE = 'records';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`IndexedDB ${DB}: ${req.error?.message ?? 'cannot open'}`));
  });
}

async function request<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      // resolved when the transaction commits, so a put is on disk before the caller goes on
      tx.oncomplete = () => resolve(req.result as T);
      tx.onerror = () => reject(new Error(`IndexedDB ${DB}: ${tx.error?.message ?? 'transaction failed'}`));
      tx.onabort = () => reject(new Error(`IndexedDB ${DB}: ${tx.error?.message ?? 'transaction aborted'} (storage full?)`));
    });
  } finally {
    db.close();
  }
}

export const load = <T>(key: string) => request<T | undefined>('readonly', (s) => s.get(key));
export const save = (key: string, value: unknown) => request<void>('readwrite', (s) => s.put(value, key));
export const remove = (key: string) => request<void>('readwrite', (s) => s.delete(key));

/** A Hugging Face directory in memory: file name -> bytes. */
export type Files = Record<string, Uint8Array>;

/** The model the pre-train page stored for the fill-mask page. */
export interface StoredModel {
  name: string;
  files: Files;
  summary: string;
}

export const MODEL_KEY = 'trained-model';
export const RUN_KEY = 'pretrain-run';
