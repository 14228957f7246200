// `bertgpu info`: the adapter, limits and features this machine's WebGPU offers.
import { init } from '../runtime.js';
import { addVerbose, newCommand, type CliCommand } from './program.js';

export const command: CliCommand = {
  name: 'info',
  gpu: true,
  build: (io) =>
    addVerbose(
      newCommand('info', 'print the WebGPU adapter, its limits and features (JSON)', io, async () => {
        const rt = await init();
        io.stdout.write(JSON.stringify(rt.report, null, 2) + '\n');
        rt.destroy();
        return 0;
      }),
    ),
};
