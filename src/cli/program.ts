// What every `bertgpu` command shares: commander for parsing, help and errors. A command is one
// file in src/cli/ that exports `command: CliCommand` (listed in src/cli/commands.ts). Errors are
// one line `bertgpu <command>: <message>`; command-line mistakes exit 2, failures 1.
import { Command, CommanderError } from 'commander';
import type { Readable, Writable } from 'node:stream';

export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

export const processIo = (): Io => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

/** A command-line mistake: one line naming the argument, a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export interface CliCommand {
  name: string;
  /** Whether it opens the GPU (Dawn's start-up warnings are filtered for these; see cli.ts). */
  gpu: boolean;
  /** The commander command: its options, help text and action (which returns the exit code). */
  build(io: Io): Command;
}

const exitCodes = new WeakMap<Command, number>();

/**
 * A command with the shared behaviour: output to `io`, errors as `bertgpu NAME: ...` with a
 * suggestion for unknown options, defaults shown in --help, and `run` as its action.
 */
export function newCommand(name: string, description: string, io: Io, run: (cmd: Command) => Promise<number>): Command {
  const cmd = new Command(name)
    .description(description)
    .exitOverride()
    .allowExcessArguments(false)
    .showSuggestionAfterError(true)
    .configureHelp({ commandUsage: (c) => `bertgpu ${c.name()} ${c.usage()}` })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) =>
        write(`${s.replace(/^error: /, `bertgpu ${name}: `).trimEnd()}\n(bertgpu ${name} --help lists the options)\n`),
    });
  cmd.action(async () => {
    exitCodes.set(cmd, await run(cmd));
  });
  // commander reports a missing required option before an unknown one: a typo'd --modle would read
  // "required option '--model' not specified"; the unknown option (with its suggestion) goes first
  const parseOptions = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args) => {
    const parsed = parseOptions(args);
    const first = parsed.unknown[0];
    const help = parsed.unknown.some((a) => a === '-h' || a === '--help');
    if (!cmd.commands.length && first?.startsWith('-') && !help)
      (cmd as unknown as { unknownOption(flag: string): never }).unknownOption(first);
    return parsed;
  };
  return cmd;
}

/** The values given on the command line (not defaults), by long option name without dashes. */
export function givenOptions(cmd: Command): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  const values = cmd.opts();
  for (const o of cmd.options) {
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) === 'cli' && o.long) given[o.long.slice(2)] = values[key];
  }
  return given;
}

/**
 * Parses `argv` (the arguments after the command name, or the whole command line for a program)
 * and runs the action: the exit code. Help and --version exit 0; commander's parse errors and
 * UsageErrors 2; any other error propagates.
 */
export async function runCommand(cmd: Command, argv: string[], io: Io, label = cmd.name()): Promise<number> {
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      io.stderr.write(`bertgpu ${label}: ${err.message}\n(bertgpu ${label} --help lists the options)\n`);
      return 2;
    }
    throw err;
  }
  return lastExitCode(cmd);
}

/** The exit code of the action that ran (a program's: its subcommand's). */
function lastExitCode(cmd: Command): number {
  if (exitCodes.has(cmd)) return exitCodes.get(cmd)!;
  for (const sub of cmd.commands) if (exitCodes.has(sub)) return exitCodes.get(sub)!;
  return 0;
}

/** --verbose on a GPU command: Dawn's start-up warnings are shown (see dawn-noise.ts). */
export function addVerbose(cmd: Command): Command {
  return cmd.option('--verbose', "show the WebGPU runtime's own warnings (Dawn's limit notices)");
}

/** Runs a command's action on a thrown Error: `bertgpu NAME: message`, exit 1. */
export function reportFailure(name: string, err: unknown, io: Io): number {
  io.stderr.write(`bertgpu ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
  return 1;
}
