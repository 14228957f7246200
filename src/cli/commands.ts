// The commands of `bertgpu`, in the order --help lists them. A new command is one file in
// src/cli/ exporting `command: CliCommand`, plus its line here.
import type { CliCommand } from './program.js';
import { command as info } from './info.js';
import { command as tokenize } from './tokenize.js';
import { command as run } from './run.js';
import { command as pretrain } from './pretrain.js';
import { command as finetune } from './finetune.js';
import { command as predict } from './predict.js';
import { command as evaluate } from './evaluate.js';
import { command as fillMask } from './fill-mask.js';
import { command as mergeAdapter } from './merge-adapter.js';
import { command as continual } from './continual.js';

export const COMMANDS: CliCommand[] = [info, tokenize, run, pretrain, finetune, predict, evaluate, fillMask, mergeAdapter, continual];
