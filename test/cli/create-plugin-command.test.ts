import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { runCli } from '../helpers/run-cli.js';
import { makeTempDir } from '../helpers/temp-dir.js';

/** The command's own behaviour; the package it writes is installed and tested in test/package. */
describe('sonarhost create-plugin', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ path: dir, cleanup } = await makeTempDir()));
  afterEach(() => cleanup());

  it('explains itself with --help, and is listed in sonarhost --help', async () => {
    const help = await runCli(['create-plugin', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: sonarhost create-plugin <folder> --kind <kind>/);
    for (const kind of ['device-transport', 'connection-handler', 'service']) assert.match(help.stdout, new RegExp(`^  ${kind} `, 'm'));
    assert.match(help.stdout, /--sonarhost SPEC/);
    assert.match((await runCli(['--help'])).stdout, /create-plugin/);
  });

  it('writes a package for each kind: package.json with sonarhost as peer and dev dependency, source, test, README', async () => {
    for (const kind of ['device-transport', 'connection-handler', 'service']) {
      const folder = join(dir, `my-${kind}`);
      const result = await runCli(['create-plugin', folder, '--kind', kind, '--sonarhost', 'file:/somewhere/sonarhost-0.1.0.tgz']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual((await readdir(folder, { recursive: true })).sort(), ['.gitignore', 'README.md', 'package.json', 'src', 'src/index.ts', 'test', `test/my-${kind}.test.ts`, 'tsconfig.json']);
      const pkg = JSON.parse(await readFile(join(folder, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
      assert.equal(pkg.name as unknown as string, `my-${kind}`);
      assert.match(pkg.peerDependencies!.sonarhost!, /^\^\d+\.\d+\.\d+$/);
      assert.equal(pkg.devDependencies!.sonarhost, 'file:/somewhere/sonarhost-0.1.0.tgz');
      assert.equal(pkg.scripts!.test, 'tsc -p tsconfig.json && node --test');
      const source = await readFile(join(folder, 'src', 'index.ts'), 'utf8');
      assert.match(source, new RegExp(`definePlugin\\(\\{\\s+id: ID,\\s+kind: '${kind}'`));
      assert.match(await readFile(join(folder, 'test', `my-${kind}.test.ts`), 'utf8'), /from 'sonarhost\/testing'/);
      // sonarhost is not on the registry: the README installs the tarball the package was made against.
      const readme = await readFile(join(folder, 'README.md'), 'utf8');
      // The plugin is installed by its path: npm would look a bare name up on the registry.
      assert.match(readme, /npm install \/somewhere\/sonarhost-0\.1\.0\.tgz \/path\/to\/this\/folder\n/);
      assert.doesNotMatch(readme, new RegExp(`npm install \\S+ my-${kind}\\b`));
      assert.doesNotMatch(readme, /npm install sonarhost |npmjs\.com/);
    }
  });

  it('refuses a non-empty folder and writes nothing', async () => {
    const folder = join(dir, 'taken');
    await mkdir(folder);
    await writeFile(join(folder, 'notes.txt'), 'mine');
    const result = await runCli(['create-plugin', folder, '--kind', 'service']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /taken is not empty \(notes\.txt\): choose a new folder; nothing was written/);
    assert.deepEqual(await readdir(folder), ['notes.txt']);
  });

  it('refuses a missing or unknown kind and an invalid package name, saying what to pass', async () => {
    const noKind = await runCli(['create-plugin', join(dir, 'a')]);
    assert.equal(noKind.code, 1);
    assert.match(noKind.stderr, /--kind must be one of device-transport, connection-handler, service/);
    const badKind = await runCli(['create-plugin', join(dir, 'b'), '--kind', 'printer']);
    assert.match(badKind.stderr, /--kind must be one of .*, got "printer"/);
    const badName = await runCli(['create-plugin', join(dir, 'My Plugin'), '--kind', 'service']);
    assert.match(badName.stderr, /"My Plugin" is not a valid npm package name .*pass --name/);
  });
});
