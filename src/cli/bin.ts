#!/usr/bin/env node
/**
 * The `sonarhost` command. It runs the start-up bundle (dist/src/bundle, written by scripts/bundle.js)
 * when that is current, else the compiled modules (dist/src/cli/main.js): the same program, the bundle
 * only starts faster because it loads a few dozen files instead of some 340.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLI_ENTRY_ENV, chooseCliEntry } from './start-entry.js';

const entry = chooseCliEntry(fileURLToPath(new URL('../bundle/sonarhost.js', import.meta.url)), fileURLToPath(new URL('./main.js', import.meta.url)));
process.env[CLI_ENTRY_ENV] = `${entry.build}: ${entry.reason}`;
await import(pathToFileURL(entry.file).href);
