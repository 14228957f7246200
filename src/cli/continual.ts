// `bertgpu continual --plan FILE`: a sequence of tasks trained in turn on one pre-trained encoder
// by each method of the plan (src/finetune/continual.ts); prints the accuracy matrix (task x
// stage), average accuracy, backward transfer, forgetting, trainable parameters and bytes stored
// per task as Markdown, and with --json writes every figure.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { init } from '../runtime.js';
import { writeAtomic } from '../io/files.js';
import { getTask } from '../finetune/tasks.js';
import { readTaskFile } from '../finetune/node-data.js';
import { parseContinualPlan, runContinual, type ContinualResult, type ContinualTask } from '../finetune/continual.js';
import { UsageError, addVerbose, newCommand, reportFailure, type CliCommand, type Io } from './program.js';
import { checkDataFile } from './task-io.js';

const HELP_AFTER = `
The plan is JSON; paths are relative to the plan file:
  {
    "model": "pretrained-dir",
    "tasks": [
      {"name": "imdb", "task": "cls", "train": "imdb.train.jsonl", "test": "imdb.test.jsonl", "head": "sentiment"},
      {"name": "cs", "task": "pair", "train": "cs.train.jsonl", "test": "cs.test.jsonl"}
    ],
    "epochs": 2, "batchSize": 16, "lr": 1e-3, "maxLength": 64, "seed": 0,
    "methods": ["full", {"method": "lora", "lr": 5e-3, "lora": {"r": 8, "alpha": 16}},
                {"method": "replay", "replayPerTask": 50}, {"method": "l2sp", "l2spLambda": 0.01},
                {"method": "features", "features": "scalar-mix", "lr": 1e-2}]
  }
Methods: full (sequential fine-tuning), replay (earlier tasks' examples mixed into each stage,
each through its own head), l2sp (penalty toward the stage's starting weights), lora (an adapter
+ head per task, frozen base), features (frozen encoder, scalar mix, a head per task). Tasks with
the same "head" share one head where the encoder is shared (full, replay, l2sp). Settings: epochs, batchSize, lr, maxLength, seed,
warmupRatio, weightDecay, lora {r, alpha, dropout, targets, rslora}, replayPerTask, l2spLambda,
features, addWords (words the training texts repeat this often become whole tokens before the
first stage; lora trains each task's own words' rows in its adapter); a method's own settings
override the plan's. Data files are in the finetune format.`;

export const command: CliCommand = {
  name: 'continual',
  gpu: true,
  build: (io) =>
    addVerbose(
      newCommand('continual', 'continual learning: a sequence of tasks on one encoder, each method of a plan measured', io, (cmd) =>
        continual(cmd, io),
      )
        .requiredOption('--plan <file>', 'the plan (JSON: model, tasks, settings, methods)')
        .option('--methods <list>', "run only these of the plan's methods (comma-separated)")
        .option('--json <file>', 'write every figure (matrix, metrics, stages, settings) as JSON')
        .option('--quiet', 'no progress lines on stderr')
        .addHelpText('after', HELP_AFTER),
    ),
};

async function continual(cmd: Command, io: Io): Promise<number> {
  const o = cmd.opts<{ plan: string; methods?: string; json?: string; quiet?: boolean }>();
  checkDataFile(o.plan, '--plan');
  let plan;
  let tasks: ContinualTask[];
  let modelDir: string;
  try {
    plan = parseContinualPlan(readFileSync(o.plan, 'utf8'), o.plan);
    const base = dirname(resolve(o.plan));
    modelDir = resolve(base, plan.model);
    if (!existsSync(join(modelDir, 'config.json')))
      throw new Error(`${o.plan}: model '${plan.model}' (${modelDir}) has no config.json (a Hugging Face directory is expected)`);
    tasks = plan.tasks.map((t, i) => {
      const read = (field: 'train' | 'test') => {
        const path = resolve(base, t[field]);
        if (!existsSync(path) || statSync(path).isDirectory())
          throw new Error(`${o.plan}: tasks[${i}].${field} '${t[field]}' (${path}) is not a file`);
        return readTaskFile(getTask(t.task), path);
      };
      return { name: t.name, task: t.task, head: t.head, metric: t.metric, train: read('train'), test: read('test') };
    });
  } catch (err) {
    return reportFailure('continual', err, io);
  }
  let methods = plan.methods;
  if (o.methods) {
    const wanted = o.methods.split(',').map((m) => m.trim());
    for (const m of wanted)
      if (!methods.some((p) => p.method === m))
        throw new UsageError(`--methods: '${m}' is not a method of ${o.plan} (it has ${methods.map((p) => p.method).join(', ')})`);
    methods = methods.filter((p) => wanted.includes(p.method));
  }
  const rt = await init();
  const results: ContinualResult[] = [];
  try {
    for (const m of methods) {
      const r = await runContinual({
        model: modelDir,
        tasks,
        method: m.method,
        settings: m.settings,
        onProgress: o.quiet ? undefined : (line) => io.stderr.write(`${line}\n`),
      });
      results.push(r);
      io.stdout.write(`${methodReport(r)}\n\n`);
    }
  } catch (err) {
    return reportFailure('continual', err, io);
  } finally {
    rt.destroy();
  }
  io.stdout.write(`${summaryTable(results)}\n`);
  if (o.json) {
    const plain = results.map(({ files: _files, ...r }) => r);
    await writeAtomic(o.json, new TextEncoder().encode(`${JSON.stringify({ plan: o.plan, results: plain }, null, 2)}\n`));
  }
  return 0;
}

const f3 = (v: number | null | undefined) => (v === null || v === undefined ? '' : v.toFixed(3));
const signed = (v: number | null) => (v === null ? '' : `${v >= 0 ? '+' : ''}${v.toFixed(3)}`);

/** Bytes as B / KiB / MiB. */
function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** One method's accuracy matrix (rows: tasks, columns: after each stage) and its summary line. */
export function methodReport(r: ContinualResult): string {
  const names = r.tasks.map((t) => t.name);
  const head = `| ${r.method}: task (metric) | ${names.map((n, j) => `after ${j + 1} (${n})`).join(' | ')} | majority |`;
  const rows = r.tasks.map((t, i) => `| ${t.name} (${t.metric}) | ${r.matrix[i].map(f3).join(' | ')} | ${f3(t.majority)} |`);
  const s = r.summary;
  return [
    head,
    `|${['', ...names, ''].map(() => '---').join('|')}|`,
    ...rows,
    `| average of tasks seen | ${s.averagePerStage.map(f3).join(' | ')} | |`,
    '',
    `${r.method}: average accuracy ${f3(s.averageAccuracy)}, BWT ${signed(s.backwardTransfer)}, forgetting ${f3(s.forgetting)}; ` +
      `stages: ${r.stages.map((st) => `${st.task} ${st.steps} steps ${st.seconds.toFixed(0)} s`).join(', ')}`,
  ].join('\n');
}

/** One row per method: the summary metrics, trainable share and bytes per task. */
export function summaryTable(results: ContinualResult[]): string {
  const lines = [
    '| method | average accuracy | BWT | forgetting | trainable parameters per stage (share) | stored per task | shared encoder | wall |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const trainable = r.stages.map((s) => s.trainableParameters);
    const share = r.stages.map((s) => (100 * s.trainableParameters) / s.totalParameters);
    const range = (xs: number[], fmt: (v: number) => string) =>
      Math.min(...xs) === Math.max(...xs) ? fmt(xs[0]) : `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;
    lines.push(
      `| ${r.method} | ${f3(r.summary.averageAccuracy)} | ${signed(r.summary.backwardTransfer)} | ${f3(r.summary.forgetting)} | ` +
        `${range(trainable, String)} (${range(share, (v) => `${v.toFixed(1)}%`)}) | ${r.stages.map((s) => size(s.bytesStored)).join(', ')} | ` +
        `${size(r.sharedBytes)} | ${r.stages.reduce((a, s) => a + s.seconds, 0).toFixed(0)} s |`,
    );
  }
  return lines.join('\n');
}
