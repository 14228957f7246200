// The commands of `bertgpu`, in the order --help lists them. A new command is one file in
// src/cli/ exporting `command: CliCommand`, plus its line here.
import type { CliCommand } from './program.js';
import { command as info } from './info.js';
import { command as tokenize } from './tokenize.js';
import { command as run } from './run.js';
import { command as pretrain } from './pretrain.js';

export const COMMANDS: CliCommand[] = [info, tokenize, run, pretrain];
