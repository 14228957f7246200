// `bertgpu <command> ...`: each command is one file in src/cli/ (listed in src/cli/commands.ts),
// parsed with commander. Bare `bertgpu` prints the usage and exits 0; `--version` prints the version.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { COMMANDS } from './cli/commands.js';
import { processIo, reportFailure, runCommand } from './cli/program.js';
import { runFiltered, wantsFilter, watchParent } from './cli/dawn-noise.js';

/** The version in the nearest package.json named bertgpu above this file (source, dist or a test bundle). */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8'));
      if (pkg.name === 'bertgpu') return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  const io = processIo();
  const found = COMMANDS.find((c) => c.name === argv[0]);
  if (found?.gpu && wantsFilter(argv)) return runFiltered();
  watchParent();
  if (found) {
    try {
      return await runCommand(found.build(io), argv.slice(1), io);
    } catch (err) {
      return reportFailure(found.name, err, io);
    }
  }
  const program = new Command('bertgpu')
    .description('Pre-train and run BERT-family models on WebGPU.')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (s, write) => write(s.replace(/^error: /, 'bertgpu: ')) })
    .version(version(), '-V, --version')
    .addHelpText('after', '\n`bertgpu <command> --help` shows the options of a command.');
  for (const c of COMMANDS) program.addCommand(c.build(io));
  if (!argv.length) {
    program.outputHelp();
    return 0;
  }
  return runCommand(program, argv, io);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`bertgpu: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
