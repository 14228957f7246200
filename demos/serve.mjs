// `npm run demo:serve`: builds the demo pages and serves them on 127.0.0.1 (a free port) for a
// real browser; with a real GPU, larger presets make sense. Ctrl-C stops it.
import { buildPages } from './build.mjs';
import { serve } from '../scripts/chromium.mjs';

const dir = await buildPages('.demo-build/pages');
const server = await serve(dir);
console.log(
  `demo pages: http://127.0.0.1:${server.address().port}/ (tokenizer.html, pretrain.html, fill-mask.html, finetune.html); Ctrl-C stops`,
);
