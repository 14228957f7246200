// `bertgpu evaluate`: the task's metrics of a fine-tuned model (or base + --adapter) on labelled
// data, as one JSON object on stdout.
import type { Command } from 'commander';
import { addVerbose, newCommand, type CliCommand, type Io } from './program.js';
import { checkDataFile, readInput } from './task-io.js';
import { addTaskModelOptions, checkTaskModelFlags, inputTask, withTaskModel, type TaskModelFlags } from './predict.js';

const HELP_AFTER = `
--data is labelled data in the training format (JSON lines, .csv, .tsv). The metrics, per task:
  cls, pair   accuracy, f1 (binary: of the second label; else macro), macro_f1, mcc
  regression  pearson, spearman, mse
  choice      accuracy
  tag         accuracy (per word), precision / recall / f1 (entities, seqeval-style) for IOB2 tags
  qa          exact_match, f1 (SQuAD's, 0-100), total (HasAns_ / NoAns_ with unanswerable questions)
and loss (the model's mean loss over the examples).
--model may be a frozen-feature directory (finetune --features), run on the base its
feature_config.json names; or --model BASE --adapter DIR runs it on another copy of the base.`;

export const command: CliCommand = {
  name: 'evaluate',
  gpu: true,
  build: (io) =>
    addVerbose(
      addTaskModelOptions(
        newCommand(
          'evaluate',
          "a fine-tuned model's (or base + LoRA adapter's, or frozen-feature head's) task metrics on labelled data, as one JSON object",
          io,
          (cmd) => evaluate(cmd, io),
        ),
      )
        .requiredOption('--data <file>', 'labelled data (- for stdin)')
        .addHelpText('after', HELP_AFTER),
    ),
};

async function evaluate(cmd: Command, io: Io): Promise<number> {
  const o = cmd.opts<TaskModelFlags & { data: string; allowImpossible?: boolean; maxAnswerLength?: number }>();
  checkTaskModelFlags(o);
  checkDataFile(o.data, '--data');
  const { text, source } = await readInput(o.data, io);
  return withTaskModel(o, async (tm) => {
    const task = inputTask(tm, o.task, text, source);
    const examples = task.read(text, source, { labelled: true });
    const { loss, metrics } = await tm.evaluate(examples, { task, allowImpossible: o.allowImpossible, maxAnswerLength: o.maxAnswerLength });
    io.stdout.write(JSON.stringify({ ...metrics, loss }) + '\n');
    return 0;
  });
}
