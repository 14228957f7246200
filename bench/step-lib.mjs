// What the training-step benchmarks (fused-kernels.mjs, amp.mjs) share: Moby-Dick chapters as
// documents, and a peak-live-bytes probe on the runtime's buffer acquisitions.
import { readFileSync, readdirSync } from 'node:fs';

/** The first `count` chapters of the corpus directory, as the library's sentence documents. */
export function chapterDocuments(bg, corpusDir, count) {
  const dir = `${corpusDir}/`;
  const texts = readdirSync(dir)
    .filter((f) => /^chapter_\d+\.txt$/.test(f))
    .sort()
    .slice(0, count)
    .map((f) => readFileSync(dir + f, 'utf8'));
  return bg.textToDocuments(texts, { documents: 'file' });
}

/** Wraps rt.acquire so that every acquisition updates the peak; `reset()` starts from the live bytes now. */
export function peakBytes(rt) {
  const probe = {
    peak: 0,
    reset() {
      probe.peak = rt.liveBytes;
    },
  };
  const acquire = rt.acquire.bind(rt);
  rt.acquire = (...args) => {
    const buffer = acquire(...args);
    probe.peak = Math.max(probe.peak, rt.liveBytes);
    return buffer;
  };
  return probe;
}

export const MiB = (b) => (b / 2 ** 20).toFixed(1);
