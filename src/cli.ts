// `bertgpu <command> ...` — each command lives in src/cli/<command>.ts and returns an exit code.
const COMMANDS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  tokenize: () => import('./cli/tokenize.js'),
  info: () => import('./cli/info.js'),
  run: () => import('./cli/run.js'),
  pretrain: () => import('./cli/pretrain.js'),
};

const USAGE = `usage: bertgpu <command> [options]
commands:
  info       print the WebGPU adapter, its limits and features
  tokenize   JSON lines in, token ids out (see README)
  pretrain   pre-train on text files (mlm, mlm-nsp, roberta, electra)
  run        one eval forward (+ gradients) of a Hugging Face directory on safetensors inputs`;

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 1;
  }
  const load = COMMANDS[command];
  if (!load) {
    console.error(`bertgpu: unknown command '${command}'\n${USAGE}`);
    return 2;
  }
  return (await load()).main(rest);
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`bertgpu: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
