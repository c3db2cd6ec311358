// `npm run demo [-- options]`: builds src and examples only when stale, then runs the demo app in this process.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildIfStale, stopWhenOrphaned } from './build-if-stale.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
stopWhenOrphaned();
await buildIfStale(root);
const demo = join(root, 'dist', 'examples', 'demo-app.js');
process.argv = [process.argv[0], demo, ...process.argv.slice(2)];
await import(pathToFileURL(demo).href);
