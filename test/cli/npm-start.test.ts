import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { accepts, freePorts } from '../helpers/free-ports.js';
import { NPM, run } from '../helpers/npm-run.js';
import { makeTempDir } from '../helpers/temp-dir.js';
import { eventually } from '../helpers/test-host.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The launcher is plain JavaScript (it must run before anything is compiled), so it is loaded untyped. */
interface Launcher {
  staleSource: (root: string, patterns?: string[]) => string | undefined;
  buildIfStale: (root: string, log: (line: string) => void) => Promise<void>;
}
async function launcher(): Promise<Launcher> {
  return (await import(pathToFileURL(join(ROOT, 'scripts', 'build-if-stale.js')).href)) as Launcher;
}

/** Every process below `pid`, read from /proc (ps is not always installed). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const child of parents.get(p) ?? []) {
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** A zombie (exited, not yet reaped by a container's init) holds nothing any more. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** `npm start` as a user types it, on free ports for every listener (the Flipper UI's too), in its own certificate folder. */
async function npmStart(dir: string): Promise<{ npm: ChildProcess; ports: number[]; output: () => string }> {
  const ports = await freePorts(7);
  const args = ['--cert-dir', join(dir, 'certs'), '--host', '127.0.0.1', '--ports', `${ports[0]},${ports[1]}`, '--alt-ports', `${ports[2]},${ports[3]}`, '--browser-port', String(ports[4]), '--api-port', String(ports[5]), '--flipper-port', String(ports[6])];
  const npm = spawn('npm', ['start', '--', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SONARHOST_CONFIG: '' } });
  let output = '';
  npm.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { npm, ports, output: () => output };
}

describe('npm start', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('starts the built host without compiling, and a SIGTERM to the npm process alone stops it and releases every port', async () => {
    const { npm, ports, output } = await npmStart(dir);
    let below: number[] = [];
    try {
      await eventually(() => output().includes('sonarhost is running'), `the host to start:\n${output()}`, 60_000);
      assert.doesNotMatch(output(), /building/, 'dist is current, so nothing is compiled');
      for (const port of ports) assert.ok(await accepts(port), `port ${port} is served`);
      below = await descendants(npm.pid!);
      assert.ok(below.length > 0, 'npm started the host as a child');
      npm.kill('SIGTERM');
      await eventually(async () => (await Promise.all(below.map(alive))).every((a) => !a), `every process npm started to exit:\n${output()}`, 30_000);
      for (const port of ports) assert.equal(await accepts(port), false, `port ${port} is released`);
      assert.match(output(), /"msg":"stopped"|stopped/);
    } finally {
      for (const pid of below) if (await alive(pid)) process.kill(pid, 'SIGKILL');
      if (npm.exitCode === null) npm.kill('SIGKILL');
    }
  });

  it('stops the host and releases its ports when the npm process is killed outright (SIGKILL)', async () => {
    const { npm, ports, output } = await npmStart(dir);
    let below: number[] = [];
    try {
      await eventually(() => output().includes('sonarhost is running'), `the host to start:\n${output()}`, 60_000);
      below = await descendants(npm.pid!);
      assert.ok(below.length > 0, 'npm started the host as a child');
      // npm gets no chance to pass anything on; the shell it ran the script in survives it.
      npm.kill('SIGKILL');
      await eventually(async () => (await Promise.all(below.map(alive))).every((a) => !a), `every process npm started to exit after npm was killed:\n${output()}`, 30_000);
      for (const port of ports) assert.equal(await accepts(port), false, `port ${port} is released`);
    } finally {
      for (const pid of below) if (await alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('`npm start -- --help` in a clone that was never built says "first start" (naming no changed file), builds once, and runs the command', async () => {
    // A clone's launcher with its own tiny src (the real compile takes half a minute): the lines a user
    // sees come from the same scripts/start.js and build-if-stale.js, through npm.
    await mkdir(join(dir, 'scripts'));
    for (const file of ['start.js', 'build-if-stale.js', 'bundle.js']) await copyFile(join(ROOT, 'scripts', file), join(dir, 'scripts', file));
    await mkdir(join(dir, 'src', 'cli'), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'clone', type: 'module', scripts: { start: 'node scripts/start.js' } }));
    await writeFile(join(dir, 'tsconfig.json'), '{}');
    await writeFile(join(dir, 'tsconfig.build.json'), JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: '.', module: 'nodenext', target: 'es2022', skipLibCheck: true, types: [] }, include: ['src/**/*.ts'] }));
    await writeFile(join(dir, 'src', 'cli', 'main.ts'), 'declare const process: { argv: string[] };\nconsole.log(`main ran: ${JSON.stringify(process.argv.slice(2))}`);\n');
    await writeFile(join(dir, 'src', 'cli', 'bin.ts'), "import './main.js';\n");
    const npmStartHelp = async () => (await run(NPM, ['start', '--silent', '--', '--help'], dir)).output;
    const first = await npmStartHelp();
    assert.match(first, /sonarhost: first start, compiling src/);
    assert.doesNotMatch(first, /changed since the last build/);
    assert.match(first, /main ran: \["start","--help"\]/);
    const second = await npmStartHelp();
    assert.doesNotMatch(second, /compiling|building/, 'the second start compiles nothing');
    assert.match(second, /main ran: \["start","--help"\]/);
  });

  it('says "first start" when nothing was compiled yet, and names the changed file later', async () => {
    const { buildIfStale } = await launcher();
    await mkdir(join(dir, 'src', 'cli'), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    await writeFile(join(dir, 'tsconfig.json'), '{}');
    await writeFile(join(dir, 'tsconfig.build.json'), JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: '.', module: 'nodenext', target: 'es2022', skipLibCheck: true }, include: ['src/**/*.ts'] }));
    await writeFile(join(dir, 'package.json'), '{"type": "module"}');
    await writeFile(join(dir, 'src', 'cli', 'main.ts'), 'export const started = true;\n');
    const lines: string[] = [];
    await buildIfStale(dir, (line) => lines.push(line));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /first start, compiling src/);
    assert.doesNotMatch(lines[0]!, /changed since the last build/);
    await utimes(join(dir, 'src', 'cli', 'main.ts'), new Date(), new Date(Date.now() + 5000));
    await buildIfStale(dir, (line) => lines.push(line));
    assert.match(lines[1] ?? '', /building \(src\/cli\/main\.ts changed since the last build\)/);
  });

  it('finds a stale or missing output and no other', async () => {
    const { staleSource } = await launcher();
    await mkdir(join(dir, 'src', 'cli'), { recursive: true });
    await mkdir(join(dir, 'dist', 'src', 'cli'), { recursive: true });
    await writeFile(join(dir, 'tsconfig.json'), '{}');
    await writeFile(join(dir, 'src', 'cli', 'main.ts'), '');
    assert.equal(staleSource(dir, ['src/**/*.ts']), join('src', 'cli', 'main.ts'), 'no output yet');
    await writeFile(join(dir, 'dist', 'src', 'cli', 'main.js'), '');
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'tsconfig.json'), past, past);
    await utimes(join(dir, 'src', 'cli', 'main.ts'), past, past);
    assert.equal(staleSource(dir, ['src/**/*.ts']), undefined, 'output newer than its source');
    await utimes(join(dir, 'src', 'cli', 'main.ts'), new Date(), new Date(Date.now() + 5000));
    assert.equal(staleSource(dir, ['src/**/*.ts']), join('src', 'cli', 'main.ts'), 'source edited after the build');
    assert.equal(staleSource(dir, ['src/*.ts']), undefined, 'a top-level pattern does not look into subfolders (example packages build themselves)');
  });
});
