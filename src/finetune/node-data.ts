// Reading a task's data file in Node (kept apart: the rest of src/finetune runs in browsers too).
import { readTokenizerFile } from '../tokenizers/node-io.js';
import type { AnyTask, TaskReadOptions } from './tasks.js';

/** The examples of a data file; errors name the file (missing, a folder, empty) or its bad line. */
export function readTaskFile(task: AnyTask, path: string, options: TaskReadOptions = {}): ReturnType<AnyTask['read']> {
  return task.read(readTokenizerFile(path, 'data'), path, options);
}
