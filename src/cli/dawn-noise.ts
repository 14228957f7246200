// Dawn (the npm `webgpu` package) prints two warnings to stderr from native code whenever it opens
// an adapter ("maxDynamicUniformBuffersPerPipelineLayout artificially reduced ..."). No Dawn toggle
// turns them off and JavaScript cannot redirect a native file descriptor, so a GPU command runs
// as a child process of the one the user started, whose stderr passes through a line filter.
// --verbose (or BERTGPU_VERBOSE=1) runs in-process and shows them. Only under Node: Deno's WebGPU
// is wgpu, which prints nothing of the kind.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Marks the child, so it does not re-spawn itself. */
const CHILD = 'BERTGPU_FILTERED_CHILD';

export const DAWN_NOISE =
  /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/** Whether `bertgpu ARGV` should run as a filtered child: a GPU command under Node, without --verbose or --help. */
export function wantsFilter(argv: string[]): boolean {
  const g = globalThis as { Deno?: unknown };
  if (g.Deno !== undefined || !process.versions?.node || process.env[CHILD] || process.env.BERTGPU_VERBOSE === '1') return false;
  return !argv.some((a) => a === '--verbose' || a === '--help' || a === '-h');
}

/**
 * Runs this same command line as a child with stderr filtered, and forwards SIGINT / SIGTERM /
 * SIGHUP to it. Resolves with the child's exit code; a child killed by a signal kills this
 * process with the same signal.
 */
export async function runFiltered(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, [CHILD]: '1' },
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const lines = createInterface({ input: child.stderr!, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!DAWN_NOISE.test(line)) process.stderr.write(line + '\n');
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  for (const [s, h] of handlers) process.off(s, h);
  if (signal) process.kill(process.pid, signal);
  return code ?? 1;
}

/**
 * In the child: when the parent goes (even by SIGKILL), go too, as if the signal had reached this
 * process; and do not let the IPC channel keep the process alive.
 */
export function watchParent(): void {
  if (!process.env[CHILD] || !process.connected) return;
  process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  (process as { channel?: { unref(): void } }).channel?.unref();
}
