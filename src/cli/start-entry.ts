import { statSync } from 'node:fs';

/** Which build of the CLI runs: the start-up bundle or the modules tsc wrote, and why (for the log). */
export interface CliEntry {
  file: string;
  build: 'bundle' | 'modules';
  reason: string;
}

function mtimeMs(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * The bundle (scripts/bundle.js) when it is there and at least as new as the compiled modules: a tsc run
 * after the last bundling rewrites every module, so an older bundle no longer matches the code and the
 * modules run instead. SONARHOST_NO_BUNDLE=1 always runs the modules (to profile or debug them).
 */
export function chooseCliEntry(bundle: string, modules: string, env: NodeJS.ProcessEnv = process.env): CliEntry {
  if (env.SONARHOST_NO_BUNDLE === '1') return { file: modules, build: 'modules', reason: 'SONARHOST_NO_BUNDLE=1' };
  const bundled = mtimeMs(bundle);
  if (bundled === undefined) return { file: modules, build: 'modules', reason: 'no start-up bundle (npm run build writes it)' };
  const compiled = mtimeMs(modules) ?? 0;
  if (bundled < compiled) return { file: modules, build: 'modules', reason: 'the start-up bundle is older than the compiled modules (npm run build rewrites it)' };
  return { file: bundle, build: 'bundle', reason: 'start-up bundle' };
}

/** Set by bin.js for the program it runs, so the start log can say which build it is. */
export const CLI_ENTRY_ENV = 'SONARHOST_CLI_BUILD';
