// `npm start [-- options]`: builds src only when stale, then runs `sonarhost start` in this very process,
// so the signals a terminal or process manager sends reach the host itself (see stopWhenOrphaned).
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildIfStale, stopWhenOrphaned } from './build-if-stale.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
stopWhenOrphaned();
await buildIfStale(root);
const bin = join(root, 'dist', 'src', 'cli', 'bin.js');
process.argv = [process.argv[0], bin, 'start', ...process.argv.slice(2)];
await import(pathToFileURL(bin).href);
