// `bertgpu fill-mask`: a masked-LM model's guesses for each [MASK] (<mask> for RoBERTa's BPE), as
// Hugging Face's fill-mask pipeline returns them.
import type { Command } from 'commander';
import { init } from '../runtime.js';
import { fromPretrained } from '../io/pretrained.js';
import { DataError, parseJsonLines } from '../finetune/data.js';
import { fillMask, loadTokenizer } from '../pipelines.js';
import { addVerbose, newCommand, type CliCommand, type Io } from './program.js';
import { checkDataFile, checkModelDir, intArg, readInput, writeJsonLines } from './task-io.js';

const HELP_AFTER = `
Input: lines of text with [MASK] (<mask> for a RoBERTa byte-level BPE tokenizer), plain or as
JSON ({"text": "..."} or a JSON string). Output: one JSON line per input line: for one mask a
list of {"score", "token", "token_str", "sequence"}, the likeliest first; for several masks a
list of such lists, one per mask (as Hugging Face's fill-mask pipeline).
--model needs a masked-LM head: ...ForMaskedLM or BertForPreTraining.`;

export const command: CliCommand = {
  name: 'fill-mask',
  gpu: true,
  build: (io) =>
    addVerbose(
      newCommand('fill-mask', "a masked-LM model's top guesses for each [MASK] of text lines (JSON lines out)", io, (cmd) => run(cmd, io))
        .requiredOption('--model <dir>', 'a Hugging Face directory with a masked-LM head and a tokenizer')
        .option('--input <file>', 'input lines (- for stdin)', '-')
        .option('--top-k <k>', 'guesses per mask', intArg(1), 5)
        .addHelpText('after', HELP_AFTER),
    ),
};

async function run(cmd: Command, io: Io): Promise<number> {
  const o = cmd.opts<{ model: string; input: string; topK: number }>();
  checkModelDir(o.model);
  checkDataFile(o.input, '--input');
  const { text, source } = await readInput(o.input, io);
  const texts = parseJsonLines(
    text
      .split('\n')
      .map((l) => (/^\s*"/.test(l) ? `{"text": ${l.trim()}}` : l))
      .join('\n'),
    source,
    { plainText: true },
  ).map((r) => {
    if (typeof r.value.text !== 'string')
      throw new DataError(r.source, r.line, 'expected a text: a plain line, a JSON string or {"text": "..."}');
    return { text: r.value.text, source: r.source, line: r.line };
  });
  const rt = await init();
  try {
    const loaded = await fromPretrained(o.model);
    try {
      const tokenizer = loaded.tokenizer ?? (await loadTokenizer(o.model));
      if (!tokenizer) throw new Error(`${o.model}: no tokenizer (vocab.txt, tokenizer.json, or vocab.json + merges.txt)`);
      const out: unknown[] = [];
      for (const t of texts) {
        try {
          out.push(await fillMask(loaded.model, tokenizer, t.text, { top_k: o.topK }));
        } catch (err) {
          throw new Error(`${t.source}:${t.line}: ${(err as Error).message}`);
        }
      }
      writeJsonLines(io, out);
      return 0;
    } finally {
      loaded.model.dispose();
    }
  } finally {
    rt.destroy();
  }
}
