// Used by `npm start` and `npm run demo`: compile only what they run (src and examples, through
// tsconfig.build.json), and only when an output is missing or older than its source, so every start
// after the first one costs no compilation at all; then the start-up bundle (scripts/bundle.js).
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startBundlePaths, writeStartBundle } from './bundle.js';

const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];

/** The sources tsconfig.build.json compiles: its `include` patterns, each "dir/*.ts" or "dir/**" + "/*.ts". */
export function buildPatterns(root) {
  return JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')).include;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function* typeScriptFiles(dir, recursive) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) yield* typeScriptFiles(path, true);
    }
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** The first source whose compiled file is missing or older than it (or than a tsconfig), or undefined when all are current. */
export function staleSource(root, patterns = buildPatterns(root)) {
  const newestConfig = Math.max(0, ...CONFIGS.map((c) => mtime(join(root, c)) ?? 0));
  for (const pattern of patterns) {
    const match = /^(.+?)\/(\*\*\/)?\*\.ts$/.exec(pattern);
    if (!match) throw new Error(`tsconfig.build.json: cannot follow the include pattern ${pattern}`);
    for (const source of typeScriptFiles(join(root, match[1]), match[2] !== undefined)) {
      const output = join(root, 'dist', relative(root, source)).replace(/\.ts$/, '.js');
      const built = mtime(output);
      if (built === undefined || built < mtime(source) || built < newestConfig) return relative(root, source);
    }
  }
  return undefined;
}

/**
 * Runs tsc over src and examples when something is stale. The compiler runs as a child that a signal
 * to this process also stops, so an interrupted start leaves nothing behind.
 */
export async function buildIfStale(root, log = (line) => process.stderr.write(line + '\n')) {
  const stale = staleSource(root);
  if (stale === undefined) {
    // Compiled by hand (tsc) since the last bundling: the bin would run the slower modules.
    const { compiled, bundle } = startBundlePaths(root);
    if ((mtime(bundle) ?? 0) < (mtime(compiled) ?? 0)) await writeStartBundle(root, log);
    return;
  }
  const firstBuild = mtime(startBundlePaths(root).compiled) === undefined;
  log(firstBuild ? 'sonarhost: first start, compiling src (about half a minute; later starts begin at once)…' : `sonarhost: building (${stale} changed since the last build)…`);
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const child = spawn(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  if (signal) process.kill(process.pid, signal);
  if (code !== 0) {
    log('sonarhost: the build failed (see above); fix the errors or run `npm run build`.');
    process.exit(code ?? 1);
  }
  await writeStartBundle(root, log);
}

/**
 * npm runs a script through `sh -c`, and a SIGTERM that npm passes on kills that shell without reaching
 * us: the host would stay behind, holding its ports. So a host whose parent went away stops itself the
 * way a signal would stop it. When npm itself is killed outright (SIGKILL), the shell between us stays
 * alive and our parent does not change: under npm the launcher therefore also watches the shell's
 * parent, npm, and stops when the shell is handed to another process.
 */
export function stopWhenOrphaned(intervalMs = 500) {
  const parent = process.ppid;
  const launcher = process.env.npm_lifecycle_event !== undefined ? parentOf(parent) : undefined;
  const stop = () => {
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  };
  const timer = setInterval(() => {
    if (process.ppid !== parent) return stop();
    if (launcher !== undefined && parentOf(parent) !== launcher) stop();
  }, intervalMs);
  timer.unref();
}

/** The parent pid of `pid` (Linux /proc, else ps), or undefined when it cannot be read. */
function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    try {
      const out = execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      return out === '' ? undefined : Number(out);
    } catch {
      return undefined;
    }
  }
}
