// `bertgpu merge-adapter`: a base model plus a LoRA adapter merged into one plain Hugging Face
// directory of the task class (PEFT's merge_and_unload, then save_pretrained).
import { Option, type Command } from 'commander';
import { init } from '../runtime.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportPretrained } from '../io/pretrained.js';
import { parseConfigJson } from '../models/config.js';
import type { TaskName } from '../finetune/tasks.js';
import { loadTaskModel } from '../pipelines.js';
import { addVerbose, newCommand, type CliCommand } from './program.js';
import { checkAdapterDir, checkModelDir, checkOutDir, tokenizerFiles, writeModelDir } from './task-io.js';
import { TASK_NAMES } from './finetune.js';

export const command: CliCommand = {
  name: 'merge-adapter',
  gpu: true,
  build: (io) =>
    addVerbose(
      newCommand('merge-adapter', 'merge a LoRA adapter into its base model: a plain Hugging Face directory of the task class', io, (cmd) =>
        merge(cmd, io.stdout),
      )
        .requiredOption('--model <dir>', 'the base model (a Hugging Face directory)')
        .requiredOption('--adapter <dir>', "the adapter (PEFT's adapter_config.json + adapter_model.safetensors)")
        .requiredOption('--out <dir>', 'output: the merged Hugging Face directory, with the tokenizer files')
        .addOption(new Option('--task <name>', 'the task of the head (default: from the adapter)').choices(TASK_NAMES))
        .option('--overwrite', 'replace a model already in --out'),
    ),
};

async function merge(cmd: Command, stdout: NodeJS.WritableStream): Promise<number> {
  const o = cmd.opts<{ model: string; adapter: string; out: string; task?: TaskName; overwrite?: boolean }>();
  checkModelDir(o.model);
  checkAdapterDir(o.adapter);
  await checkOutDir(o.out, !!o.overwrite);
  const rt = await init();
  try {
    const tm = await loadTaskModel(o.model, { adapter: o.adapter, task: o.task });
    try {
      tm.lora!.mergeAndUnload();
      const files = await exportPretrained(tm.model, null);
      // the tokenizer as the base has it, or as the adapter directory carries it
      // the base's tokenizer, unless the adapter widened its vocabulary (finetune --add-words): then the adapter's
      const widened = tm.model.config.vocab_size > parseConfigJson(readFileSync(join(o.model, 'config.json'), 'utf8')).config.vocab_size;
      const tok = widened ? {} : tokenizerFiles(o.model);
      await writeModelDir(o.out, { ...(Object.keys(tok).length ? tok : tokenizerFiles(o.adapter)), ...files });
      stdout.write(`wrote ${o.out}: ${tm.model.architecture} with the adapter ${o.adapter} merged in (task ${tm.task.name})\n`);
      return 0;
    } finally {
      tm.model.dispose();
    }
  } finally {
    rt.destroy();
  }
}
