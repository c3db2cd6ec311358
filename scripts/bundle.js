// Writes the start-up bundle, dist/src/bundle: the compiled CLI (dist/src/cli/main.js and everything it
// imports, its commands and built-in plugins as lazily loaded chunks) together with inversify's ES
// modules. Those are some 340 module files, and resolving, reading and linking them one by one was half
// of `sonarhost start`'s time to listening; the bundle is a few dozen files. dist/src/cli/bin.js runs it
// when it is at least as new as the compiled modules, else those modules (see src/cli/start-entry.ts).
//
// Every other package stays outside: they are CommonJS (one load each) or loaded only by the commands
// that need them, and reflect-metadata must stay the single process-wide copy that plugins share.
// Run after tsc, by `npm run build`, `npm pack` and `npm start` (when it compiled).
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bundled into the start-up bundle: inversify 8 and its @inversifyjs parts (ES modules only). */
const BUNDLED_PACKAGE = /^(inversify|@inversifyjs\/[^/]+)(\/|$)/;

/** The compiled CLI the bundle is made from, and the bundle's own entry (which dist/src/cli/bin.js runs). */
export function startBundlePaths(root) {
  return { compiled: join(root, 'dist', 'src', 'cli', 'main.js'), bundle: join(root, 'dist', 'src', 'bundle', 'sonarhost.js') };
}

/**
 * Bundles `root`'s compiled CLI into dist/src/bundle (the same depth below the root as dist/src/core,
 * which src/core/package-root.ts relies on). Without esbuild (a devDependency) it says so and writes
 * nothing: the CLI then runs its compiled modules, only slower to start.
 */
export async function writeStartBundle(root, log = (line) => process.stderr.write(line + '\n')) {
  const { compiled: entry, bundle } = startBundlePaths(root);
  const outdir = dirname(bundle);
  if (!existsSync(entry)) throw new Error(`bundle: ${entry} is missing; run tsc first (npm run build)`);
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    log(`sonarhost: esbuild is not installed (${error.message.split('\n')[0]}); no start-up bundle, sonarhost runs its compiled modules (a slower start). "npm install" installs it.`);
    return false;
  }
  rmSync(outdir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: { [basename(bundle, '.js')]: entry },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunk-[hash]',
    logLevel: 'warning',
    plugins: [
      {
        name: 'bundle-only-inversify',
        setup(build) {
          // Bare specifiers are packages (or node: built-ins): all external except inversify's.
          build.onResolve({ filter: /^[^./]/ }, (args) => (BUNDLED_PACKAGE.test(args.path) ? undefined : { external: true }));
        },
      },
    ],
  });
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
  await writeStartBundle(root);
}
